package analyze

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// The report's types are capacity_report's result types: figures in GiB
// and percent, rounded as results show them, and the descriptions its
// output schema carries.

// NodeCapacity is a node's capacity; ratios are vCPUs per CPU thread. A
// node that is not online has no usage figures (Proxmox gives none) and
// its guests' states are unknown: those fields are nil.
type NodeCapacity struct {
	Node       string   `json:"node"`
	Online     bool     `json:"online"`
	Excluded   bool     `json:"excluded,omitempty"`
	Evacuate   bool     `json:"evacuate,omitempty"`
	CPUCores   int      `json:"cpu_cores,omitempty" description:"physical cores (cores × sockets)"`
	CPUThreads int      `json:"cpu_threads"`
	CPUUsedPct *float64 `json:"cpu_used_pct,omitempty" description:"absent when the node is not online"`
	// vCPUs allocated to running guests and to all guests (no templates).
	VCPUsRunning     *float64 `json:"vcpus_running,omitempty" description:"absent when the node is not online"`
	VCPUsAll         float64  `json:"vcpus_all"`
	VCPURatioRunning *float64 `json:"vcpu_ratio_running,omitempty" description:"vCPUs of running guests per thread"`
	VCPURatioAll     float64  `json:"vcpu_ratio_all"`
	MemTotalGiB      float64  `json:"mem_total_gib"`
	MemUsedGiB       *float64 `json:"mem_used_gib,omitempty" description:"absent when the node is not online"`
	MemUsedPct       *float64 `json:"mem_used_pct,omitempty"`
	// RAM allocated (maxmem) to running guests and to all guests.
	MemAllocRunGiB *float64          `json:"mem_alloc_running_gib,omitempty" description:"maxmem of running guests"`
	MemAllocAllGiB float64           `json:"mem_alloc_all_gib"`
	MemCommitPct   *float64          `json:"mem_commit_pct,omitempty" description:"RAM allocated to running guests / total"`
	GuestsRunning  *int              `json:"guests_running,omitempty"`
	GuestsStopped  *int              `json:"guests_stopped,omitempty"`
	GuestsUnknown  int               `json:"guests_unknown,omitempty" description:"guests of a node that is not online: their state is unknown"`
	Templates      int               `json:"templates,omitempty"`
	MemForecast    *CapForecast      `json:"mem_forecast,omitempty" description:"days until the RAM threshold from the node's RRD"`
	Storages       []StorageCapacity `json:"storages,omitempty" description:"local storages holding guest disks"`
}

// StorageCapacity is a local storage of a node that holds guest disks.
type StorageCapacity struct {
	Storage  string       `json:"storage"`
	UsedGiB  float64      `json:"used_gib"`
	TotalGiB float64      `json:"total_gib"`
	UsedPct  float64      `json:"used_pct"`
	Forecast *CapForecast `json:"forecast,omitempty"`
}

// CapForecast is a compact linear fill forecast (see FillForecast).
type CapForecast struct {
	DaysToThreshold float64 `json:"days_to_threshold,omitempty"`
	GrowthGiBPerDay float64 `json:"growth_gib_per_day,omitempty"`
	None            string  `json:"none,omitempty" description:"why there is no forecast"`
	Points          int     `json:"points"`
}

// CapFinding is an over- or under-provisioned guest: its allocation against
// its observed use over the window.
type CapFinding struct {
	VMID     int    `json:"vmid"`
	Name     string `json:"name,omitempty"`
	Node     string `json:"node"`
	Resource string `json:"resource" description:"mem (GiB) or cpu (vCPUs)"`
	// Alloc, Avg and P95 are GiB (mem) or vCPUs (cpu).
	Alloc   float64 `json:"alloc"`
	Avg     float64 `json:"avg"`
	P95     float64 `json:"p95"`
	P95Pct  float64 `json:"p95_pct" description:"p95 as % of the allocation"`
	Samples int     `json:"samples" description:"RRD samples behind avg and p95"`
}

