package analyze

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// The planner's state: nodes, movable units (a guest, or guests bound by
// a positive affinity rule), the figures a move changes, the objective and
// the check of one move.

type pNode struct {
	name                       string
	online, excluded, evacuate bool
	threads, memTotal          float64
	stor                       map[string]*pStor
}

type pStor struct {
	shared, active bool
	total          float64
}

type pUnit struct {
	guests     []int // indexes into the input guests
	home       int   // node index at the start
	running    bool
	footprint  float64 // RAM freed on the source
	alloc      float64 // RAM charged on the target
	vcpus      float64 // all guests' vCPUs
	vcpuRun    float64
	cpuThreads float64
	local      map[string]float64 // storage → bytes to copy
	localTotal float64
	block      string         // non-empty: never moves
	allowed    []bool         // nil: any node
	deny       map[int]string // node → why Proxmox refuses it
	neg        []int          // negative rules this unit is in
	haRules    []string
}

type pState struct {
	loc      []int // unit → node
	memUsed  []float64
	cpuUsed  []float64 // threads
	vcpuRun  []float64
	vcpuAll  []float64
	storUsed []map[string]float64
}

type planner struct {
	in      CapacityInput
	opt     CapacityOptions
	th      Thresholds
	nodes   []pNode
	units   []pUnit
	negRule [][]int // rule → units
	negName []string
	state   pState
	// moved marks units already moved by an earlier phase: no guest moves twice.
	moved map[int]bool
}

func (s *pState) clone() pState {
	c := pState{
		loc:     append([]int(nil), s.loc...),
		memUsed: append([]float64(nil), s.memUsed...),
		cpuUsed: append([]float64(nil), s.cpuUsed...),
		vcpuRun: append([]float64(nil), s.vcpuRun...),
		vcpuAll: append([]float64(nil), s.vcpuAll...),
	}
	c.storUsed = make([]map[string]float64, len(s.storUsed))
	for i, m := range s.storUsed {
		c.storUsed[i] = make(map[string]float64, len(m))
		for k, v := range m {
			c.storUsed[i][k] = v
		}
	}
	return c
}

func (p *planner) apply(s *pState, u, to int) {
	un := &p.units[u]
	from := s.loc[u]
	s.loc[u] = to
	if un.running {
		s.memUsed[from] -= un.footprint
		s.memUsed[to] += un.alloc
		s.vcpuRun[from] -= un.vcpuRun
		s.vcpuRun[to] += un.vcpuRun
		s.cpuUsed[from] -= un.cpuThreads
		s.cpuUsed[to] += un.cpuThreads
	}
	s.vcpuAll[from] -= un.vcpus
	s.vcpuAll[to] += un.vcpus
	for st, b := range un.local {
		s.storUsed[from][st] -= b
		s.storUsed[to][st] += b
	}
}

// undo reverses apply exactly (the deltas are asymmetric for RAM).
func (p *planner) undo(s *pState, u, from int) {
	un := &p.units[u]
	to := s.loc[u]
	s.loc[u] = from
	if un.running {
		s.memUsed[from] += un.footprint
		s.memUsed[to] -= un.alloc
		s.vcpuRun[from] += un.vcpuRun
		s.vcpuRun[to] -= un.vcpuRun
		s.cpuUsed[from] += un.cpuThreads
		s.cpuUsed[to] -= un.cpuThreads
	}
	s.vcpuAll[from] += un.vcpus
	s.vcpuAll[to] -= un.vcpus
	for st, b := range un.local {
		s.storUsed[from][st] += b
		s.storUsed[to][st] -= b
	}
}

func (p *planner) receives(n int) bool {
	nd := p.nodes[n]
	return nd.online && !nd.excluded && !nd.evacuate
}

// counts reports whether a node counts for the peak (it keeps guests).
func (p *planner) counts(n int) bool {
	return p.nodes[n].online && !p.nodes[n].evacuate
}

func (p *planner) memPct(s *pState, n int) float64 {
	if p.nodes[n].memTotal <= 0 {
		return 0
	}
	return 100 * s.memUsed[n] / p.nodes[n].memTotal
}

func (p *planner) ratio(s *pState, n int) float64 {
	if p.nodes[n].threads <= 0 {
		return 0
	}
	return s.vcpuRun[n] / p.nodes[n].threads
}

