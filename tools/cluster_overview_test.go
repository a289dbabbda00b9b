package tools

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/pvemcp/pvemcp/toolkit"
)

func TestClusterOverviewDemo(t *testing.T) {
	e := newTestEnv(t, "operator")
	res, _ := e.call(t, "cluster_overview", `{}`)
	raw, err := e.client.Resources(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Quorum *Quorum
		Nodes  []NodeSummary
		Guests GuestCounts
		Alerts []toolkit.Alert
	}
	if err := json.Unmarshal(res.Structured, &out); err != nil {
		t.Fatal(err)
	}
	if out.Quorum == nil || !out.Quorum.Quorate || out.Quorum.NodesTotal != 3 || out.Quorum.NodesOnline != 3 {
		t.Errorf("quorum %+v", out.Quorum)
	}
	if len(out.Nodes) != 3 || out.Nodes[0].Node != "pve-node01" || out.Nodes[2].Node != "pve-node03" {
		t.Fatalf("nodes %+v", out.Nodes)
	}
	for _, n := range out.Nodes {
		if n.Status != "online" || n.MemTotalGiB <= 0 || n.CPUs <= 0 || len(n.Storages) == 0 {
			t.Errorf("node %+v", n)
		}
		// Figures trace to /cluster/resources (the static ones exactly).
		for _, r := range raw {
			switch {
			case r.Type == "node" && r.Node == n.Node:
				if n.MemTotalGiB != toolkit.GiB(r.MaxMem) || n.CPUs != int(r.MaxCPU) {
					t.Errorf("%s: mem_total_gib %v cpus %d, /cluster/resources gives %v %v", n.Node, n.MemTotalGiB, n.CPUs, toolkit.GiB(r.MaxMem), r.MaxCPU)
				}
			case r.Type == "storage" && r.Node == n.Node && !bool(r.Shared):
				found := false
				for _, s := range n.Storages {
					if s.Storage == r.Storage && s.TotalGiB != nil && *s.TotalGiB == toolkit.GiB(r.MaxDisk) {
						found = true
					}
				}
				if !found {
					t.Errorf("%s: storage %s (%v GiB) missing or different", n.Node, r.Storage, toolkit.GiB(r.MaxDisk))
				}
			}
		}
	}
	if out.Guests.VMs == 0 || out.Guests.CTs == 0 {
		t.Errorf("guests %+v", out.Guests)
	}
	// The demo's pve-node03 runs hot on RAM (product description: 91%).
	found := false
	for _, a := range out.Alerts {
		if a.Subject == "pve-node03" && a.Metric == "mem_pct" {
			found = true
		}
	}
	if !found {
		t.Errorf("no RAM alert for pve-node03: %+v (node03 at %.1f%%)", out.Alerts, out.Nodes[2].MemPct)
	}
}
