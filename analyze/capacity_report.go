package analyze

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// StorageCapacity is a storage's use on a node.
type StorageCapacity struct {
	Storage    string    `json:"storage"`
	Shared     bool      `json:"shared,omitempty"`
	TotalBytes uint64    `json:"total_bytes"`
	UsedBytes  uint64    `json:"used_bytes"`
	UsedPct    float64   `json:"used_pct"`
	Forecast   *Forecast `json:"forecast,omitempty"`
}

// NodeCapacity holds a node's figures. Ratios are vCPUs per CPU thread.
type NodeCapacity struct {
	Node       string  `json:"node"`
	Online     bool    `json:"online"`
	Excluded   bool    `json:"excluded,omitempty"`
	Evacuate   bool    `json:"evacuate,omitempty"`
	CPUCores   int     `json:"cpu_cores"`
	CPUThreads int     `json:"cpu_threads"`
	CPUUsedPct float64 `json:"cpu_used_pct"`
	// vCPUs allocated to running guests and to all guests (no templates).
	VCPUsRunning     float64 `json:"vcpus_running"`
	VCPUsAll         float64 `json:"vcpus_all"`
	VCPURatioRunning float64 `json:"vcpu_ratio_running"`
	VCPURatioAll     float64 `json:"vcpu_ratio_all"`
	MemTotalBytes    uint64  `json:"mem_total_bytes"`
	MemUsedBytes     uint64  `json:"mem_used_bytes"`
	MemUsedPct       float64 `json:"mem_used_pct"`
	// RAM allocated (maxmem) to running guests and to all guests.
	MemAllocRunningBytes uint64            `json:"mem_alloc_running_bytes"`
	MemAllocAllBytes     uint64            `json:"mem_alloc_all_bytes"`
	MemCommitPct         float64           `json:"mem_commit_pct"`
	GuestsRunning        int               `json:"guests_running"`
	GuestsStopped        int               `json:"guests_stopped"`
	Templates            int               `json:"templates,omitempty"`
	Storages             []StorageCapacity `json:"storages,omitempty"`
	MemForecast          *Forecast         `json:"mem_forecast,omitempty"`
}

// GuestFinding flags a guest's allocation against its observed use.
type GuestFinding struct {
	VMID int    `json:"vmid"`
	Name string `json:"name,omitempty"`
	Type string `json:"type"`
	Node string `json:"node"`
	// Kind is "over_provisioned" or "under_provisioned"; Resource "mem" or "cpu".
	Kind     string `json:"kind"`
	Resource string `json:"resource"`
	// Allocated is bytes (mem) or vCPUs (cpu); Avg and P95 in the same unit.
	Allocated float64 `json:"allocated"`
	Avg       float64 `json:"avg"`
	P95       float64 `json:"p95"`
	// P95Pct is p95 as a percent of the allocation.
	P95Pct   float64 `json:"p95_pct"`
	Evidence string  `json:"evidence"`
}

// NodeFigures are a node's planning figures at one moment.
type NodeFigures struct {
	MemUsedBytes uint64  `json:"mem_used_bytes"`
	MemUsedPct   float64 `json:"mem_used_pct"`
	VCPUsRunning float64 `json:"vcpus_running"`
	VCPURatio    float64 `json:"vcpu_ratio"`
	CPUUsedPct   float64 `json:"cpu_used_pct"`
}

// MovedGuest is a guest moved by a step.
type MovedGuest struct {
	VMID int    `json:"vmid"`
	Name string `json:"name,omitempty"`
	Type string `json:"type"`
	// Method is "online" (qemu live migration), "restart" (running
	// container) or "offline" (stopped guest).
	Method         string  `json:"method"`
	MemBytes       uint64  `json:"mem_bytes"`
	VCPUs          float64 `json:"vcpus"`
	LocalDiskBytes uint64  `json:"local_disk_bytes,omitempty"`
}

