package tools

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
)

func TestStorageForecastMatchesScenario(t *testing.T) {
	e := newHealthEnv(t)
	var out struct {
		StorageResult
		envelopeOut
	}
	healthCall(t, e, "storage_status", `{"node":"pve-node03"}`, &out)
	var zfs *StorageInfo
	for i, s := range out.Storages {
		if s.Storage == "local-zfs" {
			zfs = &out.Storages[i]
		}
		if s.Shared && len(s.Nodes) == 0 {
			t.Errorf("shared storage without nodes: %+v", s)
		}
	}
	if zfs == nil || zfs.Forecast == nil {
		t.Fatalf("local-zfs on pve-node03: %+v", out.Storages)
	}
	f := zfs.Forecast
	if f.Window != "month" || f.Points < 100 || f.WindowDays < 20 || f.DaysToThreshold <= 0 {
		t.Fatalf("forecast %+v", f)
	}
	// The scenario's truth: the storage grows 1.2 GB (decimal) per day.
	rows, err := e.client.StorageRRD(t.Context(), "pve-node03", "local-zfs", "month", "AVERAGE")
	if err != nil {
		t.Fatal(err)
	}
	last := rows[len(rows)-1]
	truth := (0.9*last.Values["total"] - last.Values["used"]) / 1.2e9
	d := (f.DaysToThreshold - truth) / truth
	t.Logf("local-zfs forecast %.1f days over %d points, truth %.1f days (%+.2f%%)", f.DaysToThreshold, f.Points, truth, 100*d)
	if d > 0.05 || d < -0.05 {
		t.Errorf("forecast %.1f days, truth %.1f days (%.1f%% off)", f.DaysToThreshold, truth, 100*d)
	}
	if g := f.GrowthGiBPerDay; g < 1.05 || g > 1.2 {
		t.Errorf("growth %.2f GiB/day, want ~1.12 (1.2 GB)", g)
	}
	// Flat storages say why there is no forecast.
	for _, s := range out.Storages {
		if s.Storage == "local" && (s.Forecast == nil || s.Forecast.None == "" || s.Forecast.DaysToThreshold != 0) {
			t.Errorf("flat storage forecast: %+v", s.Forecast)
		}
	}
	var none StorageResult
	healthCall(t, e, "storage_status", `{"forecast":"none","storage":"local-zfs"}`, &none)
	if len(none.Storages) != 3 || none.Storages[0].Forecast != nil {
		t.Errorf("local-zfs on 3 nodes without forecast: %+v", none.Storages)
	}
}

func TestFitStorageReasons(t *testing.T) {
	mk := func(slope float64) []proxmox.RRDRow {
		var rows []proxmox.RRDRow
		for i := range 48 {
			rows = append(rows, proxmox.RRDRow{Time: int64(i) * 3600, Values: map[string]float64{"total": 1000e9, "used": 500e9 + slope*float64(i)}})
		}
		return rows
	}
	if f, _ := fitStorage(mk(0), "week", 90); f.None == "" || f.DaysToThreshold != 0 {
		t.Errorf("flat: %+v", f)
	}
	if f, _ := fitStorage(mk(-1e9), "week", 90); !strings.Contains(f.None, "shrinking") {
		t.Errorf("shrinking: %+v", f)
	}
	// 1 GB per hour from 500 GB: 900 GB in 400 h minus the 47 h already elapsed.
	if f, _ := fitStorage(mk(1e9), "week", 90); f.DaysToThreshold < 14.6 || f.DaysToThreshold > 14.8 || f.Points != 48 {
		t.Errorf("growing: %+v", f)
	}
}

// TestStorageForecastFastGrowth runs the demo with pve-node03's local-zfs
// growing 40 GB a day: the forecast keeps within 5% of the truth and raises
// an alert, since the threshold is then weeks away.
func TestStorageForecastFastGrowth(t *testing.T) {
	demo, err := os.ReadFile("../proxmox/pvesim/scenarios/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const from = "pve-node03: {used: 2.785TB, growth_per_day: 1.2GB}"
	if !strings.Contains(string(demo), from) {
		t.Skip("demo scenario changed: no growth line for pve-node03's local-zfs")
	}
	path := filepath.Join(t.TempDir(), "fast.yaml")
	fast := strings.Replace(string(demo), from, "pve-node03: {used: 2.785TB, growth_per_day: 20GB}", 1)
	if err := os.WriteFile(path, []byte(fast), 0o600); err != nil {
		t.Fatal(err)
	}
	e := simEnv(t, pvesim.Options{Scenario: path}, healthToolsets)
	var out struct {
		StorageResult
		envelopeOut
	}
	healthCall(t, e, "storage_status", `{"node":"pve-node03","storage":"local-zfs"}`, &out)
	if len(out.Storages) != 1 || out.Storages[0].Forecast == nil || out.Storages[0].Forecast.DaysToThreshold == 0 {
		t.Fatalf("storages %+v", out.Storages)
	}
	rows, err := e.client.StorageRRD(t.Context(), "pve-node03", "local-zfs", "month", "")
	if err != nil {
		t.Fatal(err)
	}
	last := rows[len(rows)-1]
	truth := (0.9*last.Values["total"] - last.Values["used"]) / 20e9
	got := out.Storages[0].Forecast.DaysToThreshold
	if d := (got - truth) / truth; d > 0.05 || d < -0.05 {
		t.Errorf("forecast %.1f days, truth %.1f days", got, truth)
	}
	a := out.alert("pve-node03/local-zfs", "days_to_storage_threshold")
	if a == nil || a.Value != got || !strings.Contains(a.Message, "90%") {
		t.Errorf("no forecast alert (%.1f days): %+v", got, out.Alerts)
	}
}
