package analyze

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
	// GuestDisks marks a storage that holds guest disks (content images or
	// rootdir): the report lists the local ones.
	GuestDisks bool `json:"guest_disks,omitempty"`
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
