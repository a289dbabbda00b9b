package tools

import (
	"context"
	"sort"
	"time"

	"github.com/pvemcp/pvemcp/analyze"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/toolkit"
)

func init() {
	toolkit.Register(toolkit.New(toolkit.Meta{
		Name:  "replication_status",
		Title: "Storage replication status",
		Description: "Storage replication jobs with source and target node, schedule, last sync and its age, duration, " +
			"fail count, last error and next sync; a state per job (ok, failing, late, never_synced, disabled) and alerts " +
			"for failing or late jobs.",
		Toolset: toolkit.ToolsetDiagnostics,
		Hints:   &toolkit.ReadHints,
		Needs:   []toolkit.Need{{Priv: "VM.Audit", Path: "/vms"}},
	}, replicationStatus))
}

// ReplicationArgs narrows the jobs.
type ReplicationArgs struct {
	VMID   int    `json:"vmid,omitempty" pve:"vmid" description:"only the jobs of this guest"`
	Node   string `json:"node,omitempty" pve:"node" description:"only jobs replicating from or to this node"`
	Failed bool   `json:"failed,omitempty" description:"only jobs that are not ok"`
	Limit  int    `json:"limit,omitempty" minimum:"1" maximum:"500" default:"50" description:"jobs listed, problems first"`
}

// ReplicationResult lists jobs, problems first.
type ReplicationResult struct {
	Jobs   []ReplJob  `json:"jobs"`
	Counts ReplCounts `json:"counts"`
	Listed int        `json:"listed" description:"jobs in jobs; fewer than counts.jobs when cut at limit or by failed"`
}

// ReplCounts counts jobs by state.
type ReplCounts struct {
	Jobs    int `json:"jobs"`
	OK      int `json:"ok"`
	Failing int `json:"failing"`
	Late    int `json:"late"`
	Other   int `json:"other" description:"disabled, never synced or state unknown"`
}

// ReplJob is one job.
type ReplJob struct {
	ID          string  `json:"id"`
	VMID        int     `json:"vmid"`
	Guest       string  `json:"guest,omitempty"`
	Source      string  `json:"source"`
	Target      string  `json:"target"`
	Schedule    string  `json:"schedule"`
	State       string  `json:"state" description:"ok, failing, late, never_synced, disabled, unknown (source node not answering)"`
	LastSync    string  `json:"last_sync,omitempty"`
	LastSyncAge float64 `json:"last_sync_age_min,omitempty"`
	DurationS   float64 `json:"duration_s,omitempty"`
	FailCount   int     `json:"fail_count"`
	Error       string  `json:"error,omitempty"`
	NextSync    string  `json:"next_sync,omitempty"`
	RateMBps    float64 `json:"rate_mbps,omitempty"`
	Comment     string  `json:"comment,omitempty"`
}

func replicationStatus(ctx context.Context, args ReplicationArgs) (ReplicationResult, error) {
	c, err := toolkit.Client(ctx)
	if err != nil {
		return ReplicationResult{}, err
	}
	cfg, err := c.ReplicationConfig(ctx)
	if err != nil {
		return ReplicationResult{}, err
	}
	guests, err := c.Resources(ctx, proxmox.ResourceVM)
	if err != nil {
		return ReplicationResult{}, err
	}
	where := map[int]proxmox.Resource{}
	for _, g := range guests {
		where[int(g.VMID)] = g
	}
	// The state lives on the guest's current node.
	srcNodes := map[string]bool{}
	for _, j := range cfg {
		if g, ok := where[int(j.Guest)]; ok {
			srcNodes[g.Node] = true
		}
	}
	nodes, err := onlineNodes(ctx, c, "", "replication jobs")
	if err != nil {
		return ReplicationResult{}, err
	}
	var read []string
	for _, n := range nodes {
		if srcNodes[n] {
			read = append(read, n)
		}
	}
	res := proxmox.ForEachNode(ctx, c, read, func(ctx context.Context, n string) ([]proxmox.ReplicationJob, error) {
		return c.ReplicationStatus(ctx, n)
	})
	state := map[string]proxmox.ReplicationJob{}
	for _, r := range res {
		if r.Err != nil {
			toolkit.AddErr(ctx, r.Node, r.Err)
			continue
		}
		for _, j := range r.Value {
			state[j.ID] = j
		}
	}
	now := toolkit.EnvFrom(ctx).Time()
	out := ReplicationResult{Jobs: []ReplJob{}}
	for _, j := range cfg {
		vmid := int(j.Guest)
		g := where[vmid]
		src := g.Node
		if src == "" {
			src = j.Source
		}
		if args.VMID != 0 && args.VMID != vmid {
			continue
		}
		if args.Node != "" && args.Node != src && args.Node != j.Target {
			continue
		}
		rj := ReplJob{ID: j.ID, VMID: vmid, Guest: g.Name, Source: src, Target: j.Target, Schedule: j.Schedule, RateMBps: float64(j.Rate), Comment: j.Comment}
		if rj.Schedule == "" {
			rj.Schedule = "*/15"
		}
		st, ok := state[j.ID]
		if !ok {
			rj.State = "unknown"
			if bool(j.Disable) {
				rj.State = "disabled"
			}
		} else {
			var last time.Time
			if st.LastSync > 0 {
				last = time.Unix(int64(st.LastSync), 0)
				rj.LastSync = last.UTC().Format(time.RFC3339)
				rj.LastSyncAge = toolkit.Round(now.Sub(last).Minutes(), 0)
				rj.DurationS = toolkit.Round(float64(st.Duration), 1)
			}
			if st.NextSync > 0 {
				rj.NextSync = time.Unix(int64(st.NextSync), 0).UTC().Format(time.RFC3339)
			}
			rj.FailCount, rj.Error = int(st.FailCount), st.Error
			var alert *toolkit.Alert
			rj.State, alert = analyze.ReplicationState(j.ID, src, bool(j.Disable), last, rj.FailCount, st.Error, rj.Schedule, now)
			if alert != nil {
				toolkit.AddAlert(ctx, *alert)
			}
		}
		out.Counts.Jobs++
		switch rj.State {
		case "ok":
			out.Counts.OK++
		case "failing":
			out.Counts.Failing++
		case "late":
			out.Counts.Late++
		default:
			out.Counts.Other++
		}
		if args.Failed && rj.State == "ok" {
			continue
		}
		out.Jobs = append(out.Jobs, rj)
	}
	rank := map[string]int{"failing": 0, "late": 1, "never_synced": 2, "unknown": 3, "ok": 4, "disabled": 5}
	sort.SliceStable(out.Jobs, func(i, k int) bool {
		if rank[out.Jobs[i].State] != rank[out.Jobs[k].State] {
			return rank[out.Jobs[i].State] < rank[out.Jobs[k].State]
		}
		return out.Jobs[i].ID < out.Jobs[k].ID
	})
	if args.Limit > 0 && len(out.Jobs) > args.Limit {
		out.Jobs = out.Jobs[:args.Limit]
	}
	out.Listed = len(out.Jobs)
	return out, nil
}
