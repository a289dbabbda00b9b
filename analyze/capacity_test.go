package analyze

import (
	"fmt"
	"math"
	"math/rand"
	"sort"
	"testing"
)

// This file checks the planner against an independent model of the rules
// (written again here on purpose, not shared with the planner).

type tModel struct {
	in    CapacityInput
	opt   CapacityOptions
	th    Thresholds
	node  map[string]int
	mem   []float64
	cpu   []float64
	vcpu  []float64
	stor  []map[string]float64
	where map[int]string // vmid → node
}

func newModel(in CapacityInput, opt CapacityOptions) *tModel {
	m := &tModel{in: in, opt: opt, th: opt.Thresholds.WithDefaults(), node: map[string]int{}, where: map[int]string{}}
	for i, n := range in.Nodes {
		m.node[n.Name] = i
		m.mem = append(m.mem, float64(n.MemUsedBytes))
		m.cpu = append(m.cpu, n.CPUFraction*float64(n.CPUThreads))
		m.vcpu = append(m.vcpu, 0)
		st := map[string]float64{}
		for _, s := range n.Storages {
			st[s.Storage] = float64(s.UsedBytes)
		}
		m.stor = append(m.stor, st)
	}
	for _, g := range in.Guests {
		m.where[g.VMID] = g.Node
		if g.Running && !g.Template {
			m.vcpu[m.node[g.Node]] += g.VCPUs
		}
	}
	return m
}

func (m *tModel) guest(vmid int) CapGuest {
	for _, g := range m.in.Guests {
		if g.VMID == vmid {
			return g
		}
	}
	panic(vmid)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (m *tModel) receives(node string) bool {
	for _, n := range m.in.Nodes {
		if n.Name == node {
			return n.Online && !contains(m.opt.ExcludeNodes, node) && !contains(m.opt.EvacuateNodes, node)
		}
	}
	return false
}

func (m *tModel) foot(g CapGuest) float64 {
	f := float64(g.MemUsedBytes)
	if g.HistorySamples > 0 && g.MemP95Bytes > f {
		f = g.MemP95Bytes
	}
	if f == 0 {
		f = float64(g.MemMaxBytes)
	}
	return f
}

func (m *tModel) cpuOf(g CapGuest) float64 {
	c := g.CPUFraction
	if g.HistorySamples > 0 && g.CPUP95Fraction > c {
		c = g.CPUP95Fraction
	}
	return c * g.VCPUs
}

// allowedBy returns "" when HA node-affinity lets g sit on node.
func (m *tModel) allowedBy(g CapGuest, node string) string {
	for _, r := range m.in.HARules {
		if r.Disabled || r.Type != "node-affinity" || g.HASID == "" || !contains(r.Resources, g.HASID) {
			continue
		}
		best := math.MinInt
		for n, pr := range r.Nodes {
			if m.receives(n) && pr > best {
				best = pr
			}
		}
		if best == math.MinInt {
			if r.Strict {
				return "strict rule " + r.ID + " has no usable node"
			}
			continue
		}
		if pr, ok := r.Nodes[node]; !ok || pr != best {
			return "rule " + r.ID
		}
	}
	return ""
}

// move applies one guest move and returns why it is invalid, or "".
func (m *tModel) move(vmid int, to string) string {
	g := m.guest(vmid)
	from := m.where[vmid]
	if g.Template {
		return "template moved"
	}
	if !m.receives(to) {
		return "target " + to + " may not receive"
	}
	if from == to {
		return "no-op move"
	}
	if g.DisallowedNodes[to] != "" {
		return "moved to a node Proxmox refuses"
	}
	if why := m.allowedBy(g, to); why != "" {
		return "HA node-affinity violated: " + why
	}
	for _, r := range m.in.HARules {
		if r.Disabled || r.Type != "resource-affinity" || r.Affinity != "negative" || !contains(r.Resources, g.HASID) || g.HASID == "" {
			continue
		}
		for _, o := range m.in.Guests {
			if o.VMID != vmid && o.HASID != "" && contains(r.Resources, o.HASID) && m.where[o.VMID] == to {
				return "negative affinity " + r.ID + " violated"
			}
		}
	}
	if !m.opt.AllowLocalDiskMoves {
		for _, d := range g.Disks {
			if !d.Shared {
				return "local disk moved"
			}
		}
	}
	f, t := m.node[from], m.node[to]
	tn := m.in.Nodes[t]
	if !g.Running && 100*m.mem[t]/float64(tn.MemTotalBytes) > m.th.RAMPct+1e-6 {
		return "stopped guest put on a node above the RAM threshold"
	}
	if g.Running {
		m.mem[f] -= m.foot(g)
		m.mem[t] += float64(g.MemMaxBytes)
		m.cpu[f] -= m.cpuOf(g)
		m.cpu[t] += m.cpuOf(g)
		m.vcpu[f] -= g.VCPUs
		m.vcpu[t] += g.VCPUs
		if 100*m.mem[t]/float64(tn.MemTotalBytes) > m.th.RAMPct+1e-6 {
			return fmt.Sprintf("target %s RAM %.2f%% above threshold", to, 100*m.mem[t]/float64(tn.MemTotalBytes))
		}
		if 100*m.cpu[t]/float64(tn.CPUThreads) > m.th.CPUPct+1e-6 {
			return "target CPU above threshold"
		}
	}
	for _, d := range g.Disks {
		if d.Shared {
			continue
		}
		m.stor[f][d.Storage] -= float64(d.SizeBytes)
		m.stor[t][d.Storage] += float64(d.SizeBytes)
		var total float64
		for _, s := range tn.Storages {
			if s.Storage == d.Storage && s.Active && !s.Shared {
				total = float64(s.TotalBytes)
			}
		}
		if total == 0 || 100*m.stor[t][d.Storage]/total > m.th.StoragePct+1e-6 {
			return "target storage missing or above threshold"
		}
	}
	m.where[vmid] = to
	return ""
}

// score is the model's objective: RAM % per counted node, highest first,
// then the vCPU ratio peak.
type score struct {
	mems []float64
	vcpu float64
}

func (m *tModel) score() score {
	var sc score
	for i, n := range m.in.Nodes {
		if !n.Online || contains(m.opt.EvacuateNodes, n.Name) {
			continue
		}
		sc.mems = append(sc.mems, 100*m.mem[i]/float64(n.MemTotalBytes))
		sc.vcpu = math.Max(sc.vcpu, m.vcpu[i]/float64(n.CPUThreads))
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(sc.mems)))
	return sc
}

