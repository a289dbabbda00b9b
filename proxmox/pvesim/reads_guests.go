package pvesim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

func init() { routeSetups = append(routeSetups, (*Sim).registerGuestReads) }

func (s *Sim) registerGuestReads() {
	audit := permPath("/vms/{vmid}", "VM.Audit")
	nv := func(extra ...param) []param { return append([]param{pNode(), pVMID()}, extra...) }
	rrd := nv(pTimeframe, pStr("cf").opt().enum("AVERAGE", "MAX"))
	cfg := nv(pBool("current").opt().def("0"), pStr("snapshot").opt().fmt("pve-configid").maxLength(40))
	s.route("GET", "/nodes/{node}/qemu", permNone(), []param{pNode(), pBool("full").opt()}, s.listGuests("qemu"))
	s.route("GET", "/nodes/{node}/lxc", permNone(), []param{pNode()}, s.listGuests("lxc"))
	for _, typ := range []string{"qemu", "lxc"} {
		typ := typ
		base := "/nodes/{node}/" + typ + "/{vmid}"
		s.route("GET", base, permNone(), nv(), s.guestIndex(typ))
		s.route("GET", base+"/status", permNone(), nv(), s.guestStatusIndex(typ))
		s.route("GET", base+"/status/current", audit, nv(), s.guestStatusCurrent(typ))
		s.route("GET", base+"/config", audit, cfg, s.guestConfig(typ))
		s.route("GET", base+"/rrddata", audit, rrd, s.guestRRDData(typ))
		s.route("GET", base+"/snapshot", audit, nv(), s.guestSnapshots(typ))
	}
	s.route("GET", "/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces",
		permAny("/vms/{vmid}", "VM.GuestAgent.Audit", "VM.GuestAgent.Unrestricted"), nv(), s.agentCall("network-get-interfaces", s.agentInterfaces))
	if s.ver < 9 {
		// PVE 8 had VM.Monitor instead of the guest agent privileges.
		for _, r := range s.routes {
			if r.pattern == "/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces" {
				r.perm = permPath("/vms/{vmid}", "VM.Monitor")
			}
		}
	}
}

// guestOnPath finds the guest of the path or fails as the target node would:
// its config file does not exist there.
func (s *Sim) guestOnPath(c *reqCtx, typ string) (*Guest, error) {
	vmid := c.Int("vmid")
	g := s.st.guest(vmid)
	if g == nil || g.Node != c.Node || g.Type != typ {
		return nil, errNoConfig(c.Node, typ, vmid)
	}
	return g, nil
}

func (s *Sim) pid(g *Guest) int {
	return 1000 + int(hash64(s.seed, "pid", int64(g.VMID))%3000000) + int(g.StartedAt.Unix()%1000)
}

// vmStatus is QemuServer::vmstatus / LXC::vmstatus for one guest.
func (s *Sim) vmStatus(g *Guest, full bool, now time.Time) map[string]any {
	cpus := g.Cores()
	if n := s.st.node(g.Node); n != nil && cpus > n.CPUs {
		cpus = n.CPUs
	}
	e := map[string]any{"vmid": g.VMID, "status": guestStatusWord(g), "name": g.Name(), "cpus": cpus, "maxmem": g.MemBytes(),
		"maxdisk": g.BootDiskSize(), "uptime": s.uptime(g, now)}
	if g.Template() {
		e["template"] = 1
	}
	if g.Lock != "" {
		e["lock"] = g.Lock
	}
	if t := g.Conf.Get("tags"); t != "" {
		e["tags"] = t
	}
	u := s.guestUsageAt(g, now)
	ni, no, dr, dw := s.guestCounters(g, now)
	e["cpu"], e["mem"], e["netin"], e["netout"] = u.CPU, u.Mem, ni, no
	running := s.runningAt(g, now)
	if running {
		e["pid"] = s.pid(g)
	}
	if g.Type == "lxc" {
		e["type"] = "lxc"
		e["disk"] = u.Disk
		e["maxswap"] = g.SwapBytes()
		e["swap"] = 0
		e["diskread"], e["diskwrite"] = dr, dw
		if running && s.ver >= 9 {
			for _, k := range []string{"pressurecpusome", "pressurecpufull", "pressureiosome", "pressureiofull", "pressurememorysome", "pressurememoryfull"} {
				e[k] = "0.00"
			}
		}
		return e
	}
	e["disk"] = 0
	if s.ver >= 9 {
		e["memhost"] = u.MemHost
		if running {
			for _, k := range []string{"pressurecpusome", "pressurecpufull", "pressureiosome", "pressureiofull", "pressurememorysome", "pressurememoryfull"} {
				e[k] = 0
			}
		}
	}
	if b := g.Conf.Get("balloon"); b != "" && b != "0" {
		e["balloon_min"] = int64(atoiDef(b, 0)) << 20
		e["shares"] = 1000
	}
	if !full {
		return e
	}
	switch {
	case g.Status == "paused":
		e["qmpstatus"] = "paused"
	case running:
		e["qmpstatus"] = "running"
	default:
		e["qmpstatus"] = "stopped"
	}
	if running {
		e["diskread"], e["diskwrite"] = dr, dw
		free := g.MemBytes() - u.Mem
		e["balloon"] = g.MemBytes()
		e["freemem"] = free
		e["ballooninfo"] = map[string]any{"actual": g.MemBytes(), "max_mem": g.MemBytes(), "total_mem": g.MemBytes() - 80<<20, "free_mem": free,
			"major_page_faults": 1811, "minor_page_faults": 3803793, "mem_swapped_in": 0, "mem_swapped_out": 0, "last_update": now.Unix()}
		e["running-machine"] = "pc-i440fx-9.2+pve1"
		e["running-qemu"] = "9.2.0"
		nics := map[string]any{}
		for i := 0; i < 32; i++ {
			if g.Conf.Has(fmt.Sprintf("net%d", i)) {
				nics[fmt.Sprintf("tap%di%d", g.VMID, i)] = map[string]any{"netin": ni, "netout": no}
				ni, no = 0, 0
			}
		}
		e["nics"] = nics
		bs := map[string]any{}
		first := true
		for _, d := range g.Disks() {
			if d.Media == "cdrom" || strings.HasPrefix(d.Key, "unused") {
				continue
			}
			rd, wr := int64(0), int64(0)
			if first {
				rd, wr, first = dr, dw, false
			}
			bs[d.Key] = map[string]any{"rd_bytes": rd, "wr_bytes": wr, "rd_operations": rd / 16384, "wr_operations": wr / 16384,
				"flush_operations": wr / 65536, "failed_rd_operations": 0, "failed_wr_operations": 0, "account_failed": true, "account_invalid": true, "idle_time_ns": 4427685914}
		}
		e["blockstat"] = bs
		e["proxmox-support"] = map[string]any{"pbs-dirty-bitmap": true, "pbs-dirty-bitmap-migration": true, "pbs-dirty-bitmap-savevm": true,
			"pbs-masterkey": true, "query-bitmap-info": true, "backup-max-workers": true, "pbs-library-version": "1.5.1 (UNKNOWN)"}
	}
	return e
}

