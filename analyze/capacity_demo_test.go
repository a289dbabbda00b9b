package analyze

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func gb(f float64) uint64 { return uint64(f * (1 << 30)) }

// demoCluster is shaped like the product description's cluster: three
// nodes, pve-node03 at ~91% RAM.
func demoCluster() CapacityInput {
	stor := func(used, total float64) []CapStorage {
		return []CapStorage{{Storage: "local-zfs", Active: true, GuestDisks: true, TotalBytes: gb(total), UsedBytes: gb(used)},
			{Storage: "nfs-backup", Shared: true, Active: true, GuestDisks: true, TotalBytes: gb(8000), UsedBytes: gb(3000)},
			{Storage: "local", Active: true, TotalBytes: gb(100), UsedBytes: gb(10)}}
	}
	nodes := []CapNode{
		{Name: "pve-node01", Online: true, CPUCores: 8, CPUThreads: 16, CPUFraction: 0.34, MemTotalBytes: gb(76), MemUsedBytes: gb(60.3), Storages: stor(1200, 3600)},
		{Name: "pve-node02", Online: true, CPUCores: 8, CPUThreads: 16, CPUFraction: 0.22, MemTotalBytes: gb(64), MemUsedBytes: gb(38.7), Storages: stor(900, 3600)},
		{Name: "pve-node03", Online: true, CPUCores: 8, CPUThreads: 16, CPUFraction: 0.71, MemTotalBytes: gb(64), MemUsedBytes: gb(58.2), Storages: stor(2800, 3600)},
	}
	vm := func(id int, name, node string, vcpu float64, maxGB, usedGB float64, running bool) CapGuest {
		g := CapGuest{VMID: id, Name: name, Type: "qemu", Node: node, Running: running, VCPUs: vcpu, MemMaxBytes: gb(maxGB),
			Disks: []CapDisk{{Storage: "nfs-vms", SizeBytes: gb(32), Shared: true}}}
		if running {
			g.MemUsedBytes = gb(usedGB)
			g.CPUFraction = 0.3
			g.HistorySamples = 336
			g.CPUAvgFraction, g.CPUP95Fraction = 0.25, 0.4
			g.MemAvgBytes, g.MemP95Bytes = float64(gb(usedGB*0.95)), float64(gb(usedGB))
		}
		return g
	}
	guests := []CapGuest{
		vm(100, "dc01-win2022", "pve-node01", 4, 8, 4.1, true),
		vm(101, "app-server-prod", "pve-node01", 8, 16, 12.4, true),
		vm(102, "db-postgres-01", "pve-node01", 8, 32, 28.1, true),
		vm(105, "monitoring-stack", "pve-node01", 2, 4, 1.9, true),
		vm(103, "docker-host-01", "pve-node02", 8, 16, 13.8, true),
		vm(106, "ci-runner", "pve-node02", 4, 8, 6, true),
		vm(107, "file-server", "pve-node03", 4, 16, 15.2, true),
		vm(108, "mail-gw", "pve-node03", 2, 12, 11.1, true),
		vm(109, "erp-app", "pve-node03", 6, 20, 18.9, true),
		{VMID: 9000, Name: "ubuntu-22.04-cloud", Type: "qemu", Node: "pve-node03", Template: true, VCPUs: 2, MemMaxBytes: gb(2)},
		{VMID: 200, Name: "nginx-proxy", Type: "lxc", Node: "pve-node01", Running: true, VCPUs: 2, MemMaxBytes: gb(2), MemUsedBytes: gb(0.5),
			Disks: []CapDisk{{Storage: "local-zfs", SizeBytes: gb(8)}}},
		{VMID: 203, Name: "dev-sandbox", Type: "lxc", Node: "pve-node02", Running: false, VCPUs: 2, MemMaxBytes: gb(4),
			Disks: []CapDisk{{Storage: "local-zfs", SizeBytes: gb(20)}}},
		{VMID: 204, Name: "wazuh-agent-ct", Type: "lxc", Node: "pve-node03", Running: true, VCPUs: 2, MemMaxBytes: gb(1), MemUsedBytes: gb(0.4),
			Disks: []CapDisk{{Storage: "local-zfs", SizeBytes: gb(12)}}, HASID: "ct:204"},
	}
	rules := []HARule{
		{ID: "ha-group-ha-group1", Type: "node-affinity", Resources: []string{"vm:100", "vm:101", "ct:200"}, Nodes: map[string]int{"pve-node01": 2, "pve-node02": 1}},
		{ID: "keep-dbs-apart", Type: "resource-affinity", Affinity: "negative", Resources: []string{"vm:102", "vm:109"}},
	}
	guests[0].HASID, guests[1].HASID, guests[2].HASID, guests[8].HASID = "vm:100", "vm:101", "vm:102", "vm:109"
	return CapacityInput{Nodes: nodes, Guests: guests, HARules: rules}
}

