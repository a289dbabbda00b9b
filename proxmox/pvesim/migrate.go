package pvesim

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migration: GET .../migrate (preconditions) and POST .../migrate for qemu (Qemu.pm, QemuMigrate.pm) and
// lxc (LXC.pm, LXC/Migrate.pm). Guests move between nodes; their local volumes move with them.

func init() { routeSetups = append(routeSetups, (*Sim).registerMigrateRoutes) }

const (
	durMigrate   = 8 * time.Second
	durHAMigrate = 500 * time.Millisecond
)

func (s *Sim) registerMigrateRoutes() {
	s.route("GET", "/nodes/{node}/qemu/{vmid}/migrate", permPath("/vms/{vmid}", "VM.Migrate"), qemuMigrateGetParams(), s.hQemuMigratePre)
	s.route("POST", "/nodes/{node}/qemu/{vmid}/migrate", permPath("/vms/{vmid}", "VM.Migrate"), qemuMigrateParams(), s.hQemuMigrate)
	if s.ver >= 9 {
		// pve-container added the precondition endpoint with PVE 9.
		s.route("GET", "/nodes/{node}/lxc/{vmid}/migrate", permPath("/vms/{vmid}", "VM.Migrate"), lxcMigrateGetParams(), s.hLxcMigratePre)
	}
	s.route("POST", "/nodes/{node}/lxc/{vmid}/migrate", permPath("/vms/{vmid}", "VM.Migrate"), lxcMigrateParams(), s.hLxcMigrate)
}

// migVolume is a volume of a guest config as QemuServer::foreach_volid reports it.
type migVolume struct {
	volid, drive, storage string
	size                  int64
	cdrom, unused, cloud  bool
	shared                bool // on a shared storage
}

// guestVolumes lists the volumes referenced by a guest config. Caller holds s.mu.
func (s *Sim) guestVolumes(g *Guest) []migVolume {
	var out []migVolume
	for _, d := range g.Disks() {
		if d.VolID == "" || d.VolID == "none" {
			continue
		}
		sid, _, ok := strings.Cut(d.VolID, ":")
		if !ok {
			continue // a bind mount or device path
		}
		mv := migVolume{volid: d.VolID, drive: d.Key, storage: sid, size: d.Size,
			cdrom: d.Media == "cdrom", unused: unusedKeyRe.MatchString(d.Key), cloud: strings.Contains(d.VolID, "-cloudinit")}
		if _, v := s.st.findVolume(g.Node, d.VolID); v != nil && mv.size == 0 {
			mv.size = v.Size
		}
		if cfg := s.st.storageCfg(sid); cfg != nil && cfg.Shared {
			mv.shared = true
		}
		out = append(out, mv)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].volid < out[j].volid })
	return out
}

// unavailableStorages is check_local_storage_availability for one node: storages of the config that are
// disabled or restricted to other nodes. Caller holds s.mu.
func (s *Sim) unavailableStorages(g *Guest, node string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s.guestVolumes(g) {
		cfg := s.st.storageCfg(v.storage)
		if cfg == nil || seen[v.storage] {
			continue
		}
		if cfg.Disabled || (len(cfg.Nodes) > 0 && !contains(cfg.Nodes, node)) {
			seen[v.storage] = true
			out = append(out, v.storage)
		}
	}
	sort.Strings(out)
	return out
}

// blockingHA lists, per node, the HA rules that keep the guest off it: strict node-affinity rules that do
// not name the node (PVE 9 rules; restricted groups on PVE 8). Caller holds s.mu.
func (s *Sim) blockingHA(g *Guest) map[string][]map[string]string {
	out := map[string][]map[string]string{}
	sid := haSID(g)
	if s.st.haResource(sid) == nil || s.ver < 9 {
		return out // HA rules, and the blocking/dependent lists, came with PVE 9
	}
	for _, r := range s.st.HARules {
		if r.Type != "node-affinity" || !r.Strict || r.Disable || !contains(r.Resources, sid) {
			continue
		}
		allowed := map[string]bool{}
		for _, n := range strings.Split(r.Nodes, ",") {
			name, _, _ := strings.Cut(n, ":")
			allowed[name] = true
		}
		for _, n := range s.st.Nodes {
			if !allowed[n.Name] {
				out[n.Name] = append(out[n.Name], map[string]string{"sid": sid, "cause": "node-affinity"})
			}
		}
	}
	return out
}