// objective ranks states: the nodes' RAM use sorted from highest down,
// compared entry by entry (first the peak, then the next highest: leximin,
// so relieving one of several equally hot nodes counts), then the vCPU
// ratio peak.
type objective struct {
	mems              []float64 // RAM % of counted nodes, highest first
	mem, vcpu         float64   // RAM peak and vCPU ratio peak
	memNode, vcpuNode int
}

func (p *planner) eval(s *pState) objective {
	return p.evalInto(s, make([]float64, 0, len(p.nodes)))
}

// evalInto is eval writing the RAM list into buf (reused by scans).
func (p *planner) evalInto(s *pState, buf []float64) objective {
	o := objective{memNode: -1, vcpuNode: -1, mems: buf[:0]}
	for n := range p.nodes {
		if !p.counts(n) {
			continue
		}
		m := p.memPct(s, n)
		r := p.ratio(s, n)
		if o.memNode < 0 || m > o.mem {
			o.mem, o.memNode = m, n
		}
		if o.vcpuNode < 0 || r > o.vcpu {
			o.vcpu, o.vcpuNode = r, n
		}
		o.mems = append(o.mems, m)
	}
	slices.Sort(o.mems)
	slices.Reverse(o.mems)
	return o
}

// objEps: percentages and ratios closer than this are equal.
const objEps = 1e-6

// better is the strict order used to rank candidates.
func better(a, b objective) bool {
	for i := range a.mems {
		if a.mems[i] < b.mems[i]-objEps {
			return true
		}
		if a.mems[i] > b.mems[i]+objEps {
			return false
		}
	}
	return a.vcpu < b.vcpu-objEps
}

// gains reports whether b improves on a enough to be worth moving guests:
// some RAM entry falls by at least MinGainPct while no entry before it gets
// worse, and that entry is the peak or a node at or over the RAM threshold
// (ties between nodes thus do not hide relief); or RAM is not worse
// (lexicographically) and a vCPU peak of at least VCPURatioWarn falls by
// MinVCPURatioGain.
func (p *planner) gains(a, b objective) bool {
	for i := range a.mems {
		if b.mems[i] <= a.mems[i]-p.opt.MinGainPct+objEps && (i == 0 || a.mems[i] >= p.th.RAMPct-objEps) {
			return true
		}
		if b.mems[i] > a.mems[i]+objEps {
			break
		}
	}
	for i := range a.mems {
		if b.mems[i] > a.mems[i]+objEps {
			return false
		}
		if b.mems[i] < a.mems[i]-objEps {
			break
		}
	}
	return a.vcpu >= p.opt.VCPURatioWarn-objEps && b.vcpu <= a.vcpu-p.opt.MinVCPURatioGain+objEps
}

// check returns "" when unit u may move to node t in state s, else why not.
func (p *planner) check(s *pState, u, t int) string {
	un := &p.units[u]
	nd := &p.nodes[t]
	switch {
	case un.block != "":
		return un.block
	case s.loc[u] == t:
		return "already there"
	case !nd.online:
		return nd.name + " is offline"
	case nd.evacuate:
		return nd.name + " is being evacuated"
	case nd.excluded:
		return nd.name + " is excluded"
	case un.allowed != nil && !un.allowed[t]:
		return "HA node-affinity (" + strings.Join(un.haRules, ", ") + ") does not allow " + nd.name
	case un.deny[t] != "":
		return "Proxmox refuses " + nd.name + ": " + un.deny[t]
	}
	for _, r := range un.neg {
		for _, o := range p.negRule[r] {
			if o != u && s.loc[o] == t {
				return fmt.Sprintf("HA rule %s keeps it apart from %s on %s", p.negName[r], p.unitLabel(o), nd.name)
			}
		}
	}
	if !un.running && nd.memTotal > 0 {
		if pct := 100 * s.memUsed[t] / nd.memTotal; pct > p.th.RAMPct+1e-9 {
			return fmt.Sprintf("%s RAM is already at %.0f%% (threshold %.0f%%)", nd.name, pct, p.th.RAMPct)
		}
	}
	if un.running {
		if nd.memTotal <= 0 {
			return nd.name + " memory size unknown"
		}
		if pct := 100 * (s.memUsed[t] + un.alloc) / nd.memTotal; pct > p.th.RAMPct+1e-9 {
			return fmt.Sprintf("%s RAM would reach %.0f%% (threshold %.0f%%)", nd.name, pct, p.th.RAMPct)
		}
		if nd.threads > 0 {
			if pct := 100 * (s.cpuUsed[t] + un.cpuThreads) / nd.threads; pct > p.th.CPUPct+1e-9 {
				return fmt.Sprintf("%s CPU would reach %.0f%% (threshold %.0f%%)", nd.name, pct, p.th.CPUPct)
			}
			if p.opt.MaxVCPURatio > 0 && (s.vcpuRun[t]+un.vcpuRun)/nd.threads > p.opt.MaxVCPURatio+1e-9 {
				return fmt.Sprintf("%s vCPU ratio would exceed %.1f", nd.name, p.opt.MaxVCPURatio)
			}
		}
	}
	for st, b := range un.local {
		ts := nd.stor[st]
		if ts == nil || !ts.active || ts.shared || ts.total <= 0 {
			return fmt.Sprintf("%s has no active local storage %q for its disks", nd.name, st)
		}
		if pct := 100 * (s.storUsed[t][st] + b) / ts.total; pct > p.th.StoragePct+1e-9 {
			return fmt.Sprintf("%s storage %s would reach %.0f%% (threshold %.0f%%)", nd.name, st, pct, p.th.StoragePct)
		}
	}
	return ""
}

