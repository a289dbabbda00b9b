package analyze

import (
	"math"
	"slices"
	"sort"
	"strings"
)

// Search: evacuation, the exact search over small move sets, and the
// greedy search with look-ahead for larger ones.

type step struct{ unit, from, to int }

// evacuate moves every unit off evacuated nodes, largest first, each to the
// target that leaves the lowest peak.
func (p *planner) evacuate(budget int) (steps []step, blocked []Blocked) {
	var todo []int
	for u := range p.units {
		if p.nodes[p.state.loc[u]].evacuate {
			todo = append(todo, u)
		}
	}
	sort.SliceStable(todo, func(a, b int) bool { return p.units[todo[a]].alloc > p.units[todo[b]].alloc })
	for _, u := range todo {
		un := &p.units[u]
		if un.block != "" {
			blocked = append(blocked, p.blockedOf(u, un.block)...)
			continue
		}
		if len(steps) >= budget {
			blocked = append(blocked, p.blockedOf(u, "move limit reached")...)
			continue
		}
		best, bestObj := -1, objective{}
		var why []string
		for t := range p.nodes {
			if t == p.state.loc[u] {
				continue
			}
			if r := p.check(&p.state, u, t); r != "" {
				why = append(why, r)
				continue
			}
			from := p.state.loc[u]
			p.apply(&p.state, u, t)
			o := p.eval(&p.state)
			p.undo(&p.state, u, from)
			if !un.running {
				// A stopped guest changes no figure now: prefer the node
				// with the most room should it be started.
				o = objective{mem: 100 * (p.state.memUsed[t] + un.alloc) / math.Max(p.nodes[t].memTotal, 1)}
			}
			if best < 0 || better(o, bestObj) {
				best, bestObj = t, o
			}
		}
		if best < 0 {
			blocked = append(blocked, p.blockedOf(u, "no node can take it: "+strings.Join(why, "; "))...)
			continue
		}
		steps = append(steps, step{u, p.state.loc[u], best})
		p.moved[u] = true
		p.apply(&p.state, u, best)
	}
	return steps, blocked
}

// blockedOf lists every guest of unit u as blocked for reason.
func (p *planner) blockedOf(u int, reason string) []Blocked {
	var out []Blocked
	for _, gi := range p.units[u].guests {
		g := p.in.Guests[gi]
		r := reason
		if len(p.units[u].guests) > 1 {
			r += " (moves only together with its positive-affinity partners)"
		}
		out = append(out, Blocked{VMID: g.VMID, Name: g.Name, Node: p.nodes[p.state.loc[u]].name, Reason: r})
	}
	return out
}

// candidates lists the valid single moves off the peak RAM and peak vCPU
// nodes, best first.
func (p *planner) candidates(s *pState, cur objective) []cand {
	var out []cand
	b := p.baseline(s)
	p.eachMove(s, cur, func(u, from, to int) {
		out = append(out, cand{u: u, from: from, to: to, obj: p.evalMove(s, &b, from, to, make([]float64, 0, len(b.order)))})
	})
	slices.SortStableFunc(out, func(a, b cand) int {
		switch {
		case better(a.obj, b.obj):
			return -1
		case better(b.obj, a.obj):
			return 1
		}
		return 0
	})
	return out
}

// bestGain returns the best single move from s whose result gains on base,
// skipping units in skip; ok is false when there is none.
func (p *planner) bestGain(s *pState, base objective, skip map[int]bool) (best objective, ok bool) {
	buf := make([]float64, 0, len(p.nodes))
	b := p.baseline(s)
	p.eachMove(s, p.eval(s), func(u, from, to int) {
		if skip[u] {
			return
		}
		o := p.evalMove(s, &b, from, to, buf)
		if p.gains(base, o) && (!ok || better(o, best)) {
			o.mems = append([]float64(nil), o.mems...)
			best, ok = o, true
		}
	})
	return best, ok
}

// baseline is a state's RAM list with node ids, and its top vCPU ratios, so
// a single move can be scored in O(nodes) without sorting.
type baseline struct {
	order []int     // counted nodes, highest RAM first
	mems  []float64 // their RAM %
	vtop  []int     // up to three nodes with the highest vCPU ratio
}

func (p *planner) baseline(s *pState) baseline {
	var b baseline
	for n := range p.nodes {
		if p.counts(n) {
			b.order = append(b.order, n)
		}
	}
	sort.SliceStable(b.order, func(i, j int) bool { return p.memPct(s, b.order[i]) > p.memPct(s, b.order[j]) })
	for _, n := range b.order {
		b.mems = append(b.mems, p.memPct(s, n))
	}
	v := append([]int(nil), b.order...)
	sort.SliceStable(v, func(i, j int) bool { return p.ratio(s, v[i]) > p.ratio(s, v[j]) })
	if len(v) > 3 {
		v = v[:3]
	}
	b.vtop = v
	return b
}

