package analyze

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// Capacity planning and rebalancing.
//
// The RAM model (documented because every figure depends on it):
//   - A node's measured used RAM (memused) is the baseline; it includes the
//     host itself (ZFS ARC, services), which never moves.
//   - A running guest's footprint is what it occupies now: the larger of its
//     current use and its p95 use over the window (its allocation when
//     neither is known). Moving it away frees its footprint on the source.
//   - On the target it is charged its full allocation (maxmem), because it
//     may grow to it there: the validation is conservative on purpose.
//   - Stopped guests use no RAM: they are never moved to balance load, and
//     count only in "allocated to all guests". When a node is evacuated they
//     move too (offline), charged nothing, to a node not above the RAM
//     threshold, preferring the one with the most room were they started.
//   - CPU: a guest is charged its p95 (else current) CPU use in threads on
//     both sides; the target's CPU use must stay at or below the CPU threshold.
//   - Local disks are copied to the same-named storage on the target, which
//     must exist, be active and stay at or below the storage threshold; the
//     bytes copied are the move's cost.
//
// HA rules (PVE 9 rules; PVE 8 groups are passed in as node-affinity rules):
//   - node-affinity: the target must be among the rule's nodes with the
//     highest priority that are online and may receive guests (HA fails
//     back to those); strict rules allow nothing else, non-strict rules
//     allow any node only when none of their nodes can receive.
//   - resource-affinity negative: no two members on one node after a move.
//   - resource-affinity positive: members on the same node move together,
//     as one step.
//
// Objective: the nodes' RAM use sorted from highest down, compared entry by
// entry (the peak first, then the next highest node, ...), then the vCPU
// ratio peak. A move set is suggested only when the first RAM entry that
// changes falls by at least MinGainPct and is the peak or a node at or over
// the RAM threshold (or, RAM no worse, a vCPU peak of at least
// VCPURatioWarn falls by MinVCPURatioGain).
//
// Search: with few movable units (the product of choices is small), every
// assignment within the move limit is tried and the best one with a valid
// move order is taken (exact), except that the fewest moves whose RAM peak
// is within 0.5 points (and vCPU peak within 0.05) of the best win. Otherwise a greedy search with a two-move
// look-ahead moves one unit at a time off the most loaded nodes. On small
// random clusters the greedy search reaches the exact optimum peak in about
// 95% of cases and is never more than 10 points above it (tested).

// CapStorage is a storage as seen from one node (/nodes/{node}/storage).
type CapStorage struct {
	Storage    string `json:"storage"`
	Shared     bool   `json:"shared"`
	Active     bool   `json:"active"`
	TotalBytes uint64 `json:"total_bytes"`
	UsedBytes  uint64 `json:"used_bytes"`
	// History is optional used-bytes history (RRD) for a fill forecast.
	History []Point `json:"-"`
}

// CapNode is a node's capacity (/nodes/{node}/status, /cluster/resources).
type CapNode struct {
	Name   string `json:"name"`
	Online bool   `json:"online"`
	// CPUCores is physical cores (cpuinfo.cores × sockets); CPUThreads is
	// cpuinfo.cpus (maxcpu), the base of vCPU ratios.
	CPUCores   int `json:"cpu_cores"`
	CPUThreads int `json:"cpu_threads"`
	// CPUFraction is the node's current cpu (0..1 of all threads).
	CPUFraction   float64      `json:"cpu_fraction"`
	MemTotalBytes uint64       `json:"mem_total_bytes"`
	MemUsedBytes  uint64       `json:"mem_used_bytes"`
	Storages      []CapStorage `json:"storages,omitempty"`
	// MemHistory is optional memused history (RRD) for a RAM trend.
	MemHistory []Point `json:"-"`
}

// CapDisk is one guest volume.
type CapDisk struct {
	Storage   string `json:"storage"`
	SizeBytes uint64 `json:"size_bytes"`
	// Shared is the storage's "shared" flag: shared volumes are not copied.
	Shared bool `json:"shared"`
}

// CapGuest is a VM or container with its allocation and observed use.
type CapGuest struct {
	VMID int    `json:"vmid"`
	Name string `json:"name,omitempty"`
	// Type is "qemu" or "lxc".
	Type     string `json:"type"`
	Node     string `json:"node"`
	Running  bool   `json:"running"`
	Template bool   `json:"template,omitempty"`
	// VCPUs is cores × sockets (or "vcpus" when set) for qemu, cores for lxc.
	VCPUs        float64 `json:"vcpus"`
	MemMaxBytes  uint64  `json:"mem_max_bytes"`
	MemUsedBytes uint64  `json:"mem_used_bytes"`
	// CPUFraction is the current cpu (0..1 of the guest's vCPUs).
	CPUFraction float64 `json:"cpu_fraction"`
	// Window statistics from the guest's RRD (HistorySamples 0: none).
	HistorySamples int       `json:"history_samples,omitempty"`
	CPUAvgFraction float64   `json:"cpu_avg_fraction,omitempty"`
	CPUP95Fraction float64   `json:"cpu_p95_fraction,omitempty"`
	MemAvgBytes    float64   `json:"mem_avg_bytes,omitempty"`
	MemP95Bytes    float64   `json:"mem_p95_bytes,omitempty"`
	Disks          []CapDisk `json:"disks,omitempty"`
	// HASID is "vm:<vmid>" or "ct:<vmid>" when HA manages the guest.
	HASID string `json:"ha_sid,omitempty"`
	// Unmovable, when set, says why the guest cannot migrate (e.g. a PCI
	// passthrough device or a local ISO); the planner never moves it.
	Unmovable string `json:"unmovable,omitempty"`
	// DisallowedNodes maps node → reason for targets Proxmox's own migrate
	// precondition check refuses (GET .../migrate "not_allowed_nodes").
	DisallowedNodes map[string]string `json:"disallowed_nodes,omitempty"`
}