func (s *Sim) hQemuMigratePre(c *reqCtx) (any, error) {
	g, err := s.loadGuest(c, "qemu")
	if err != nil {
		return nil, err
	}
	if m := lockMsg(g); m != "" {
		return nil, err500("%s", m)
	}
	res := map[string]any{"running": b2i(g.IsRunning())}
	allowed := []string{}
	notAllowed := map[string]any{}
	blocking := s.blockingHA(g)
	if s.haResourceOf(g) != nil && s.ver >= 9 {
		res["dependent-ha-resources"] = []string{}
	}
	for _, n := range s.st.Nodes {
		if n.Name == c.Node {
			continue
		}
		info := map[string]any{}
		if u := s.unavailableStorages(g, n.Name); len(u) > 0 {
			info["unavailable_storages"] = u
		}
		if b := blocking[n.Name]; len(b) > 0 {
			info["blocking-ha-resources"] = b
		}
		if len(info) > 0 {
			notAllowed[n.Name] = info
		} else {
			allowed = append(allowed, n.Name)
		}
	}
	res["allowed_nodes"] = allowed
	res["not_allowed_nodes"] = notAllowed
	disks := []map[string]any{}
	for _, v := range s.guestVolumes(g) {
		if v.shared {
			continue
		}
		d := map[string]any{
			"volid": v.volid, "cdrom": b2i(v.cdrom), "is_unused": b2i(v.unused), "is_attached": b2i(!v.unused),
			"is_cloudinit": b2i(v.cloud), "is_tpmstate": b2i(v.drive == "tpmstate0"), "is_vmstate": 0,
			"replicate": 1, "shared": 0,
		}
		if v.size > 0 {
			d["size"] = v.size
		}
		if !v.unused {
			d["drivename"] = v.drive
		}
		disks = append(disks, d)
	}
	res["local_disks"] = disks
	res["local_resources"] = []string{}
	res["mapped-resources"] = []string{}
	res["mapped-resource-info"] = map[string]any{}
	if s.ver >= 9 {
		res["has-dbus-vmstate"] = 1 // conntrack state migration arrived with PVE 9
	}
	return res, nil
}

func (s *Sim) hLxcMigratePre(c *reqCtx) (any, error) {
	g, err := s.loadGuest(c, "lxc")
	if err != nil {
		return nil, err
	}
	if m := lockMsg(g); m != "" {
		return nil, err500("%s", m)
	}
	res := map[string]any{"running": b2i(g.IsRunning())}
	if s.haResourceOf(g) != nil && s.ver >= 9 {
		res["dependent-ha-resources"] = []string{}
	}
	blocking := s.blockingHA(g)
	allowed := []string{}
	notAllowed := map[string]any{}
	for _, n := range s.st.Nodes {
		if n.Name == c.Node {
			continue
		}
		if b := blocking[n.Name]; len(b) > 0 {
			notAllowed[n.Name] = map[string]any{"blocking-ha-resources": b}
		} else {
			allowed = append(allowed, n.Name)
		}
	}
	res["allowed-nodes"] = allowed
	res["not-allowed-nodes"] = notAllowed
	return res, nil
}

// migrateCommon are the synchronous checks both migrate POSTs share.
func (s *Sim) migrateCommon(c *reqCtx) (string, error) {
	target := c.Str("target")
	if target == c.Node {
		return "", errParam1("target", "target is local node.")
	}
	if s.st.node(target) == nil {
		return "", err500("no such cluster node '%s'", target)
	}
	return target, nil
}

