package tools

import (
	"encoding/json"
	"testing"

	"github.com/pvemcp/pvemcp/proxmox/pvesim"
)

func init() {
	declareArgs("capacity_report", testArgs{demo: fixed{`{"guests":true}`, `{"evacuate_node":"pve-node03"}`}})
}

// validMoves checks every suggested move against the thresholds and the
// demo's HA rules, and that no template or excluded target appears.
func validMoves(t *testing.T, out CapacityResult, noTarget ...string) {
	t.Helper()
	for _, m := range out.Moves {
		if m.ToAfter.MemUsedPct > 85 || m.ToAfter.CPUUsedPct > 90 {
			t.Errorf("move %d pushes %s over a threshold: %+v", m.Step, m.To, m.ToAfter)
		}
		if m.FromAfter.MemUsedPct > m.FromBefore.MemUsedPct {
			t.Errorf("move %d does not relieve %s: %+v -> %+v", m.Step, m.From, m.FromBefore, m.FromAfter)
		}
		for _, n := range noTarget {
			if m.To == n {
				t.Errorf("move %d targets %s", m.Step, n)
			}
		}
		for _, g := range m.Guests {
			if g.VMID == 9000 {
				t.Errorf("template moved: %+v", m)
			}
			// Demo HA rules: vm:102 prefers pve-node02 then pve-node03; the
			// ha-group1 members prefer pve-node01 then pve-node02.
			if g.VMID == 102 && m.To != "pve-node03" || (g.VMID == 100 || g.VMID == 101 || g.VMID == 200) && m.To != "pve-node02" {
				t.Errorf("move %d breaks the HA rules: %+v to %s", m.Step, g, m.To)
			}
		}
	}
	if len(out.Moves) == 0 && len(out.NoMoveReasons) == 0 {
		t.Error("no moves and no reason why")
	}
}

func TestCapacityReportDemo(t *testing.T) {
	e := newHealthEnv(t)
	var out struct {
		CapacityResult
		envelopeOut
	}
	healthCall(t, e, "capacity_report", `{}`, &out)
	if len(out.Nodes) != 3 || out.PeakBefore.MemNode != "pve-node03" || out.PeakBefore.MemPct < 85 {
		t.Fatalf("nodes %d peak %+v", len(out.Nodes), out.PeakBefore)
	}
	if a := out.alert("pve-node03", "mem_pct"); a == nil {
		t.Errorf("pve-node03 memory pressure not named: %+v", out.Alerts)
	}
	n3 := out.Nodes[2]
	if n3.Node != "pve-node03" || n3.CPUCores == 0 || n3.CPUThreads < n3.CPUCores || n3.VCPUsRunning == nil || *n3.VCPUsRunning == 0 || n3.MemAllocRunGiB == nil || *n3.MemAllocRunGiB == 0 || len(n3.Storages) == 0 {
		t.Errorf("node03 %+v", n3)
	}
	if out.OverTotal == 0 || len(out.OverProvisioned) == 0 || out.OverProvisioned[0].Samples == 0 || out.FindingsBasis == "" {
		t.Errorf("over-provisioned %d %+v", out.OverTotal, out.OverProvisioned)
	}
	validMoves(t, out.CapacityResult)
	// Every guest of pve-node03 has local disks: either a move or the reason.
	if len(out.Moves) == 0 && len(out.Blocked) == 0 {
		t.Errorf("no move and nothing blocked: %+v", out.NoMoveReasons)
	}

	var local CapacityResult
	healthCall(t, e, "capacity_report", `{"allow_local_disk_moves":true,"window":"none","guests":true}`, &local)
	if len(local.Guests) < 10 || local.Guests[0].MemAllocGiB == 0 || local.Guests[0].Samples != 0 {
		t.Errorf("guest list without history: %+v", local.Guests)
	}
	if len(local.Moves) == 0 || local.Moves[0].From != "pve-node03" || local.PeakAfter.MemPct >= local.PeakBefore.MemPct {
		t.Fatalf("local-disk moves: %+v peak %+v -> %+v %v", local.Moves, local.PeakBefore, local.PeakAfter, local.NoMoveReasons)
	}
	validMoves(t, local)
	if local.Moves[0].CostGiB == 0 || local.Apply == "" {
		t.Errorf("move cost / apply hint missing: %+v", local.Moves[0])
	}

	var ex CapacityResult
	healthCall(t, e, "capacity_report", `{"allow_local_disk_moves":true,"exclude_nodes":["pve-node02"],"max_moves":1,"window":"none"}`, &ex)
	if len(ex.Moves) > 1 {
		t.Errorf("max_moves 1: %d moves", len(ex.Moves))
	}
	validMoves(t, ex, "pve-node02")

	var ev CapacityResult
	healthCall(t, e, "capacity_report", `{"evacuate_node":"pve-node02","allow_local_disk_moves":true,"window":"none"}`, &ev)
	validMoves(t, ev, "pve-node02")
	left := map[int]bool{}
	for _, r := range []int{102, 110, 202, 203} { // pve-node02's guests in the demo
		left[r] = true
	}
	for _, m := range ev.Moves {
		for _, g := range m.Guests {
			if m.From == "pve-node02" {
				delete(left, g.VMID)
			}
		}
	}
	for _, b := range ev.Blocked {
		delete(left, b.VMID)
	}
	if len(left) > 0 {
		t.Errorf("guests neither moved off pve-node02 nor explained: %v (moves %+v, blocked %+v)", left, ev.Moves, ev.Blocked)
	}
	for _, bad := range []string{`{"evacuate_node":"pve-node02","exclude_nodes":["pve-node02"]}`, `{"exclude_nodes":["bad name"]}`, `{"evacuate_node":"pve-node09"}`} {
		if res, _ := e.call(t, "capacity_report", bad); !res.IsError {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestCapacityReportNodeOffline(t *testing.T) {
	e := newHealthEnv(t)
	defer e.sim.ClearFaults()
	e.sim.SetFault("pve-node01", pvesim.Fault{Offline: true})
	var out struct {
		CapacityResult
		envelopeOut
	}
	healthCall(t, e, "capacity_report", `{"allow_local_disk_moves":true,"window":"none"}`, &out)
	if !out.errorFor("pve-node01") {
		t.Errorf("no error naming pve-node01: %+v", out.Errors)
	}
	validMoves(t, out.CapacityResult, "pve-node01")
	for _, m := range out.Moves {
		if m.From == "pve-node01" {
			t.Errorf("guest moved off an offline node: %+v", m)
		}
	}
}

// BenchmarkCapacityReport32x1000 is the whole capacity_report call (reads,
// planning, output) on a generated 32-node, 1,000-guest cluster without RRD
// history (DESIGN §10: a plan for 1,000 guests on 32 nodes under 1 s).
func BenchmarkCapacityReport32x1000(b *testing.B) {
	e := generatedEnv(b, "nodes=32,guests=1000")
	args := json.RawMessage(`{"window":"none","allow_local_disk_moves":true}`)
	for b.Loop() {
		res, err := e.srv.Call(b.Context(), "capacity_report", args)
		if err != nil || res.IsError {
			b.Fatal(err, res.Text)
		}
	}
}

// BenchmarkCapacityReport32x1000History adds a week of RRD for every running
// guest (one call each).
func BenchmarkCapacityReport32x1000History(b *testing.B) {
	e := generatedEnv(b, "nodes=32,guests=1000")
	for b.Loop() {
		res, err := e.srv.Call(b.Context(), "capacity_report", json.RawMessage(`{}`))
		if err != nil || res.IsError {
			b.Fatal(err, res.Text)
		}
	}
}