func (s *Sim) listGuests(typ string) handler {
	return func(c *reqCtx) (any, error) {
		now := s.now()
		out := []map[string]any{}
		for _, g := range s.st.guestsOn(c.Node) {
			if g.Type != typ || !c.Can(vmPath(g.VMID), "VM.Audit") {
				continue
			}
			out = append(out, s.vmStatus(g, c.Bool("full"), now))
		}
		return out, nil
	}
}

func (s *Sim) guestIndex(typ string) handler {
	return func(c *reqCtx) (any, error) {
		if _, err := s.guestOnPath(c, typ); err != nil {
			return nil, err
		}
		names := []string{"config", "pending", "status", "snapshot", "rrd", "rrddata", "firewall", "migrate", "resize", "template", "clone", "feature"}
		if typ == "qemu" {
			names = append(names, "agent", "unlink", "vncproxy", "termproxy", "monitor", "move_disk", "sendkey", "cloudinit")
		} else {
			names = append(names, "interfaces", "move_volume", "vncproxy", "termproxy")
		}
		var out []map[string]any
		for _, n := range names {
			out = append(out, map[string]any{"subdir": n})
		}
		return out, nil
	}
}

func (s *Sim) guestStatusIndex(typ string) handler {
	return func(c *reqCtx) (any, error) {
		if _, err := s.guestOnPath(c, typ); err != nil {
			return nil, err
		}
		var out []map[string]any
		for _, n := range []string{"current", "start", "stop", "reset", "shutdown", "suspend", "reboot", "resume"} {
			if typ == "lxc" && n == "reset" {
				continue
			}
			out = append(out, map[string]any{"subdir": n})
		}
		return out, nil
	}
}

func (s *Sim) guestStatusCurrent(typ string) handler {
	return func(c *reqCtx) (any, error) {
		g, err := s.guestOnPath(c, typ)
		if err != nil {
			return nil, err
		}
		e := s.vmStatus(g, true, s.now())
		ha := map[string]any{"managed": 0}
		if r := s.st.haResource(haSID(g)); r != nil {
			ha = map[string]any{"managed": 1, "state": r.State}
			if s.ver < 9 && r.Group != "" {
				ha["group"] = r.Group
			}
		}
		e["ha"] = ha
		if typ == "qemu" {
			if agentEnabled(g) {
				e["agent"] = 1
			}
			if v := g.Conf.Get("vga"); v != "" {
				e["clipboard"] = nil
			} else {
				e["spice"] = 1
			}
		}
		return e, nil
	}
}

func agentEnabled(g *Guest) bool {
	a := g.Conf.Get("agent")
	a, _, _ = strings.Cut(a, ",")
	return a == "1" || a == "enabled=1"
}

var (
	qemuIntKeys  = set("cores", "sockets", "vcpus", "cpuunits", "balloon", "shares", "hotplug_mem", "migrate_speed")
	qemuBoolKeys = set("onboot", "template", "numa", "protection", "acpi", "kvm", "tablet", "localtime", "freeze", "reboot", "autostart", "keephugepages")
	lxcIntKeys   = set("cores", "memory", "swap", "cpuunits", "tty")
	lxcBoolKeys  = set("onboot", "template", "protection", "unprivileged", "console", "debug")
)

