package tools

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/pvemcp/pvemcp/analyze"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/toolkit"
)

func init() {
	toolkit.Register(toolkit.New(toolkit.Meta{
		Name:  "zfs_health",
		Title: "ZFS pool health",
		Description: "ZFS pools on all nodes: state, size, fragmentation, last scrub, vdev tree with read/write/cksum " +
			"counters, faulted members, member disks' SMART health and wearout, a severity per pool, and host commands " +
			"to investigate (guidance only, never run).",
		Toolset: toolkit.ToolsetStorage,
		Hints:   &toolkit.ReadHints,
		Needs:   []toolkit.Need{{Priv: "Sys.Audit", Path: "/"}},
	}, zfsHealth))
}

// ZFSArgs narrows the pools read.
type ZFSArgs struct {
	Node  string `json:"node,omitempty" pve:"node" description:"only this node"`
	Pool  string `json:"pool,omitempty" pattern:"^[a-zA-Z][a-zA-Z0-9_.:-]{0,254}$" description:"only pools of this name"`
	Vdevs string `json:"vdevs,omitempty" enum:"problems,all" default:"problems" description:"vdev tree of every pool, or only of unhealthy ones"`
}

// ZFSResult lists pools, worst first.
type ZFSResult struct {
	Pools  []ZFSPoolInfo `json:"pools"`
	Counts ZFSCounts     `json:"counts"`
}

// ZFSCounts counts pools by severity.
type ZFSCounts struct {
	Pools    int `json:"pools"`
	OK       int `json:"ok"`
	Warning  int `json:"warning"`
	Critical int `json:"critical"`
}

// ZFSPoolInfo is one pool with its verdict.
type ZFSPoolInfo struct {
	Node       string   `json:"node"`
	Pool       string   `json:"pool"`
	State      string   `json:"state" description:"ONLINE, DEGRADED, FAULTED, ..."`
	Severity   string   `json:"severity" description:"ok, info, warning or critical"`
	Reasons    []string `json:"reasons,omitempty" description:"why the severity is not ok"`
	SizeGiB    float64  `json:"size_gib"`
	AllocGiB   float64  `json:"alloc_gib"`
	FreeGiB    float64  `json:"free_gib"`
	UsedPct    float64  `json:"used_pct"`
	FragPct    float64  `json:"frag_pct"`
	DedupRatio float64  `json:"dedup_ratio"`
	Scrub      *Scrub   `json:"last_scrub,omitempty" description:"last scan as the pool detail shows it"`
	DataErrors string   `json:"data_errors,omitempty" description:"zpool's errors line"`
	Status     string   `json:"status,omitempty" description:"zpool's status text (only when not healthy)"`
	Action     string   `json:"action,omitempty"`
	See        string   `json:"see,omitempty"`
	// Problems are the members that are not ONLINE or show errors.
	Problems []ZFSMember     `json:"problems,omitempty" description:"vdevs or disks not ONLINE or with non-zero error counters"`
	Vdevs    []ZFSVdevInfo   `json:"vdevs,omitempty" description:"the vdev tree, depth first (counters omitted when 0)"`
	Disks    []ZFSMemberDisk `json:"disks,omitempty" description:"member disks with SMART health and wearout (remaining life)"`
	Guidance []string        `json:"guidance,omitempty" description:"host commands for a human to run; pvemcp never runs them"`
}

// Scrub is the parsed last scan.
type Scrub struct {
	Kind          string  `json:"kind" description:"scrub, resilver, none or unknown"`
	State         string  `json:"state" description:"finished, in_progress, canceled, paused, none or unknown"`
	When          string  `json:"when,omitempty" description:"as zpool printed it (node time)"`
	AgeDays       float64 `json:"age_days,omitempty"`
	Errors        int64   `json:"errors,omitempty"`
	RepairedBytes uint64  `json:"repaired_bytes,omitempty"`
	DurationS     int64   `json:"duration_s,omitempty"`
	ProgressPct   float64 `json:"progress_pct,omitempty"`
	Text          string  `json:"text,omitempty" description:"the raw scan line when it could not be parsed"`
}