func (p *planner) unitLabel(u int) string {
	g := p.in.Guests[p.units[u].guests[0]]
	return GuestSubject(g.Type, g.VMID)
}

func newPlanner(in CapacityInput, opt CapacityOptions) *planner {
	p := &planner{in: in, opt: opt, th: opt.Thresholds.WithDefaults(), moved: map[int]bool{}}
	idx := map[string]int{}
	excl := map[string]bool{}
	for _, n := range opt.ExcludeNodes {
		excl[n] = true
	}
	evac := map[string]bool{}
	for _, n := range opt.EvacuateNodes {
		evac[n] = true
	}
	st := pState{}
	for i, n := range in.Nodes {
		idx[n.Name] = i
		pn := pNode{name: n.Name, online: n.Online, excluded: excl[n.Name], evacuate: evac[n.Name],
			threads: float64(n.CPUThreads), memTotal: float64(n.MemTotalBytes), stor: map[string]*pStor{}}
		su := map[string]float64{}
		for _, s := range n.Storages {
			pn.stor[s.Storage] = &pStor{shared: s.Shared, active: s.Active, total: float64(s.TotalBytes)}
			su[s.Storage] = float64(s.UsedBytes)
		}
		p.nodes = append(p.nodes, pn)
		st.memUsed = append(st.memUsed, float64(n.MemUsedBytes))
		st.cpuUsed = append(st.cpuUsed, n.CPUFraction*float64(n.CPUThreads))
		st.vcpuRun = append(st.vcpuRun, 0)
		st.vcpuAll = append(st.vcpuAll, 0)
		st.storUsed = append(st.storUsed, su)
	}

	// Positive affinity binds guests on the same node into one unit.
	sidGuest := map[string]int{}
	for i, g := range in.Guests {
		if g.HASID != "" {
			sidGuest[g.HASID] = i
		}
	}
	parent := make([]int, len(in.Guests))
	for i := range parent {
		parent[i] = i
	}
	find := func(x int) int {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	for _, r := range in.HARules {
		if r.Disabled || r.Type != "resource-affinity" || r.Affinity != "positive" {
			continue
		}
		first := -1
		for _, sid := range r.Resources {
			gi, ok := sidGuest[sid]
			if !ok {
				continue
			}
			if first < 0 {
				first = gi
				continue
			}
			if in.Guests[gi].Node == in.Guests[first].Node {
				parent[find(gi)] = find(first)
			}
		}
	}
	unitOf := map[int]int{}
	guestUnit := make([]int, len(in.Guests))
	for i := range in.Guests {
		r := find(i)
		u, ok := unitOf[r]
		if !ok {
			u = len(p.units)
			unitOf[r] = u
			p.units = append(p.units, pUnit{home: -1, local: map[string]float64{}})
		}
		guestUnit[i] = u
		p.units[u].guests = append(p.units[u].guests, i)
	}

	nodeRules := map[string][]HARule{}
	for _, r := range in.HARules {
		if r.Disabled || r.Type != "node-affinity" {
			continue
		}
		for _, sid := range r.Resources {
			nodeRules[sid] = append(nodeRules[sid], r)
		}
	}
	for ui := range p.units {
		un := &p.units[ui]
		for _, gi := range un.guests {
			g := in.Guests[gi]
			n, ok := idx[g.Node]
			if !ok {
				un.block = "its node " + g.Node + " is not in the input"
				n = 0
			}
			un.home = n
			if g.Template {
				un.block = "templates are never moved"
			}
			if g.Unmovable != "" && un.block == "" {
				un.block = g.Unmovable
			}
			for name, why := range g.DisallowedNodes {
				if t, ok := idx[name]; ok {
					if un.deny == nil {
						un.deny = map[int]string{}
					}
					if why == "" {
						why = "not allowed by the migrate precondition check"
					}
					un.deny[t] = why
				}
			}
			if g.Running {
				un.running = true
				un.footprint += guestFootprint(g)
				un.alloc += float64(g.MemMaxBytes)
				un.vcpuRun += g.VCPUs
				cpu := g.CPUFraction
				if g.HistorySamples > 0 {
					cpu = math.Max(cpu, g.CPUP95Fraction)
				}
				un.cpuThreads += cpu * g.VCPUs
			}
			if !g.Template {
				un.vcpus += g.VCPUs
			}
			for _, d := range g.Disks {
				if !d.Shared {
					un.local[d.Storage] += float64(d.SizeBytes)
					un.localTotal += float64(d.SizeBytes)
				}
			}
			if g.HASID != "" {
				for _, r := range nodeRules[g.HASID] {
					un.haRules = append(un.haRules, r.ID)
					allowed := p.affinityTargets(r)
					if un.allowed == nil {
						un.allowed = allowed
					} else {
						for i := range allowed {
							un.allowed[i] = un.allowed[i] && allowed[i]
						}
					}
				}
			}
		}
		if un.localTotal > 0 && !opt.AllowLocalDiskMoves && un.block == "" {
			un.block = fmt.Sprintf("has %s on local storage; allow local-disk moves to consider it", HumanBytes(un.localTotal))
		}
		if !p.nodes[un.home].online && un.block == "" {
			un.block = "its node " + p.nodes[un.home].name + " is offline"
		}
	}
	// Negative affinity rules, by unit.
	for _, r := range in.HARules {
		if r.Disabled || r.Type != "resource-affinity" || r.Affinity != "negative" {
			continue
		}
		ri := len(p.negRule)
		var members []int
		seen := map[int]bool{}
		for _, sid := range r.Resources {
			gi, ok := sidGuest[sid]
			if ok && seen[guestUnit[gi]] {
				if un := &p.units[guestUnit[gi]]; un.block == "" {
					un.block = "HA rules conflict: rule " + r.ID + " keeps apart guests that a positive affinity rule binds together"
				}
			}
			if ok && !seen[guestUnit[gi]] {
				seen[guestUnit[gi]] = true
				members = append(members, guestUnit[gi])
				p.units[guestUnit[gi]].neg = append(p.units[guestUnit[gi]].neg, ri)
				p.units[guestUnit[gi]].haRules = append(p.units[guestUnit[gi]].haRules, r.ID)
			}
		}
		p.negRule = append(p.negRule, members)
		p.negName = append(p.negName, r.ID)
	}
	st.loc = make([]int, len(p.units))
	for ui, un := range p.units {
		st.loc[ui] = un.home
		if un.running {
			st.vcpuRun[un.home] += un.vcpuRun
		}
		st.vcpuAll[un.home] += un.vcpus
	}
	p.state = st
	return p
}

// guestFootprint is the RAM a running guest occupies now.
func guestFootprint(g CapGuest) float64 {
	f := float64(g.MemUsedBytes)
	if g.HistorySamples > 0 {
		f = math.Max(f, g.MemP95Bytes)
	}
	if f <= 0 {
		f = float64(g.MemMaxBytes)
	}
	return f
}

// affinityTargets returns the nodes a node-affinity rule lets HA keep a
// resource on: its highest-priority nodes that can receive guests.
func (p *planner) affinityTargets(r HARule) []bool {
	allowed := make([]bool, len(p.nodes))
	best := math.MinInt
	for i := range p.nodes {
		if pr, ok := r.Nodes[p.nodes[i].name]; ok && p.receives(i) && pr > best {
			best = pr
		}
	}
	any := false
	for i := range p.nodes {
		if pr, ok := r.Nodes[p.nodes[i].name]; ok && p.receives(i) && pr == best {
			allowed[i] = true
			any = true
		}
	}
	if !any && !r.Strict {
		for i := range allowed {
			allowed[i] = true
		}
	}
	return allowed
}