func (s *Sim) hQemuMigrate(c *reqCtx) (any, error) {
	target, err := s.migrateCommon(c)
	if err != nil {
		return nil, err
	}
	if err := rootOnly(c, "force", "migration_type", "migration_network"); err != nil {
		return nil, err
	}
	g, err := s.loadGuest(c, "qemu")
	if err != nil {
		return nil, err
	}
	if m := lockMsg(g); m != "" {
		return nil, err500("%s", m)
	}
	online := c.Bool("online")
	if g.IsRunning() {
		if !online {
			return nil, err500("can't migrate running VM without --online")
		}
	} else {
		online = false // "VM isn't running. Doing offline migration instead." goes to the daemon's log
	}
	if c.Has("targetstorage") {
		for _, sid := range targetStorages(c.Str("targetstorage")) {
			if err := c.Check("/storage/"+sid, "Datastore.AllocateSpace"); err != nil {
				return nil, err
			}
		}
	} else if u := s.unavailableStorages(g, target); len(u) > 0 {
		return nil, err500("storage '%s' is not available on node '%s'", u[0], target)
	}
	if s.haResourceOf(g) != nil {
		return s.haMigrate(c, g, target), nil
	}
	opts := migrateOpts{online: online, withLocalDisks: c.Bool("with-local-disks"), targetStorage: c.Str("targetstorage")}
	return s.migrateTask(c.Node, g.Type, g.VMID, target, c.User(), opts), nil
}

func (s *Sim) hLxcMigrate(c *reqCtx) (any, error) {
	target, err := s.migrateCommon(c)
	if err != nil {
		return nil, err
	}
	g, err := s.loadGuest(c, "lxc")
	if err != nil {
		return nil, err
	}
	if g.IsRunning() && !c.Bool("online") && !c.Bool("restart") {
		return nil, err500("can't migrate running container without --online or --restart")
	}
	if c.Has("target-storage") {
		for _, sid := range targetStorages(c.Str("target-storage")) {
			if err := c.Check("/storage/"+sid, "Datastore.AllocateSpace"); err != nil {
				return nil, err
			}
		}
	}
	if s.haResourceOf(g) != nil {
		return s.haMigrate(c, g, target), nil
	}
	opts := migrateOpts{online: c.Bool("online"), restart: c.Bool("restart"), targetStorage: c.Str("target-storage")}
	return s.migrateTask(c.Node, g.Type, g.VMID, target, c.User(), opts), nil
}

// targetStorages lists the target storages of a storage map ("local-zfs" or "src:dst,src2:dst2").
func targetStorages(m string) []string {
	var out []string
	for _, e := range splitList(m) {
		if _, dst, ok := strings.Cut(e, ":"); ok {
			out = append(out, dst)
		} else {
			out = append(out, e)
		}
	}
	return out
}

// storageMap resolves where a volume of storage sid goes: the default/identity or an explicit mapping.
func storageMap(m, sid string) string {
	def := ""
	for _, e := range splitList(m) {
		if src, dst, ok := strings.Cut(e, ":"); ok {
			if src == sid {
				return dst
			}
		} else if e != "1" {
			def = e
		}
	}
	if def != "" {
		return def
	}
	return sid
}

// haMigrate is the hamigrate worker: it only asks HA; the LRM of the source node then migrates the guest
// as root@pam (online for running VMs, restart mode for containers).
func (s *Sim) haMigrate(c *reqCtx, g *Guest, target string) string {
	vmid, typ, node := g.VMID, g.Type, c.Node
	return s.tasks.start(node, "hamigrate", strconv.Itoa(vmid), c.User(), func(w *worker) error {
		w.Log("Requesting HA migration for %s %d to node %s", kindWord(typ), vmid, target)
		if err := w.Sleep(durHAMigrate); err != nil {
			return err
		}
		s.tasks.after(durHALRM, func() {
			s.withState(func() {
				g := s.guestOn(node, typ, vmid)
				if g == nil || g.Lock != "" || len(s.blockingHA(g)[target]) > 0 || s.nodeOffline(node) {
					return // the CRM refuses moves its rules forbid; a dead LRM does nothing
				}
				run := g.IsRunning()
				s.migrateTask(node, typ, vmid, target, "root@pam", migrateOpts{online: run && typ == "qemu", restart: run && typ == "lxc", withLocalDisks: true})
			})
		})
		return nil
	})
}

