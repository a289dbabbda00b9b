package tools

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/pvemcp/pvemcp/analyze"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/toolkit"
)

func init() {
	toolkit.Register(toolkit.New(toolkit.Meta{
		Name:  "capacity_report",
		Title: "Capacity and rebalancing",
		Description: "Capacity and rebalancing: per node vCPU ratio, RAM allocated vs used, storage; over- and " +
			"under-provisioned guests; forecasts; migrations that lower the highest node load, validated against " +
			"thresholds and HA rules, or why none; node evacuation. Advice only: apply with migrate_guest.",
		Toolset: toolkit.ToolsetCapacity,
		Hints:   &toolkit.ReadHints,
		Needs:   []toolkit.Need{{Priv: "Sys.Audit", Path: "/"}, {Priv: "VM.Audit", Path: "/vms"}, {Priv: "Datastore.Audit", Path: "/storage"}},
	}, capacityReport))
}

// CapacityArgs tune the plan.
type CapacityArgs struct {
	MaxMoves      int      `json:"max_moves,omitempty" minimum:"0" maximum:"50" description:"most migrations (default 5; evacuation: no limit)"`
	ExcludeNodes  []string `json:"exclude_nodes,omitempty" maxItems:"64" description:"nodes that receive no guest"`
	EvacuateNode  string   `json:"evacuate_node,omitempty" pve:"node" description:"plan moving every guest off this node"`
	Window        string   `json:"window,omitempty" enum:"none,day,week,month" default:"week" description:"RRD window for averages, p95 and forecasts"`
	AllowLocal    bool     `json:"allow_local_disk_moves,omitempty" description:"also move guests with local disks (copied)"`
	Guests        bool     `json:"guests,omitempty" description:"also list every running guest's allocation vs use"`
	FindingsLimit int      `json:"findings_limit,omitempty" minimum:"1" maximum:"200" default:"5" description:"most over-/under-provisioned guests listed"`
}

// Validate checks the node names.
func (a CapacityArgs) Validate() error {
	for _, n := range a.ExcludeNodes {
		if !proxmox.ValidNode(n) {
			return fmt.Errorf("exclude_nodes: invalid node name %q", n)
		}
		if n == a.EvacuateNode {
			return errors.New("a node cannot be both excluded and evacuated (evacuate implies excluded)")
		}
	}
	return nil
}

// CapacityResult is the capacity report.
type CapacityResult struct {
	Window           string                 `json:"window"`
	Nodes            []analyze.NodeCapacity `json:"nodes"`
	OverProvisioned  []analyze.CapFinding   `json:"over_provisioned,omitempty"`
	OverTotal        int                    `json:"over_provisioned_total"`
	UnderProvisioned []analyze.CapFinding   `json:"under_provisioned,omitempty"`
	UnderTotal       int                    `json:"under_provisioned_total"`
	FindingsBasis    string                 `json:"findings_basis,omitempty"`
	Guests           []CapGuestUse          `json:"guests,omitempty" description:"running guests: allocation vs use (guests=true)"`
	Moves            []analyze.Move         `json:"moves"`
	PeakBefore       analyze.Peak           `json:"peak_before"`
	PeakAfter        analyze.Peak           `json:"peak_after"`
	NoMoveReasons    []string               `json:"no_move_reasons,omitempty"`
	Blocked          []analyze.Blocked      `json:"blocked,omitempty"`
	Search           string                 `json:"search" description:"exact or greedy+lookahead"`
	Basis            []string               `json:"basis"`
	Apply            string                 `json:"apply,omitempty"`
}

// CapGuestUse is a running guest's allocation against its use.
type CapGuestUse struct {
	VMID        int     `json:"vmid"`
	Name        string  `json:"name,omitempty"`
	Node        string  `json:"node"`
	VCPUs       float64 `json:"vcpus"`
	CPUAvg      float64 `json:"cpu_avg_vcpus,omitempty"`
	CPUP95      float64 `json:"cpu_p95_vcpus,omitempty"`
	MemAllocGiB float64 `json:"mem_alloc_gib"`
	MemUsedGiB  float64 `json:"mem_used_gib"`
	MemAvgGiB   float64 `json:"mem_avg_gib,omitempty"`
	MemP95GiB   float64 `json:"mem_p95_gib,omitempty"`
	Samples     int     `json:"samples,omitempty"`
}

