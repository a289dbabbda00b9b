package tools

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"

	"github.com/pvemcp/pvemcp/analyze"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/toolkit"
)

func init() {
	toolkit.Register(toolkit.New(toolkit.Meta{
		Name:  "cluster_overview",
		Title: "Cluster overview",
		Description: "How the cluster is doing: quorum, per-node CPU, RAM and storage use, guest counts, " +
			"shared storages and threshold alerts (RAM 85%, storage 90%, CPU 90% by default).",
		Toolset: toolkit.ToolsetInventory,
		Hints:   &toolkit.ReadHints,
		Needs:   []toolkit.Need{{Priv: "Sys.Audit", Path: "/"}, {Priv: "VM.Audit", Path: "/vms"}},
	}, clusterOverview))
}

// OverviewArgs has no required argument.
type OverviewArgs struct {
	Node string `json:"node,omitempty" pve:"node" description:"only this node"`
}

// OverviewResult is the cluster dashboard.
type OverviewResult struct {
	Quorum         *Quorum          `json:"quorum,omitempty"`
	Nodes          []NodeSummary    `json:"nodes"`
	Guests         GuestCounts      `json:"guests"`
	SharedStorages []StorageSummary `json:"shared_storages,omitempty"`
}

// Quorum is the corosync view from /cluster/status.
type Quorum struct {
	Quorate     bool `json:"quorate"`
	NodesOnline int  `json:"nodes_online"`
	NodesTotal  int  `json:"nodes_total"`
}

// NodeSummary is one node's live usage.
type NodeSummary struct {
	Node        string           `json:"node"`
	Status      string           `json:"status" description:"online, offline or unknown"`
	CPUPct      float64          `json:"cpu_pct,omitempty"`
	CPUs        int              `json:"cpus,omitempty"`
	MemUsedGiB  float64          `json:"mem_used_gib,omitempty"`
	MemTotalGiB float64          `json:"mem_total_gib,omitempty"`
	MemPct      float64          `json:"mem_pct,omitempty"`
	UptimeS     int64            `json:"uptime_s,omitempty"`
	Storages    []StorageSummary `json:"storages,omitempty" description:"storages local to this node"`
	Guests      GuestCounts      `json:"guests"`
}

// StorageSummary is one storage's fill level. The figures are omitted when
// the storage is not available (its usage is unknown, not zero).
type StorageSummary struct {
	Storage  string   `json:"storage"`
	Type     string   `json:"type"`
	Status   string   `json:"status,omitempty" description:"omitted when available"`
	UsedGiB  *float64 `json:"used_gib,omitempty"`
	TotalGiB *float64 `json:"total_gib,omitempty"`
	Pct      *float64 `json:"pct,omitempty"`
}

// GuestCounts counts VMs and containers. A guest whose node is not online
// has status "unknown" in /cluster/resources: it is counted as unknown, not
// as stopped, and a count of running guests is given only over the guests
// whose state is known.
type GuestCounts struct {
	VMs        int  `json:"vms"`
	VMsRunning *int `json:"vms_running,omitempty" description:"absent when no VM's state is known"`
	VMsUnknown int  `json:"vms_unknown,omitempty" description:"VMs on nodes that are not online"`
	CTs        int  `json:"cts"`
	CTsRunning *int `json:"cts_running,omitempty" description:"absent when no container's state is known"`
	CTsUnknown int  `json:"cts_unknown,omitempty" description:"containers on nodes that are not online"`
}

func (g *GuestCounts) add(r proxmox.Resource) {
	total, running, unknown := &g.CTs, &g.CTsRunning, &g.CTsUnknown
	if r.Type == "qemu" {
		total, running, unknown = &g.VMs, &g.VMsRunning, &g.VMsUnknown
	}
	*total++
	if r.Status == "unknown" || r.Status == "" {
		*unknown++
		return
	}
	if *running == nil {
		*running = new(int)
	}
	if r.Status == "running" {
		**running++
	}
}