// Move is one suggested migration step (several guests only when a
// positive resource-affinity rule binds them).
type Move struct {
	Step   int          `json:"step"`
	Guests []MovedGuest `json:"guests"`
	From   string       `json:"from"`
	To     string       `json:"to"`
	Reason string       `json:"reason"`
	// Cost is the local disk bytes to copy.
	CostBytes  uint64      `json:"cost_bytes,omitempty"`
	FromBefore NodeFigures `json:"from_before"`
	FromAfter  NodeFigures `json:"from_after"`
	ToBefore   NodeFigures `json:"to_before"`
	ToAfter    NodeFigures `json:"to_after"`
	HARules    []string    `json:"ha_rules,omitempty"`
}

// Blocked is a guest that was considered but cannot move, and why.
type Blocked struct {
	VMID   int    `json:"vmid"`
	Name   string `json:"name,omitempty"`
	Node   string `json:"node"`
	Reason string `json:"reason"`
}

// Peak is the highest utilisation over the nodes that keep guests.
type Peak struct {
	MemNode   string  `json:"mem_node"`
	MemPct    float64 `json:"mem_pct"`
	VCPUNode  string  `json:"vcpu_node"`
	VCPURatio float64 `json:"vcpu_ratio"`
}

// CapacityReport is the output of PlanCapacity.
type CapacityReport struct {
	Nodes            []NodeCapacity `json:"nodes"`
	OverProvisioned  []GuestFinding `json:"over_provisioned,omitempty"`
	UnderProvisioned []GuestFinding `json:"under_provisioned,omitempty"`
	Moves            []Move         `json:"moves"`
	PeakBefore       Peak           `json:"peak_before"`
	PeakAfter        Peak           `json:"peak_after"`
	// NoMoveReasons say why nothing (more) should move.
	NoMoveReasons []string  `json:"no_move_reasons,omitempty"`
	Blocked       []Blocked `json:"blocked,omitempty"`
	Alerts        []Alert   `json:"alerts,omitempty"`
	// Search is "exact" or "greedy+lookahead".
	Search string   `json:"search"`
	Basis  []string `json:"basis"`
}

