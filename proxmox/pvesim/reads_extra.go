package pvesim

import (
	"fmt"
	"strings"
)

func init() { routeSetups = append(routeSetups, (*Sim).registerExtraReads) }

// Directory indexes and smaller read endpoints clients walk through.
func (s *Sim) registerExtraReads() {
	s.route("GET", "/cluster", permNone(), nil, dirIndex("name", "acme", "backup", "backup-info", "bulk-action", "ceph", "config", "firewall", "ha", "jobs",
		"log", "mapping", "metrics", "nextid", "notifications", "options", "replication", "resources", "sdn", "status", "tasks"))
	s.route("GET", "/cluster/ha", permPath("/", "Sys.Audit"), nil, dirIndex("id", "groups", "resources", "rules", "status"))
	s.route("GET", "/cluster/ha/status", permNone(), nil, dirIndex("name", "current", "manager_status"))
	s.route("GET", "/nodes/{node}/version", permNone(), []param{pNode()}, s.getVersion)
	s.route("GET", "/access", permNone(), nil, dirIndex("subdir", "acl", "domains", "groups", "openid", "password", "permissions", "roles", "tfa", "ticket", "users"))
	s.route("GET", "/access/domains", permNone(), nil, func(c *reqCtx) (any, error) {
		return []map[string]any{
			{"realm": "pam", "type": "pam", "comment": "Linux PAM standard authentication"},
			{"realm": "pve", "type": "pve", "comment": "Proxmox VE authentication server"},
		}, nil
	})
	s.route("GET", "/nodes/{node}/qemu/{vmid}/agent", permNone(), []param{pNode(), pVMID()}, dirIndex("name", "exec", "exec-status", "file-read",
		"file-write", "fsfreeze-freeze", "fsfreeze-status", "fsfreeze-thaw", "fstrim", "get-fsinfo", "get-host-name", "get-memory-block-info",
		"get-memory-blocks", "get-osinfo", "get-time", "get-timezone", "get-users", "get-vcpus", "info", "network-get-interfaces", "ping",
		"set-user-password", "shutdown", "suspend-disk", "suspend-hybrid", "suspend-ram"))
	s.route("GET", "/nodes/{node}/lxc/{vmid}/interfaces", permPath("/vms/{vmid}", "VM.Audit"), []param{pNode(), pVMID()}, s.lxcInterfaces)
	s.route("GET", "/cluster/backup/{id}/included_volumes", permPath("/", "Sys.Audit"), []param{pStr("id").re(`^\S+$`).maxLength(50)}, s.getIncludedVolumes)
	poolType := pStr("type").opt().enum("qemu", "lxc", "storage")
	s.route("GET", "/pools", permNone(), []param{pStr("poolid").opt().fmt("pve-poolid"), poolType}, s.getPools)
	s.route("GET", "/pools/{poolid}", permPath("/pool/{poolid}", "Pool.Audit"), []param{pStr("poolid").fmt("pve-poolid"), poolType}, s.getPool)
}

func dirIndex(key string, names ...string) handler {
	return func(c *reqCtx) (any, error) {
		out := make([]map[string]any, 0, len(names))
		for _, n := range names {
			out = append(out, map[string]any{key: n})
		}
		return out, nil
	}
}

// lxcInterfaces is what `lxc-info`/the container's netns show: addresses
// from the config (static) or a DHCP lease derived from the vmid.
func (s *Sim) lxcInterfaces(c *reqCtx) (any, error) {
	g, err := s.guestOnPath(c, "lxc")
	if err != nil {
		return nil, err
	}
	if !g.IsRunning() {
		return nil, err500("CT %d not running", g.VMID)
	}
	ifs := []map[string]any{{
		"name": "lo", "hwaddr": "00:00:00:00:00:00", "hardware-address": "00:00:00:00:00:00", "inet": "127.0.0.1/8", "inet6": "::1/128",
		"ip-addresses": []map[string]any{{"ip-address": "127.0.0.1", "ip-address-type": "inet", "prefix": 8}, {"ip-address": "::1", "ip-address-type": "inet6", "prefix": 128}},
	}}
	for i := 0; i < 32; i++ {
		v := g.Conf.Get(fmt.Sprintf("net%d", i))
		if v == "" {
			continue
		}
		m := parsePropString(v)
		ip := m["ip"]
		if ip == "" || ip == "dhcp" || ip == "manual" {
			ip = fmt.Sprintf("10.10.%d.%d/24", 100+g.VMID/250%100, g.VMID%250+2)
		}
		addr, pfx, _ := strings.Cut(ip, "/")
		mac := strings.ToLower(m["hwaddr"])
		e := map[string]any{"name": m["name"], "hwaddr": mac, "hardware-address": mac, "inet": ip,
			"ip-addresses": []map[string]any{{"ip-address": addr, "ip-address-type": "inet", "prefix": atoiDef(pfx, 24)}}}
		ifs = append(ifs, e)
	}
	return ifs, nil
}