// CapFigures are a node's planning figures at one step.
type CapFigures struct {
	MemUsedPct float64 `json:"mem_used_pct"`
	VCPURatio  float64 `json:"vcpu_ratio"`
	CPUUsedPct float64 `json:"cpu_used_pct"`
}

// MovedGuest is a guest moved by a step.
type MovedGuest struct {
	VMID   int    `json:"vmid"`
	Name   string `json:"name,omitempty"`
	Type   string `json:"type"`
	Method string `json:"method" description:"online (live), restart (container) or offline"`
	// MemGiB is the allocation charged on the target.
	MemGiB float64 `json:"mem_gib"`
	VCPUs  float64 `json:"vcpus"`
}

// Move is one suggested migration step (several guests only when a
// positive resource-affinity rule binds them).
type Move struct {
	Step   int          `json:"step"`
	Guests []MovedGuest `json:"guests"`
	From   string       `json:"from"`
	To     string       `json:"to"`
	Reason string       `json:"reason"`
	// CostGiB is the local disk data to copy.
	CostGiB    float64    `json:"local_disk_copy_gib,omitempty"`
	FromBefore CapFigures `json:"from_before"`
	FromAfter  CapFigures `json:"from_after"`
	ToBefore   CapFigures `json:"to_before"`
	ToAfter    CapFigures `json:"to_after"`
	HARules    []string   `json:"ha_rules,omitempty"`
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
	Nodes []NodeCapacity `json:"nodes"`
	// Findings, most useful first; FindingsBasis says how they are judged
	// (empty when there is none).
	OverProvisioned  []CapFinding `json:"over_provisioned,omitempty"`
	UnderProvisioned []CapFinding `json:"under_provisioned,omitempty"`
	FindingsBasis    string       `json:"findings_basis,omitempty"`
	Moves            []Move       `json:"moves"`
	PeakBefore       Peak         `json:"peak_before"`
	PeakAfter        Peak         `json:"peak_after"`
	// NoMoveReasons say why nothing (more) should move.
	NoMoveReasons []string `json:"no_move_reasons,omitempty"`
	// Blocked, by VMID.
	Blocked []Blocked `json:"blocked,omitempty"`
	Alerts  []Alert   `json:"alerts,omitempty"`
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
			budget = unlimitedMoves
		}
	}
	p := newPlanner(in, opt)
	rep := CapacityReport{Moves: []Move{}}
	rep.Nodes = p.nodeFigures()
	rep.OverProvisioned, rep.UnderProvisioned = provisioning(in.Guests, opt)
	if len(rep.OverProvisioned)+len(rep.UnderProvisioned) > 0 {
		rep.FindingsBasis = findingsBasis(opt)
	}
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
			FromBefore: p.figures(&s, st.from), ToBefore: p.figures(&s, st.to), HARules: un.haRules, CostGiB: inGiB(un.localTotal)}
		p.apply(&s, st.unit, st.to)
		m.FromAfter, m.ToAfter = p.figures(&s, st.from), p.figures(&s, st.to)
		for _, gi := range un.guests {
			g := in.Guests[gi]
			mg := MovedGuest{VMID: g.VMID, Name: g.Name, Type: g.Type, MemGiB: inGiB(float64(g.MemMaxBytes)), VCPUs: g.VCPUs, Method: "offline"}
			if g.Running {
				mg.Method = "online"
				if g.Type == "lxc" {
					mg.Method = "restart"
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
		rep.NoMoveReasons = p.whyNoMove(before, remaining, budget == unlimitedMoves)
		if len(evSteps) == 0 && len(opt.EvacuateNodes) == 0 {
			rep.Blocked = append(rep.Blocked, p.peakBlocked(after)...)
		}
	}
	sort.SliceStable(rep.Blocked, func(i, j int) bool { return rep.Blocked[i].VMID < rep.Blocked[j].VMID })
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

// unlimitedMoves is the move budget of an evacuation without a limit.
const unlimitedMoves = math.MaxInt32

func (p *planner) figures(s *pState, n int) CapFigures {
	f := CapFigures{MemUsedPct: round1(p.memPct(s, n)), VCPURatio: round2(p.ratio(s, n))}
	if p.nodes[n].threads > 0 {
		f.CPUUsedPct = round1(100 * s.cpuUsed[n] / p.nodes[n].threads)
	}
	return f
}

func (p *planner) whyNoMove(before objective, remaining int, unlimited bool) []string {
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
	moves := fmt.Sprintf("at most %d moves", remaining)
	if unlimited {
		moves = "any number of moves"
	}
	r = append(r, fmt.Sprintf("no set of %s lowers the RAM use of the most loaded nodes by %.0f points or more (or a vCPU ratio peak of %.1f or more by %.1f) without crossing a threshold or an HA rule", moves, p.opt.MinGainPct, p.opt.VCPURatioWarn, p.opt.MinVCPURatioGain))
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

// nodeFigures are the nodes' figures before any move.
func (p *planner) nodeFigures() []NodeCapacity {
	out := make([]NodeCapacity, len(p.in.Nodes))
	idx := map[string]int{}
	for i, n := range p.in.Nodes {
		idx[n.Name] = i
		nc := NodeCapacity{Node: n.Name, Online: n.Online, Excluded: p.nodes[i].excluded, Evacuate: p.nodes[i].evacuate,
			CPUCores: n.CPUCores, CPUThreads: n.CPUThreads, MemTotalGiB: inGiB(float64(n.MemTotalBytes))}
		for _, st := range n.Storages {
			if st.Shared || !st.GuestDisks {
				continue
			}
			sc := StorageCapacity{Storage: st.Storage, UsedGiB: inGiB(float64(st.UsedBytes)), TotalGiB: inGiB(float64(st.TotalBytes)),
				UsedPct: round1(Pct(float64(st.UsedBytes), float64(st.TotalBytes)))}
			if len(st.History) > 0 {
				sc.Forecast = capForecast(FillForecast(st.History, float64(st.TotalBytes), p.th.StoragePct, ForecastOptions{}))
			}
			nc.Storages = append(nc.Storages, sc)
		}
		if len(n.MemHistory) > 0 {
			nc.MemForecast = capForecast(FillForecast(n.MemHistory, float64(n.MemTotalBytes), p.th.RAMPct, ForecastOptions{}))
		}
		out[i] = nc
	}
	// Allocation by node: vCPUs and RAM of running guests and of all.
	type alloc struct {
		running, stopped         int
		vcpusRunning, memRunning float64
		vcpusAll, memAll         float64
	}
	sums := make([]alloc, len(out))
	for _, g := range p.in.Guests {
		i, ok := idx[g.Node]
		if !ok {
			continue
		}
		if g.Template {
			out[i].Templates++
			continue
		}
		a := &sums[i]
		a.vcpusAll += g.VCPUs
		a.memAll += float64(g.MemMaxBytes)
		if g.Running {
			a.running++
			a.vcpusRunning += g.VCPUs
			a.memRunning += float64(g.MemMaxBytes)
		} else {
			a.stopped++
		}
	}
	for i, n := range p.in.Nodes {
		nc, a := &out[i], sums[i]
		nc.VCPUsAll, nc.MemAllocAllGiB = a.vcpusAll, inGiB(a.memAll)
		ratioRunning := 0.0
		if n.CPUThreads > 0 {
			ratioRunning = round2(a.vcpusRunning / float64(n.CPUThreads))
			nc.VCPURatioAll = round2(a.vcpusAll / float64(n.CPUThreads))
		}
		if !n.Online {
			// No usage figures, and its guests' states are unknown.
			nc.GuestsUnknown = a.running + a.stopped
			continue
		}
		nc.CPUUsedPct, nc.MemUsedPct = ptr(round1(100*n.CPUFraction)), ptr(round1(Pct(float64(n.MemUsedBytes), float64(n.MemTotalBytes))))
		nc.MemUsedGiB = ptr(inGiB(float64(n.MemUsedBytes)))
		nc.VCPUsRunning, nc.VCPURatioRunning = ptr(a.vcpusRunning), ptr(ratioRunning)
		nc.MemAllocRunGiB, nc.MemCommitPct = ptr(inGiB(a.memRunning)), ptr(round1(Pct(a.memRunning, float64(n.MemTotalBytes))))
		nc.GuestsRunning, nc.GuestsStopped = ptr(a.running), ptr(a.stopped)
	}
	return out
}

// capForecast is the compact form of a forecast; nil for a flat trend
// (nothing to say).
func capForecast(f Forecast) *CapForecast {
	if f.Reason == ReasonFlat {
		return nil
	}
	out := &CapForecast{Points: f.Points}
	if f.Available {
		out.DaysToThreshold, out.GrowthGiBPerDay = f.DaysToThreshold, round2(f.SlopeBytesPerDay/(1<<30))
	} else {
		out.None = f.Reason
	}
	return out
}

// inGiB converts bytes to GiB with one decimal, as results show sizes.
func inGiB(b float64) float64 { return round1(b / (1 << 30)) }

// ptr is a figure that may be absent (see NodeCapacity).
func ptr[T any](v T) *T { return &v }

// provisioning flags running guests with history whose p95 use is far
// below (over-provisioned) or close to (under-provisioned) their
// allocation.
func provisioning(guests []CapGuest, opt CapacityOptions) (over, under []CapFinding) {
	for _, g := range guests {
		if !g.Running || g.Template || g.HistorySamples == 0 {
			continue
		}
		base := CapFinding{VMID: g.VMID, Name: g.Name, Node: g.Node, Samples: g.HistorySamples}
		if g.MemMaxBytes > 0 {
			f := base
			f.Resource = "mem"
			f.Alloc, f.Avg, f.P95 = inGiB2(float64(g.MemMaxBytes)), inGiB2(math.Round(g.MemAvgBytes)), inGiB2(math.Round(g.MemP95Bytes))
			f.P95Pct = round1(Pct(g.MemP95Bytes, float64(g.MemMaxBytes)))
			switch {
			case f.P95Pct < opt.OverProvisionedPct:
				over = append(over, f)
			case 100-f.P95Pct < opt.UnderHeadroomPct:
				under = append(under, f)
			}
		}
		if g.VCPUs > 0 {
			f := base
			f.Resource, f.Alloc = "cpu", round2(g.VCPUs)
			f.Avg, f.P95 = round2(g.CPUAvgFraction*g.VCPUs), round2(g.CPUP95Fraction*g.VCPUs)
			f.P95Pct = round1(100 * g.CPUP95Fraction)
			if 100-f.P95Pct < opt.UnderHeadroomPct {
				under = append(under, f)
			} else if g.VCPUs >= 2 && f.P95 < g.VCPUs/4 {
				over = append(over, f)
			}
		}
	}
	return over, under
}

// findingsBasis says how provisioning judges guests.
func findingsBasis(opt CapacityOptions) string {
	window := "the window"
	if opt.Window != "" {
		window = "the last " + opt.Window
	}
	share := fmt.Sprintf("%.0f%%", opt.OverProvisionedPct)
	if opt.OverProvisionedPct == 50 {
		share = "half"
	}
	return fmt.Sprintf("average and p95 of each running guest's RRD over %s; over-provisioned: p95 memory under %s "+
		"of the allocation or p95 CPU under a quarter of the vCPUs; under-provisioned: p95 headroom under %.0f%%", window, share, opt.UnderHeadroomPct)
}

// inGiB2 converts bytes to GiB with two decimals (small sizes).
func inGiB2(b float64) float64 { return round2(b / (1 << 30)) }