// PlanCapacity computes per-node figures, provisioning findings and a
// validated set of rebalancing moves.
func PlanCapacity(in CapacityInput, opt CapacityOptions) CapacityReport {
	opt = opt.withPlanDefaults()
	budget := opt.MaxMoves
	if budget <= 0 {
		budget = 5
		if len(opt.EvacuateNodes) > 0 {
			budget = math.MaxInt32
		}
	}
	p := newPlanner(in, opt)
	rep := CapacityReport{Moves: []Move{}}
	rep.Nodes = p.nodeFigures(&p.state)
	rep.OverProvisioned, rep.UnderProvisioned = provisioning(in.Guests, opt)
	for _, n := range in.Nodes {
		rep.Alerts = append(rep.Alerts, EvaluateNode(p.th, NodeUsage{Node: n.Name, Online: n.Online, CPUFraction: n.CPUFraction, MemTotalBytes: n.MemTotalBytes, MemUsedBytes: n.MemUsedBytes})...)
		for _, s := range n.Storages {
			if !s.Shared {
				rep.Alerts = append(rep.Alerts, EvaluateStorage(p.th, StorageUsage{Node: n.Name, Storage: s.Storage, Active: s.Active, Shared: s.Shared, TotalBytes: s.TotalBytes, UsedBytes: s.UsedBytes})...)
			}
		}
	}
	SortAlerts(rep.Alerts)
	initial := p.state.clone()
	before := p.eval(&p.state)
	rep.PeakBefore = p.peak(before)

	evSteps, blocked := p.evacuate(budget)
	rep.Blocked = blocked
	remaining := budget - len(evSteps)
	var balSteps []step
	rep.Search = "greedy+lookahead"
	if remaining > 0 {
		var ok bool
		if balSteps, ok = p.exact(remaining, opt.exactLimit); ok {
			rep.Search = "exact"
		} else {
			balSteps = p.greedy(remaining)
		}
	}
	after := p.eval(&p.state)
	rep.PeakAfter = p.peak(after)

	// Figures per move, replayed from the initial state.
	s := initial
	for i, st := range append(evSteps, balSteps...) {
		un := &p.units[st.unit]
		m := Move{Step: i + 1, From: p.nodes[st.from].name, To: p.nodes[st.to].name,
			FromBefore: p.figures(&s, st.from), ToBefore: p.figures(&s, st.to), HARules: un.haRules, CostBytes: uint64(un.localTotal)}
		p.apply(&s, st.unit, st.to)
		m.FromAfter, m.ToAfter = p.figures(&s, st.from), p.figures(&s, st.to)
		for _, gi := range un.guests {
			g := in.Guests[gi]
			mg := MovedGuest{VMID: g.VMID, Name: g.Name, Type: g.Type, MemBytes: g.MemMaxBytes, VCPUs: g.VCPUs, Method: "offline"}
			if g.Running {
				mg.Method = "online"
				if g.Type == "lxc" {
					mg.Method = "restart"
				}
			}
			for _, d := range g.Disks {
				if !d.Shared {
					mg.LocalDiskBytes += d.SizeBytes
				}
			}
			m.Guests = append(m.Guests, mg)
		}
		if i < len(evSteps) {
			m.Reason = fmt.Sprintf("evacuate %s; %s goes from %.0f%% to %.0f%% RAM, vCPU ratio %.2f → %.2f, within thresholds",
				m.From, m.To, m.ToBefore.MemUsedPct, m.ToAfter.MemUsedPct, m.ToBefore.VCPURatio, m.ToAfter.VCPURatio)
		} else {
			m.Reason = fmt.Sprintf("lowers %s RAM from %.0f%% to %.0f%% (frees %s and %g vCPUs); %s goes from %.0f%% to %.0f%% RAM, vCPU ratio %.2f → %.2f, within thresholds",
				m.From, m.FromBefore.MemUsedPct, m.FromAfter.MemUsedPct, HumanBytes(un.footprint), un.vcpuRun,
				m.To, m.ToBefore.MemUsedPct, m.ToAfter.MemUsedPct, m.ToBefore.VCPURatio, m.ToAfter.VCPURatio)
		}
		rep.Moves = append(rep.Moves, m)
	}

	if len(balSteps) == 0 {
		rep.NoMoveReasons = p.whyNoMove(before, remaining)
		if len(evSteps) == 0 && len(opt.EvacuateNodes) == 0 {
			rep.Blocked = append(rep.Blocked, p.peakBlocked(after)...)
		}
	}
	rep.Basis = []string{
		"RAM % = node memused / memtotal; a moved guest frees its footprint (max of current and p95 use) on the source and is charged its full allocation on the target",
		"vCPU ratio = vCPUs of running guests / CPU threads of the node",
		fmt.Sprintf("thresholds: RAM %.0f%%, CPU %.0f%%, storage %.0f%%, checked on the target after every move", p.th.RAMPct, p.th.CPUPct, p.th.StoragePct),
		"stopped guests use no RAM and move only when their node is evacuated; templates never move",
	}
	return rep
}

func (p *planner) peak(o objective) Peak {
	pk := Peak{MemPct: round1(o.mem), VCPURatio: round2(o.vcpu)}
	if o.memNode >= 0 {
		pk.MemNode = p.nodes[o.memNode].name
	}
	if o.vcpuNode >= 0 {
		pk.VCPUNode = p.nodes[o.vcpuNode].name
	}
	return pk
}

func (p *planner) figures(s *pState, n int) NodeFigures {
	f := NodeFigures{MemUsedBytes: uint64(math.Max(0, s.memUsed[n])), MemUsedPct: round1(p.memPct(s, n)),
		VCPUsRunning: s.vcpuRun[n], VCPURatio: round2(p.ratio(s, n))}
	if p.nodes[n].threads > 0 {
		f.CPUUsedPct = round1(100 * s.cpuUsed[n] / p.nodes[n].threads)
	}
	return f
}