func capacityReport(ctx context.Context, args CapacityArgs) (CapacityResult, error) {
	c, err := toolkit.Client(ctx)
	if err != nil {
		return CapacityResult{}, err
	}
	if args.Window == "" {
		args.Window = "week"
	}
	if args.FindingsLimit == 0 {
		args.FindingsLimit = 5
	}
	th := toolkit.EnvFrom(ctx).Thresholds.WithDefaults()
	res, err := c.Resources(ctx, "")
	if err != nil {
		return CapacityResult{}, err
	}
	in := analyze.CapacityInput{}
	nodeIdx := map[string]int{}
	for _, r := range res {
		if r.Type != "node" {
			continue
		}
		online := r.Status == "online"
		nodeIdx[r.Node] = len(in.Nodes)
		in.Nodes = append(in.Nodes, analyze.CapNode{Name: r.Node, Online: online, CPUThreads: int(r.MaxCPU), CPUFraction: float64(r.CPU),
			MemTotalBytes: uint64(r.MaxMem), MemUsedBytes: uint64(r.Mem)})
		if !online {
			toolkit.AddErr(ctx, r.Node, toolkit.NodeUnreachable("%s is %s per /cluster/resources: it receives no guest and its figures are missing", r.Node, r.Status))
		}
	}
	for _, n := range append(append([]string(nil), args.ExcludeNodes...), args.EvacuateNode) {
		if _, ok := nodeIdx[n]; n != "" && !ok {
			return CapacityResult{}, fmt.Errorf("node %s is not a member of this cluster (per /cluster/resources)", n)
		}
	}
	type localStor struct{ node, storage string }
	var locals []localStor
	for _, r := range res {
		if r.Type != "storage" {
			continue
		}
		i, ok := nodeIdx[r.Node]
		if !ok {
			continue
		}
		// A local storage holding guest disks: its volumes are what a move
		// copies, and its growth is what fills the node.
		guestDisks := !bool(r.Shared) && r.Status == "available" && (strings.Contains(r.Content, "images") || strings.Contains(r.Content, "rootdir"))
		in.Nodes[i].Storages = append(in.Nodes[i].Storages, analyze.CapStorage{Storage: r.Storage, Shared: bool(r.Shared),
			Active: r.Status == "available", TotalBytes: uint64(r.MaxDisk), UsedBytes: uint64(r.Disk), GuestDisks: guestDisks})
		if guestDisks {
			locals = append(locals, localStor{r.Node, r.Storage})
		}
	}
	guestIdx := map[int]int{}
	for _, r := range res {
		if !r.IsGuest() {
			continue
		}
		g := analyze.CapGuest{VMID: int(r.VMID), Name: r.Name, Type: r.Type, Node: r.Node, Running: r.Status == "running",
			Template: bool(r.Template), VCPUs: float64(r.MaxCPU), MemMaxBytes: uint64(r.MaxMem), MemUsedBytes: uint64(r.Mem), CPUFraction: float64(r.CPU)}
		if r.HAState != "" {
			g.HASID = proxmox.HASID(proxmox.GuestType(r.Type), int(r.VMID))
		}
		if r.Lock != "" {
			g.Unmovable = "locked (" + r.Lock + ")"
		}
		if i, ok := nodeIdx[r.Node]; ok && !in.Nodes[i].Online {
			g.Unmovable = "its node " + r.Node + " is not online"
		}
		guestIdx[g.VMID] = len(in.Guests)
		in.Guests = append(in.Guests, g)
	}

	// Everything else is read in parallel: node status (cores), local
	// volumes (disks to copy), HA rules, and the RRD history.
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	online := []string{}
	for _, n := range in.Nodes {
		if n.Online {
			online = append(online, n.Name)
		}
	}
	var quorate = true
	wg.Add(4)
	go func() {
		defer wg.Done()
		st, err := c.ClusterStatus(ctx)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			toolkit.AddErr(ctx, "", err)
			toolkit.AddUnavailable(ctx, "quorum", "GET /cluster/status failed: moves are planned as if the cluster were quorate")
			return
		}
		quorumAlert(ctx, st)
		quorate = st.Quorate
	}()
	go func() {
		defer wg.Done()
		st := proxmox.ForEachNode(ctx, c, online, func(ctx context.Context, n string) (*proxmox.NodeStatus, error) { return c.NodeStatus(ctx, n) })
		mu.Lock()
		defer mu.Unlock()
		for _, r := range st {
			if r.Err != nil {
				toolkit.AddErr(ctx, r.Node, r.Err)
				toolkit.AddUnavailable(ctx, "physical cores of "+r.Node, "GET /nodes/"+r.Node+"/status failed")
				continue
			}
			n := &in.Nodes[nodeIdx[r.Node]]
			n.CPUCores = int(r.Value.CPUInfo.Cores) * max(1, int(r.Value.CPUInfo.Sockets))
		}
	}()
	go func() {
		defer wg.Done()
		keys := make([]string, len(locals))
		for i := range locals {
			keys[i] = strconv.Itoa(i)
		}
		vols := proxmox.FanOut(ctx, keys, c.FanOutLimit(), func(ctx context.Context, k string) ([]proxmox.Volume, error) {
			i, _ := strconv.Atoi(k)
			return c.StorageVolumes(ctx, locals[i].node, locals[i].storage, "")
		})
		mu.Lock()
		defer mu.Unlock()
		for _, r := range vols {
			i, _ := strconv.Atoi(r.Node)
			l := locals[i]
			if r.Err != nil {
				toolkit.AddErr(ctx, l.node, r.Err)
				toolkit.AddUnavailable(ctx, "guest volumes on "+l.node+"/"+l.storage, "local disk sizes unknown: such guests are treated as unmovable")
				for gi := range in.Guests {
					if in.Guests[gi].Node == l.node && in.Guests[gi].Unmovable == "" {
						in.Guests[gi].Unmovable = "its local volumes could not be read"
					}
				}
				continue
			}
			for _, v := range r.Value {
				gi, ok := guestIdx[int(v.VMID)]
				if !ok || (v.Content != "images" && v.Content != "rootdir") {
					continue
				}
				in.Guests[gi].Disks = append(in.Guests[gi].Disks, analyze.CapDisk{Storage: l.storage, SizeBytes: uint64(v.Size)})
			}
		}
	}()
	go func() {
		defer wg.Done()
		rules, err := haRulesForPlan(ctx, c)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			toolkit.AddErr(ctx, "", err)
			toolkit.AddUnavailable(ctx, "HA rules and groups", "not read: HA-managed guests are kept where they are")
			for gi := range in.Guests {
				if in.Guests[gi].HASID != "" && in.Guests[gi].Unmovable == "" {
					in.Guests[gi].Unmovable = "HA-managed and the HA rules could not be read"
				}
			}
			return
		}
		in.HARules = rules
	}()
	wg.Wait()
	if args.Window != "none" {
		readCapacityHistory(ctx, c, &in, args.Window)
	}

	opt := analyze.CapacityOptions{Thresholds: th, MaxMoves: args.MaxMoves, ExcludeNodes: args.ExcludeNodes,
		AllowLocalDiskMoves: args.AllowLocal, Window: args.Window}
	if args.EvacuateNode != "" {
		opt.EvacuateNodes = []string{args.EvacuateNode}
	}
	rep := analyze.PlanCapacity(in, opt)
	out := capacityOut(ctx, rep, args)
	if !quorate && len(out.Moves) > 0 {
		out.Apply = "not now: the cluster has no quorum and Proxmox refuses every migration until it has; " + out.Apply
	}
	if args.Guests {
		for _, g := range in.Guests {
			if !g.Running || g.Template {
				continue
			}
			gu := CapGuestUse{VMID: g.VMID, Name: g.Name, Node: g.Node, VCPUs: g.VCPUs, MemAllocGiB: toolkit.GiB2(g.MemMaxBytes),
				MemUsedGiB: toolkit.GiB2(g.MemUsedBytes), Samples: g.HistorySamples}
			if g.HistorySamples > 0 {
				gu.CPUAvg, gu.CPUP95 = toolkit.Round(g.CPUAvgFraction*g.VCPUs, 2), toolkit.Round(g.CPUP95Fraction*g.VCPUs, 2)
				gu.MemAvgGiB, gu.MemP95GiB = toolkit.GiB2(g.MemAvgBytes), toolkit.GiB2(g.MemP95Bytes)
			}
			out.Guests = append(out.Guests, gu)
		}
		sort.Slice(out.Guests, func(i, j int) bool { return out.Guests[i].VMID < out.Guests[j].VMID })
	}
	return out, nil
}