// less: lexicographic on the RAM list, then vCPU peak (1e-6 equal).
func (a score) less(b score) bool {
	for i := range a.mems {
		if math.Abs(a.mems[i]-b.mems[i]) > 1e-6 {
			return a.mems[i] < b.mems[i]
		}
	}
	return a.vcpu < b.vcpu-1e-6
}

// worthIt mirrors the documented minimum gain: some RAM entry drops by 2
// points with none before it worse, and it is the peak or at/over 85%; or
// RAM is not lexicographically worse and a vCPU peak of 2 or more drops 0.1.
func (a score) worthIt(b score) bool {
	for i := range a.mems {
		if b.mems[i] <= a.mems[i]-2+1e-6 && (i == 0 || a.mems[i] >= 85-1e-6) {
			return true
		}
		if b.mems[i] > a.mems[i]+1e-6 {
			break
		}
	}
	if !a.ramLess(b) {
		return a.vcpu >= 2-1e-6 && b.vcpu <= a.vcpu-0.1+1e-6
	}
	return false
}

// ramLess: a's RAM list is lexicographically lower than b's.
func (a score) ramLess(b score) bool {
	for i := range a.mems {
		if math.Abs(a.mems[i]-b.mems[i]) > 1e-6 {
			return a.mems[i] < b.mems[i]
		}
	}
	return false
}

func (a score) equal(b score) bool {
	for i := range a.mems {
		if math.Abs(a.mems[i]-b.mems[i]) > 1e-6 {
			return false
		}
	}
	return math.Abs(a.vcpu-b.vcpu) <= 1e-6
}