// ZFSMember is a vdev tree member needing attention.
type ZFSMember struct {
	Path    string `json:"path"`
	State   string `json:"state,omitempty"`
	Read    uint64 `json:"read,omitempty"`
	Write   uint64 `json:"write,omitempty"`
	Cksum   uint64 `json:"cksum,omitempty"`
	Msg     string `json:"msg,omitempty"`
	Section string `json:"section,omitempty" description:"logs, cache, spares, special or dedup"`
	DevPath string `json:"devpath,omitempty" description:"the disk of this member, when matched"`
}

// ZFSVdevInfo is one vdev of the tree, listed depth first; Depth gives the
// nesting (0: the pool root or a section such as logs, 1: mirror-0, ...).
type ZFSVdevInfo struct {
	Name  string `json:"name"`
	Depth int    `json:"depth"`
	State string `json:"state,omitempty"`
	Read  uint64 `json:"read,omitempty"`
	Write uint64 `json:"write,omitempty"`
	Cksum uint64 `json:"cksum,omitempty"`
	Msg   string `json:"msg,omitempty"`
}

// ZFSMemberDisk is a physical disk holding a pool member.
type ZFSMemberDisk struct {
	DevPath             string   `json:"devpath"`
	Model               string   `json:"model,omitempty"`
	Serial              string   `json:"serial,omitempty"`
	Health              string   `json:"health" description:"SMART health: PASSED, OK, FAILED, UNKNOWN"`
	WearoutRemainingPct *float64 `json:"wearout_remaining_pct,omitempty" description:"remaining life; absent when the API says N/A"`
	Severity            string   `json:"severity"`
	Reasons             []string `json:"reasons,omitempty"`
}

type nodeZFS struct {
	pools    []proxmox.ZFSPool
	details  map[string]*proxmox.ZFSPoolStatus
	detErrs  map[string]error
	disks    []proxmox.DiskInfo
	disksErr error
}

func zfsHealth(ctx context.Context, args ZFSArgs) (ZFSResult, error) {
	c, err := toolkit.Client(ctx)
	if err != nil {
		return ZFSResult{}, err
	}
	nodes, err := onlineNodes(ctx, c, args.Node, "ZFS pools")
	if err != nil {
		return ZFSResult{}, err
	}
	res := proxmox.ForEachNode(ctx, c, nodes, func(ctx context.Context, n string) (*nodeZFS, error) {
		return readNodeZFS(ctx, c, n, args.Pool)
	})
	now := toolkit.EnvFrom(ctx).Time()
	out := ZFSResult{Pools: []ZFSPoolInfo{}}
	for _, r := range res {
		if r.Err != nil {
			toolkit.AddErr(ctx, r.Node, r.Err)
			continue
		}
		nz := r.Value
		if nz.disksErr != nil {
			toolkit.AddUnavailable(ctx, "SMART health of "+r.Node+"'s disks", "GET /nodes/"+r.Node+"/disks/list failed: "+nz.disksErr.Error())
		}
		var disks []analyze.Disk
		for _, d := range nz.disks {
			// Identifiers capped as list_disks caps them: the disk's alert
			// reads the same in both tools.
			disks = append(disks, analyze.Disk{Node: r.Node, DevPath: d.DevPath, ByID: d.ByID,
				Model: capText(d.Model, maxDiskIDChars), Serial: capText(d.Serial, maxDiskIDChars),
				Type: d.Type, Health: d.Health, WearoutRemainingPct: analyze.ParseWearout(d.Wearout.Text())})
		}
		for _, p := range nz.pools {
			if args.Pool != "" && p.Name != args.Pool {
				continue
			}
			det := nz.details[p.Name]
			if e := nz.detErrs[p.Name]; e != nil {
				toolkit.AddErr(ctx, r.Node, e)
				toolkit.AddUnavailable(ctx, "detail of "+r.Node+"/"+p.Name, "scrub, vdev tree and error counters were not read: "+e.Error())
			}
			out.Pools = append(out.Pools, poolInfo(ctx, r.Node, p, det, disks, now.Unix(), args.Vdevs == "all"))
		}
	}
	sort.SliceStable(out.Pools, func(i, j int) bool {
		a, b := analyze.Severity(out.Pools[i].Severity).Rank(), analyze.Severity(out.Pools[j].Severity).Rank()
		if a != b {
			return a > b
		}
		if out.Pools[i].Node != out.Pools[j].Node {
			return out.Pools[i].Node < out.Pools[j].Node
		}
		return out.Pools[i].Pool < out.Pools[j].Pool
	})
	for _, p := range out.Pools {
		out.Counts.Pools++
		switch analyze.Severity(p.Severity) {
		case analyze.SeverityCritical:
			out.Counts.Critical++
		case analyze.SeverityWarning:
			out.Counts.Warning++
		default:
			out.Counts.OK++
		}
	}
	if args.Pool != "" && len(out.Pools) == 0 && !toolkit.HasErrors(ctx) {
		return out, fmt.Errorf("no ZFS pool named %s on the nodes read", args.Pool)
	}
	return out, nil
}