func (s *Sim) getIncludedVolumes(c *reqCtx) (any, error) {
	var job *BackupJob
	for _, j := range s.st.BackupJobs {
		if j.ID == c.Str("id") {
			job = j
		}
	}
	if job == nil {
		return nil, err500("job '%s' does not exist", c.Str("id"))
	}
	var children []map[string]any
	for _, n := range s.st.Nodes {
		for _, g := range s.st.jobGuests(job)[n.Name] {
			var vols []map[string]any
			for _, d := range g.Disks() {
				if strings.HasPrefix(d.Key, "unused") {
					continue
				}
				inc, reason := true, "default"
				switch {
				case d.Media == "cdrom":
					inc, reason = false, "cdrom"
				case g.Type == "lxc" && d.Key == "rootfs":
					reason = "rootfs"
				case g.Type == "lxc":
					inc, reason = false, "disabled"
				}
				vols = append(vols, map[string]any{"id": d.Key, "name": d.VolID, "included": b2i(inc), "reason": reason})
			}
			e := map[string]any{"id": g.VMID, "name": g.Name(), "type": g.Type}
			if vols != nil {
				e["children"] = vols
			}
			children = append(children, e)
		}
	}
	return map[string]any{"children": children}, nil
}

func (s *Sim) poolMembers(c *reqCtx, p *Pool) []any {
	now := s.now()
	typ := c.Str("type")
	ha := s.st.haIndex()
	out := []any{}
	for _, id := range p.VMs {
		g := s.st.guest(id)
		if g == nil || (typ != "" && typ != g.Type) {
			continue
		}
		out = append(out, s.guestResource(g, now, ha))
	}
	if typ == "" || typ == "storage" {
		for _, sid := range p.Storages {
			for _, n := range s.st.Nodes {
				if si := s.st.storageOn(n.Name, sid); si != nil {
					out = append(out, map[string]any{"id": "storage/" + n.Name + "/" + sid, "type": "storage", "storage": sid, "node": n.Name,
						"plugintype": si.Cfg.Type, "status": "available", "shared": b2i(si.Cfg.Shared), "content": si.Cfg.contentString(),
						"disk": s.instUsedAt(si, now), "maxdisk": s.instTotal(si, now)})
				}
			}
		}
	}
	return out
}

func (s *Sim) getPools(c *reqCtx) (any, error) {
	out := []map[string]any{}
	for _, p := range s.st.Pools {
		if id := c.Str("poolid"); id != "" && id != p.ID {
			continue
		}
		if !c.Can("/pool/"+p.ID, "Pool.Audit") {
			continue
		}
		e := map[string]any{"poolid": p.ID}
		if p.Comment != "" {
			e["comment"] = p.Comment
		}
		if c.Has("poolid") {
			e["members"] = s.poolMembers(c, p)
		}
		out = append(out, e)
	}
	return out, nil
}

func (s *Sim) getPool(c *reqCtx) (any, error) {
	p := s.st.pool(c.Str("poolid"))
	if p == nil {
		return nil, err500("pool '%s' does not exist", c.Str("poolid"))
	}
	e := map[string]any{"members": s.poolMembers(c, p)}
	if p.Comment != "" {
		e["comment"] = p.Comment
	}
	return e, nil
}

func init() { routeSetups = append(routeSetups, (*Sim).registerNetworkAndAgentReads) }

func (s *Sim) registerNetworkAndAgentReads() {
	s.route("GET", "/nodes/{node}/network", permNone(), []param{pNode(), pStr("type").opt().enum("bridge", "bond", "eth", "alias", "vlan", "fabric",
		"OVSBridge", "OVSBond", "OVSPort", "OVSIntPort", "vnet", "any_bridge", "any_local_bridge", "include_sdn")}, s.getNetwork)
	s.route("GET", "/nodes/{node}/network/{iface}", permPath("/nodes/{node}", "Sys.Audit"), []param{pNode(), pStr("iface").fmt("pve-iface").maxLength(20)}, s.getNetworkIface)
	agent := permAny("/vms/{vmid}", "VM.GuestAgent.Audit", "VM.GuestAgent.Unrestricted")
	if s.ver < 9 {
		agent = permPath("/vms/{vmid}", "VM.Monitor")
	}
	s.route("GET", "/nodes/{node}/qemu/{vmid}/agent/get-osinfo", agent, []param{pNode(), pVMID()}, s.agentCall("get-osinfo", s.agentOSInfo))
	s.route("GET", "/nodes/{node}/qemu/{vmid}/agent/get-host-name", agent, []param{pNode(), pVMID()}, s.agentCall("get-host-name", func(g *Guest) any {
		return map[string]any{"host-name": g.agentHostname()}
	}))
}