// evalMove scores s, which differs from the baseline's state only on nodes
// from and to; it equals eval(s) (up to ties in node order).
func (p *planner) evalMove(s *pState, b *baseline, from, to int, buf []float64) objective {
	o := objective{memNode: -1, vcpuNode: -1, mems: buf[:0]}
	nf, nt := p.memPct(s, from), p.memPct(s, to)
	hi, lo, hiN, loN := nf, nt, from, to
	if nt > nf {
		hi, lo, hiN, loN = nt, nf, to, from
	}
	put := func(v float64, n int) {
		if o.memNode < 0 {
			o.mem, o.memNode = v, n
		}
		o.mems = append(o.mems, v)
	}
	k := 0
	for i, n := range b.order {
		if n == from || n == to {
			continue
		}
		v := b.mems[i]
		for k < 2 && ((k == 0 && hi > v) || (k == 1 && lo > v)) {
			if k == 0 {
				put(hi, hiN)
			} else {
				put(lo, loN)
			}
			k++
		}
		put(v, n)
	}
	for ; k < 2; k++ {
		if k == 0 {
			put(hi, hiN)
		} else {
			put(lo, loN)
		}
	}
	for _, n := range append([]int{from, to}, b.vtop...) {
		if r := p.ratio(s, n); o.vcpuNode < 0 || r > o.vcpu {
			o.vcpu, o.vcpuNode = r, n
		}
	}
	return o
}

// eachMove calls fn with every valid single move off the most loaded nodes,
// the move applied to s during the call.
func (p *planner) eachMove(s *pState, cur objective, fn func(u, from, to int)) {
	const maxSources, maxTargets = 4, 8
	srcs := p.hottest(s, maxSources)
	if cur.vcpuNode >= 0 && !containsInt(srcs, cur.vcpuNode) {
		srcs = append(srcs, cur.vcpuNode)
	}
	// The coolest nodes first: on a large cluster only the first few valid
	// targets of each unit are tried (all of them on a small one).
	var targets []int
	for t := range p.nodes {
		if p.receives(t) {
			targets = append(targets, t)
		}
	}
	sort.SliceStable(targets, func(a, b int) bool { return p.memPct(s, targets[a]) < p.memPct(s, targets[b]) })
	onNode := map[int][]int{}
	for u := range p.units {
		if containsInt(srcs, s.loc[u]) && p.units[u].block == "" && p.units[u].running {
			onNode[s.loc[u]] = append(onNode[s.loc[u]], u)
		}
	}
	for _, src := range srcs {
		for _, u := range onNode[src] {
			tried := 0
			for _, t := range targets {
				if tried == maxTargets {
					break
				}
				if t == src || p.check(s, u, t) != "" {
					continue
				}
				tried++
				p.apply(s, u, t)
				fn(u, src, t)
				p.undo(s, u, src)
			}
		}
	}
}

// hottest returns the k counted nodes with the highest RAM use.
func (p *planner) hottest(s *pState, k int) []int {
	var ns []int
	for n := range p.nodes {
		if p.counts(n) {
			ns = append(ns, n)
		}
	}
	sort.SliceStable(ns, func(a, b int) bool { return p.memPct(s, ns[a]) > p.memPct(s, ns[b]) })
	if len(ns) > k {
		ns = ns[:k]
	}
	return ns
}

func containsInt(v []int, x int) bool {
	for _, y := range v {
		if y == x {
			return true
		}
	}
	return false
}

type cand struct {
	u, from, to int
	obj         objective
}