type migrateOpts struct {
	online, restart, withLocalDisks bool
	targetStorage                   string
}

// migrateTask runs a qmigrate/vzmigrate worker. Caller holds s.mu.
func (s *Sim) migrateTask(node, typ string, vmid int, target, user string, o migrateOpts) string {
	ttype := "qmigrate"
	if typ == "lxc" {
		ttype = "vzmigrate"
	}
	return s.tasks.start(node, ttype, strconv.Itoa(vmid), user, func(w *worker) error {
		return s.runMigrate(w, node, typ, vmid, target, o)
	})
}

// runMigrate is PVE::AbstractMigrate::migrate with its timestamped log: prepare and scan volumes, copy
// local disks, move the config, then (online) hand over the running guest.
func (s *Sim) runMigrate(w *worker, node, typ string, vmid int, target string, o migrateOpts) error {
	start := s.now()
	kind := kindWord(typ)
	abort := func(err error) error {
		d := s.now().Sub(start)
		w.LogTS("ERROR: migration aborted (duration %s): %s", hms(d), err)
		s.withState(func() {
			if g := s.st.guest(vmid); g != nil && g.Lock == "migrate" {
				g.Lock = ""
			}
		})
		return fmt.Errorf("migration aborted")
	}
	var vols []migVolume
	var running bool
	var targetIP string
	var memBytes int64
	err := s.stateErr(func() error {
		g := s.guestOn(node, typ, vmid)
		if g == nil {
			return fmt.Errorf("%s", confMissing(node, typ, vmid))
		}
		if m := lockMsg(g); m != "" {
			return fmt.Errorf("%s", m)
		}
		running = g.IsRunning()
		if n := s.st.node(target); n != nil {
			targetIP = n.IP
		}
		vols = s.guestVolumes(g)
		memBytes = g.MemBytes()
		g.Lock = "migrate"
		return nil
	})
	if err != nil {
		return err
	}
	w.LogTS("starting migration of %s %d to node '%s' (%s)", kind, vmid, target, targetIP)
	if s.nodeOffline(target) {
		// The first SSH to the target fails.
		if err := w.Sleep(3 * time.Second); err != nil {
			return abort(fmt.Errorf("interrupted by signal"))
		}
		return abort(fmt.Errorf("Can't connect to destination address using public key"))
	}
	if typ == "lxc" && running {
		if o.online {
			return abort(fmt.Errorf("lxc live migration is currently not implemented"))
		}
		if !o.restart {
			return abort(fmt.Errorf("running container can only be migrated in restart mode"))
		}
	}
	// Scan the volumes (QemuMigrate::scan_local_volumes).
	var local []migVolume
	var problems []string
	for _, v := range vols {
		if v.shared {
			if typ == "lxc" {
				w.LogTS("volume '%s' is on shared storage '%s'", v.volid, v.storage)
			}
			continue
		}
		if typ == "qemu" && v.cdrom && !v.cloud {
			problems = append(problems, fmt.Sprintf("can't migrate local disk '%s': local cdrom image", v.volid))
			continue
		}
		local = append(local, v)
	}
	for _, v := range local {
		switch {
		case typ == "lxc":
			w.LogTS("found local volume '%s' (in current VM config)", v.volid)
		case v.cloud:
			w.LogTS("found generated disk '%s' (in current VM config)", v.volid)
		case v.unused:
			w.LogTS("found local disk '%s' (unused)", v.volid)
		default:
			w.LogTS("found local disk '%s' (attached)", v.volid)
			if running && !o.withLocalDisks {
				problems = append(problems, fmt.Sprintf("can't migrate local disk '%s': can't live migrate attached local disks without with-local-disks option", v.volid))
			}
		}
	}
	if len(problems) > 0 {
		for _, p := range problems {
			w.LogTS("%s", p)
		}
		if typ == "lxc" {
			return abort(fmt.Errorf("can't migrate CT - check log"))
		}
		return abort(fmt.Errorf("Problem found while scanning volumes - can't migrate VM - check log"))
	}
	// Target space for the local volumes.
	err = s.stateErr(func() error {
		need := map[string]int64{}
		for _, v := range local {
			dst := storageMap(o.targetStorage, v.storage)
			si := s.st.storageOn(target, dst)
			if si == nil {
				return fmt.Errorf("storage '%s' is not available on node '%s'", dst, target)
			}
			_, vol := s.st.findVolume(node, v.volid)
			if vol != nil {
				need[dst] += vol.Used
			}
			if need[dst] > s.freeOn(si) {
				return fmt.Errorf("storage migration for '%s' to storage '%s' failed - zfs error: cannot receive new filesystem stream: out of space", v.volid, dst)
			}
		}
		return nil
	})
	if err != nil {
		return abort(err)
	}
	step := durMigrate / 8
	if typ == "lxc" && running {
		w.LogTS("shutdown CT %d", vmid)
		if err := w.Sleep(step); err != nil {
			return abort(fmt.Errorf("interrupted by signal"))
		}
		s.withState(func() {
			if g := s.st.guest(vmid); g != nil {
				g.endRun(s.now())
				g.Status = "stopped"
			}
		})
	}
	var copied []migVolume
	if len(local) > 0 && !(typ == "qemu" && running) {
		if typ == "qemu" {
			w.LogTS("copying local disk images")
		}
		for _, v := range local {
			w.LogTS("full send of %s@__migration__ estimated size is %s", zfsDataset(s, node, v), humanSize(v.size))
			w.LogTS("total estimated size is %s", humanSize(v.size))
			if err := w.Sleep(step * 2 / time.Duration(len(local))); err != nil {
				return abort(fmt.Errorf("interrupted by signal"))
			}
			w.LogTS("successfully imported '%s'", v.volid)
			w.LogTS("volume '%s' is '%s' on the target", v.volid, s.targetVolid(v, o.targetStorage))
			copied = append(copied, v)
		}
	}
	if typ == "qemu" && running {
		w.LogTS("starting VM %d on remote node '%s'", vmid, target)
		if err := w.Sleep(step); err != nil {
			return abort(fmt.Errorf("interrupted by signal"))
		}
		for _, v := range local {
			w.LogTS("volume '%s' is '%s' on the target", v.volid, s.targetVolid(v, o.targetStorage))
		}
		w.LogTS("start remote tunnel")
		w.LogTS("ssh tunnel ver 1")
		if len(local) > 0 {
			w.LogTS("starting storage migration")
			for _, v := range local {
				w.LogTS("%s: start migration to nbd:unix:/run/qemu-server/%d_nbd.migrate:exportname=drive-%s", v.drive, vmid, v.drive)
				w.Log("drive mirror is starting for drive-%s", v.drive)
				mirrorStart := s.now()
				for _, pct := range []int{25, 50, 75, 100} {
					if err := w.Sleep(step * 2 / time.Duration(4*len(local))); err != nil {
						return abort(fmt.Errorf("interrupted by signal"))
					}
					done := v.size / 100 * int64(pct)
					suffix := ""
					if pct == 100 {
						suffix = ", ready"
					}
					elapsed := int(s.now().Sub(mirrorStart).Round(time.Second) / time.Second)
					w.Log("drive-%s: transferred %s of %s (%d.00%%) in %ds%s", v.drive, humanBytes(done), humanBytes(v.size), pct, elapsed, suffix)
				}
				copied = append(copied, v)
			}
			w.Log("all 'mirror' jobs are ready")
			w.LogTS("switching mirror jobs to actively synced mode")
		}
		uri := fmt.Sprintf("unix:/run/qemu-server/%d.migrate", vmid)
		w.LogTS("starting online/live migration on %s", uri)
		w.LogTS("set migration capabilities")
		w.LogTS("migration downtime limit: 100 ms")
		w.LogTS("migration cachesize: %s", humanBytes(memBytes/8))
		w.LogTS("set migration parameters")
		w.LogTS("start migrate command to %s", uri)
		for _, pct := range []int64{30, 70} {
			if err := w.Sleep(step); err != nil {
				return abort(fmt.Errorf("interrupted by signal"))
			}
			w.LogTS("migration active, transferred %s of %s VM-state, 1.1 GiB/s", humanBytes(memBytes*pct/100), humanBytes(memBytes))
		}
		w.LogTS("average migration speed: 1.1 GiB/s - downtime 42 ms")
		w.LogTS("migration completed, transferred %s VM-state", humanBytes(memBytes))
		w.LogTS("migration status: completed")
		for _, v := range local {
			w.Log("drive-%s: Completing block job...", v.drive)
			w.Log("drive-%s: Completed successfully.", v.drive)
			w.Log("drive-%s: mirror-job finished", v.drive)
		}
		if len(local) > 0 {
			w.LogTS("stopping NBD storage migration server on target.")
		}
	}
	if err := w.Sleep(step); err != nil {
		return abort(fmt.Errorf("interrupted by signal"))
	}
	// Phase 3: the config moves to the target, the source volumes are freed.
	err = s.stateErr(func() error {
		g := s.guestOn(node, typ, vmid)
		if g == nil {
			return fmt.Errorf("%s", confMissing(node, typ, vmid))
		}
		for _, v := range copied {
			srcSI, vol := s.st.findVolume(node, v.volid)
			if vol == nil {
				continue
			}
			dst := storageMap(o.targetStorage, v.storage)
			newID := s.targetVolid(v, o.targetStorage)
			dsi := s.st.storageOn(target, dst)
			if dsi == nil {
				continue
			}
			for i, x := range srcSI.Volumes {
				if x == vol {
					srcSI.Volumes = append(srcSI.Volumes[:i], srcSI.Volumes[i+1:]...)
					break
				}
			}
			nv := *vol
			nv.VolID = newID
			s.st.addVolume(dsi, &nv)
			if newID != v.volid {
				g.Conf.Set(v.drive, strings.Replace(g.Conf.Get(v.drive), v.volid, newID, 1))
			}
		}
		g.Node = target
		g.Lock = ""
		if typ == "qemu" && running {
			g.endRun(s.now())
			g.StartedAt = s.now() // a new QEMU process runs the guest on the target
		}
		return nil
	})
	if err != nil {
		return abort(err)
	}
	if typ == "lxc" && running && o.restart {
		w.LogTS("start final cleanup")
		w.LogTS("start container on target node")
		if err := w.Sleep(step); err != nil {
			return abort(fmt.Errorf("interrupted by signal"))
		}
		s.withState(func() {
			if g := s.guestOn(target, typ, vmid); g != nil {
				g.Status, g.StartedAt = "running", s.now()
			}
		})
	}
	w.LogTS("migration finished successfully (duration %s)", hms(s.now().Sub(start)))
	return nil
}