// verifyPlan replays a report's moves on the model and fails on any rule
// broken after any move.
func verifyPlan(t *testing.T, in CapacityInput, opt CapacityOptions, rep CapacityReport) *tModel {
	t.Helper()
	m := newModel(in, opt)
	moved := map[int]bool{}
	max := opt.MaxMoves
	if max <= 0 {
		max = 5
		if len(opt.EvacuateNodes) > 0 {
			max = math.MaxInt32
		}
	}
	if len(rep.Moves) > max {
		t.Fatalf("%d moves > limit %d", len(rep.Moves), max)
	}
	for _, mv := range rep.Moves {
		for _, g := range mv.Guests {
			if moved[g.VMID] {
				t.Fatalf("guest %d moved twice", g.VMID)
			}
			moved[g.VMID] = true
			if m.where[g.VMID] != mv.From {
				t.Fatalf("guest %d is on %s, move says %s", g.VMID, m.where[g.VMID], mv.From)
			}
			if why := m.move(g.VMID, mv.To); why != "" {
				t.Fatalf("step %d (%d %s→%s): %s", mv.Step, g.VMID, mv.From, mv.To, why)
			}
			gg := m.guest(g.VMID)
			if !gg.Running && !contains(opt.EvacuateNodes, mv.From) && len(mv.Guests) == 1 {
				t.Fatalf("stopped guest %d moved for balance", g.VMID)
			}
		}
		// Positive affinity: co-located members stay together after each step.
		for _, r := range in.HARules {
			if r.Disabled || r.Type != "resource-affinity" || r.Affinity != "positive" {
				continue
			}
			var nodesBefore, nodesAfter []string
			for _, g := range in.Guests {
				if g.HASID != "" && contains(r.Resources, g.HASID) {
					nodesBefore = append(nodesBefore, g.Node)
					nodesAfter = append(nodesAfter, m.where[g.VMID])
				}
			}
			for i := range nodesBefore {
				for j := range nodesBefore {
					if nodesBefore[i] == nodesBefore[j] && nodesAfter[i] != nodesAfter[j] {
						t.Fatalf("positive affinity %s split at step %d", r.ID, mv.Step)
					}
				}
			}
		}
	}
	return m
}

// randomCluster builds a consistent random cluster.
func randomCluster(r *rand.Rand, nNodes, nGuests int, withPositive bool) CapacityInput {
	var in CapacityInput
	for i := 0; i < nNodes; i++ {
		total := float64([]int{32, 64, 96, 128}[r.Intn(4)])
		in.Nodes = append(in.Nodes, CapNode{Name: fmt.Sprintf("n%d", i), Online: r.Intn(12) != 0, CPUCores: 8, CPUThreads: []int{8, 16, 32}[r.Intn(3)],
			CPUFraction: 0.05, MemTotalBytes: gb(total), MemUsedBytes: gb(2 + 4*r.Float64()),
			Storages: []CapStorage{{Storage: "local-zfs", Active: true, TotalBytes: gb(1000), UsedBytes: gb(200 + 400*r.Float64())}}})
	}
	for i := 0; i < nGuests; i++ {
		n := r.Intn(nNodes)
		alloc := float64(1 + r.Intn(24))
		g := CapGuest{VMID: 100 + i, Name: fmt.Sprintf("g%d", i), Type: []string{"qemu", "lxc"}[r.Intn(2)], Node: in.Nodes[n].Name,
			Running: r.Intn(5) != 0, VCPUs: float64(1 + r.Intn(8)), MemMaxBytes: gb(alloc)}
		g.Template = !g.Running && r.Intn(3) == 0
		if g.Running {
			g.MemUsedBytes = gb(alloc * (0.3 + 0.7*r.Float64()))
			g.CPUFraction = 0.3 * r.Float64()
			if r.Intn(2) == 0 {
				g.HistorySamples = 100
				g.MemP95Bytes = float64(g.MemUsedBytes) * (0.9 + 0.2*r.Float64())
				g.MemAvgBytes = float64(g.MemUsedBytes) * 0.9
				g.CPUP95Fraction = g.CPUFraction * 1.2
			}
			nd := &in.Nodes[n]
			nd.MemUsedBytes += uint64(guestFootprint(g))
			nd.CPUFraction += g.CPUFraction * g.VCPUs / float64(nd.CPUThreads)
		}
		if r.Intn(4) == 0 {
			g.Disks = []CapDisk{{Storage: "local-zfs", SizeBytes: gb(float64(10 + r.Intn(100)))}}
		} else {
			g.Disks = []CapDisk{{Storage: "ceph", SizeBytes: gb(32), Shared: true}}
		}
		if r.Intn(3) == 0 {
			g.HASID = fmt.Sprintf("vm:%d", g.VMID)
		}
		if r.Intn(6) == 0 {
			g.DisallowedNodes = map[string]string{in.Nodes[r.Intn(nNodes)].Name: "local resource"}
		}
		in.Guests = append(in.Guests, g)
	}
	var sids []string
	for _, g := range in.Guests {
		if g.HASID != "" {
			sids = append(sids, g.HASID)
		}
	}
	for k := 0; k < len(sids)/2; k++ {
		a, b := sids[r.Intn(len(sids))], sids[r.Intn(len(sids))]
		if a == b {
			continue
		}
		switch r.Intn(3) {
		case 0:
			in.HARules = append(in.HARules, HARule{ID: fmt.Sprintf("apart%d", k), Type: "resource-affinity", Affinity: "negative", Resources: []string{a, b}})
		case 1:
			nodes := map[string]int{}
			for _, nd := range in.Nodes {
				if r.Intn(2) == 0 {
					nodes[nd.Name] = r.Intn(3)
				}
			}
			in.HARules = append(in.HARules, HARule{ID: fmt.Sprintf("pin%d", k), Type: "node-affinity", Resources: []string{a}, Nodes: nodes, Strict: r.Intn(2) == 0})
		case 2:
			if withPositive {
				in.HARules = append(in.HARules, HARule{ID: fmt.Sprintf("together%d", k), Type: "resource-affinity", Affinity: "positive", Resources: []string{a, b}})
			}
		}
	}
	return in
}

