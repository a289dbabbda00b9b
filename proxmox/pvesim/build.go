package pvesim

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

var allocRe = regexp.MustCompile(`^([a-z][a-z0-9\-_.]*[a-z0-9]):(\d+(?:\.\d+)?[KMGT]?)(,.*)?$`)

// buildState turns a validated scenario into the live model.
func (s *Sim) buildState(sc *scenario) (*state, error) {
	t0 := s.now()
	st := &state{
		Name:          sc.Cluster.Name,
		ConfigVersion: sc.Cluster.ConfigVersion,
		Seed:          s.seed,
		T0:            t0,
		nodes:         map[string]*Node{},
		Guests:        map[int]*Guest{},
		insts:         map[string]*StorageInst{},
		Users:         map[string]*userRec{},
		Tokens:        map[string]*tokenRec{},
		Roles:         builtinRoles(s.ver),
	}
	if st.ConfigVersion == 0 {
		st.ConfigVersion = len(sc.Nodes) + 1
	}
	for i, n := range sc.Nodes {
		node := &Node{
			Name: n.Name, ID: n.ID, IP: n.IP, Level: n.Level,
			CPUModel: n.CPU.Model, Sockets: max(n.CPU.Sockets, 1), Cores: n.CPU.Cores, MHz: n.CPU.MHz,
			MemTotal: int64(n.Memory), SwapTotal: int64(n.Swap), SwapUsed: int64(n.SwapUsed),
			RootTotal: int64(n.RootFS.Size), RootUsed: int64(n.RootFS.Used),
			HostMem: int64(n.HostMem), ARC: int64(n.ARC), CPUBase: n.CPUBase,
			Kernel: n.Kernel, OfflineAt: n.Online != nil && !*n.Online,
		}
		if node.ID == 0 {
			node.ID = i + 1
		}
		if node.IP == "" {
			node.IP = fmt.Sprintf("10.0.0.%d", 10+i+1)
		}
		threads := max(n.CPU.Threads, 1)
		node.CPUs = node.Sockets * node.Cores * threads
		if node.CPUModel == "" {
			node.CPUModel = "Intel(R) Xeon(R) E-2378G CPU @ 2.80GHz"
		}
		if node.MHz == "" {
			node.MHz = "2800.000"
		}
		if node.HostMem == 0 {
			node.HostMem = 2560 << 20
		}
		if node.RootTotal == 0 {
			node.RootTotal = 100 << 30
		}
		if node.RootUsed == 0 {
			node.RootUsed = 9 << 30
		}
		if node.CPUBase == 0 {
			node.CPUBase = 0.02
		}
		up := time.Duration(n.Uptime)
		if up == 0 {
			up = 30 * 24 * time.Hour
		}
		node.BootTime = t0.Add(-up)
		for _, d := range n.Disks {
			disk := &Disk{DevPath: d.Dev, Type: d.Type, Size: int64(d.Size), Model: d.Model, Vendor: d.Vendor, Serial: d.Serial,
				WWN: d.WWN, Health: d.Health, Wearout: -1, RPM: d.RPM, GPT: d.GPT == nil || *d.GPT, Used: d.Used, ByID: d.ByID}
			if d.Wearout.set {
				disk.Wearout = d.Wearout.v
			}
			if disk.Vendor == "" {
				disk.Vendor = "unknown"
			}
			if disk.WWN == "" {
				disk.WWN = "unknown"
			}
			if disk.Health == "" {
				disk.Health = "PASSED"
			}
			if disk.Type == "hdd" && disk.RPM == 0 {
				disk.RPM = 7200
			}
			for _, a := range d.Smart {
				disk.Smart = append(disk.Smart, SmartAttr{ID: a.ID, Name: a.Name, Flags: a.Flags, Value: a.Value, Normalized: a.Value,
					Worst: a.Worst, Threshold: a.Threshold, Fail: a.Fail, Raw: a.Raw})
			}
			node.Disks = append(node.Disks, disk)
		}
		sort.Slice(node.Disks, func(a, b int) bool { return node.Disks[a].DevPath < node.Disks[b].DevPath })
		for _, z := range n.ZFS {
			zp := &ZPool{Name: z.Name, Size: int64(z.Size), ExtraAlloc: int64(z.ExtraAlloc), Frag: z.Frag, Dedup: z.Dedup,
				Health: z.Health, Status: z.Status, Action: z.Action, See: z.See, Errors: z.Errors}
			if zp.Dedup == 0 {
				zp.Dedup = 1
			}
			if zp.Errors == "" {
				zp.Errors = "No known data errors"
			}
			if z.Scrub != nil {
				zp.Scan = scrubText(t0.Add(-time.Duration(z.Scrub.Ago)), z.Scrub)
			}
			zp.Vdevs = buildVdevs(z.Vdevs)
			for _, sp := range []struct {
				name string
				l    []scVdev
			}{{"logs", z.Logs}, {"cache", z.Cache}, {"spares", z.Spares}} {
				if len(sp.l) > 0 {
					zp.Special = append(zp.Special, &Vdev{Name: sp.name, Children: buildVdevs(sp.l)})
				}
			}
			node.ZPools = append(node.ZPools, zp)
		}
		st.Nodes = append(st.Nodes, node)
		st.nodes[node.Name] = node
	}

	for _, c := range sc.Storages {
		cfg := &StorageCfg{ID: c.ID, Type: c.Type, Content: c.Content, Shared: c.Shared, Nodes: c.Nodes, Path: c.Path,
			Pool: c.Pool, PoolNode: c.PoolNode, Server: c.Server, Export: c.Export, Disabled: c.Disabled, Prune: c.Prune}
		if c.Type == "nfs" || c.Type == "cifs" || c.Type == "pbs" || c.Type == "cephfs" || c.Type == "rbd" {
			cfg.Shared = true
		}
		st.Storages = append(st.Storages, cfg)
		mk := func(node string) *StorageInst {
			si := &StorageInst{Cfg: cfg, Node: node, Total: int64(c.Size), target: int64(c.Used), GrowPerDay: float64(c.GrowthPerDay)}
			if pn, ok := c.PerNode[node]; ok {
				if pn.Size > 0 {
					si.Total = int64(pn.Size)
				}
				if pn.Used > 0 {
					si.target = int64(pn.Used)
				}
				if pn.GrowthPerDay != 0 {
					si.GrowPerDay = float64(pn.GrowthPerDay)
				}
			}
			st.addInst(si)
			return si
		}
		if cfg.Shared {
			mk("")
		} else {
			for _, n := range st.Nodes {
				if cfg.availableOn(n.Name) {
					mk(n.Name)
				}
			}
		}
		for _, v := range c.Volumes {
			si := st.storageOn(v.Node, c.ID)
			if cfg.Shared {
				si = st.insts["/"+c.ID]
			}
			if si == nil {
				continue
			}
			st.addVolume(si, &Volume{VolID: v.VolID, VMID: v.VMID, Size: int64(v.Size), Used: int64(v.Size), Format: v.Format,
				Content: v.Content, Ctime: t0.Add(-time.Duration(v.Age)).Unix(), Notes: v.Notes})
		}
	}

	for i, sg := range sc.Guests {
		g, err := s.buildGuest(st, sg, t0)
		if err != nil {
			return nil, sc.errAt(fmt.Sprintf("guest %d: %v", sg.VMID, err), "guests", i, "disks")
		}
		st.addGuest(g)
	}

	for _, p := range sc.Pools {
		pool := &Pool{ID: p.ID, Comment: p.Comment, VMs: p.VMs, Storages: p.Storages}
		st.Pools = append(st.Pools, pool)
		for _, id := range p.VMs {
			if g := st.guest(id); g != nil {
				g.Pool = p.ID
			}
		}
	}
	for _, g := range sc.Guests {
		if g.Pool != "" {
			if p := st.pool(g.Pool); p != nil && !containsInt(p.VMs, g.VMID) {
				p.VMs = append(p.VMs, g.VMID)
			} else if p == nil {
				st.Pools = append(st.Pools, &Pool{ID: g.Pool, VMs: []int{g.VMID}})
			}
		}
	}

	for _, g := range sc.HA.Groups {
		st.HAGroups = append(st.HAGroups, &HAGroup{Name: g.Name, Nodes: g.Nodes, Restricted: g.Restricted, NoFailback: g.NoFailback, Comment: g.Comment})
	}
	for _, r := range sc.HA.Resources {
		typ, _, _ := strings.Cut(r.SID, ":")
		res := &HAResource{SID: r.SID, Type: typ, State: r.State, Group: r.Group, MaxRestart: 1, MaxRelocate: 1, Failback: true, Comment: r.Comment}
		if res.State == "" {
			res.State = "started"
		}
		if r.MaxRestart != nil {
			res.MaxRestart = *r.MaxRestart
		}
		if r.MaxRelocate != nil {
			res.MaxRelocate = *r.MaxRelocate
		}
		if g := st.haGroup(r.Group); g != nil {
			res.Failback = !g.NoFailback
		}
		st.HAResources = append(st.HAResources, res)
	}
	// PVE 9 migrated HA groups to node-affinity rules (HA/Groups.pm).
	order := 1
	for _, g := range st.HAGroups {
		var members []string
		for _, r := range st.HAResources {
			if r.Group == g.Name {
				members = append(members, r.SID)
			}
		}
		sort.Strings(members)
		st.HARules = append(st.HARules, &HARule{ID: "ha-group-" + g.Name, Type: "node-affinity", Resources: members, Nodes: g.Nodes,
			Strict: g.Restricted, Comment: fmt.Sprintf("Generated from HA group '%s'.", g.Name), Order: order})
		order++
	}
	for _, r := range sc.HA.Rules {
		res := append([]string(nil), r.Resources...)
		sort.Strings(res)
		st.HARules = append(st.HARules, &HARule{ID: r.ID, Type: r.Type, Resources: res, Nodes: r.Nodes, Strict: r.Strict,
			Affinity: r.Affinity, Comment: r.Comment, Order: order})
		order++
	}

	for _, j := range sc.Backup.Jobs {
		job := &BackupJob{ID: j.ID, Schedule: j.Schedule, Enabled: j.Enabled == nil || *j.Enabled, Storage: j.Storage, Mode: j.Mode,
			VMIDs: j.VMIDs, All: j.All, Exclude: j.Exclude, Pool: j.Pool, Node: j.Node, Compress: j.Compress,
			MailNotification: j.MailNotification, NotesTemplate: j.NotesTemplate, Comment: j.Comment, RepeatMissed: j.RepeatMissed}
		if job.Mode == "" {
			job.Mode = "snapshot"
		}
		if j.Prune != "" {
			job.Prune = parsePropString(j.Prune)
		}
		st.BackupJobs = append(st.BackupJobs, job)
	}

	for _, u := range sc.Access.Users {
		st.Users[u.ID] = &userRec{ID: u.ID, Enable: u.Enable == nil || *u.Enable, Expire: u.Expire, Groups: u.Groups, Comment: u.Comment}
	}
	if st.Users["root@pam"] == nil {
		st.Users["root@pam"] = &userRec{ID: "root@pam", Enable: true}
	}
	for _, g := range sc.Access.Groups {
		for _, u := range g.Users {
			if ur := st.Users[u]; ur != nil && !contains(ur.Groups, g.ID) {
				ur.Groups = append(ur.Groups, g.ID)
			}
		}
	}
	for _, t := range sc.Access.Tokens {
		m := tokenIDRe.FindStringSubmatch(t.ID)
		if st.Users[m[1]] == nil {
			st.Users[m[1]] = &userRec{ID: m[1], Enable: true}
		}
		st.Tokens[t.ID] = &tokenRec{User: m[1], Name: m[2], Secret: t.Secret, Privsep: t.Privsep == nil || *t.Privsep, Expire: t.Expire, Comment: t.Comment}
	}
	for _, r := range sc.Access.Roles {
		m := map[string]bool{}
		for _, p := range r.Privs {
			m[p] = true
		}
		st.Roles[r.ID] = m
	}
	for i, a := range sc.Access.ACL {
		if st.Roles[a.Role] == nil {
			return nil, sc.errAt(fmt.Sprintf("unknown role %q", a.Role), "access", "acl", i, "role")
		}
		e := aclEntry{Path: a.Path, User: a.User, Group: a.Group, Role: a.Role, Propagate: a.Propagate == nil || *a.Propagate}
		if a.Token != "" {
			e.User = a.Token
		}
		st.ACL = append(st.ACL, e)
	}
	return st, nil
}