func clusterOverview(ctx context.Context, args OverviewArgs) (OverviewResult, error) {
	c, err := toolkit.Client(ctx)
	if err != nil {
		return OverviewResult{}, err
	}
	var (
		wg        sync.WaitGroup
		status    *proxmox.ClusterStatus
		statusErr error
		res       []proxmox.Resource
		resErr    error
	)
	wg.Add(2)
	go func() { defer wg.Done(); status, statusErr = c.ClusterStatus(ctx) }()
	go func() { defer wg.Done(); res, resErr = c.Resources(ctx, "") }()
	wg.Wait()
	if resErr != nil {
		// Without /cluster/resources there is no figure to report.
		return OverviewResult{}, resErr
	}
	out := OverviewResult{Nodes: []NodeSummary{}}
	if statusErr != nil {
		toolkit.AddErr(ctx, "", statusErr)
		toolkit.AddUnavailable(ctx, "quorum", "GET /cluster/status failed: "+statusErr.Error())
	} else {
		q := &Quorum{Quorate: status.Quorate}
		q.NodesOnline, q.NodesTotal = quorumAlert(ctx, status)
		out.Quorum = q
	}
	th := toolkit.EnvFrom(ctx).Thresholds.WithDefaults()
	byNode := map[string]*NodeSummary{}
	shared := map[string]StorageSummary{}
	for _, r := range res {
		if r.Type != "node" {
			continue
		}
		if args.Node != "" && r.Node != args.Node {
			continue
		}
		ns := NodeSummary{Node: r.Node, Status: r.Status}
		online := r.Status == "online"
		if online {
			ns.CPUPct = toolkit.FracPct(r.CPU)
			ns.CPUs = int(r.MaxCPU)
			ns.MemUsedGiB = toolkit.GiB(r.Mem)
			ns.MemTotalGiB = toolkit.GiB(r.MaxMem)
			ns.MemPct = toolkit.Pct(r.Mem, r.MaxMem)
			ns.UptimeS = int64(r.Uptime)
		} else {
			toolkit.AddUnavailable(ctx, "usage of node "+r.Node, "node is "+r.Status+" in /cluster/resources")
		}
		toolkit.AddAlert(ctx, withBasis(analyze.EvaluateNode(th, analyze.NodeUsage{
			Node: r.Node, Online: online, CPUFraction: float64(r.CPU),
			MemTotalBytes: uint64(r.MaxMem), MemUsedBytes: uint64(r.Mem),
		}), "/cluster/resources")...)
		byNode[r.Node] = &ns
	}
	if args.Node != "" && len(byNode) == 0 {
		return OverviewResult{}, fmt.Errorf("node %s is not a member of this cluster", args.Node)
	}
	for _, r := range res {
		switch {
		case r.IsGuest():
			if ns := byNode[r.Node]; ns != nil && !bool(r.Template) {
				ns.Guests.add(r)
				out.Guests.add(r)
			}
		case r.Type == "storage":
			s := StorageSummary{Storage: r.Storage, Type: r.PluginType}
			if r.Status == "available" {
				used, total, pct := toolkit.GiB(r.Disk), toolkit.GiB(r.MaxDisk), toolkit.Pct(r.Disk, r.MaxDisk)
				s.UsedGiB, s.TotalGiB, s.Pct = &used, &total, &pct
			} else {
				s.Status = r.Status
			}
			if r.Shared {
				// A shared storage appears once per node; report it once.
				if _, seen := shared[r.Storage]; !seen || r.Status == "available" {
					shared[r.Storage] = s
				}
				continue
			}
			ns := byNode[r.Node]
			if ns == nil {
				continue
			}
			ns.Storages = append(ns.Storages, s)
			toolkit.AddAlert(ctx, storageAlerts(th, r)...)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(byNode)) {
		ns := byNode[n]
		sort.Slice(ns.Storages, func(i, j int) bool { return ns.Storages[i].Storage < ns.Storages[j].Storage })
		out.Nodes = append(out.Nodes, *ns)
	}
	if args.Node == "" {
		alerted := map[string]bool{}
		for _, k := range slices.Sorted(maps.Keys(shared)) {
			s := shared[k]
			out.SharedStorages = append(out.SharedStorages, s)
		}
		for _, r := range res {
			if r.Type == "storage" && bool(r.Shared) && r.Status == "available" && !alerted[r.Storage] {
				alerted[r.Storage] = true
				toolkit.AddAlert(ctx, storageAlerts(th, r)...)
			}
		}
	}
	return out, nil
}

func storageAlerts(th toolkit.Thresholds, r proxmox.Resource) []toolkit.Alert {
	return withBasis(analyze.EvaluateStorage(th, analyze.StorageUsage{
		Node: r.Node, Storage: r.Storage, Active: r.Status == "available", Shared: bool(r.Shared),
		TotalBytes: uint64(r.MaxDisk), UsedBytes: uint64(r.Disk),
	}), "/cluster/resources")
}

// withBasis names the API call the figures of the alerts came from.
func withBasis(alerts []toolkit.Alert, call string) []toolkit.Alert {
	for i := range alerts {
		if alerts[i].Basis != "" {
			alerts[i].Basis += ", from " + call
		} else {
			alerts[i].Basis = "from " + call
		}
	}
	return alerts
}