func (p *planner) whyNoMove(before objective, remaining int) []string {
	var r []string
	if remaining <= 0 {
		return []string{"the move limit is used up"}
	}
	if before.memNode < 0 {
		return []string{"no online node keeps guests"}
	}
	name := p.nodes[before.memNode].name
	if before.mem < p.th.RAMPct {
		r = append(r, fmt.Sprintf("the highest RAM use (%s, %.0f%%) is below the %.0f%% threshold", name, before.mem, p.th.RAMPct))
	} else {
		r = append(r, fmt.Sprintf("%s RAM is at %.0f%%, at or above the %.0f%% threshold, but no valid move set lowers it", name, before.mem, p.th.RAMPct))
	}
	r = append(r, fmt.Sprintf("no set of at most %d moves lowers the RAM use of the most loaded nodes by %.0f points or more (or a vCPU ratio peak of %.1f or more by %.1f) without crossing a threshold or an HA rule", remaining, p.opt.MinGainPct, p.opt.VCPURatioWarn, p.opt.MinVCPURatioGain))
	return r
}

// peakBlocked explains, for the largest guests on the peak node, why they
// cannot move.
func (p *planner) peakBlocked(o objective) []Blocked {
	if o.memNode < 0 {
		return nil
	}
	var us []int
	for u := range p.units {
		if p.state.loc[u] == o.memNode && p.units[u].running {
			us = append(us, u)
		}
	}
	sort.SliceStable(us, func(a, b int) bool { return p.units[us[a]].alloc > p.units[us[b]].alloc })
	var out []Blocked
	for _, u := range us {
		if len(out) == 3 {
			break
		}
		if b := p.units[u].block; b != "" {
			out = append(out, p.blockedOf(u, b)...)
			continue
		}
		var why []string
		for t := range p.nodes {
			if t == o.memNode {
				continue
			}
			if r := p.check(&p.state, u, t); r != "" {
				why = append(why, r)
			}
		}
		if len(why) == len(p.nodes)-1 && len(why) > 0 {
			out = append(out, p.blockedOf(u, strings.Join(why, "; "))...)
		}
	}
	return out
}

func (p *planner) nodeFigures(s *pState) []NodeCapacity {
	out := make([]NodeCapacity, len(p.in.Nodes))
	for i, n := range p.in.Nodes {
		nc := NodeCapacity{Node: n.Name, Online: n.Online, Excluded: p.nodes[i].excluded, Evacuate: p.nodes[i].evacuate,
			CPUCores: n.CPUCores, CPUThreads: n.CPUThreads, CPUUsedPct: round1(100 * n.CPUFraction),
			MemTotalBytes: n.MemTotalBytes, MemUsedBytes: n.MemUsedBytes, MemUsedPct: round1(Pct(float64(n.MemUsedBytes), float64(n.MemTotalBytes)))}
		for _, st := range n.Storages {
			sc := StorageCapacity{Storage: st.Storage, Shared: st.Shared, TotalBytes: st.TotalBytes, UsedBytes: st.UsedBytes,
				UsedPct: round1(Pct(float64(st.UsedBytes), float64(st.TotalBytes)))}
			if len(st.History) > 0 {
				f := FillForecast(st.History, float64(st.TotalBytes), p.th.StoragePct, ForecastOptions{})
				sc.Forecast = &f
			}
			nc.Storages = append(nc.Storages, sc)
		}
		if len(n.MemHistory) > 0 {
			f := FillForecast(n.MemHistory, float64(n.MemTotalBytes), p.th.RAMPct, ForecastOptions{})
			nc.MemForecast = &f
		}
		out[i] = nc
	}
	idx := map[string]int{}
	for i, n := range p.in.Nodes {
		idx[n.Name] = i
	}
	for _, g := range p.in.Guests {
		i, ok := idx[g.Node]
		if !ok {
			continue
		}
		nc := &out[i]
		if g.Template {
			nc.Templates++
			continue
		}
		nc.VCPUsAll += g.VCPUs
		nc.MemAllocAllBytes += g.MemMaxBytes
		if g.Running {
			nc.GuestsRunning++
			nc.VCPUsRunning += g.VCPUs
			nc.MemAllocRunningBytes += g.MemMaxBytes
		} else {
			nc.GuestsStopped++
		}
	}
	for i := range out {
		nc := &out[i]
		if nc.CPUThreads > 0 {
			nc.VCPURatioRunning = round2(nc.VCPUsRunning / float64(nc.CPUThreads))
			nc.VCPURatioAll = round2(nc.VCPUsAll / float64(nc.CPUThreads))
		}
		nc.MemCommitPct = round1(Pct(float64(nc.MemAllocRunningBytes), float64(nc.MemTotalBytes)))
	}
	return out
}