// bruteForce returns the best score over every assignment of guests within
// maxMoves that has a valid move order and passes the minimum gain; the
// starting score when none does.
func bruteForce(in CapacityInput, opt CapacityOptions, maxMoves int) score {
	start := newModel(in, opt)
	s0 := start.score()
	best := s0
	var ids []int
	var nodes []string
	for _, n := range in.Nodes {
		nodes = append(nodes, n.Name)
	}
	for _, g := range in.Guests {
		if g.Running && !g.Template && start.receivesHome(g) {
			ids = append(ids, g.VMID)
		}
	}
	choice := make([]int, len(ids)) // -1: stay
	var rec func(i, moves int)
	rec = func(i, moves int) {
		if i == len(ids) {
			if moves == 0 {
				return
			}
			var plan [][2]string
			for k, c := range choice {
				if c >= 0 {
					plan = append(plan, [2]string{fmt.Sprint(ids[k]), nodes[c]})
				}
			}
			sc, ok := bestOrder(in, opt, plan)
			if ok && s0.worthIt(sc) && sc.less(best) {
				best = sc
			}
			return
		}
		choice[i] = -1
		rec(i+1, moves)
		if moves == maxMoves {
			return
		}
		for c := range nodes {
			if nodes[c] == start.where[ids[i]] {
				continue
			}
			choice[i] = c
			rec(i+1, moves+1)
		}
		choice[i] = -1
	}
	rec(0, 0)
	return best
}

func (m *tModel) receivesHome(g CapGuest) bool {
	for _, n := range m.in.Nodes {
		if n.Name == g.Node {
			return n.Online
		}
	}
	return false
}

// bestOrder tries every order of the plan's moves; ok when one is valid.
func bestOrder(in CapacityInput, opt CapacityOptions, plan [][2]string) (score, bool) {
	idx := make([]int, len(plan))
	for i := range idx {
		idx[i] = i
	}
	var perm func(k int) bool
	var sc score
	perm = func(k int) bool {
		if k == len(idx) {
			m := newModel(in, opt)
			for _, i := range idx {
				var vmid int
				fmt.Sscan(plan[i][0], &vmid)
				if m.move(vmid, plan[i][1]) != "" {
					return false
				}
			}
			sc = m.score()
			return true
		}
		for i := k; i < len(idx); i++ {
			idx[k], idx[i] = idx[i], idx[k]
			if perm(k + 1) {
				return true
			}
			idx[k], idx[i] = idx[i], idx[k]
		}
		return false
	}
	ok := perm(0)
	return sc, ok
}