// greedy moves units one at a time with a two-move look-ahead.
func (p *planner) greedy(budget int) []step {
	const lookahead = 6
	var steps []step
	moved := map[int]bool{}
	for u := range p.moved {
		moved[u] = true
	}
	for len(steps) < budget {
		cur := p.eval(&p.state)
		cands := p.candidates(&p.state, cur)
		// Each of the best few first moves is judged by the best state it
		// reaches in one or two moves (a move may open room for another,
		// e.g. a swap); the rest by their own result.
		var pick *cand
		var pickObj objective
		n := 0
		for i := range cands {
			c := &cands[i]
			if moved[c.u] {
				continue
			}
			reach, ok := c.obj, p.gains(cur, c.obj)
			if budget-len(steps) >= 2 && n < lookahead {
				n++
				p.apply(&p.state, c.u, c.to)
				moved[c.u] = true
				if d, found := p.bestGain(&p.state, cur, moved); found && (!ok || better(d, reach)) {
					reach, ok = d, true
				}
				delete(moved, c.u)
				p.undo(&p.state, c.u, c.from)
			}
			if ok && (pick == nil || better(reach, pickObj)) {
				pick, pickObj = c, reach
			}
		}
		if pick == nil {
			break
		}
		steps = append(steps, step{pick.u, pick.from, pick.to})
		moved[pick.u] = true
		p.apply(&p.state, pick.u, pick.to)
	}
	// A trailing look-ahead move without its partner would not pay: drop it.
	for len(steps) > 0 {
		last := steps[len(steps)-1]
		p.undo(&p.state, last.unit, last.from)
		before := p.eval(&p.state)
		p.apply(&p.state, last.unit, last.to)
		after := p.eval(&p.state)
		if better(after, before) {
			break
		}
		p.undo(&p.state, last.unit, last.from)
		steps = steps[:len(steps)-1]
	}
	return steps
}

// exact tries every assignment of movable units within the move budget and
// returns the best with a valid move order. ok is false when the space is
// larger than limit.
func (p *planner) exact(budget, limit int) (steps []step, ok bool) {
	var movable []int
	var targets [][]int
	space := 1.0
	for u, un := range p.units {
		if un.block != "" || !un.running || !p.counts(p.state.loc[u]) || p.moved[u] {
			continue
		}
		var ts []int
		for t := range p.nodes {
			if t != p.state.loc[u] && p.receives(t) {
				ts = append(ts, t)
			}
		}
		if len(ts) == 0 {
			continue
		}
		movable = append(movable, u)
		targets = append(targets, ts)
		space *= float64(len(ts) + 1)
		if space > float64(limit) {
			return nil, false
		}
	}
	if budget > len(movable) {
		budget = len(movable)
	}
	start := p.eval(&p.state)
	// The best valid move set for each number of moves.
	bestK := make([][]step, budget+1)
	objK := make([]objective, budget+1)
	s := p.state.clone()
	var cur []step
	var rec func(i int)
	rec = func(i int) {
		if i == len(movable) {
			k := len(cur)
			if k == 0 {
				return
			}
			o := p.eval(&s)
			if !p.gains(start, o) || (bestK[k] != nil && !better(o, objK[k])) {
				return
			}
			if order := p.order(cur); order != nil {
				bestK[k], objK[k] = order, o
			}
			return
		}
		rec(i + 1)
		if len(cur) >= budget {
			return
		}
		u := movable[i]
		from := s.loc[u]
		for _, t := range targets[i] {
			p.apply(&s, u, t)
			cur = append(cur, step{u, from, t})
			rec(i + 1)
			cur = cur[:len(cur)-1]
			p.undo(&s, u, from)
		}
	}
	rec(0)
	// Fewer migrations win when they come within the tolerance of the best
	// peak: a fraction of a point is not worth another migration.
	bestAll := -1
	for k := 1; k <= budget; k++ {
		if bestK[k] != nil && (bestAll < 0 || better(objK[k], objK[bestAll])) {
			bestAll = k
		}
	}
	var best []step
	for k := 1; k <= budget && bestAll > 0; k++ {
		if bestK[k] != nil && objK[k].mem <= objK[bestAll].mem+exactTolerancePct+objEps && objK[k].vcpu <= objK[bestAll].vcpu+exactToleranceRatio+objEps {
			best = bestK[k]
			break
		}
	}
	for _, st := range best {
		p.apply(&p.state, st.unit, st.to)
	}
	return best, true
}

// Tolerances within which the exact search prefers fewer moves.
const (
	exactTolerancePct   = 0.5
	exactToleranceRatio = 0.05
)

// order finds a sequence of the steps in which every move is valid when
// made, or nil.
func (p *planner) order(steps []step) []step {
	s := p.state.clone()
	used := make([]bool, len(steps))
	var seq []step
	var rec func() bool
	rec = func() bool {
		if len(seq) == len(steps) {
			return true
		}
		for i, st := range steps {
			if used[i] || p.check(&s, st.unit, st.to) != "" {
				continue
			}
			used[i] = true
			p.apply(&s, st.unit, st.to)
			seq = append(seq, st)
			if rec() {
				return true
			}
			seq = seq[:len(seq)-1]
			p.undo(&s, st.unit, st.from)
			used[i] = false
		}
		return false
	}
	if rec() {
		return seq
	}
	return nil
}