func TestCapacityDemo(t *testing.T) {
	in := demoCluster()
	rep := PlanCapacity(in, CapacityOptions{Window: "week"})
	if rep.PeakBefore.MemNode != "pve-node03" || rep.PeakBefore.MemPct != 90.9 {
		t.Fatalf("peak before %+v", rep.PeakBefore)
	}
	var ramAlert bool
	for _, a := range rep.Alerts {
		if a.Subject == "pve-node03" && a.Metric == "mem_pct" && a.Severity == SeverityWarning {
			ramAlert = true
		}
	}
	if !ramAlert {
		t.Fatalf("no pve-node03 RAM alert: %+v", rep.Alerts)
	}
	if len(rep.Moves) == 0 {
		t.Fatalf("no move; reasons %v blocked %v", rep.NoMoveReasons, rep.Blocked)
	}
	for _, m := range rep.Moves {
		if m.ToAfter.MemUsedPct > 85 {
			t.Fatalf("move pushes %s to %.1f%%", m.To, m.ToAfter.MemUsedPct)
		}
		for _, g := range m.Guests {
			if g.VMID == 9000 || g.VMID == 204 || g.VMID == 200 {
				t.Fatalf("moved %d (template or local disk)", g.VMID)
			}
		}
	}
	if rep.PeakAfter.MemPct >= 85 {
		t.Fatalf("peak after %+v", rep.PeakAfter)
	}
	n1 := rep.Nodes[0]
	if *n1.VCPUsRunning != 24 || *n1.VCPURatioRunning != 1.5 || *n1.MemAllocRunGiB != 62 || *n1.GuestsRunning != 5 || *n1.CPUUsedPct != 34 ||
		n1.MemTotalGiB != 76 || *n1.MemUsedGiB != 60.3 || *n1.MemUsedPct != 79.3 || *n1.MemCommitPct != 81.6 || n1.GuestsUnknown != 0 {
		t.Fatalf("node01 figures %+v", n1)
	}
	n2 := rep.Nodes[1]
	if n2.VCPUsAll != 14 || *n2.VCPUsRunning != 12 || *n2.GuestsStopped != 1 {
		t.Fatalf("node02 figures %+v", n2)
	}
	if rep.Nodes[2].Templates != 1 {
		t.Fatalf("node03 %+v", rep.Nodes[2])
	}
	// Only the local storage that holds guest disks is listed.
	if s := rep.Nodes[0].Storages; len(s) != 1 || s[0].Storage != "local-zfs" || s[0].UsedGiB != 1200 || s[0].TotalGiB != 3600 || s[0].UsedPct != 33.3 {
		t.Fatalf("node01 storages %+v", s)
	}
	// 102 is at 28.1 of 32 GiB: 12% headroom, not flagged; 108 at 11.1/12 is.
	for _, f := range rep.UnderProvisioned {
		if f.VMID == 102 && f.Resource == "mem" {
			t.Fatalf("102 flagged: %+v", f)
		}
	}
	found := false
	for _, f := range rep.UnderProvisioned {
		found = found || (f.VMID == 108 && f.Resource == "mem" && f.Alloc == 12 && f.P95Pct > 90 && f.Samples > 0)
	}
	if !found {
		t.Fatalf("108 not under-provisioned: %+v", rep.UnderProvisioned)
	}
	if !strings.Contains(rep.FindingsBasis, "p95 memory under half of the allocation") || !strings.Contains(rep.FindingsBasis, "headroom under 10%") {
		t.Fatalf("findings basis %q", rep.FindingsBasis)
	}
	b, _ := json.Marshal(rep)
	if len(b) > 16000 {
		t.Fatalf("report is %d bytes", len(b))
	}
	t.Logf("moves: %+v", rep.Moves)
	t.Logf("peak %+v -> %+v (%s)", rep.PeakBefore, rep.PeakAfter, rep.Search)
}

