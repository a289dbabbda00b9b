package analyze

import (
	"fmt"
	"strings"
	"testing"
)

const gib = 1 << 30

func TestThresholdsDefaultsAndValidate(t *testing.T) {
	d := DefaultThresholds()
	if d.RAMPct != 85 || d.StoragePct != 90 || d.CPUPct != 90 || d.CriticalPct != 95 {
		t.Fatalf("defaults = %+v", d)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := (Thresholds{RAMPct: 70}).WithDefaults(); got.RAMPct != 70 || got.StoragePct != 90 {
		t.Fatalf("WithDefaults = %+v", got)
	}
	bad := Thresholds{RAMPct: 0, StoragePct: 101, CPUPct: -1, CriticalPct: 50}
	err := bad.Validate()
	if err == nil {
		t.Fatal("invalid thresholds accepted")
	}
	for _, name := range []string{"ram_pct", "storage_pct", "cpu_pct"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

func TestEvaluateNode(t *testing.T) {
	th := DefaultThresholds()
	tests := []struct {
		name    string
		n       NodeUsage
		want    []string // severity:metric
		message string
	}{
		{"demo node03 RAM", NodeUsage{Node: "pve-node03", Online: true, CPUFraction: 0.71, MemTotalBytes: 64 * gib, MemUsedBytes: uint64(62491774976)},
			[]string{"warning:mem_pct"}, "pve-node03 RAM at 91% — 5.8 GiB free"},
		{"below", NodeUsage{Node: "n1", Online: true, CPUFraction: 0.34, MemTotalBytes: 76 * gib, MemUsedBytes: uint64(64746569728)}, nil, ""},
		{"exactly at threshold", NodeUsage{Node: "n1", Online: true, MemTotalBytes: 100, MemUsedBytes: 85}, []string{"warning:mem_pct"}, ""},
		{"critical RAM and CPU", NodeUsage{Node: "n1", Online: true, CPUFraction: 0.97, MemTotalBytes: 100, MemUsedBytes: 99}, []string{"critical:mem_pct", "critical:cpu_pct"}, ""},
		{"cpu warning", NodeUsage{Node: "n1", Online: true, CPUFraction: 0.92, MemTotalBytes: 100, MemUsedBytes: 10}, []string{"warning:cpu_pct"}, "n1 CPU at 92%"},
		{"offline", NodeUsage{Node: "n2", Online: false}, []string{"critical:status"}, "n2 is offline"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := EvaluateNode(th, tc.n)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d alerts %+v, want %v", len(got), got, tc.want)
			}
			for i, a := range got {
				if s := string(a.Severity) + ":" + a.Metric; s != tc.want[i] {
					t.Errorf("alert %d = %s, want %s", i, s, tc.want[i])
				}
				if a.Basis == "" || a.Subject != tc.n.Node {
					t.Errorf("alert %d lacks basis or subject: %+v", i, a)
				}
			}
			if tc.message != "" && got[0].Message != tc.message {
				t.Errorf("message %q, want %q", got[0].Message, tc.message)
			}
		})
	}
}

func TestEvaluateStorageAndGuest(t *testing.T) {
	th := DefaultThresholds()
	a := EvaluateStorage(th, StorageUsage{Node: "pve-node03", Storage: "local-zfs", Active: true, TotalBytes: 1000, UsedBytes: 930})
	if len(a) != 1 || a[0].Subject != "pve-node03/local-zfs" || a[0].Severity != SeverityWarning || a[0].Value != 93 {
		t.Fatalf("storage alert = %+v", a)
	}
	if a := EvaluateStorage(th, StorageUsage{Node: "n", Storage: "nfs", Active: false, TotalBytes: 0}); a != nil {
		t.Fatalf("inactive storage gave %+v", a)
	}
	if a := EvaluateStorage(th, StorageUsage{Node: "n", Storage: "s", Active: true, TotalBytes: 1000, UsedBytes: 899}); a != nil {
		t.Fatalf("89.9%% gave %+v", a)
	}
	g := EvaluateGuest(th, GuestUsage{VMID: 102, Type: "qemu", Name: "db", Running: true, MemMaxBytes: 100, MemUsedBytes: 88})
	if len(g) != 1 || g[0].Subject != "vm/102" || g[0].Metric != "mem_pct" {
		t.Fatalf("guest alert = %+v", g)
	}
	if g := EvaluateGuest(th, GuestUsage{VMID: 200, Type: "lxc", Running: false, MemMaxBytes: 100, MemUsedBytes: 99}); g != nil {
		t.Fatalf("stopped guest alerted: %+v", g)
	}
	if s := GuestSubject("lxc", 200); s != "ct/200" {
		t.Fatal(s)
	}
}

func TestSortAlertsAndHumanBytes(t *testing.T) {
	a := []Alert{{Severity: SeverityInfo, Subject: "a"}, {Severity: SeverityCritical, Subject: "z"}, {Severity: SeverityWarning, Subject: "b"}, {Severity: SeverityCritical, Subject: "c"}}
	SortAlerts(a)
	var got []string
	for _, x := range a {
		got = append(got, x.Subject)
	}
	if strings.Join(got, ",") != "c,z,b,a" {
		t.Fatalf("order %v", got)
	}
	for in, want := range map[float64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 5.8 * gib: "5.8 GiB", 3.6 * 1024 * gib: "3.6 TiB", -2048: "-2.0 KiB"} {
		if got := HumanBytes(in); got != want {
			t.Errorf("HumanBytes(%v) = %q, want %q", in, got, want)
		}
	}
	if SeverityWarning.Max(SeverityCritical) != SeverityCritical || SeverityWarning.Max(SeverityOK) != SeverityWarning {
		t.Fatal("Max")
	}
}

func TestSampleAlerts(t *testing.T) {
	th := Thresholds{RAMPct: 80, CPUPct: 90, StoragePct: 85, CriticalPct: 95}
	tests := []struct {
		name string
		got  []Alert
		want []string // severity:subject:metric:value
		msg  string   // the first alert's message
	}{
		{"node below", NodeSampleAlerts(th, "n1", 79.9, 89.9), nil, ""},
		{"node RAM at threshold", NodeSampleAlerts(th, "n1", 80, 10), []string{"warning:n1:mem_pct:80"}, "n1 RAM at 80% in the newest RRD sample"},
		{"node both critical", NodeSampleAlerts(th, "n1", 96.26, 99), []string{"critical:n1:mem_pct:96.3", "critical:n1:cpu_pct:99"}, "n1 RAM at 96% in the newest RRD sample"},
		{"node CPU only", NodeSampleAlerts(th, "n2", 50, 91), []string{"warning:n2:cpu_pct:91"}, "n2 CPU at 91% in the newest RRD sample"},
		// A critical level below the warning one: the warning level is critical.
		{"critical below warning", NodeSampleAlerts(Thresholds{RAMPct: 80, CriticalPct: 50}, "n1", 81, 0), []string{"critical:n1:mem_pct:81"}, ""},
		{"defaults", NodeSampleAlerts(Thresholds{}, "n1", 85, 0), []string{"warning:n1:mem_pct:85"}, ""},
		{"storage below", StorageSampleAlerts(th, "n1", "local", 84.9), nil, ""},
		{"storage warning", StorageSampleAlerts(th, "n1", "local", 85), []string{"warning:n1/local:storage_pct:85"}, "n1/local at 85% in the newest RRD sample"},
		{"storage critical", StorageSampleAlerts(th, "n1", "local-zfs", 97.04), []string{"critical:n1/local-zfs:storage_pct:97"}, "n1/local-zfs at 97% in the newest RRD sample"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, a := range tc.got {
				got = append(got, fmt.Sprintf("%s:%s:%s:%g", a.Severity, a.Subject, a.Metric, a.Value))
				if a.Basis == "" || a.Threshold == 0 {
					t.Errorf("no basis or threshold: %+v", a)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			if tc.msg != "" && tc.got[0].Message != tc.msg {
				t.Errorf("message %q, want %q", tc.got[0].Message, tc.msg)
			}
		})
	}
}