// haRulesForPlan reads PVE 9 rules, or PVE 8 groups mapped to node-affinity
// rules (restricted → strict), as the planner takes them.
func haRulesForPlan(ctx context.Context, c *proxmox.Client) ([]analyze.HARule, error) {
	rules, err := c.HARules(ctx)
	if err == nil {
		var out []analyze.HARule
		for _, r := range rules {
			hr := analyze.HARule{ID: r.Rule, Type: r.Type, Resources: proxmox.SplitList(r.Resources), Strict: bool(r.Strict),
				Affinity: r.Affinity, Disabled: bool(r.Disable)}
			if r.Nodes != "" {
				hr.Nodes = proxmox.ParseHANodes(r.Nodes)
			}
			out = append(out, hr)
		}
		return out, nil
	}
	groups, gerr := c.HAGroups(ctx)
	if gerr != nil {
		return nil, err
	}
	res, rerr := c.HAResources(ctx)
	if rerr != nil {
		return nil, rerr
	}
	byGroup := map[string][]string{}
	for _, r := range res {
		if r.Group != "" {
			byGroup[r.Group] = append(byGroup[r.Group], r.SID)
		}
	}
	var out []analyze.HARule
	for _, g := range groups {
		out = append(out, analyze.HARule{ID: "ha-group-" + g.Group, Type: "node-affinity", Resources: byGroup[g.Group],
			Nodes: proxmox.ParseHANodes(g.Nodes), Strict: bool(g.Restricted)})
	}
	return out, nil
}