func set(keys ...string) map[string]bool {
	m := map[string]bool{}
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// typedConf renders a config like QemuServer::check_type / the LXC parser:
// integers and 0/1 booleans as numbers, everything else (memory of qemu,
// cpulimit, property strings) as strings.
func typedConf(typ string, conf *Conf) map[string]any {
	ints, bools := qemuIntKeys, qemuBoolKeys
	if typ == "lxc" {
		ints, bools = lxcIntKeys, lxcBoolKeys
	}
	out := map[string]any{}
	for _, k := range conf.Keys() {
		v := conf.Get(k)
		if ints[k] || bools[k] {
			if n, err := strconv.Atoi(v); err == nil {
				out[k] = n
				continue
			}
		}
		out[k] = v
	}
	return out
}

func (s *Sim) guestConfig(typ string) handler {
	return func(c *reqCtx) (any, error) {
		g, err := s.guestOnPath(c, typ)
		if err != nil {
			return nil, err
		}
		if sn := c.Str("snapshot"); sn != "" {
			for _, snap := range g.Snapshots {
				if snap.Name == sn {
					out := typedConf(typ, g.snapConf(snap))
					out["snaptime"] = snap.Time
					if snap.Description != "" {
						out["description"] = snap.Description
					}
					if snap.Parent != "" {
						out["parent"] = snap.Parent
					}
					out["digest"] = g.Digest()
					return out, nil
				}
			}
			return nil, err500("snapshot '%s' does not exist", sn)
		}
		conf := g.Conf
		if !c.Bool("current") {
			conf = g.withPending() // vm_config: pending values unless current=1
		}
		out := typedConf(typ, conf)
		if g.Lock != "" {
			out["lock"] = g.Lock
		}
		if p := g.snapParent(); p != "" {
			out["parent"] = p
		}
		for _, k := range []string{"cipassword", "password"} {
			if _, ok := out[k]; ok {
				out[k] = "**********"
			}
		}
		out["digest"] = g.Digest()
		return out, nil
	}
}

func (s *Sim) guestRRDData(typ string) handler {
	return func(c *reqCtx) (any, error) {
		g, err := s.guestOnPath(c, typ)
		if err != nil {
			return nil, err
		}
		return s.guestRRD(g, c.Str("timeframe"), c.Str("cf")), nil
	}
}

func (s *Sim) guestSnapshots(typ string) handler {
	return func(c *reqCtx) (any, error) {
		g, err := s.guestOnPath(c, typ)
		if err != nil {
			return nil, err
		}
		out := []map[string]any{}
		for _, sn := range g.Snapshots {
			e := map[string]any{"name": sn.Name, "description": sn.Description, "snaptime": sn.Time}
			if sn.Parent != "" {
				e["parent"] = sn.Parent
			}
			if typ == "qemu" {
				e["vmstate"] = b2i(sn.VMState)
			}
			out = append(out, e)
		}
		cur := map[string]any{"name": "current", "description": "You are here!", "digest": g.Digest()}
		cur["running"] = b2i(g.IsRunning())
		if p := g.snapParent(); p != "" {
			cur["parent"] = p
		}
		out = append(out, cur)
		return out, nil
	}
}

func (s *Sim) agentInterfaces(g *Guest) any {
	ni, no, _, _ := s.guestCounters(g, s.now())
	res := []map[string]any{{
		"name": "lo", "hardware-address": "00:00:00:00:00:00",
		"ip-addresses": []map[string]any{{"ip-address-type": "ipv4", "ip-address": "127.0.0.1", "prefix": 8}, {"ip-address-type": "ipv6", "ip-address": "::1", "prefix": 128}},
		"statistics":   map[string]any{"rx-bytes": 0, "rx-packets": 0, "rx-errs": 0, "rx-dropped": 0, "tx-bytes": 0, "tx-packets": 0, "tx-errs": 0, "tx-dropped": 0},
	}}
	for _, nic := range g.NICs {
		var ips []map[string]any
		for _, ip := range nic.IPv4 {
			addr, pfx, _ := strings.Cut(ip, "/")
			ips = append(ips, map[string]any{"ip-address-type": "ipv4", "ip-address": addr, "prefix": atoiDef(pfx, 24)})
		}
		for _, ip := range nic.IPv6 {
			addr, pfx, _ := strings.Cut(ip, "/")
			ips = append(ips, map[string]any{"ip-address-type": "ipv6", "ip-address": addr, "prefix": atoiDef(pfx, 64)})
		}
		res = append(res, map[string]any{"name": nic.Name, "hardware-address": nic.MAC, "ip-addresses": ips,
			"statistics": map[string]any{"rx-bytes": ni, "rx-packets": ni / 1200, "rx-errs": 0, "rx-dropped": 0, "tx-bytes": no, "tx-packets": no / 1200, "tx-errs": 0, "tx-dropped": 0}})
	}
	return res
}