func containsInt(l []int, v int) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}

func (st *state) pool(id string) *Pool {
	for _, p := range st.Pools {
		if p.ID == id {
			return p
		}
	}
	return nil
}

func (st *state) haGroup(name string) *HAGroup {
	for _, g := range st.HAGroups {
		if g.Name == name {
			return g
		}
	}
	return nil
}

func buildVdevs(l []scVdev) []*Vdev {
	var out []*Vdev
	for _, v := range l {
		st := v.State
		if st == "" {
			st = "ONLINE"
		}
		out = append(out, &Vdev{Name: v.Name, State: st, Read: v.Read, Write: v.Write, Cksum: v.Cksum, Msg: v.Msg, Children: buildVdevs(v.Children)})
	}
	return out
}

// scrubText renders the "scan:" line of zpool status for a finished scrub.
func scrubText(at time.Time, s *scScrub) string {
	rep := s.Repaired
	if rep == "" {
		rep = "0B"
	}
	dur := s.Duration
	if dur == "" {
		dur = "00:12:31"
	}
	return fmt.Sprintf("scrub repaired %s in %s with %d errors on %s", rep, dur, s.Errors, at.UTC().Format("Mon Jan _2 15:04:05 2006"))
}

// parsePropString splits "a=1,b=2".
func parsePropString(s string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(kv, "=")
		if k != "" {
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return m
}

// macFor derives a stable MAC in the Proxmox OUI BC:24:11.
func macFor(seed int64, vmid, idx int) string {
	h := hash64(seed, "mac", int64(vmid*16+idx))
	return fmt.Sprintf("BC:24:11:%02X:%02X:%02X", byte(h), byte(h>>8), byte(h>>16))
}

func uuidFor(seed int64, key string, n int64) string {
	a, b := hash64(seed, key, n), hash64(seed, key+"/2", n)
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", uint32(a), uint16(a>>32), uint16(a>>48)&0xfff, (uint16(b)&0x3fff)|0x8000, b>>16&0xffffffffffff)
}

// buildGuest makes a guest with the config PVE would have written.
func (s *Sim) buildGuest(st *state, sg scGuest, t0 time.Time) (*Guest, error) {
	g := &Guest{VMID: sg.VMID, Type: sg.Type, Node: sg.Node, Status: sg.Status, Conf: newConf(), Lock: sg.Lock, Pool: sg.Pool}
	created := t0.Add(-time.Duration(sg.Age))
	if sg.Age == 0 {
		created = t0.Add(-180 * 24 * time.Hour)
	}
	g.Created = created
	if g.Status == "" {
		g.Status = "running"
		if sg.Template {
			g.Status = "stopped"
		}
	}
	c := g.Conf
	cores := max(sg.Cores, 1)
	mem := int64(sg.Memory)
	if mem == 0 {
		mem = 2 << 30
	}
	if sg.Type == "qemu" {
		if sg.Name != "" {
			c.Set("name", sg.Name)
		}
		c.Set("cores", itoa(cores))
		if sg.Sockets > 1 {
			c.Set("sockets", itoa(sg.Sockets))
		}
		c.Set("memory", itoa(int(mem>>20)))
		c.Set("ostype", "l26")
		c.Set("scsihw", "virtio-scsi-single")
		c.Set("smbios1", "uuid="+uuidFor(s.seed, "smbios", int64(sg.VMID)))
		c.Set("vmgenid", uuidFor(s.seed, "vmgenid", int64(sg.VMID)))
		c.Set("meta", fmt.Sprintf("creation-qemu=9.0.2,ctime=%d", created.Unix()))
		c.Set("cpu", "x86-64-v2-AES")
		c.Set("numa", "0")
	} else {
		if sg.Name != "" {
			c.Set("hostname", sg.Name)
		}
		c.Set("cores", itoa(cores))
		c.Set("memory", itoa(int(mem>>20)))
		sw := int64(sg.Swap)
		if sw == 0 {
			sw = 512 << 20
		}
		c.Set("swap", itoa(int(sw>>20)))
		c.Set("ostype", "debian")
		c.Set("arch", "amd64")
		c.Set("unprivileged", "1")
	}
	for i, n := range sg.Net {
		mac := macFor(s.seed, sg.VMID, i)
		if sg.Type == "qemu" {
			model, rest, _ := strings.Cut(n, ",")
			v := model + "=" + mac
			if rest != "" {
				v += "," + rest
			}
			c.Set(fmt.Sprintf("net%d", i), v)
		} else {
			c.Set(fmt.Sprintf("net%d", i), addLXCHwaddr(n, mac))
		}
	}
	fill := sg.Usage.DiskFill
	if fill == 0 {
		fill = 0.55
	}
	keys := sortedKeys(sg.Disks)
	firstDisk := ""
	for _, k := range keys {
		v := sg.Disks[k]
		if m := allocRe.FindStringSubmatch(v); m != nil {
			si := st.storageOn(sg.Node, m[1])
			if si == nil {
				return nil, fmt.Errorf("storage %q is not available on node %s", m[1], sg.Node)
			}
			sz := parseSize(m[2])
			if !strings.ContainsAny(m[2], "KMGT") {
				sz = parseSize(m[2] + "G")
			}
			volid := st.nextDiskName(si, sg.VMID, sg.Type)
			format := "raw"
			if si.Cfg.Type == "dir" || si.Cfg.Type == "nfs" {
				format = "qcow2"
			}
			content := "images"
			if sg.Type == "lxc" {
				content = "rootdir"
				if si.Cfg.Type == "zfspool" {
					format = "subvol"
				}
			}
			used := int64(float64(sz) * fill)
			if sg.Type == "lxc" && sg.Usage.Disk > 0 {
				used = int64(float64(sz) * sg.Usage.Disk)
			}
			st.addVolume(si, &Volume{VolID: volid, VMID: sg.VMID, Size: sz, Used: used, Format: format, Content: content, Ctime: created.Unix()})
			opts := parsePropString(strings.TrimPrefix(m[3], ","))
			if sg.Type == "lxc" && k != "rootfs" && opts["mp"] == "" {
				opts["mp"] = "/mnt/" + k
			}
			opts["size"] = formatSize(sz)
			// print_drive: volume first, then the options sorted
			c.Set(k, volid+","+propString(opts))
		} else {
			c.Set(k, v)
		}
		d := parseDiskRef(k, c.Get(k))
		if firstDisk == "" && d.Media != "cdrom" && k != "efidisk0" && k != "tpmstate0" && k != "rootfs" {
			firstDisk = k
		}
	}
	if sg.Type == "qemu" {
		order := []string{}
		if firstDisk != "" {
			order = append(order, firstDisk)
		}
		for _, k := range keys {
			if parseDiskRef(k, c.Get(k)).Media == "cdrom" {
				order = append(order, k)
				break
			}
		}
		if c.Has("net0") {
			order = append(order, "net0")
		}
		if len(order) > 0 {
			c.Set("boot", "order="+strings.Join(order, ";"))
		}
	}
	for k, v := range sg.Config {
		if v == "" {
			c.Del(k)
			continue
		}
		c.Set(k, v)
	}
	if len(sg.Tags) > 0 {
		c.Set("tags", strings.Join(sg.Tags, ";"))
	}
	if sg.Template {
		c.Set("template", "1")
	}
	if g.IsRunning() {
		up := time.Duration(sg.Uptime)
		if up == 0 {
			up = 14 * 24 * time.Hour
		}
		g.StartedAt = t0.Add(-up)
	}
	g.Prof = newGuestProfile(sg.VMID)
	u := sg.Usage
	if u.CPU > 0 {
		g.Prof.CPU = u.CPU
	}
	if u.Mem > 0 {
		g.Prof.Mem = u.Mem
	}
	if u.Disk > 0 {
		g.Prof.Disk = u.Disk
	}
	if u.NetIn > 0 {
		g.Prof.NetIn = float64(u.NetIn)
	}
	if u.NetOut > 0 {
		g.Prof.NetOut = float64(u.NetOut)
	}
	if u.DiskRead > 0 {
		g.Prof.DiskRead = float64(u.DiskRead)
	}
	if u.DiskWrite > 0 {
		g.Prof.DiskWrite = float64(u.DiskWrite)
	}
	if sg.Agent != nil {
		g.AgentRunning = sg.Agent.Running
		g.AgentHung = sg.Agent.Hung
		g.AgentHost = sg.Agent.Hostname
		if o := sg.Agent.OS; o != nil {
			g.AgentOS = map[string]any{"id": o.ID, "name": o.Name, "pretty-name": o.PrettyName, "version": o.Version,
				"version-id": o.VersionID, "kernel-release": o.Kernel, "machine": "x86_64"}
		}
		for _, e := range sg.Agent.Exec {
			g.Exec = append(g.Exec, ExecScript(e))
		}
		if g.Conf.Get("agent") == "" {
			g.Conf.Set("agent", "1")
		}
		nic := GuestNIC{Name: "eth0", MAC: strings.ToLower(macFor(s.seed, sg.VMID, 0))}
		for _, ip := range sg.Agent.IPs {
			if strings.Contains(ip, ":") {
				nic.IPv6 = append(nic.IPv6, ip)
			} else {
				nic.IPv4 = append(nic.IPv4, ip)
			}
		}
		g.NICs = []GuestNIC{nic}
	}
	prev := ""
	for _, sn := range sg.Snapshots {
		g.Snapshots = append(g.Snapshots, &Snapshot{Name: sn.Name, Description: sn.Description, Time: t0.Add(-time.Duration(sn.Ago)).Unix(), Parent: prev, VMState: sn.VMState})
		prev = sn.Name
	}
	return g, nil
}

// addLXCHwaddr inserts hwaddr and type=veth into an LXC net property string.
func addLXCHwaddr(n, mac string) string {
	m := parsePropString(n)
	if _, ok := m["hwaddr"]; !ok {
		m["hwaddr"] = mac
	}
	if _, ok := m["type"]; !ok {
		m["type"] = "veth"
	}
	if _, ok := m["name"]; !ok {
		m["name"] = "eth0"
	}
	// print_property_string: the default key (name) first, then sorted.
	parts := []string{"name=" + m["name"]}
	delete(m, "name")
	return strings.Join(append(parts, strings.Split(propString(m), ",")...), ",")
}

// finishStorage sets each storage's base so that its used space at T0 is
// the scenario's figure with every volume (guest disks, backups) inside it.
func (st *state) finishStorage() {
	for _, si := range st.insts {
		var vols int64
		for _, v := range si.Volumes {
			vols += v.Used
		}
		if si.target > vols {
			si.BaseUsed = si.target - vols
		}
		if si.Total == 0 && si.Cfg.Type != "zfspool" && si.Cfg.Pool == "" {
			si.Total = max(si.target, vols) * 2
		}
	}
}