func TestCapacityOptimalOnSmallClusters(t *testing.T) {
	r := rand.New(rand.NewSource(42))
	var greedyGaps []float64
	cases, exactEqual := 0, 0
	for iter := 0; iter < 150; iter++ {
		in := randomCluster(r, 2+r.Intn(3), 3+r.Intn(5), false)
		opt := CapacityOptions{MaxMoves: 1 + r.Intn(3)}
		if r.Intn(4) == 0 {
			opt.ExcludeNodes = []string{in.Nodes[r.Intn(len(in.Nodes))].Name}
		}
		want := bruteForce(in, opt, opt.MaxMoves)
		rep := PlanCapacity(in, opt)
		got := verifyPlan(t, in, opt, rep).score()
		if rep.Search != "exact" {
			t.Fatalf("iter %d: small cluster planned by %s", iter, rep.Search)
		}
		// Documented tolerance: the planner takes fewer moves when they come
		// within 0.5 points of the optimum RAM peak (0.05 of the vCPU peak).
		if len(want.mems) > 0 && (got.mems[0] > want.mems[0]+0.5+1e-6 || (got.mems[0] > want.mems[0]+1e-6 && got.vcpu > want.vcpu+0.05+1e-6)) {
			t.Fatalf("iter %d: planner %+v, optimum %+v; moves %+v", iter, got, want, rep.Moves)
		}
		if got.equal(want) {
			exactEqual++
		}
		// The greedy search on the same cluster, for its documented tolerance.
		opt.exactLimit = 1
		grep := PlanCapacity(in, opt)
		g := verifyPlan(t, in, opt, grep).score()
		if len(want.mems) > 0 {
			greedyGaps = append(greedyGaps, g.mems[0]-want.mems[0])
			cases++
		}
	}
	sort.Float64s(greedyGaps)
	exactHits := 0
	for _, g := range greedyGaps {
		if g <= 1e-6 {
			exactHits++
		}
	}
	// Documented tolerance of the greedy search (used on large clusters):
	// optimal RAM peak in at least 80% of small random clusters, and never
	// more than 10 points above it.
	worst := greedyGaps[len(greedyGaps)-1]
	t.Logf("exact search equal to the optimum in %d cases; greedy optimal in %d/%d cases; worst gap %.2f points", exactEqual, exactHits, cases, worst)
	if float64(exactHits) < 0.8*float64(cases) || worst > 10 {
		t.Fatalf("greedy optimal in %d/%d, worst gap %.2f", exactHits, cases, worst)
	}
}

func TestCapacityPropertiesRandomClusters(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	for iter := 0; iter < 200; iter++ {
		in := randomCluster(r, 2+r.Intn(7), 5+r.Intn(60), true)
		opt := CapacityOptions{MaxMoves: r.Intn(8), AllowLocalDiskMoves: r.Intn(2) == 0}
		switch r.Intn(4) {
		case 0:
			opt.ExcludeNodes = []string{in.Nodes[r.Intn(len(in.Nodes))].Name}
		case 1:
			opt.EvacuateNodes = []string{in.Nodes[r.Intn(len(in.Nodes))].Name}
		}
		if r.Intn(3) == 0 {
			opt.exactLimit = 1
		}
		rep := PlanCapacity(in, opt)
		m := verifyPlan(t, in, opt, rep)
		// After all moves: every node that received a guest is within the RAM
		// threshold; no node's RAM went up unless it was a target.
		targets := map[string]bool{}
		for _, mv := range rep.Moves {
			targets[mv.To] = true
		}
		th := opt.Thresholds.WithDefaults()
		for i, n := range in.Nodes {
			pct := 100 * m.mem[i] / float64(n.MemTotalBytes)
			if targets[n.Name] && pct > th.RAMPct+1e-6 {
				t.Fatalf("iter %d: target %s ends at %.2f%%", iter, n.Name, pct)
			}
			if !targets[n.Name] && m.mem[i] > float64(n.MemUsedBytes)+1 {
				t.Fatalf("iter %d: %s grew without receiving", iter, n.Name)
			}
		}
		if len(rep.Moves) == 0 && len(rep.NoMoveReasons) == 0 && len(opt.EvacuateNodes) == 0 {
			t.Fatalf("iter %d: no moves and no reason", iter)
		}
		// Evacuation: every guest left on the node is reported blocked.
		for _, ev := range opt.EvacuateNodes {
			blocked := map[int]bool{}
			for _, b := range rep.Blocked {
				blocked[b.VMID] = true
			}
			for _, g := range in.Guests {
				if m.where[g.VMID] == ev && !blocked[g.VMID] {
					t.Fatalf("iter %d: guest %d left on evacuated %s without a reason", iter, g.VMID, ev)
				}
			}
		}
	}
}

