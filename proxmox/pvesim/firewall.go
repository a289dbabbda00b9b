package pvesim

import (
	"sort"
	"strings"
)

func init() { routeSetups = append(routeSetups, (*Sim).registerFirewall) }

// Firewall reads (pve-firewall PVE::API2::Firewall::*): options, rules,
// security groups, IP sets and aliases of the cluster, the hosts and the
// guests, from the scenario's "firewall" (absent: everything off and empty,
// as on a fresh install).
func (s *Sim) registerFirewall() {
	sys := permPath("/", "Sys.Audit")
	nodeAudit := permPath("/nodes/{node}", "Sys.Audit")
	vmAudit := permPath("/vms/{vmid}", "VM.Audit")
	groupP := pStr("group").re(`^[A-Za-z][A-Za-z0-9\-\_]+$`).maxLength(18)
	ipsetP := pStr("name").re(`^[A-Za-z][A-Za-z0-9\-\_]+$`).maxLength(64)
	s.route("GET", "/cluster/firewall", permNone(), nil, dirIndex("name", "aliases", "groups", "ipset", "macros", "options", "refs", "rules"))
	s.route("GET", "/cluster/firewall/options", sys, nil, s.getClusterFWOptions)
	s.route("GET", "/cluster/firewall/rules", sys, nil, func(c *reqCtx) (any, error) { return s.fwRules(s.fw().Rules, "cluster"), nil })
	s.route("GET", "/cluster/firewall/groups", permNone(), nil, s.getFWGroups)
	s.route("GET", "/cluster/firewall/groups/{group}", sys, []param{groupP}, s.getFWGroup)
	s.route("GET", "/cluster/firewall/ipset", sys, nil, func(c *reqCtx) (any, error) { return fwIPSets(s.fw().IPSets, "cluster"), nil })
	s.route("GET", "/cluster/firewall/ipset/{name}", sys, []param{ipsetP}, func(c *reqCtx) (any, error) { return fwIPSet(s.fw().IPSets, c.Str("name"), "cluster") })
	s.route("GET", "/cluster/firewall/aliases", sys, nil, func(c *reqCtx) (any, error) { return fwAliases(s.fw().Aliases, "cluster"), nil })
	s.route("GET", "/nodes/{node}/firewall", permNone(), []param{pNode()}, dirIndex("name", "log", "options", "rules"))
	s.route("GET", "/nodes/{node}/firewall/options", nodeAudit, []param{pNode()}, s.getNodeFWOptions)
	s.route("GET", "/nodes/{node}/firewall/rules", nodeAudit, []param{pNode()}, func(c *reqCtx) (any, error) {
		return s.fwRules(s.fw().Nodes[c.Node].Rules, "host/"+c.Node), nil
	})
	for _, typ := range []string{"qemu", "lxc"} {
		base := "/nodes/{node}/" + typ + "/{vmid}/firewall"
		ps := []param{pNode(), pVMID()}
		s.route("GET", base, permNone(), ps, dirIndex("name", "aliases", "ipset", "log", "options", "refs", "rules"))
		s.route("GET", base+"/options", vmAudit, ps, s.guestFW(typ, s.getGuestFWOptions))
		s.route("GET", base+"/rules", vmAudit, ps, s.guestFW(typ, func(c *reqCtx, g *Guest) (any, error) {
			return s.fwRules(s.fw().Guests[g.VMID].Rules, "vm/"+itoa(g.VMID)), nil
		}))
		s.route("GET", base+"/ipset", vmAudit, ps, s.guestFW(typ, func(c *reqCtx, g *Guest) (any, error) {
			return fwIPSets(s.fw().Guests[g.VMID].IPSets, "vm/"+itoa(g.VMID)), nil
		}))
		s.route("GET", base+"/aliases", vmAudit, ps, s.guestFW(typ, func(c *reqCtx, g *Guest) (any, error) {
			return fwAliases(s.fw().Guests[g.VMID].Aliases, "vm/"+itoa(g.VMID)), nil
		}))
	}
}

var emptyFirewall = &scFirewall{}

func (s *Sim) fw() *scFirewall {
	if s.st.diag.fw == nil {
		return emptyFirewall
	}
	return s.st.diag.fw
}

// fwDigest is the SHA-1 of the config file the list comes from.
func (s *Sim) fwDigest(file string) string { return sha1hex("firewall:" + file) }