// HARule is an HA rule (GET /cluster/ha/rules), or a PVE 8 group mapped to a
// node-affinity rule (restricted → Strict).
type HARule struct {
	ID string `json:"id"`
	// Type is "node-affinity" or "resource-affinity".
	Type      string   `json:"type"`
	Resources []string `json:"resources"`
	// Nodes maps node → priority (node-affinity; higher is preferred).
	Nodes  map[string]int `json:"nodes,omitempty"`
	Strict bool           `json:"strict,omitempty"`
	// Affinity is "positive" or "negative" (resource-affinity).
	Affinity string `json:"affinity,omitempty"`
	Disabled bool   `json:"disabled,omitempty"`
}

// CapacityOptions tune the report and the planner. Zero values take defaults.
type CapacityOptions struct {
	Thresholds Thresholds `json:"thresholds"`
	// MaxMoves limits the moves suggested (default 5; with evacuation the
	// default is no limit).
	MaxMoves int `json:"max_moves,omitempty"`
	// ExcludeNodes receive nothing (e.g. maintenance).
	ExcludeNodes []string `json:"exclude_nodes,omitempty"`
	// EvacuateNodes receive nothing and every guest on them should move.
	EvacuateNodes []string `json:"evacuate_nodes,omitempty"`
	// AllowLocalDiskMoves lets the planner move guests with local disks.
	AllowLocalDiskMoves bool `json:"allow_local_disk_moves,omitempty"`
	// MaxVCPURatio, when > 0, caps a target's running vCPUs per thread.
	MaxVCPURatio float64 `json:"max_vcpu_ratio,omitempty"`
	// MinGainPct: a move set must lower the RAM peak by at least this many
	// points (default 2), or at equal RAM the vCPU peak by MinVCPURatioGain
	// (default 0.1).
	MinGainPct       float64 `json:"min_gain_pct,omitempty"`
	MinVCPURatioGain float64 `json:"min_vcpu_ratio_gain,omitempty"`
	// VCPURatioWarn: vCPU ratios below it are not worth a migration on their
	// own (default 2 vCPUs per thread).
	VCPURatioWarn float64 `json:"vcpu_ratio_warn,omitempty"`
	// OverProvisionedPct: p95 memory below this share of the allocation flags
	// a guest over-provisioned (default 50). UnderHeadroomPct: headroom below
	// this flags it under-provisioned (default 10).
	OverProvisionedPct float64 `json:"over_provisioned_pct,omitempty"`
	UnderHeadroomPct   float64 `json:"under_headroom_pct,omitempty"`
	// Window names the history window for evidence texts ("week" reads
	// "over the last week").
	Window string `json:"window,omitempty"`
	// exactLimit caps the exact search (assignments tried); tests set it.
	exactLimit int
}

// CapacityInput is everything the planner needs.
type CapacityInput struct {
	Nodes   []CapNode  `json:"nodes"`
	Guests  []CapGuest `json:"guests"`
	HARules []HARule   `json:"ha_rules,omitempty"`
}

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

// ---- planning state ----

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

// ---- setup ----

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

// ---- search ----

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

// ---- report ----

// withPlanDefaults fills the zero options with their defaults.
func (opt CapacityOptions) withPlanDefaults() CapacityOptions {
	if opt.MinGainPct <= 0 {
		opt.MinGainPct = 2
	}
	if opt.MinVCPURatioGain <= 0 {
		opt.MinVCPURatioGain = 0.1
	}
	if opt.VCPURatioWarn <= 0 {
		opt.VCPURatioWarn = 2
	}
	if opt.OverProvisionedPct <= 0 {
		opt.OverProvisionedPct = 50
	}
	if opt.UnderHeadroomPct <= 0 {
		opt.UnderHeadroomPct = 10
	}
	if opt.exactLimit == 0 {
		opt.exactLimit = 20000
	}
	return opt
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

// ParseHANodes reads a node-affinity "nodes" value ("pve1:2,pve2:1,pve3")
// into node → priority; a node without a priority gets 0, as in Proxmox.
func ParseHANodes(s string) map[string]int {
	out := map[string]int{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		name, prio, found := strings.Cut(f, ":")
		p := 0
		if found {
			fmt.Sscanf(prio, "%d", &p)
		}
		out[name] = p
	}
	return out
}

// ParseHAResources reads a rule's "resources" ("vm:100,ct:200") into sids.
func ParseHAResources(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// HAGroupRule maps a PVE 8 HA group to the node-affinity rule PVE 9
// migrates it to: id "ha-group-<group>", strict = restricted.
func HAGroupRule(group, nodes string, restricted bool, resources []string) HARule {
	return HARule{ID: "ha-group-" + group, Type: "node-affinity", Nodes: ParseHANodes(nodes), Strict: restricted, Resources: resources}
}