// provisioning flags running guests with history whose p95 use is far
// below (over-provisioned) or close to (under-provisioned) their allocation.
func provisioning(guests []CapGuest, opt CapacityOptions) (over, under []GuestFinding) {
	window := "the window"
	if opt.Window != "" {
		window = "the last " + opt.Window
	}
	for _, g := range guests {
		if !g.Running || g.Template || g.HistorySamples == 0 {
			continue
		}
		base := GuestFinding{VMID: g.VMID, Name: g.Name, Type: g.Type, Node: g.Node}
		if g.MemMaxBytes > 0 {
			f := base
			f.Resource, f.Allocated, f.Avg, f.P95 = "mem", float64(g.MemMaxBytes), math.Round(g.MemAvgBytes), math.Round(g.MemP95Bytes)
			f.P95Pct = round1(Pct(g.MemP95Bytes, float64(g.MemMaxBytes)))
			switch {
			case f.P95Pct < opt.OverProvisionedPct:
				f.Kind = "over_provisioned"
				f.Evidence = fmt.Sprintf("p95 memory %s is %.0f%% of the %s allocated over %s (%d samples; avg %s)",
					HumanBytes(g.MemP95Bytes), f.P95Pct, HumanBytes(float64(g.MemMaxBytes)), window, g.HistorySamples, HumanBytes(g.MemAvgBytes))
				over = append(over, f)
			case 100-f.P95Pct < opt.UnderHeadroomPct:
				f.Kind = "under_provisioned"
				f.Evidence = fmt.Sprintf("p95 memory %s leaves %.0f%% headroom of the %s allocated over %s (%d samples)",
					HumanBytes(g.MemP95Bytes), 100-f.P95Pct, HumanBytes(float64(g.MemMaxBytes)), window, g.HistorySamples)
				under = append(under, f)
			}
		}
		if g.VCPUs > 0 {
			f := base
			f.Resource, f.Allocated = "cpu", g.VCPUs
			f.Avg, f.P95 = round2(g.CPUAvgFraction*g.VCPUs), round2(g.CPUP95Fraction*g.VCPUs)
			f.P95Pct = round1(100 * g.CPUP95Fraction)
			if 100-f.P95Pct < opt.UnderHeadroomPct {
				f.Kind = "under_provisioned"
				f.Evidence = fmt.Sprintf("p95 CPU %.0f%% of %g vCPUs over %s (%d samples)", f.P95Pct, g.VCPUs, window, g.HistorySamples)
				under = append(under, f)
			} else if g.VCPUs >= 2 && f.P95 < g.VCPUs/4 {
				f.Kind = "over_provisioned"
				f.Evidence = fmt.Sprintf("p95 CPU %.2f of %g vCPUs (%.0f%%) over %s (%d samples)", f.P95, g.VCPUs, f.P95Pct, window, g.HistorySamples)
				over = append(over, f)
			}
		}
	}
	return over, under
}