func TestCapacityEvacuate(t *testing.T) {
	in := demoCluster()
	rep := PlanCapacity(in, CapacityOptions{EvacuateNodes: []string{"pve-node02"}, AllowLocalDiskMoves: true})
	moved := map[int]string{}
	for _, m := range rep.Moves {
		for _, g := range m.Guests {
			moved[g.VMID] = m.To
		}
		if m.From != "pve-node02" && !strings.HasPrefix(m.Reason, "lowers") {
			t.Fatalf("unexpected move %+v", m)
		}
		if m.To == "pve-node02" {
			t.Fatalf("move onto the evacuated node %+v", m)
		}
	}
	// The stopped container moves (offline, its local disk copied); the
	// running VMs fit nowhere: node01 would pass 85% (60.3+8 of 76 GiB) and
	// node03 is already above it.
	if moved[203] == "" || len(moved) != 1 {
		t.Fatalf("moved %v blocked %+v", moved, rep.Blocked)
	}
	if rep.Moves[0].Guests[0].Method != "offline" || rep.Moves[0].CostGiB != 20 {
		t.Fatalf("move %+v", rep.Moves[0])
	}
	blocked := map[int]string{}
	for _, b := range rep.Blocked {
		blocked[b.VMID] = b.Reason
	}
	if !strings.Contains(blocked[103], "pve-node01 RAM would reach 100%") || !strings.Contains(blocked[106], "pve-node01 RAM would reach 90%") {
		t.Fatalf("blocked %+v", rep.Blocked)
	}
	// An evacuation has no move limit, and the reasons say so.
	if len(rep.NoMoveReasons) != 2 || !strings.Contains(rep.NoMoveReasons[1], "no set of any number of moves lowers") {
		t.Fatalf("reasons %q", rep.NoMoveReasons)
	}
	for i := 1; i < len(rep.Blocked); i++ {
		if rep.Blocked[i].VMID < rep.Blocked[i-1].VMID {
			t.Fatalf("blocked not by VMID: %+v", rep.Blocked)
		}
	}
}

func TestCapacityBalancedNoMove(t *testing.T) {
	in := CapacityInput{
		Nodes: []CapNode{
			{Name: "a", Online: true, CPUThreads: 8, MemTotalBytes: gb(64), MemUsedBytes: gb(30)},
			{Name: "b", Online: true, CPUThreads: 8, MemTotalBytes: gb(64), MemUsedBytes: gb(31)},
		},
		Guests: []CapGuest{
			{VMID: 1, Type: "qemu", Node: "a", Running: true, VCPUs: 2, MemMaxBytes: gb(8), MemUsedBytes: gb(7)},
			{VMID: 2, Type: "qemu", Node: "b", Running: true, VCPUs: 2, MemMaxBytes: gb(8), MemUsedBytes: gb(7)},
		},
	}
	rep := PlanCapacity(in, CapacityOptions{})
	if len(rep.Moves) != 0 || len(rep.NoMoveReasons) == 0 || !strings.Contains(rep.NoMoveReasons[0], "below the 85% threshold") {
		t.Fatalf("%+v", rep)
	}
}

func TestCapacityHAAndForecasts(t *testing.T) {
	in := demoCluster()
	// Pin 108 and 107 (the movable guests on node03) with a strict rule to node03
	// and node01; node01 is too full, so nothing fits and the report says why.
	for i := range in.Guests {
		switch in.Guests[i].VMID {
		case 107, 108, 109:
			in.Guests[i].HASID = fmt.Sprintf("vm:%d", in.Guests[i].VMID)
		}
	}
	// A PVE 8 group "edge" (restricted), as PVE 9 migrates it to a rule.
	in.HARules = append(in.HARules, HARule{ID: "ha-group-edge", Type: "node-affinity", Nodes: map[string]int{"pve-node03": 2, "pve-node01": 1}, Strict: true,
		Resources: []string{"vm:107", "vm:108", "vm:109"}})
	// Storage and RAM history for the forecasts: +1.2 GiB/day on node03's local-zfs.
	var hist, mem []Point
	for i := 0; i < 100; i++ {
		hist = append(hist, Point{Time: int64(1_771_000_000 + i*21600), Value: float64(gb(2700)) + float64(i)*0.25*1.2*(1<<30)})
		mem = append(mem, Point{Time: int64(1_771_000_000 + i*21600), Value: float64(gb(58.2))})
	}
	in.Nodes[2].Storages[0].History = hist
	in.Nodes[2].MemHistory = mem
	rep := PlanCapacity(in, CapacityOptions{})
	if len(rep.Moves) != 0 {
		t.Fatalf("moves despite the strict rule: %+v", rep.Moves)
	}
	if len(rep.NoMoveReasons) == 0 || !strings.Contains(rep.NoMoveReasons[0], "pve-node03 RAM is at 91%") {
		t.Fatalf("reasons %v", rep.NoMoveReasons)
	}
	var why string
	for _, b := range rep.Blocked {
		if b.VMID == 109 {
			why = b.Reason
		}
	}
	if !strings.Contains(why, "HA node-affinity (ha-group-edge, keep-dbs-apart) does not allow pve-node02") {
		t.Fatalf("blocked %+v", rep.Blocked)
	}
	f := rep.Nodes[2].Storages[0].Forecast
	if f == nil || f.DaysToThreshold <= 0 || f.GrowthGiBPerDay != 1.2 || f.None != "" || f.Points == 0 {
		t.Fatalf("storage forecast %+v", f)
	}
	if mf := rep.Nodes[2].MemForecast; mf == nil || mf.DaysToThreshold != 0 || mf.GrowthGiBPerDay != 0 || mf.None != ReasonAlreadyPast {
		t.Fatalf("mem forecast %+v", mf)
	}
}

