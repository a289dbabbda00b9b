package pvesim

import (
	"fmt"
	"strings"
)

func init() { routeSetups = append(routeSetups, (*Sim).registerNodeReads) }

var pTimeframe = pStr("timeframe").enum("hour", "day", "week", "month", "year")

func (s *Sim) registerNodeReads() {
	s.route("GET", "/nodes", permNone(), nil, s.getNodes)
	s.route("GET", "/nodes/{node}", permNone(), []param{pNode()}, s.getNodeIndex)
	s.route("GET", "/nodes/{node}/status", permPath("/nodes/{node}", "Sys.Audit"), []param{pNode()}, s.getNodeStatus)
	s.route("GET", "/nodes/{node}/rrddata", permPath("/nodes/{node}", "Sys.Audit"),
		[]param{pNode(), pStr("timeframe").enum("hour", "day", "week", "month", "year", "decade"), pStr("cf").opt().enum("AVERAGE", "MAX")}, s.getNodeRRD)
	s.route("GET", "/nodes/{node}/disks", permNone(), []param{pNode()}, s.getDisksIndex)
	s.route("GET", "/nodes/{node}/disks/list", permFunc(func(c *reqCtx) error {
		if c.Can("/", "Sys.Audit") || c.Can("/nodes/"+c.Node, "Sys.Audit") {
			return nil
		}
		return errPerm("/", "Sys.Audit")
	}), []param{pNode(), pBool("include-partitions").opt().def("0"), pBool("skipsmart").opt().def("0"), pStr("type").opt().enum("unused", "journal_disks")}, s.getDisks)
	s.route("GET", "/nodes/{node}/disks/smart", permPath("/", "Sys.Audit"),
		[]param{pNode(), pStr("disk").re(`^/dev/[a-zA-Z0-9\/]+$`), pBool("healthonly").opt()}, s.getSmart)
	s.route("GET", "/nodes/{node}/disks/zfs", permPath("/", "Sys.Audit"), []param{pNode()}, s.getZFSList)
	s.route("GET", "/nodes/{node}/disks/zfs/{name}", permPath("/", "Sys.Audit"), []param{pNode(), pStr("name").fmt("pve-storage-id")}, s.getZFSDetail)
}

func (s *Sim) getNodes(c *reqCtx) (any, error) {
	now := s.now()
	byNode := s.st.guestsByNode()
	out := []map[string]any{}
	for _, n := range s.st.Nodes {
		off := s.nodeOffline(n.Name)
		e := map[string]any{"id": "node/" + n.Name, "type": "node", "node": n.Name, "status": nodeStatusWord(off), "level": n.Level,
			"ssl_fingerprint": s.nodeFingerprint(n)}
		if c.Can("/nodes/"+n.Name, "Sys.Audit") {
			for k, v := range s.nodeStats(n, now, byNode[n.Name]) {
				e[k] = v
			}
		}
		out = append(out, e)
	}
	return out, nil
}

func (s *Sim) getNodeIndex(c *reqCtx) (any, error) {
	var out []map[string]any
	for _, n := range []string{"aplinfo", "apt", "capabilities", "ceph", "certificates", "config", "disks", "dns", "firewall", "hardware", "hosts",
		"journal", "lxc", "netstat", "network", "qemu", "query-url-metadata", "replication", "report", "rrd", "rrddata", "scan", "sdn", "services",
		"spiceshell", "status", "storage", "subscription", "syslog", "tasks", "termproxy", "time", "version", "vncshell", "vzdump", "wakeonlan"} {
		out = append(out, map[string]any{"name": n})
	}
	return out, nil
}

func (s *Sim) kernel(n *Node) (release, version string) {
	if n.Kernel != "" {
		return n.Kernel, "#1 SMP PREEMPT_DYNAMIC PMX " + n.Kernel + " (2025-11-20T09:12Z)"
	}
	if s.ver == 8 {
		return "6.8.12-9-pve", "#1 SMP PREEMPT_DYNAMIC PMX 6.8.12-9 (2025-03-16T19:18Z)"
	}
	return "6.17.2-1-pve", "#1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1 (2025-11-20T09:12Z)"
}