func benchCluster(nodes, guests int) CapacityInput {
	r := rand.New(rand.NewSource(1))
	in := randomCluster(r, nodes, guests, true)
	idx := map[string]int{}
	for i := range in.Nodes {
		in.Nodes[i].Online = true
		in.Nodes[i].MemUsedBytes = gb(4)
		idx[in.Nodes[i].Name] = i
	}
	for _, g := range in.Guests {
		if g.Running {
			in.Nodes[idx[g.Node]].MemUsedBytes += uint64(guestFootprint(g))
		}
	}
	// Size nodes so the cluster is at ~65% RAM, with a quarter of the nodes
	// hot (host overhead), so the planner has work to do.
	for i := range in.Nodes {
		n := &in.Nodes[i]
		n.MemTotalBytes = uint64(float64(n.MemUsedBytes) / 0.6)
		if i%4 == 0 {
			n.MemUsedBytes += n.MemTotalBytes / 100 * 26
		}
		n.CPUThreads = 256
		n.CPUFraction = 0.05
	}
	for _, g := range in.Guests {
		if g.Running {
			in.Nodes[idx[g.Node]].CPUFraction += g.CPUFraction * g.VCPUs / 256
		}
	}
	return in
}

func benchPlan(b *testing.B, nodes, guests int, minGain float64) {
	in := benchCluster(nodes, guests)
	b.ResetTimer()
	var rep CapacityReport
	for b.Loop() {
		rep = PlanCapacity(in, CapacityOptions{MaxMoves: 10, AllowLocalDiskMoves: true, MinGainPct: minGain})
	}
	b.ReportMetric(float64(len(rep.Moves)), "moves")
}

// With 31 or 156 guests per node one guest moves a node's RAM by about the
// default 2-point minimum gain or well under it; a smaller minimum makes the
// planner do the full work (10 moves).
func BenchmarkPlanCapacity32x1000(b *testing.B)  { benchPlan(b, 32, 1000, 0.5) }
func BenchmarkPlanCapacity64x10000(b *testing.B) { benchPlan(b, 64, 10000, 0.2) }

func TestEvalMoveMatchesEval(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for iter := 0; iter < 100; iter++ {
		in := randomCluster(r, 2+r.Intn(10), 5+r.Intn(80), true)
		p := newPlanner(in, CapacityOptions{AllowLocalDiskMoves: true}.withPlanDefaults())
		b := p.baseline(&p.state)
		n := 0
		p.eachMove(&p.state, p.eval(&p.state), func(u, from, to int) {
			n++
			got := p.evalMove(&p.state, &b, from, to, nil)
			want := p.eval(&p.state)
			if len(got.mems) != len(want.mems) || math.Abs(got.vcpu-want.vcpu) > 1e-12 || math.Abs(got.mem-want.mem) > 1e-12 {
				t.Fatalf("iter %d: evalMove %+v, eval %+v", iter, got, want)
			}
			for i := range got.mems {
				if math.Abs(got.mems[i]-want.mems[i]) > 1e-12 {
					t.Fatalf("iter %d: mems %v vs %v", iter, got.mems, want.mems)
				}
			}
		})
	}
}