// targetVolid is the volume id a migrated volume gets: the same name on the mapped storage.
func (s *Sim) targetVolid(v migVolume, targetStorage string) string {
	dst := storageMap(targetStorage, v.storage)
	_, name, _ := strings.Cut(v.volid, ":")
	return dst + ":" + name
}

// zfsDataset is the dataset a zfs volume lives in, for the "full send" lines.
func zfsDataset(s *Sim, node string, v migVolume) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, name, _ := strings.Cut(v.volid, ":")
	if cfg := s.st.storageCfg(v.storage); cfg != nil && cfg.Type == "zfspool" {
		return zfsPool(cfg) + "/" + name
	}
	return v.volid
}

// hms renders a duration as HH:MM:SS.
func hms(d time.Duration) string {
	sec := int(d.Round(time.Second) / time.Second)
	return fmt.Sprintf("%02d:%02d:%02d", sec/3600, sec/60%60, sec%60)
}

// humanSize renders sizes as zfs send estimates do ("3.2G").
func humanSize(b int64) string {
	switch {
	case b >= 1<<40:
		return fmt.Sprintf("%.1fT", float64(b)/(1<<40))
	case b >= 1<<30:
		return fmt.Sprintf("%.1fG", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1fM", float64(b)/(1<<20))
	}
	return fmt.Sprintf("%.1fK", float64(b)/(1<<10))
}