func readNodeZFS(ctx context.Context, c *proxmox.Client, node, only string) (*nodeZFS, error) {
	nz := &nodeZFS{details: map[string]*proxmox.ZFSPoolStatus{}, detErrs: map[string]error{}}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); nz.disks, nz.disksErr = c.Disks(ctx, node) }()
	pools, err := c.ZFSPools(ctx, node)
	if err != nil {
		wg.Wait()
		return nil, err
	}
	nz.pools = pools
	var mu sync.Mutex
	for _, p := range pools {
		if only != "" && p.Name != only {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := c.ZFSPoolDetail(ctx, node, p.Name)
			mu.Lock()
			nz.details[p.Name], nz.detErrs[p.Name] = d, err
			mu.Unlock()
		}()
	}
	wg.Wait()
	return nz, nil
}

func toAnalyzeVdevs(v []proxmox.ZFSVdev) []analyze.ZFSVdev {
	out := make([]analyze.ZFSVdev, 0, len(v))
	for _, x := range v {
		out = append(out, analyze.ZFSVdev{Name: x.Name, State: x.State, Read: uint64(x.Read), Write: uint64(x.Write),
			Cksum: uint64(x.Cksum), Msg: x.Msg, Leaf: bool(x.Leaf), Children: toAnalyzeVdevs(x.Children)})
	}
	return out
}

func vdevInfos(v []proxmox.ZFSVdev, depth int, out []ZFSVdevInfo) []ZFSVdevInfo {
	for _, x := range v {
		out = append(out, ZFSVdevInfo{Name: x.Name, Depth: depth, State: x.State, Read: uint64(x.Read), Write: uint64(x.Write),
			Cksum: uint64(x.Cksum), Msg: x.Msg})
		out = vdevInfos(x.Children, depth+1, out)
	}
	return out
}

func leafNames(v []proxmox.ZFSVdev, out *[]string) {
	for _, x := range v {
		if x.Leaf {
			*out = append(*out, x.Name)
			// An UNAVAIL member names its former device in msg ("was /dev/...").
			if m, ok := strings.CutPrefix(x.Msg, "was "); ok {
				*out = append(*out, m)
			}
		}
		leafNames(x.Children, out)
	}
}