func (s *Sim) getNodeStatus(c *reqCtx) (any, error) {
	n := s.st.node(c.Node)
	now := s.now()
	u := s.nodeUsageAt(n, now, s.st.guestsOn(n.Name))
	rel, ver := s.kernel(n)
	v, _, repo := s.versionInfo()
	load := func(f float64) string { return fmt.Sprintf("%.2f", f) }
	free := n.MemTotal - u.MemUsed
	out := map[string]any{
		"uptime":  int64(now.Sub(n.BootTime).Seconds()),
		"idle":    0,
		"loadavg": []string{load(u.Load), load(u.Load * 0.97), load(u.Load * 0.93)},
		"cpu":     u.CPU,
		"wait":    u.IOWait,
		"cpuinfo": map[string]any{"user_hz": 100, "vendor": cpuVendor(n.CPUModel), "family": "6", "model": n.CPUModel, "mhz": n.MHz,
			"cpus": n.CPUs, "sockets": n.Sockets, "cores": n.Cores, "hvm": "1",
			"flags": "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall nx pdpe1gb rdtscp lm constant_tsc nopl xtopology cpuid pni pclmulqdq vmx ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx f16c rdrand hypervisor lahf_lm abm 3dnowprefetch ept vpid fsgsbase bmi1 avx2 smep bmi2 erms invpcid avx512f rdseed adx smap clflushopt sha_ni"},
		"memory":         map[string]any{"total": n.MemTotal, "used": u.MemUsed, "free": free, "available": free + n.ARC},
		"swap":           map[string]any{"total": n.SwapTotal, "used": n.SwapUsed, "free": n.SwapTotal - n.SwapUsed},
		"ksm":            map[string]any{"shared": 0},
		"rootfs":         map[string]any{"total": n.RootTotal, "used": n.RootUsed, "free": n.RootTotal - n.RootUsed, "avail": n.RootTotal - n.RootUsed - n.RootTotal/20},
		"kversion":       "Linux " + rel + " " + ver,
		"current-kernel": map[string]any{"sysname": "Linux", "release": rel, "version": ver, "machine": "x86_64"},
		"boot-info":      map[string]any{"mode": "efi", "secureboot": 0},
		"pveversion":     "pve-manager/" + v + "/" + repo,
	}
	return out, nil
}

func cpuVendor(model string) string {
	if strings.Contains(model, "AMD") {
		return "AuthenticAMD"
	}
	return "GenuineIntel"
}

func (s *Sim) getNodeRRD(c *reqCtx) (any, error) {
	return s.nodeRRD(s.st.node(c.Node), c.Str("timeframe"), c.Str("cf")), nil
}

func (s *Sim) getDisksIndex(c *reqCtx) (any, error) {
	var out []map[string]any
	for _, n := range []string{"directory", "initgpt", "list", "lvm", "lvmthin", "smart", "wipedisk", "zfs"} {
		out = append(out, map[string]any{"name": n})
	}
	return out, nil
}

// diskJSON renders /disks/list with PVE's mixed wire types: rpm is the
// string "7200" for HDDs (udev regex capture) but numbers 0/-1 otherwise;
// wearout is a number or the string "N/A".
func diskJSON(d *Disk, skipSmart bool) map[string]any {
	e := map[string]any{"devpath": d.DevPath, "type": d.Type, "size": d.Size, "model": d.Model, "vendor": d.Vendor, "serial": d.Serial,
		"wwn": d.WWN, "gpt": b2i(d.GPT), "osdid": -1, "osdid-list": nil}
	switch {
	case d.Type == "hdd" && d.RPM > 0:
		e["rpm"] = itoa(d.RPM)
	case d.RPM < 0:
		e["rpm"] = -1
	default:
		e["rpm"] = 0
	}
	if skipSmart {
		e["health"] = "UNKNOWN"
		e["wearout"] = "N/A"
	} else {
		e["health"] = d.Health
		if d.Wearout >= 0 {
			e["wearout"] = d.Wearout
		} else {
			e["wearout"] = "N/A"
		}
	}
	if d.Used != "" {
		e["used"] = d.Used
	}
	if d.ByID != "" {
		e["by_id_link"] = d.ByID
	}
	return e
}

