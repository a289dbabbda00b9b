package tools

import (
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/toolkit"
)

func TestZFSHealthDemo(t *testing.T) {
	e := newHealthEnv(t)
	var out struct {
		ZFSResult
		envelopeOut
	}
	healthCall(t, e, "zfs_health", `{}`, &out)
	if len(out.Pools) < 4 || out.Counts.Pools != len(out.Pools) {
		t.Fatalf("pools %+v", out.Pools)
	}
	p := out.Pools[0]
	if p.Node != "pve-node03" || p.Pool != "rpool" || p.State != "DEGRADED" || p.Severity != "critical" {
		t.Fatalf("worst pool first: %+v", p)
	}
	if p.FragPct != 31 || p.Scrub == nil || p.Scrub.Kind != "scrub" || p.Scrub.Errors != 3 || len(p.Vdevs) == 0 {
		t.Errorf("pool figures: %+v scrub %+v", p, p.Scrub)
	}
	var faulted *ZFSMember
	for i, m := range p.Problems {
		if m.State == "FAULTED" {
			faulted = &p.Problems[i]
		}
	}
	if faulted == nil || faulted.Read != 47 || faulted.DevPath != "/dev/nvme1n1" {
		t.Errorf("faulted member: %+v", p.Problems)
	}
	failed := false
	for _, d := range p.Disks {
		if d.DevPath == "/dev/nvme1n1" && d.Health == "FAILED" && d.Severity == "critical" && d.WearoutRemainingPct != nil {
			failed = true
		}
	}
	if !failed {
		t.Errorf("member disk SMART: %+v", p.Disks)
	}
	if !strings.Contains(strings.Join(p.Guidance, " "), "`zpool status -v rpool` on pve-node03") {
		t.Errorf("guidance %v", p.Guidance)
	}
	a := out.alert("pve-node03/rpool", "")
	if a == nil || a.Severity != toolkit.SeverityCritical || !strings.Contains(a.Message, "DEGRADED") {
		t.Errorf("alert %+v in %+v", a, out.Alerts)
	}
	for _, q := range out.Pools[1:] {
		if q.State != "ONLINE" || len(q.Vdevs) != 0 {
			t.Errorf("healthy pool %s/%s: state %s, vdevs shown %d", q.Node, q.Pool, q.State, len(q.Vdevs))
		}
	}
	// all vdevs on request, one pool only
	var one ZFSResult
	healthCall(t, e, "zfs_health", `{"node":"pve-node01","pool":"rpool","vdevs":"all"}`, &one)
	if len(one.Pools) != 1 || len(one.Pools[0].Vdevs) == 0 || len(one.Pools[0].Disks) != 2 {
		t.Errorf("node01 rpool: %+v", one.Pools)
	}
}

// TestDiskAlertSameInListDisksAndZFSHealth: one disk, one fact, one alert.
// pve-node03's failed NVMe is a member of its degraded rpool; list_disks and
// zfs_health both report it, with the very same alert.
func TestDiskAlertSameInListDisksAndZFSHealth(t *testing.T) {
	e := readEnv(t)
	var disks, zfs envelopeOut
	healthCall(t, e, "list_disks", `{}`, &disks)
	healthCall(t, e, "zfs_health", `{}`, &zfs)
	const subject = "pve-node03:/dev/nvme1n1"
	a, b := disks.alert(subject, ""), zfs.alert(subject, "")
	if a == nil || b == nil {
		t.Fatalf("list_disks alerts %+v, zfs_health alerts %+v", disks.Alerts, zfs.Alerts)
	}
	if *a != *b {
		t.Errorf("the same disk, two alerts:\nlist_disks %+v\nzfs_health %+v", *a, *b)
	}
	want := toolkit.Alert{Severity: toolkit.SeverityCritical, Subject: subject, Metric: "disk_health", Value: 1,
		Message: "pve-node03 /dev/nvme1n1 (SAMSUNG MZQL23T8HCLS-00A07, serial S64HNE0R803002): SMART health FAILED",
		Basis:   "health and wearout from /nodes/{node}/disks/list"}
	if *a != want {
		t.Errorf("alert %+v\nwant  %+v", *a, want)
	}
}
