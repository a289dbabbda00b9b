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
		Name:  "firewall_status",
		Title: "Firewall status",
		Description: "Proxmox firewall of the cluster, the nodes and the guests: enabled or not, input/output policies, rules " +
			"(capped), security groups, IP sets and aliases; with vmid and port it answers whether that port is open to the " +
			"guest and from where, walking the rules as pve-firewall does.",
		Toolset: toolkit.ToolsetDiagnostics,
		Hints:   &toolkit.ReadHints,
		Needs:   []toolkit.Need{{Priv: "Sys.Audit", Path: "/"}, {Priv: "VM.Audit", Path: "/vms"}},
	}, firewallStatus))
}

// FirewallArgs narrows what is read.
type FirewallArgs struct {
	VMID     int    `json:"vmid,omitempty" pve:"vmid" description:"one guest in depth (NIC firewall flags, its IP sets and aliases)"`
	Node     string `json:"node,omitempty" pve:"node" description:"only this node's host firewall (and, without vmid, its guests)"`
	Port     int    `json:"port,omitempty" minimum:"1" maximum:"65535" description:"evaluate whether this inbound port is open to the guest(s)"`
	Proto    string `json:"proto,omitempty" enum:"tcp,udp" default:"tcp" description:"protocol of port"`
	MaxRules int    `json:"max_rules,omitempty" minimum:"1" maximum:"200" default:"30" description:"rules listed per level"`
}

// FirewallResult is the firewall at every level.
type FirewallResult struct {
	Cluster     FWLevel      `json:"datacenter" description:"the cluster-wide (datacenter) firewall"`
	Groups      []FWGroupOut `json:"security_groups,omitempty"`
	IPSets      []FWSetOut   `json:"ipsets,omitempty"`
	Aliases     []FWAliasOut `json:"aliases,omitempty"`
	Nodes       []FWNodeOut  `json:"nodes"`
	Guests      []FWGuestOut `json:"guests"`
	GuestsTotal int          `json:"guests_total" description:"guests in scope; at most 50 are read without vmid"`
}

// FWLevel is a level's switch, policies and rules.
type FWLevel struct {
	Enabled    bool        `json:"enabled"`
	PolicyIn   string      `json:"policy_in,omitempty"`
	PolicyOut  string      `json:"policy_out,omitempty"`
	RulesTotal int         `json:"rules_total"`
	Rules      []FWRuleOut `json:"rules,omitempty"`
}

// FWRuleOut is one rule, in evaluation order.
type FWRuleOut struct {
	Pos      int    `json:"pos"`
	Type     string `json:"type" description:"in, out, forward, or group (action is then the security group)"`
	Action   string `json:"action"`
	Macro    string `json:"macro,omitempty"`
	Proto    string `json:"proto,omitempty"`
	Source   string `json:"source,omitempty" description:"CIDR, alias, or +ipset"`
	Dest     string `json:"dest,omitempty"`
	DPort    string `json:"dport,omitempty"`
	SPort    string `json:"sport,omitempty"`
	Iface    string `json:"iface,omitempty"`
	Disabled bool   `json:"disabled,omitempty"`
	Comment  string `json:"comment,omitempty"`
}

// FWGroupOut is a security group with its rules.
type FWGroupOut struct {
	Name    string      `json:"name"`
	Comment string      `json:"comment,omitempty"`
	Rules   []FWRuleOut `json:"rules"`
}

// FWSetOut is an IP set and its entries (capped at 20).
type FWSetOut struct {
	Name    string   `json:"name"`
	Comment string   `json:"comment,omitempty"`
	CIDRs   []string `json:"cidrs,omitempty" description:"entries; ! marks nomatch"`
}

// FWAliasOut is an alias.
type FWAliasOut struct {
	Name    string `json:"name"`
	CIDR    string `json:"cidr"`
	Comment string `json:"comment,omitempty"`
}

// FWNodeOut is a host firewall.
type FWNodeOut struct {
	Node string `json:"node"`
	FWLevel
}

// FWGuestOut is a guest firewall.
type FWGuestOut struct {
	VMID int    `json:"vmid"`
	Name string `json:"name,omitempty"`
	Node string `json:"node"`
	Type string `json:"type"`
	FWLevel
	NICs    []string             `json:"nics_with_firewall,omitempty" description:"interfaces with firewall=1 (only read with vmid)"`
	IPSets  []FWSetOut           `json:"ipsets,omitempty"`
	Aliases []FWAliasOut         `json:"aliases,omitempty"`
	Port    *analyze.PortVerdict `json:"port_check,omitempty"`
}

const maxFWGuests = 50