func (s *Sim) getDisks(c *reqCtx) (any, error) {
	n := s.st.node(c.Node)
	out := []map[string]any{}
	for _, d := range n.Disks {
		if c.Str("type") == "unused" && d.Used != "" {
			continue
		}
		out = append(out, diskJSON(d, c.Bool("skipsmart")))
		if c.Bool("include-partitions") && d.Used == "ZFS" {
			for i, size := range []int64{1031168, 1 << 30, d.Size - 1<<30 - 1031168} {
				part := fmt.Sprintf("%s%d", d.DevPath, i+1)
				if d.Type == "nvme" {
					part = fmt.Sprintf("%sp%d", d.DevPath, i+1)
				}
				used := []string{"BIOS boot", "EFI", "ZFS"}[i]
				out = append(out, map[string]any{"devpath": part, "type": "partition", "size": size, "parent": d.DevPath, "used": used,
					"gpt": 1, "health": d.Health, "wearout": "N/A", "rpm": 0, "model": d.Model, "vendor": d.Vendor, "serial": d.Serial,
					"wwn": d.WWN, "osdid": -1, "osdid-list": nil, "mounted": 0})
			}
		}
	}
	return out, nil
}

func (s *Sim) getSmart(c *reqCtx) (any, error) {
	n := s.st.node(c.Node)
	for _, d := range n.Disks {
		if d.DevPath != c.Str("disk") {
			continue
		}
		if c.Bool("healthonly") {
			return map[string]any{"health": d.Health}, nil
		}
		if d.Type == "nvme" {
			text := nvmeSmartText(s.seed, d)
			e := map[string]any{"health": d.Health, "type": "text", "text": text}
			if d.Wearout >= 0 {
				e["wearout"] = d.Wearout
			}
			return e, nil
		}
		attrs := []map[string]any{}
		for _, a := range d.Smart {
			attrs = append(attrs, map[string]any{"id": fmt.Sprintf("%3d", a.ID), "name": a.Name, "flags": a.Flags, "value": a.Value,
				"normalized": a.Normalized, "worst": a.Worst, "threshold": a.Threshold, "fail": a.Fail, "raw": a.Raw})
		}
		return map[string]any{"health": d.Health, "type": "ata", "attributes": attrs}, nil
	}
	return nil, err500("no such disk '%s'", c.Str("disk"))
}

func (s *Sim) getZFSList(c *reqCtx) (any, error) {
	n := s.st.node(c.Node)
	now := s.now()
	out := []map[string]any{}
	for _, zp := range n.ZPools {
		alloc := s.zpoolAlloc(n, zp, now)
		out = append(out, map[string]any{"name": zp.Name, "size": zp.Size, "alloc": alloc, "free": zp.Size - alloc, "frag": zp.Frag,
			"dedup": zp.Dedup, "health": zp.Health})
	}
	return out, nil
}

func vdevJSON(v *Vdev, special bool) map[string]any {
	e := map[string]any{"name": v.Name, "msg": v.Msg, "leaf": b2i(len(v.Children) == 0)}
	if !special {
		e["state"] = v.State
		e["read"], e["write"], e["cksum"] = v.Read, v.Write, v.Cksum
	}
	if len(v.Children) > 0 {
		var ch []map[string]any
		for _, c := range v.Children {
			ch = append(ch, vdevJSON(c, false))
		}
		e["children"] = ch
	}
	return e
}

// getZFSDetail is the parsed `zpool status -P` of ZFS.pm.
func (s *Sim) getZFSDetail(c *reqCtx) (any, error) {
	n := s.st.node(c.Node)
	for _, zp := range n.ZPools {
		if zp.Name != c.Str("name") {
			continue
		}
		root := &Vdev{Name: zp.Name, State: zp.Health, Children: zp.Vdevs}
		children := []map[string]any{vdevJSON(root, false)}
		for _, sp := range zp.Special {
			children = append(children, vdevJSON(sp, true))
		}
		e := map[string]any{"name": zp.Name, "state": zp.Health, "errors": zp.Errors, "leaf": 0, "children": children}
		for k, v := range map[string]string{"status": zp.Status, "action": zp.Action, "see": zp.See, "scan": zp.Scan} {
			if v != "" {
				e[k] = v
			}
		}
		return e, nil
	}
	return nil, err500("cannot open '%s': no such pool", c.Str("name"))
}