// readCapacityHistory fills the guests' window statistics and the nodes'
// RAM and local storage histories from RRD, all calls in parallel.
func readCapacityHistory(ctx context.Context, c *proxmox.Client, in *analyze.CapacityInput, window string) {
	type job struct {
		kind    string // guest, node, storage
		gi, ni  int
		storage string
	}
	var jobs []job
	nodeOnline := map[string]bool{}
	for _, n := range in.Nodes {
		nodeOnline[n.Name] = n.Online
	}
	for gi, g := range in.Guests {
		if g.Running && !g.Template && nodeOnline[g.Node] {
			jobs = append(jobs, job{kind: "guest", gi: gi})
		}
	}
	for ni, n := range in.Nodes {
		if !n.Online {
			continue
		}
		jobs = append(jobs, job{kind: "node", ni: ni})
		for _, s := range n.Storages {
			// Only storages holding guest disks: their growth is what fills a node.
			if s.GuestDisks && s.TotalBytes > 0 {
				jobs = append(jobs, job{kind: "storage", ni: ni, storage: s.Storage})
			}
		}
	}
	keys := make([]string, len(jobs))
	for i := range jobs {
		keys[i] = strconv.Itoa(i)
	}
	// Each answer is reduced as it arrives (a guest's week to avg/p95, a
	// node's or storage's to one series), so only the reductions of a
	// thousand answers are held, never the answers.
	type reduced struct {
		cpu, mem analyze.Stats
		ok       bool
		points   []analyze.Point
	}
	res := proxmox.FanOut(ctx, keys, c.FanOutLimit(), func(ctx context.Context, k string) (reduced, error) {
		i, _ := strconv.Atoi(k)
		j := jobs[i]
		var r reduced
		switch j.kind {
		case "guest":
			g := in.Guests[j.gi]
			s, err := c.GuestRRDSeries(ctx, g.Node, proxmox.GuestType(g.Type), g.VMID, window, "", "cpu", "mem")
			if err != nil {
				return r, err
			}
			var okc, okm bool
			r.cpu, okc = analyze.Summarize(rrdPoints(s, "cpu"))
			r.mem, okm = analyze.Summarize(rrdPoints(s, "mem"))
			r.ok = okc && okm
		case "node":
			s, err := c.NodeRRDSeries(ctx, in.Nodes[j.ni].Name, window, "", "memused")
			if err != nil {
				return r, err
			}
			r.points = rrdPoints(s, "memused")
		default:
			s, err := c.StorageRRDSeries(ctx, in.Nodes[j.ni].Name, j.storage, window, "", "used")
			if err != nil {
				return r, err
			}
			r.points = rrdPoints(s, "used")
		}
		return r, nil
	})
	missing := 0
	for _, r := range res {
		i, _ := strconv.Atoi(r.Node)
		j := jobs[i]
		if r.Err != nil {
			missing++
			if missing <= 3 {
				toolkit.AddErr(ctx, "", r.Err)
			}
			continue
		}
		switch j.kind {
		case "guest":
			if r.Value.ok {
				g := &in.Guests[j.gi]
				g.HistorySamples = r.Value.mem.Count
				g.CPUAvgFraction, g.CPUP95Fraction = r.Value.cpu.Avg, r.Value.cpu.P95
				g.MemAvgBytes, g.MemP95Bytes = r.Value.mem.Avg, r.Value.mem.P95
			}
		case "node":
			in.Nodes[j.ni].MemHistory = append(in.Nodes[j.ni].MemHistory, r.Value.points...)
		case "storage":
			for si := range in.Nodes[j.ni].Storages {
				s := &in.Nodes[j.ni].Storages[si]
				if s.Storage == j.storage {
					s.History = append(s.History, r.Value.points...)
				}
			}
		}
	}
	if missing > 0 {
		toolkit.AddUnavailable(ctx, fmt.Sprintf("%d RRD histories", missing), "not read: those guests are judged by current use, those nodes and storages get no forecast")
	}
}