// nodeIfaces is a node's /etc/network/interfaces: one NIC bridged to vmbr0.
func (s *Sim) nodeIfaces(n *Node) []map[string]any {
	ip := n.IP
	gw := ip
	if i := strings.LastIndexByte(ip, '.'); i > 0 {
		gw = ip[:i] + ".1"
	}
	return []map[string]any{
		{"iface": "eno1", "type": "eth", "method": "manual", "method6": "manual", "families": []string{"inet"}, "active": 1, "exists": 1, "priority": 3},
		{"iface": "vmbr0", "type": "bridge", "method": "static", "method6": "manual", "families": []string{"inet"}, "active": 1, "autostart": 1,
			"priority": 4, "bridge_ports": "eno1", "bridge_stp": "off", "bridge_fd": "0", "address": ip, "netmask": "24", "cidr": ip + "/24", "gateway": gw},
	}
}

func (s *Sim) getNetwork(c *reqCtx) (any, error) {
	out := []map[string]any{}
	for _, e := range s.nodeIfaces(s.st.node(c.Node)) {
		t := c.Str("type")
		isBridge := e["type"] == "bridge"
		if t != "" && t != e["type"] && !((t == "any_bridge" || t == "any_local_bridge") && isBridge) {
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

func (s *Sim) getNetworkIface(c *reqCtx) (any, error) {
	for _, e := range s.nodeIfaces(s.st.node(c.Node)) {
		if e["iface"] == c.Str("iface") {
			return e, nil
		}
	}
	return nil, err500("network interface '%s' does not exist", c.Str("iface"))
}

// agentCall wraps a guest agent query with the checks qemu-server does
// before talking to the agent; the answer is {"result": ...}.
func (s *Sim) agentCall(cmd string, f func(g *Guest) any) handler {
	return func(c *reqCtx) (any, error) {
		g, err := s.agentReady(c, cmd)
		if err != nil {
			return nil, err
		}
		return map[string]any{"result": f(g)}, nil
	}
}

// agentReady is qemu-server's assert_agent_available before a guest agent
// command: an agent key in the config ("No QEMU guest agent configured" only
// when there is none), the VM running, and a guest-ping answered within 3 s.
// An agent that is disabled (agent: 0), stopped, hung or in a paused VM fails
// that ping alike: "QEMU guest agent is not running".
func (s *Sim) agentReady(c *reqCtx, _ string) (*Guest, error) {
	g, err := s.guestOnPath(c, "qemu")
	if err != nil {
		return nil, err
	}
	if !g.Conf.Has("agent") {
		return nil, err500("No QEMU guest agent configured")
	}
	if !g.IsRunning() {
		return nil, err500("VM %d is not running", g.VMID)
	}
	if !agentEnabled(g) || !g.AgentRunning || g.AgentHung || g.Status == "paused" {
		return nil, err500("QEMU guest agent is not running")
	}
	return g, nil
}

func (s *Sim) agentOSInfo(g *Guest) any {
	if g.AgentOS != nil {
		return g.AgentOS
	}
	if strings.HasPrefix(g.Conf.Get("ostype"), "win") {
		return map[string]any{"id": "mswindows", "name": "Microsoft Windows", "pretty-name": "Windows Server 2022 Standard",
			"version": "Microsoft Windows Server 2022", "version-id": "2022", "variant": "server", "variant-id": "server",
			"kernel-release": "20348", "kernel-version": "10.0", "machine": "x86_64"}
	}
	return map[string]any{"id": "ubuntu", "name": "Ubuntu", "pretty-name": "Ubuntu 22.04.4 LTS", "version": "22.04.4 LTS (Jammy Jellyfish)",
		"version-id": "22.04", "kernel-release": "5.15.0-105-generic", "kernel-version": "#115-Ubuntu SMP Mon Apr 15 09:52:04 UTC 2024", "machine": "x86_64"}
}