func (s *Sim) fwRules(rules []scFWRule, file string) []map[string]any {
	out := []map[string]any{}
	digest := s.fwDigest(file)
	for i, r := range rules {
		e := map[string]any{"pos": i, "type": r.Type, "action": r.Action, "enable": b2i(!r.Disable), "digest": digest}
		for k, v := range map[string]string{"macro": r.Macro, "proto": r.Proto, "source": r.Source, "dest": r.Dest, "dport": r.DPort,
			"sport": r.SPort, "iface": r.Iface, "log": r.Log, "comment": r.Comment} {
			if v != "" {
				e[k] = v
			}
		}
		if strings.Contains(r.Source+r.Dest, ":") {
			e["ipversion"] = 6
		} else if r.Source != "" || r.Dest != "" {
			if !strings.HasPrefix(r.Source, "+") && !strings.HasPrefix(r.Dest, "+") {
				e["ipversion"] = 4
			}
		}
		out = append(out, e)
	}
	return out
}

func fwIPSets(sets []scFWIPSet, file string) []map[string]any {
	out := []map[string]any{}
	for _, set := range sets {
		e := map[string]any{"name": set.Name, "digest": sha1hex("firewall:" + file)}
		if set.Comment != "" {
			e["comment"] = set.Comment
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i]["name"].(string) < out[j]["name"].(string) })
	return out
}

func fwIPSet(sets []scFWIPSet, name, file string) (any, error) {
	for _, set := range sets {
		if set.Name == name {
			out := []map[string]any{}
			for _, cidr := range set.CIDRs {
				e := map[string]any{"cidr": cidr, "digest": sha1hex("firewall:" + file)}
				if strings.HasPrefix(cidr, "!") {
					e["cidr"], e["nomatch"] = cidr[1:], 1
				}
				out = append(out, e)
			}
			return out, nil
		}
	}
	return nil, err500("no such IPSet '%s'", name)
}

func fwAliases(l []scFWAlias, file string) []map[string]any {
	out := []map[string]any{}
	for _, a := range l {
		e := map[string]any{"name": a.Name, "cidr": a.CIDR, "digest": sha1hex("firewall:" + file)}
		if a.Comment != "" {
			e["comment"] = a.Comment
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i]["name"].(string) < out[j]["name"].(string) })
	return out
}

func (s *Sim) getClusterFWOptions(c *reqCtx) (any, error) {
	f := s.fw()
	e := map[string]any{"enable": b2i(f.Enable)}
	if f.PolicyIn != "" {
		e["policy_in"] = f.PolicyIn
	}
	if f.PolicyOut != "" {
		e["policy_out"] = f.PolicyOut
	}
	if s.st.diag.fw == nil {
		delete(e, "enable") // no cluster.fw yet: nothing set
	}
	return e, nil
}

func (s *Sim) getNodeFWOptions(c *reqCtx) (any, error) {
	e := map[string]any{}
	if h, ok := s.fw().Nodes[c.Node]; ok && h.Enable != nil {
		e["enable"] = b2i(*h.Enable)
	}
	return e, nil
}

func (s *Sim) getFWGroups(c *reqCtx) (any, error) {
	out := []map[string]any{}
	for _, g := range s.fw().Groups {
		e := map[string]any{"group": g.Name, "digest": s.fwDigest("cluster")}
		if g.Comment != "" {
			e["comment"] = g.Comment
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i]["group"].(string) < out[j]["group"].(string) })
	return out, nil
}

func (s *Sim) getFWGroup(c *reqCtx) (any, error) {
	for _, g := range s.fw().Groups {
		if g.Name == c.Str("group") {
			return s.fwRules(g.Rules, "cluster"), nil
		}
	}
	return nil, err500("no such security group '%s'", c.Str("group"))
}

func (s *Sim) guestFW(typ string, h func(c *reqCtx, g *Guest) (any, error)) handler {
	return func(c *reqCtx) (any, error) {
		g, err := s.guestOnPath(c, typ)
		if err != nil {
			return nil, err
		}
		return h(c, g)
	}
}

func (s *Sim) getGuestFWOptions(c *reqCtx, g *Guest) (any, error) {
	e := map[string]any{"digest": s.fwDigest("vm/" + itoa(g.VMID))}
	if gf, ok := s.fw().Guests[g.VMID]; ok {
		e["enable"] = b2i(gf.Enable)
		if gf.PolicyIn != "" {
			e["policy_in"] = gf.PolicyIn
		}
		if gf.PolicyOut != "" {
			e["policy_out"] = gf.PolicyOut
		}
	}
	return e, nil
}