// rrdPoints lists the defined values of one field of a series, oldest
// first (Proxmox omits undefined ones; they are NaN in the series).
func rrdPoints(s *proxmox.RRDSeries, field string) []analyze.Point {
	col := s.Column(field)
	n := 0
	for _, v := range col {
		if !math.IsNaN(v) {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	out := make([]analyze.Point, 0, n)
	for i, v := range col {
		if !math.IsNaN(v) {
			out = append(out, analyze.Point{Time: s.Time[i], Value: v})
		}
	}
	return out
}

// capacityOut is the result: analyze's report, its findings cut to the
// limit, and what the plan could not know in the envelope.
func capacityOut(ctx context.Context, rep analyze.CapacityReport, args CapacityArgs) CapacityResult {
	out := CapacityResult{Window: args.Window, Nodes: rep.Nodes, Moves: rep.Moves, PeakBefore: rep.PeakBefore, PeakAfter: rep.PeakAfter,
		NoMoveReasons: rep.NoMoveReasons, Blocked: rep.Blocked, Search: rep.Search, Basis: rep.Basis, FindingsBasis: rep.FindingsBasis,
		OverTotal: len(rep.OverProvisioned), UnderTotal: len(rep.UnderProvisioned)}
	for _, n := range rep.Nodes {
		if !n.Online {
			toolkit.AddUnavailable(ctx, "usage of "+n.Node+" and the state of its guests",
				"the node is not online: /cluster/resources gives no CPU or memory use for it and its guests' status is unknown")
		}
	}
	out.OverProvisioned = rep.OverProvisioned[:min(len(rep.OverProvisioned), args.FindingsLimit)]
	out.UnderProvisioned = rep.UnderProvisioned[:min(len(rep.UnderProvisioned), args.FindingsLimit)]
	if len(out.Moves) > 0 {
		out.Apply = "suggestions only: each move is applied with migrate_guest (a plan confirmed through the approval gate), in step order"
	}
	toolkit.AddAlert(ctx, rep.Alerts...)
	toolkit.AddUnavailable(ctx, "PCI/USB passthrough and other local resources",
		"guest configs are not read for the plan; migrate_guest checks Proxmox's own migration precondition before any move")
	return out
}
