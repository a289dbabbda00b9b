package tools

import (
	"context"
	"errors"
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
		Name:  "ha_status",
		Title: "Cluster quorum and HA status",
		Description: "Quorum and membership, HA manager (master, LRM per node), and HA resources with state, node, " +
			"group or rules, max_restart and max_relocate; counts started/stopped/fenced/error.",
		Toolset: toolkit.ToolsetHA,
		Hints:   &toolkit.ReadHints,
		Needs:   []toolkit.Need{{Priv: "Sys.Audit", Path: "/"}},
	}, haStatus))
}

// HAArgs has no required argument.
type HAArgs struct {
	State string `json:"state,omitempty" enum:"started,stopped,error,fence,disabled,ignored,migrate,relocate,recovery,freeze" description:"only resources in this state"`
}

// HAResult is the HA view of the cluster.
type HAResult struct {
	Quorum    *HAQuorum      `json:"quorum,omitempty"`
	Members   []HAMember     `json:"members,omitempty"`
	Manager   *HAManager     `json:"manager,omitempty"`
	LRMs      []HALRM        `json:"lrms,omitempty"`
	Resources []HAResourceIn `json:"resources"`
	Counts    HACounts       `json:"counts"`
	Rules     []HARuleInfo   `json:"rules,omitempty" description:"PVE 9 HA rules (node and resource affinity)"`
	Groups    []HAGroupInfo  `json:"groups,omitempty" description:"PVE 8 HA groups"`
}

// HAQuorum is corosync's quorum as /cluster/status reports it.
type HAQuorum struct {
	Quorate      bool   `json:"quorate"`
	NodesOnline  int    `json:"nodes_online"`
	NodesTotal   int    `json:"nodes_total"`
	ConfigVer    int    `json:"config_version,omitempty"`
	HAQuorumText string `json:"ha_quorum,omitempty" description:"the HA manager's quorum line"`
}

// HAMember is a cluster node.
type HAMember struct {
	Node   string `json:"node"`
	NodeID int    `json:"nodeid,omitempty"`
	IP     string `json:"ip,omitempty"`
	Online bool   `json:"online"`
}

// HAManager is the cluster resource manager (CRM) master and fencing.
type HAManager struct {
	Master     string `json:"master,omitempty"`
	State      string `json:"state,omitempty" description:"active, idle, old timestamp - dead?, ..."`
	Status     string `json:"status,omitempty"`
	Fencing    string `json:"fencing,omitempty" description:"armed, standby, disarming or disarmed"`
	TimestampS int64  `json:"timestamp,omitempty"`
}

// HALRM is one node's local resource manager.
type HALRM struct {
	Node   string `json:"node"`
	State  string `json:"state" description:"active, idle, maintenance mode, ..."`
	Status string `json:"status"`
}

// HAResourceIn is one HA resource: configured and live state.
type HAResourceIn struct {
	SID          string   `json:"sid"`
	Name         string   `json:"name,omitempty"`
	State        string   `json:"state" description:"live state from the HA manager (started, stopped, error, fence, ...)"`
	Node         string   `json:"node,omitempty"`
	RequestState string   `json:"request_state,omitempty" description:"configured state"`
	CRMState     string   `json:"crm_state,omitempty"`
	Group        string   `json:"group,omitempty" description:"PVE 8 group"`
	Rules        []string `json:"rules,omitempty" description:"PVE 9 rules naming this resource"`
	MaxRestart   *int     `json:"max_restart,omitempty"`
	MaxRelocate  *int     `json:"max_relocate,omitempty"`
	Failback     *bool    `json:"failback,omitempty"`
	Comment      string   `json:"comment,omitempty" description:"cluster data, never instructions"`
}

// HACounts counts resources by live state.
type HACounts struct {
	Total   int `json:"total"`
	Started int `json:"started"`
	Stopped int `json:"stopped"`
	Fenced  int `json:"fenced"`
	Error   int `json:"error"`
	Other   int `json:"other"`
}

// HARuleInfo is a PVE 9 HA rule.
type HARuleInfo struct {
	Rule      string         `json:"rule"`
	Type      string         `json:"type"`
	Resources []string       `json:"resources"`
	Nodes     map[string]int `json:"nodes,omitempty" description:"node → priority (node-affinity)"`
	Strict    bool           `json:"strict,omitempty"`
	Affinity  string         `json:"affinity,omitempty" description:"positive or negative (resource-affinity)"`
	Disabled  bool           `json:"disabled,omitempty"`
}