func ruleOut(r proxmox.FWRule) FWRuleOut {
	return FWRuleOut{Pos: int(r.Pos), Type: r.Type, Action: r.Action, Macro: r.Macro, Proto: r.Proto, Source: r.Source, Dest: r.Dest,
		DPort: r.DPort, SPort: r.SPort, Iface: r.Iface, Disabled: !r.Enabled(), Comment: r.Comment}
}

func rulesOut(rs []proxmox.FWRule, max int) []FWRuleOut {
	var out []FWRuleOut
	for i, r := range rs {
		if i == max {
			break
		}
		out = append(out, ruleOut(r))
	}
	return out
}

func evalRules(level string, rs []proxmox.FWRule, groups map[string][]proxmox.FWRule) []analyze.FWRule {
	var out []analyze.FWRule
	for _, r := range rs {
		ar := analyze.FWRule{Level: level, Pos: int(r.Pos), Type: r.Type, Action: r.Action, Macro: r.Macro, Proto: r.Proto, Source: r.Source,
			DPort: r.DPort, Enabled: r.Enabled(), Comment: r.Comment}
		if r.Type == "group" {
			ar.Group = evalRules("group "+r.Action, groups[r.Action], nil)
		}
		out = append(out, ar)
	}
	return out
}

func optEnabled(o *proxmox.FWOptions, def bool) bool {
	if o == nil || o.Enable == nil {
		return def
	}
	return *o.Enable != 0
}

func firewallStatus(ctx context.Context, args FirewallArgs) (FirewallResult, error) {
	c, err := toolkit.Client(ctx)
	if err != nil {
		return FirewallResult{}, err
	}
	maxRules := args.MaxRules
	if maxRules == 0 {
		maxRules = 30
	}
	proto := args.Proto
	if proto == "" {
		proto = "tcp"
	}
	out := FirewallResult{Nodes: []FWNodeOut{}, Guests: []FWGuestOut{}}
	cluster := proxmox.FWScope{}
	opts, err := c.FirewallOptions(ctx, cluster)
	if err != nil {
		return FirewallResult{}, err
	}
	clusterOn := optEnabled(opts, false)
	out.Cluster = FWLevel{Enabled: clusterOn, PolicyIn: orStr(opts.PolicyIn, "DROP"), PolicyOut: orStr(opts.PolicyOut, "ACCEPT")}
	if rs, err := c.FirewallRules(ctx, cluster); err != nil {
		toolkit.AddErr(ctx, "", err)
	} else {
		out.Cluster.RulesTotal, out.Cluster.Rules = len(rs), rulesOut(rs, maxRules)
	}
	groupRules := map[string][]proxmox.FWRule{}
	if gs, err := c.FirewallGroups(ctx); err != nil {
		toolkit.AddErr(ctx, "", err)
	} else {
		for i, g := range gs {
			if i == 20 {
				toolkit.AddUnavailable(ctx, "security groups beyond 20", fmt.Sprintf("%d groups; read one with its name in the Proxmox UI", len(gs)))
				break
			}
			rs, err := c.FirewallGroupRules(ctx, g.Group)
			if err != nil {
				toolkit.AddErr(ctx, "", err)
				continue
			}
			groupRules[g.Group] = rs
			out.Groups = append(out.Groups, FWGroupOut{Name: g.Group, Comment: g.Comment, Rules: rulesOut(rs, maxRules)})
		}
	}
	if sets, err := c.FirewallIPSets(ctx, cluster); err != nil {
		toolkit.AddErr(ctx, "", err)
	} else {
		for i, s := range sets {
			so := FWSetOut{Name: s.Name, Comment: s.Comment}
			if i < 20 {
				if cidrs, err := c.FirewallIPSet(ctx, s.Name); err == nil {
					for k, e := range cidrs {
						if k == 20 {
							break
						}
						cidr := e.CIDR
						if bool(e.NoMatch) {
							cidr = "!" + cidr
						}
						so.CIDRs = append(so.CIDRs, cidr)
					}
				} else {
					toolkit.AddErr(ctx, "", err)
				}
			}
			out.IPSets = append(out.IPSets, so)
		}
	}
	if al, err := c.FirewallAliases(ctx, cluster); err != nil {
		toolkit.AddErr(ctx, "", err)
	} else {
		for _, a := range al {
			out.Aliases = append(out.Aliases, FWAliasOut{Name: a.Name, CIDR: a.CIDR, Comment: a.Comment})
		}
	}
	nodes, err := onlineNodes(ctx, c, args.Node, "host firewall")
	if err != nil {
		return FirewallResult{}, err
	}
	res := proxmox.ForEachNode(ctx, c, nodes, func(ctx context.Context, n string) (FWNodeOut, error) {
		sc := proxmox.FWScope{Node: n}
		o, err := c.FirewallOptions(ctx, sc)
		if err != nil {
			return FWNodeOut{}, err
		}
		rs, err := c.FirewallRules(ctx, sc)
		if err != nil {
			return FWNodeOut{}, err
		}
		// A host follows the cluster policies; its own switch defaults on.
		return FWNodeOut{Node: n, FWLevel: FWLevel{Enabled: clusterOn && optEnabled(o, true), RulesTotal: len(rs), Rules: rulesOut(rs, maxRules)}}, nil
	})
	for _, r := range res {
		if r.Err != nil {
			toolkit.AddErr(ctx, r.Node, r.Err)
			continue
		}
		out.Nodes = append(out.Nodes, r.Value)
	}
	// Guests.
	rsrc, err := c.Resources(ctx, proxmox.ResourceVM)
	if err != nil {
		return out, err
	}
	var guests []proxmox.Resource
	for _, g := range rsrc {
		if bool(g.Template) || (args.VMID != 0 && int(g.VMID) != args.VMID) || (args.Node != "" && g.Node != args.Node) {
			continue
		}
		guests = append(guests, g)
	}
	if args.VMID != 0 && len(guests) == 0 {
		return out, fmt.Errorf("guest %d not found (per /cluster/resources)", args.VMID)
	}
	sort.Slice(guests, func(i, j int) bool { return guests[i].VMID < guests[j].VMID })
	out.GuestsTotal = len(guests)
	if len(guests) > maxFWGuests {
		toolkit.AddUnavailable(ctx, "firewall of guests beyond the first 50", fmt.Sprintf("%d guests in scope: pass vmid (or node) to read the others", len(guests)))
		guests = guests[:maxFWGuests]
	}
	gout := make([]FWGuestOut, len(guests))
	ok := make([]bool, len(guests))
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(c.FanOutLimit(), 1))
	for i, g := range guests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			fo, err := readGuestFW(ctx, c, g, args.VMID != 0, maxRules, groupRules, clusterOn, proto, args.Port)
			if err != nil {
				toolkit.AddErr(ctx, g.Node, err)
				return
			}
			gout[i], ok[i] = fo, true
		}()
	}
	wg.Wait()
	for i := range gout {
		if ok[i] {
			out.Guests = append(out.Guests, gout[i])
		}
	}
	toolkit.AddAlert(ctx, analyze.EvaluateFirewall(clusterOn)...)
	return out, nil
}

