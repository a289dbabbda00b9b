package tools

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/pvemcp/pvemcp/analyze"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/toolkit"
)

func init() {
	toolkit.Register(toolkit.New(toolkit.Meta{
		Name:  "ceph_health",
		Title: "Ceph health",
		Description: "Ceph cluster health when the cluster runs Ceph: status, health checks with their messages, monitors, " +
			"OSDs up/in (the ones down or out listed), placement groups by state, raw usage and pools with their usage; " +
			"reports Ceph as unavailable, with Proxmox's reason, where it is not installed.",
		Toolset: toolkit.ToolsetDiagnostics,
		Hints:   &toolkit.ReadHints,
		Needs:   []toolkit.Need{{Priv: "Sys.Audit", Path: "/"}},
	}, cephHealth))
}

// CephResult is the digest of ceph status, OSDs and pools.
type CephResult struct {
	Installed bool          `json:"installed"`
	Health    string        `json:"health,omitempty" description:"HEALTH_OK, HEALTH_WARN or HEALTH_ERR"`
	Checks    []CephCheck   `json:"checks,omitempty"`
	Monitors  []string      `json:"monitors_in_quorum,omitempty"`
	OSDs      *CephOSDCount `json:"osds,omitempty"`
	PGs       *CephPGs      `json:"pgs,omitempty"`
	Usage     *CephUsage    `json:"usage,omitempty"`
	Pools     []CephPoolUse `json:"pools,omitempty"`
	Flags     string        `json:"osd_flags,omitempty"`
}

// CephCheck is one health check.
type CephCheck struct {
	Code     string `json:"code"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Count    int    `json:"count,omitempty"`
	Muted    bool   `json:"muted,omitempty"`
}

// CephOSDCount counts OSDs and lists the unhealthy ones.
type CephOSDCount struct {
	Total    int          `json:"total"`
	Up       int          `json:"up"`
	In       int          `json:"in"`
	Problems []CephOSDBad `json:"problems,omitempty" description:"OSDs down or out (capped at 50)"`
}

// CephOSDBad is an OSD that is down or out.
type CephOSDBad struct {
	Name   string `json:"name"`
	Host   string `json:"host"`
	Status string `json:"status"`
	In     bool   `json:"in"`
}

// CephPGs counts placement groups by state.
type CephPGs struct {
	Total   int            `json:"total"`
	ByState map[string]int `json:"by_state"`
}

// CephUsage is the raw capacity.
type CephUsage struct {
	TotalGiB float64 `json:"total_gib"`
	UsedGiB  float64 `json:"used_gib"`
	UsedPct  float64 `json:"used_pct"`
}

// CephPoolUse is one pool.
type CephPoolUse struct {
	Name    string  `json:"name"`
	Size    int     `json:"size"`
	MinSize int     `json:"min_size"`
	PGs     int     `json:"pg_num"`
	UsedGiB float64 `json:"used_gib" description:"raw bytes used (all replicas)"`
	UsedPct float64 `json:"used_pct"`
}

func cephHealth(ctx context.Context, _ toolkit.NoArgs) (CephResult, error) {
	c, err := toolkit.Client(ctx)
	if err != nil {
		return CephResult{}, err
	}
	st, err := c.CephStatus(ctx)
	if err != nil {
		var pe *proxmox.Error
		if asProxmoxError(err, &pe) && pe.Status == 500 && (strings.HasPrefix(pe.Reason, "binary not installed") || strings.Contains(pe.Reason, "not initialized")) {
			toolkit.AddUnavailable(ctx, "ceph", "Ceph is not set up on this cluster (Proxmox answers: "+pe.Reason+")")
			return CephResult{Installed: false}, nil
		}
		return CephResult{}, err
	}
	out := CephResult{Installed: true, Health: st.Health.Status, Monitors: st.QuorumNames}
	for _, code := range sortedKeysOf(st.Health.Checks) {
		ck := st.Health.Checks[code]
		out.Checks = append(out.Checks, CephCheck{Code: code, Severity: ck.Severity, Message: ck.Summary.Message, Count: int(ck.Summary.Count), Muted: bool(ck.Muted)})
		toolkit.AddAlert(ctx, analyze.EvaluateCephCheck(code, ck.Severity, ck.Summary.Message, int(ck.Summary.Count), bool(ck.Muted))...)
	}
	pgs := &CephPGs{Total: int(st.PGMap.NumPGs), ByState: map[string]int{}}
	for _, s := range st.PGMap.PGsByState {
		pgs.ByState[s.StateName] = int(s.Count)
	}
	out.PGs = pgs
	out.OSDs = &CephOSDCount{Total: int(st.OSDMap.NumOSDs), Up: int(st.OSDMap.NumUpOSDs), In: int(st.OSDMap.NumInOSDs)}
	if t := st.PGMap.BytesTotal; t > 0 {
		out.Usage = &CephUsage{TotalGiB: toolkit.GiB(t), UsedGiB: toolkit.GiB(st.PGMap.BytesUsed), UsedPct: toolkit.Pct(st.PGMap.BytesUsed, t)}
	}
	// OSD and pool details come from any node that answers.
	nodes, err := onlineNodes(ctx, c, "", "Ceph details")
	if err != nil || len(nodes) == 0 {
		toolkit.AddUnavailable(ctx, "ceph OSD and pool details", "no online node to read them from")
		return out, nil
	}
	n := nodes[0]
	if osds, flags, err := c.CephOSDs(ctx, n); err != nil {
		toolkit.AddErr(ctx, n, err)
	} else {
		out.Flags = flags
		for _, o := range osds {
			if o.Status == "up" && bool(o.In) {
				continue
			}
			if len(out.OSDs.Problems) < 50 {
				out.OSDs.Problems = append(out.OSDs.Problems, CephOSDBad{Name: o.Name, Host: o.Host, Status: o.Status, In: bool(o.In)})
			}
		}
	}
	if pools, err := c.CephPools(ctx, n); err != nil {
		toolkit.AddErr(ctx, n, err)
	} else {
		sort.Slice(pools, func(i, j int) bool { return pools[i].Name < pools[j].Name })
		for _, p := range pools {
			pct := toolkit.Round(float64(p.PercentUsed)*100, 1)
			out.Pools = append(out.Pools, CephPoolUse{Name: p.Name, Size: int(p.Size), MinSize: int(p.MinSize), PGs: int(p.PGNum), UsedGiB: toolkit.GiB(p.BytesUsed), UsedPct: pct})
			toolkit.AddAlert(ctx, analyze.EvaluateCephPool(p.Name, pct)...)
		}
	}
	return out, nil
}

func asProxmoxError(err error, target **proxmox.Error) bool { return errors.As(err, target) }