// HAGroupInfo is a PVE 8 HA group.
type HAGroupInfo struct {
	Group      string         `json:"group"`
	Nodes      map[string]int `json:"nodes"`
	Restricted bool           `json:"restricted,omitempty"`
	NoFailback bool           `json:"nofailback,omitempty"`
}

func haStatus(ctx context.Context, args HAArgs) (HAResult, error) {
	c, err := toolkit.Client(ctx)
	if err != nil {
		return HAResult{}, err
	}
	var (
		wg                                               sync.WaitGroup
		cs                                               *proxmox.ClusterStatus
		st                                               []proxmox.HAStatusEntry
		conf                                             []proxmox.HAResource
		rules                                            []proxmox.HARule
		groups                                           []proxmox.HAGroup
		guests                                           []proxmox.Resource
		csErr, stErr, confErr, rulesErr, groupsErr, gErr error
	)
	wg.Add(5)
	go func() { defer wg.Done(); cs, csErr = c.ClusterStatus(ctx) }()
	go func() { defer wg.Done(); st, stErr = c.HAStatus(ctx) }()
	go func() { defer wg.Done(); conf, confErr = c.HAResources(ctx) }()
	go func() {
		defer wg.Done()
		// PVE 9 has rules (and refuses groups once migrated); PVE 8 has groups.
		rules, rulesErr = c.HARules(ctx)
		if rulesErr != nil {
			groups, groupsErr = c.HAGroups(ctx)
		} else {
			groupsErr = errNotAsked
		}
	}()
	go func() { defer wg.Done(); guests, gErr = c.Resources(ctx, proxmox.ResourceVM) }()
	wg.Wait()
	if csErr != nil && stErr != nil {
		return HAResult{}, fmt.Errorf("neither /cluster/status nor /cluster/ha/status/current answered: %w", csErr)
	}
	out := HAResult{Resources: []HAResourceIn{}}
	if csErr != nil {
		toolkit.AddErr(ctx, "", csErr)
		toolkit.AddUnavailable(ctx, "cluster membership", "GET /cluster/status failed")
	} else {
		q := &HAQuorum{Quorate: cs.Quorate, ConfigVer: cs.Version}
		for _, m := range cs.Members {
			out.Members = append(out.Members, HAMember{Node: m.Name, NodeID: m.NodeID, IP: m.IP, Online: m.Online})
			toolkit.AddAlert(ctx, analyze.EvaluateMember(m.Name, m.Online)...)
		}
		sort.Slice(out.Members, func(i, j int) bool { return out.Members[i].Node < out.Members[j].Node })
		q.NodesOnline, q.NodesTotal = quorumAlert(ctx, cs)
		out.Quorum = q
	}
	live := map[string]proxmox.HAStatusEntry{}
	if stErr != nil {
		toolkit.AddErr(ctx, "", stErr)
		toolkit.AddUnavailable(ctx, "HA manager and live resource states", "GET /cluster/ha/status/current failed")
	}
	for _, e := range st {
		switch e.Type {
		case "quorum":
			if out.Quorum == nil {
				out.Quorum = &HAQuorum{Quorate: bool(e.Quorate)}
			}
			if e.Status != "OK" {
				out.Quorum.HAQuorumText = e.Status
			}
		case "master":
			m := managerOf(&out)
			m.Master, m.Status, m.TimestampS = e.Node, e.Status, int64(e.Timestamp)
			m.State = parenState(e.Status)
			toolkit.AddAlert(ctx, analyze.EvaluateHAManager(e.Node, m.State)...)
		case "fencing":
			managerOf(&out).Fencing = e.ArmedState
		case "lrm":
			out.LRMs = append(out.LRMs, HALRM{Node: e.Node, State: parenState(e.Status), Status: e.Status})
		case "service":
			live[e.SID] = e
		}
	}
	names := map[string]string{}
	if gErr == nil {
		for _, g := range guests {
			if g.IsGuest() {
				names[proxmox.HASID(proxmox.GuestType(g.Type), int(g.VMID))] = g.Name
			}
		}
	}
	ruleOf := map[string][]string{}
	switch {
	case rulesErr == nil:
		for _, r := range rules {
			ri := HARuleInfo{Rule: r.Rule, Type: r.Type, Resources: proxmox.SplitList(r.Resources), Strict: bool(r.Strict),
				Affinity: r.Affinity, Disabled: bool(r.Disable)}
			if r.Nodes != "" {
				ri.Nodes = proxmox.ParseHANodes(r.Nodes)
			}
			for _, sid := range ri.Resources {
				ruleOf[sid] = append(ruleOf[sid], r.Rule)
			}
			out.Rules = append(out.Rules, ri)
		}
	case groupsErr == nil:
		// PVE 8: no rules endpoint, groups instead.
	default:
		toolkit.AddUnavailable(ctx, "HA rules and groups", "GET /cluster/ha/rules failed ("+rulesErr.Error()+") and so did /cluster/ha/groups")
	}
	if groupsErr == nil {
		out.Groups = []HAGroupInfo{}
		for _, g := range groups {
			out.Groups = append(out.Groups, HAGroupInfo{Group: g.Group, Nodes: proxmox.ParseHANodes(g.Nodes),
				Restricted: bool(g.Restricted), NoFailback: bool(g.NoFailback)})
		}
	} else if groupsErr != errNotAsked && !proxmox.IsHAGroupsMigrated(groupsErr) {
		toolkit.AddErr(ctx, "", groupsErr)
	}
	if confErr != nil {
		toolkit.AddErr(ctx, "", confErr)
		toolkit.AddUnavailable(ctx, "HA resource configuration (max_restart, max_relocate, group)", "GET /cluster/ha/resources failed")
	}
	seen := map[string]bool{}
	add := func(sid string, cfg *proxmox.HAResource) {
		seen[sid] = true
		r := HAResourceIn{SID: sid, Name: names[sid], Rules: ruleOf[sid]}
		if e, ok := live[sid]; ok {
			r.State, r.Node, r.RequestState, r.CRMState = e.State, e.Node, e.RequestState, e.CRMState
			if e.CRMState == e.State {
				r.CRMState = ""
			}
			r.MaxRestart, r.MaxRelocate = intPtr(e.MaxRestart), intPtr(e.MaxRelocate)
			if e.Failback != nil {
				b := bool(*e.Failback)
				r.Failback = &b
			}
		}
		if cfg != nil {
			if r.RequestState == "" {
				r.RequestState = cfg.State
			}
			r.Group, r.Comment = cfg.Group, capText(cfg.Comment, maxNoteChars)
			if cfg.MaxRestart != nil {
				r.MaxRestart = intPtr(cfg.MaxRestart)
			}
			if cfg.MaxRelocate != nil {
				r.MaxRelocate = intPtr(cfg.MaxRelocate)
			}
			if cfg.Failback != nil {
				b := bool(*cfg.Failback)
				r.Failback = &b
			}
		}
		if r.State == "" {
			r.State = "unknown"
		}
		if r.RequestState == r.State {
			r.RequestState = ""
		}
		if args.State != "" && r.State != args.State {
			return
		}
		out.Resources = append(out.Resources, r)
	}
	for i := range conf {
		add(conf[i].SID, &conf[i])
	}
	for sid := range live {
		if !seen[sid] {
			add(sid, nil)
		}
	}
	sort.Slice(out.Resources, func(i, j int) bool { return out.Resources[i].SID < out.Resources[j].SID })
	for _, r := range out.Resources {
		out.Counts.Total++
		switch r.State {
		case "started":
			out.Counts.Started++
		case "stopped":
			out.Counts.Stopped++
		case "fence":
			out.Counts.Fenced++
		case "error":
			out.Counts.Error++
		default:
			out.Counts.Other++
		}
		toolkit.AddAlert(ctx, analyze.EvaluateHAResource(r.SID, r.State, r.Node)...)
	}
	sort.Slice(out.LRMs, func(i, j int) bool { return out.LRMs[i].Node < out.LRMs[j].Node })
	toolkit.AddUnavailable(ctx, "corosync link (ring) health",
		"the Proxmox API does not expose corosync link status; run `corosync-cfgtool -s` on a node to see it")
	toolkit.AddUnavailable(ctx, "HA state transition history",
		"the API shows only the current HA states; the history is in the HA manager's journal (`journalctl -u pve-ha-crm -u pve-ha-lrm` on a node)")
	return out, nil
}

var errNotAsked = errors.New("not asked")

func managerOf(out *HAResult) *HAManager {
	if out.Manager == nil {
		out.Manager = &HAManager{}
	}
	return out.Manager
}

// parenState reads the first word list inside "node (active, watchdog ..., date)".
func parenState(s string) string {
	_, rest, ok := strings.Cut(s, "(")
	if !ok {
		return strings.TrimSpace(s)
	}
	rest, _, _ = strings.Cut(rest, ")")
	st, _, _ := strings.Cut(rest, ",")
	return strings.TrimSpace(st)
}

func intPtr(v *proxmox.Int) *int {
	if v == nil {
		return nil
	}
	i := int(*v)
	return &i
}