func orStr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func readGuestFW(ctx context.Context, c *proxmox.Client, g proxmox.Resource, deep bool, maxRules int, groups map[string][]proxmox.FWRule,
	clusterOn bool, proto string, port int) (FWGuestOut, error) {
	t := proxmox.GuestType(g.Type)
	sc := proxmox.FWScope{Node: g.Node, Type: t, VMID: int(g.VMID)}
	o, err := c.FirewallOptions(ctx, sc)
	if err != nil {
		return FWGuestOut{}, err
	}
	rs, err := c.FirewallRules(ctx, sc)
	if err != nil {
		return FWGuestOut{}, err
	}
	fo := FWGuestOut{VMID: int(g.VMID), Name: g.Name, Node: g.Node, Type: g.Type,
		FWLevel: FWLevel{Enabled: optEnabled(o, false), PolicyIn: orStr(o.PolicyIn, "DROP"), PolicyOut: orStr(o.PolicyOut, "ACCEPT"),
			RulesTotal: len(rs), Rules: rulesOut(rs, maxRules)}}
	nicOn := true
	if deep {
		cfg, err := c.GuestConfig(ctx, g.Node, t, int(g.VMID))
		if err != nil {
			toolkit.AddErr(ctx, g.Node, err)
		} else {
			for _, k := range sortedKeysOf(cfg.Values) {
				if strings.HasPrefix(k, "net") && strings.Contains(","+cfg.Values[k]+",", ",firewall=1,") {
					fo.NICs = append(fo.NICs, k)
				}
			}
			nicOn = len(fo.NICs) > 0
		}
		if sets, err := c.FirewallIPSets(ctx, sc); err == nil {
			for _, s := range sets {
				fo.IPSets = append(fo.IPSets, FWSetOut{Name: s.Name, Comment: s.Comment})
			}
		} else {
			toolkit.AddErr(ctx, g.Node, err)
		}
		if al, err := c.FirewallAliases(ctx, sc); err == nil {
			for _, a := range al {
				fo.Aliases = append(fo.Aliases, FWAliasOut{Name: a.Name, CIDR: a.CIDR, Comment: a.Comment})
			}
		} else {
			toolkit.AddErr(ctx, g.Node, err)
		}
	}
	if port > 0 {
		v := analyze.EvalInbound(evalRules("guest", rs, groups), fo.PolicyIn, clusterOn, fo.Enabled, nicOn, proto, port)
		if !deep && v.Verdict != "unfiltered" {
			v.Reason += " (NIC firewall flags not read: pass vmid to check them)"
		}
		fo.Port = &v
	}
	return fo, nil
}
