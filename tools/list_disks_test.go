package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/proxmox/pvesim"
	"github.com/pvemcp/pvemcp/toolkit"
)

// Which disk is failing, which are free for a new pool?
func TestListDisksDemo(t *testing.T) {
	e := newDiagEnv(t)
	e.sim.ResetRequests()
	var out struct {
		ListDisksResult
		envelopeOut
	}
	m := healthCall(t, e, "list_disks", `{}`, &out)
	assertSourcesServed(t, e, m)
	if c := out.Counts; c.Disks != 9 || len(out.Disks) != 9 || c.Unused != 1 || c.Critical != 1 || c.OK != 8 || c.Warning != 0 || c.Info != 0 {
		t.Fatalf("counts %+v for %d disks", c, len(out.Disks))
	}
	// The worst first: pve-node03's NVMe that failed SMART, its ZFS member.
	d := out.Disks[0]
	if d.Node != "pve-node03" || d.DevPath != "/dev/nvme1n1" || d.Health != "FAILED" || d.Severity != "critical" ||
		d.UsedBy != "ZFS" || d.Type != "nvme" || d.WearoutRemainingPct == nil || *d.WearoutRemainingPct != 71 ||
		d.Serial != "S64HNE0R803002" || len(d.Reasons) != 1 || !strings.Contains(d.Reasons[0], "FAILED") {
		t.Errorf("failed disk: %+v", d)
	}
	if a := out.alert("pve-node03:/dev/nvme1n1", "disk_health"); a == nil || a.Severity != toolkit.SeverityCritical {
		t.Errorf("no critical alert for the failed disk: %+v", out.Alerts)
	}
	if len(out.Alerts) != 1 {
		t.Errorf("alerts for healthy disks: %+v", out.Alerts)
	}
	for _, d := range out.Disks[1:] {
		if d.Severity != "ok" || d.SizeGiB <= 0 {
			t.Errorf("disk %+v", d)
		}
		// A hard disk has no wear figure and a speed; a flash disk the reverse.
		if d.Type == "hdd" && (d.WearoutRemainingPct != nil || d.RPM != 7200) || d.Type == "nvme" && (d.WearoutRemainingPct == nil || d.RPM != 0) {
			t.Errorf("%s %s: wearout %v rpm %d", d.Node, d.DevPath, d.WearoutRemainingPct, d.RPM)
		}
	}

	// The free disk: pve-node03's 480 GB SSD.
	var free ListDisksResult
	healthCall(t, e, "list_disks", `{"only":"unused"}`, &free)
	if len(free.Disks) != 1 || free.Disks[0].Node != "pve-node03" || free.Disks[0].DevPath != "/dev/sda" || free.Disks[0].Type != "ssd" ||
		free.Disks[0].UsedBy != "" || free.Disks[0].SizeGiB != 447 || free.Counts != out.Counts {
		t.Errorf("unused: %+v counts %+v", free.Disks, free.Counts)
	}
	var bad ListDisksResult
	healthCall(t, e, "list_disks", `{"only":"problems"}`, &bad)
	if len(bad.Disks) != 1 || bad.Disks[0].DevPath != "/dev/nvme1n1" {
		t.Errorf("problems: %+v", bad.Disks)
	}
	var one struct {
		ListDisksResult
		envelopeOut
	}
	healthCall(t, e, "list_disks", `{"node":"pve-node01","limit":3}`, &one)
	if len(one.Disks) != 3 || one.Counts.Disks != 4 || len(one.Unavailable) != 1 || one.Unavailable[0].What != "1 more disks" {
		t.Errorf("pve-node01, 3 of its disks: %+v counts %+v unavailable %+v", one.Disks, one.Counts, one.Unavailable)
	}
	for _, d := range one.Disks {
		if d.Node != "pve-node01" {
			t.Errorf("disk of another node: %+v", d)
		}
	}
	for _, args := range []string{`{"only":"bogus"}`, `{"node":"../x"}`, `{"limit":0}`, `{"node":"pve-node09"}`} {
		if res, _ := e.call(t, "list_disks", args); !res.IsError {
			t.Errorf("%s accepted: %s", args, res.Text)
		}
	}
}

// A node that is offline, or whose disks cannot be read, is named under
// errors; the other nodes' disks are listed as they are.
func TestListDisksPartial(t *testing.T) {
	for _, fault := range []struct {
		target string
		fault  pvesim.Fault
	}{
		{"pve-node02", pvesim.Fault{Offline: true}},
		{"*/nodes/pve-node02/disks/list", pvesim.Fault{ErrorRate: 1}},
		{"*/nodes/pve-node02/disks/list", pvesim.Fault{MalformedJSON: true}},
	} {
		e := newDiagEnv(t)
		e.sim.SetFault(fault.target, fault.fault)
		var out struct {
			ListDisksResult
			envelopeOut
		}
		healthCall(t, e, "list_disks", `{}`, &out)
		if !out.errorFor("pve-node02") || len(out.Errors) != 1 || out.Counts.Disks != 7 || len(out.Disks) != 7 {
			t.Errorf("%+v: errors %+v counts %+v", fault.fault, out.Errors, out.Counts)
		}
		for _, d := range out.Disks {
			if d.Node == "pve-node02" {
				t.Errorf("%+v: disk of the failed node: %+v", fault.fault, d)
			}
		}
		e.sim.ClearFaults()
	}
}

// Every figure is the one /nodes/{node}/disks/list gives, nothing else.
func TestListDisksFiguresTraceToDisksList(t *testing.T) {
	e := newDiagEnv(t)
	var out ListDisksResult
	healthCall(t, e, "list_disks", `{"node":"pve-node01"}`, &out)
	raw, err := e.client.Disks(context.Background(), "pve-node01")
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Disks) != len(raw) {
		t.Fatalf("%d disks listed, the API gives %d", len(out.Disks), len(raw))
	}
	for _, r := range raw {
		found := false
		for _, d := range out.Disks {
			if d.DevPath != r.DevPath {
				continue
			}
			found = true
			wear := "N/A"
			if d.WearoutRemainingPct != nil {
				wear = fmt.Sprint(*d.WearoutRemainingPct)
			}
			if d.SizeGiB != toolkit.GiB(r.Size) || d.Model != r.Model || d.Serial != r.Serial || d.Health != r.Health || d.UsedBy != r.Used ||
				wear != r.Wearout.Text() || d.Type != r.Type {
				t.Errorf("%s: listed %+v, the API gives %+v", r.DevPath, d, r)
			}
		}
		if !found {
			t.Errorf("%s not listed", r.DevPath)
		}
	}
}

// TestListDisksSizeGenerated: on the 64-node generator the default answer
// stays within the diagnostics tools' 48 KB and says what it left out.
func TestListDisksSizeGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("generator cluster")
	}
	e := simEnv(t, pvesim.Options{Generate: "nodes=64,guests=10000,ceph=1", Listen: "127.0.0.1:0"}, []string{toolkit.ToolsetDiagnostics})
	var out struct {
		ListDisksResult
		envelopeOut
	}
	m := healthCall(t, e, "list_disks", `{}`, &out)
	b, _ := json.Marshal(m)
	t.Logf("list_disks on 64 nodes: %d disks, %d listed, %d bytes", out.Counts.Disks, len(out.Disks), len(b))
	if len(b) > 48<<10 {
		t.Errorf("%d bytes, budget %d", len(b), 48<<10)
	}
	if out.Counts.Disks > len(out.Disks) && len(out.Unavailable) == 0 {
		t.Error("disks left out without saying so")
	}
}