func TestCapacityVCPUDrivenMove(t *testing.T) {
	in := CapacityInput{
		Nodes: []CapNode{
			{Name: "a", Online: true, CPUThreads: 8, MemTotalBytes: gb(64), MemUsedBytes: gb(34)},
			{Name: "b", Online: true, CPUThreads: 8, MemTotalBytes: gb(64), MemUsedBytes: gb(30)},
		},
	}
	// a: 24 vCPUs on 8 threads (ratio 3); b: 4 (0.5). RAM first: a move
	// that does not raise the RAM peak and lowers the vCPU peak is suggested.
	for i := 0; i < 6; i++ {
		in.Guests = append(in.Guests, CapGuest{VMID: 100 + i, Type: "qemu", Node: "a", Running: true, VCPUs: 4, MemMaxBytes: gb(1), MemUsedBytes: gb(1)})
	}
	in.Guests = append(in.Guests, CapGuest{VMID: 200, Type: "qemu", Node: "b", Running: true, VCPUs: 4, MemMaxBytes: gb(6), MemUsedBytes: gb(6)})
	rep := PlanCapacity(in, CapacityOptions{})
	if len(rep.Moves) == 0 || rep.PeakAfter.VCPURatio >= 3 || rep.PeakAfter.MemPct > rep.PeakBefore.MemPct {
		t.Fatalf("moves %+v peak %+v → %+v reasons %v", rep.Moves, rep.PeakBefore, rep.PeakAfter, rep.NoMoveReasons)
	}
	// Below the 2.0 ratio nothing moves for vCPUs alone: any move must
	// lower the RAM peak by 2 points.
	in.Nodes[0].CPUThreads = 16
	if rep := PlanCapacity(in, CapacityOptions{}); len(rep.Moves) != 0 && rep.PeakAfter.MemPct > rep.PeakBefore.MemPct-2 {
		t.Fatalf("moved for a 1.5 ratio: %+v", rep.Moves)
	}
	if rep := PlanCapacity(in, CapacityOptions{MinGainPct: 50}); len(rep.Moves) != 0 {
		t.Fatalf("moved for a 1.5 ratio: %+v", rep.Moves)
	}
}

func TestCapacityDisallowedNodes(t *testing.T) {
	in := demoCluster()
	for i := range in.Guests {
		if in.Guests[i].Node == "pve-node03" {
			in.Guests[i].DisallowedNodes = map[string]string{"pve-node02": "storage 'nfs-vms' not available on target"}
		}
	}
	rep := PlanCapacity(in, CapacityOptions{})
	for _, m := range rep.Moves {
		if m.From == "pve-node03" && m.To == "pve-node02" {
			t.Fatalf("moved onto a node Proxmox refuses: %+v", m)
		}
	}
	var found bool
	for _, b := range rep.Blocked {
		found = found || strings.Contains(b.Reason, "Proxmox refuses pve-node02: storage 'nfs-vms' not available on target")
	}
	if !found {
		t.Fatalf("blocked %+v moves %+v", rep.Blocked, rep.Moves)
	}
}

// A node that is not online has no usage figures (Proxmox gives none) and
// its guests' states are unknown: the report leaves those fields out and
// counts the guests as unknown, keeping the configured figures.
func TestCapacityOfflineNodeFigures(t *testing.T) {
	in := demoCluster()
	in.Nodes[1].Online = false
	rep := PlanCapacity(in, CapacityOptions{})
	n2 := rep.Nodes[1]
	if n2.Online || n2.CPUUsedPct != nil || n2.MemUsedGiB != nil || n2.MemUsedPct != nil || n2.VCPUsRunning != nil || n2.VCPURatioRunning != nil ||
		n2.MemAllocRunGiB != nil || n2.MemCommitPct != nil || n2.GuestsRunning != nil || n2.GuestsStopped != nil {
		t.Fatalf("usage figures of an offline node: %+v", n2)
	}
	if n2.GuestsUnknown != 3 || n2.VCPUsAll != 14 || n2.MemTotalGiB != 64 || n2.MemAllocAllGiB == 0 || n2.CPUThreads != 16 {
		t.Fatalf("configured figures of an offline node: %+v", n2)
	}
	b, err := json.Marshal(n2)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"cpu_used_pct", "mem_used_gib", "mem_used_pct", "vcpus_running", "guests_running", "guests_stopped"} {
		if strings.Contains(string(b), `"`+k+`"`) {
			t.Errorf("%s in %s", k, b)
		}
	}
	if n1 := rep.Nodes[0]; n1.CPUUsedPct == nil || n1.GuestsRunning == nil || n1.GuestsUnknown != 0 {
		t.Fatalf("online node: %+v", n1)
	}
}