func poolInfo(ctx context.Context, node string, p proxmox.ZFSPool, det *proxmox.ZFSPoolStatus, disks []analyze.Disk, now int64, allVdevs bool) ZFSPoolInfo {
	ap := analyze.ZFSPool{Node: node, Name: p.Name, SizeBytes: uint64(p.Size), AllocBytes: uint64(p.Alloc), FreeBytes: uint64(p.Free),
		FragPct: float64(p.Frag), DedupRatio: float64(p.Dedup), Health: p.Health}
	if det != nil {
		ap.Detail = &analyze.ZFSPoolDetail{State: det.State, Status: det.Status, Action: det.Action, See: det.See,
			Scan: det.Scan, Errors: det.Errors, Children: toAnalyzeVdevs(det.Children)}
	}
	v := analyze.EvaluatePool(ap, now, analyze.ZFSOptions{})
	info := ZFSPoolInfo{Node: node, Pool: p.Name, State: v.State, Severity: string(v.Severity), Reasons: v.Reasons,
		SizeGiB: toolkit.GiB(p.Size), AllocGiB: toolkit.GiB(p.Alloc), FreeGiB: toolkit.GiB(p.Free), UsedPct: v.UsedPct, FragPct: float64(p.Frag),
		DedupRatio: toolkit.Round(float64(p.Dedup), 2), Guidance: v.Guidance}
	if a := v.Alert(); a != nil {
		toolkit.AddAlert(ctx, *a)
	}
	if det == nil {
		return info
	}
	if s := v.Scan; s != nil {
		sc := &Scrub{Kind: s.Kind, State: s.State, When: s.When, Errors: s.Errors, RepairedBytes: s.RepairedBytes,
			DurationS: s.DurationSeconds, ProgressPct: s.ProgressPct, AgeDays: v.ScrubAgeDays}
		if s.State == "unknown" {
			sc.Text = s.Text
		}
		info.Scrub = sc
	}
	info.DataErrors = det.Errors
	unhealthy := v.Severity != analyze.SeverityOK
	if unhealthy && v.State != "ONLINE" {
		info.Status, info.Action, info.See = det.Status, det.Action, det.See
	}
	if unhealthy || allVdevs {
		info.Vdevs = vdevInfos(det.Children, 0, nil)
	}
	for _, pr := range v.Problems {
		m := ZFSMember{Path: strings.ReplaceAll(pr.Path, "//", "/"), State: pr.State, Read: pr.Read, Write: pr.Write, Cksum: pr.Cksum, Msg: pr.Msg, Section: pr.Section}
		if pr.Leaf {
			if d := analyze.MatchDiskToVdev(pr.Name, disks); d != nil {
				m.DevPath = d.DevPath
			} else if was, ok := strings.CutPrefix(pr.Msg, "was "); ok {
				if d := analyze.MatchDiskToVdev(was, disks); d != nil {
					m.DevPath = d.DevPath
				}
			}
		}
		info.Problems = append(info.Problems, m)
	}
	// Member disks: SMART health and wearout of every disk behind a leaf.
	var leaves []string
	leafNames(det.Children, &leaves)
	seen := map[string]bool{}
	for _, l := range leaves {
		d := analyze.MatchDiskToVdev(l, disks)
		if d == nil || seen[d.DevPath] {
			continue
		}
		seen[d.DevPath] = true
		dv := analyze.EvaluateDisk(*d, analyze.DiskThresholds{})
		info.Disks = append(info.Disks, ZFSMemberDisk{DevPath: d.DevPath, Model: d.Model, Serial: d.Serial, Health: d.Health,
			WearoutRemainingPct: d.WearoutRemainingPct, Severity: string(dv.Severity), Reasons: dv.Reasons})
		if a := dv.Alert(); a != nil {
			toolkit.AddAlert(ctx, *a)
		}
	}
	if len(disks) > 0 && len(info.Disks) == 0 && len(leaves) > 0 {
		toolkit.AddUnavailable(ctx, "SMART data of "+node+"/"+p.Name+" members", "no disk of /disks/list matches the pool's member devices")
	}
	return info
}
