package tools

import (
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/proxmox/pvesim"
)

func TestHAStatusDemo(t *testing.T) {
	e := newHealthEnv(t)
	var out struct {
		HAResult
		envelopeOut
	}
	m := healthCall(t, e, "ha_status", `{}`, &out)
	if out.Quorum == nil || !out.Quorum.Quorate || out.Quorum.NodesOnline != 3 || out.Quorum.NodesTotal != 3 || len(out.Members) != 3 {
		t.Fatalf("quorum %+v members %+v", out.Quorum, out.Members)
	}
	if out.Manager == nil || out.Manager.Master == "" || out.Manager.State != "active" || len(out.LRMs) != 3 {
		t.Errorf("manager %+v lrms %+v", out.Manager, out.LRMs)
	}
	want := map[string]string{"vm:100": "pve-node01", "vm:101": "pve-node01", "vm:102": "pve-node02", "ct:200": "pve-node01"}
	if len(out.Resources) != len(want) || out.Counts.Total != 4 || out.Counts.Started != 4 || out.Counts.Fenced != 0 || out.Counts.Error != 0 {
		t.Fatalf("resources %+v counts %+v", out.Resources, out.Counts)
	}
	for _, r := range out.Resources {
		if want[r.SID] != r.Node || r.State != "started" || r.MaxRestart == nil || r.MaxRelocate == nil || len(r.Rules) == 0 || r.Name == "" {
			t.Errorf("resource %+v", r)
		}
	}
	if len(out.Rules) == 0 {
		t.Error("PVE 9 rules missing")
	}
	found := false
	for _, u := range out.Unavailable {
		if strings.Contains(u.What, "corosync") {
			found = true
		}
	}
	if !found {
		t.Errorf("corosync link health not listed as unavailable: %v", m["unavailable"])
	}
	// Only the state asked for.
	var st HAResult
	healthCall(t, e, "ha_status", `{"state":"error"}`, &st)
	if len(st.Resources) != 0 || st.Counts.Total != 0 {
		t.Errorf("state filter: %+v", st.Resources)
	}
}

// TestHAStatusPVE8 reads groups instead of rules on a PVE 8 cluster.
func TestHAStatusPVE8(t *testing.T) {
	e := simEnv(t, pvesim.Options{PVEVersion: 8}, healthToolsets)
	var out struct {
		HAResult
		envelopeOut
	}
	healthCall(t, e, "ha_status", `{}`, &out)
	if len(out.Groups) != 2 || len(out.Rules) != 0 || len(out.Errors) != 0 {
		t.Fatalf("groups %+v rules %+v errors %+v", out.Groups, out.Rules, out.Errors)
	}
	for _, r := range out.Resources {
		if r.Group == "" {
			t.Errorf("PVE 8 resource without its group: %+v", r)
		}
	}
	var capOut CapacityResult
	healthCall(t, e, "capacity_report", `{"window":"none","allow_local_disk_moves":true}`, &capOut)
	validMoves(t, capOut)
}
