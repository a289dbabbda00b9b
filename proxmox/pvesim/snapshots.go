package pvesim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Guest snapshots: POST .../snapshot (qmsnapshot, vzsnapshot), GET/PUT .../snapshot/{snapname}/config,
// POST .../snapshot/{snapname}/rollback (qmrollback, vzrollback) and DELETE .../snapshot/{snapname}
// (qmdelsnapshot, vzdelsnapshot), following PVE::AbstractConfig's snapshot_create, snapshot_rollback and
// snapshot_delete. The API handlers only refuse reserved names; everything else fails inside the task, as
// in Proxmox.

func init() { routeSetups = append(routeSetups, (*Sim).registerSnapshotRoutes) }

const (
	durSnapshot       = 1 * time.Second
	durSnapshotVMSave = 3 * time.Second // saving RAM
	durRollback       = 2 * time.Second
	durDelSnapshot    = 1 * time.Second
)

// snapOverwrite is the share of a guest's disk writes that overwrite data a
// snapshot still references (the rest extends files or rewrites blocks
// written since).
const snapOverwrite = 0.1

// snapHeld is what the ZFS snapshots on si reference at t: for every guest
// disk there, the data overwritten since the guest's oldest snapshot, up to
// what the volume itself uses. Caller holds s.mu.
func (s *Sim) snapHeld(si *StorageInst, t time.Time) int64 {
	if si.Cfg.Type != "zfspool" {
		return 0
	}
	var held int64
	for _, g := range s.st.Guests {
		if len(g.Snapshots) == 0 || (si.Node != "" && g.Node != si.Node) {
			continue
		}
		oldest := g.Snapshots[0].Time
		for _, sn := range g.Snapshots {
			oldest = min(oldest, sn.Time)
		}
		secs := float64(t.Unix() - oldest)
		if secs <= 0 {
			continue
		}
		disks := snapshotDisks(g)
		var total int64
		for _, d := range disks {
			total += d.Size
		}
		for _, d := range disks {
			if d.Storage != si.Cfg.ID || total == 0 {
				continue
			}
			var v *Volume
			for _, x := range si.Volumes {
				if x.VolID == d.VolID {
					v = x
				}
			}
			if v == nil {
				continue
			}
			h := int64(g.Prof.DiskWrite * float64(d.Size) / float64(total) * snapOverwrite * secs)
			held += min(h, v.Used)
		}
	}
	return held
}

// snapshotSpace is the change, since T0, of what snapshots hold on si: it
// grows as guests with snapshots write, and falls when a snapshot goes
// (the scenario's own figure at T0 already includes its snapshots).
func (s *Sim) snapshotSpace(si *StorageInst, t time.Time) int64 {
	if si.Cfg.Type != "zfspool" {
		return 0
	}
	return s.snapHeld(si, t) - si.snapBase
}

func pSnapname() param { return pStr("snapname").fmt("pve-configid").maxLength(40) }

func (s *Sim) registerSnapshotRoutes() {
	for _, si := range s.st.insts {
		si.snapBase = s.snapHeld(si, s.st.T0)
	}
	for _, typ := range []string{"qemu", "lxc"} {
		base := "/nodes/{node}/" + typ + "/{vmid}/snapshot"
		nv := func(extra ...param) []param { return append([]param{pNode(), pVMID()}, extra...) }
		create := nv(pSnapname(), pStr("description").opt())
		if typ == "qemu" {
			create = append(create, pBool("vmstate").opt())
		}
		s.route("POST", base, permPath("/vms/{vmid}", "VM.Snapshot"), create, s.hSnapshotCreate(typ))
		s.route("GET", base+"/{snapname}", permNone(), nv(pSnapname()), s.hSnapshotIndex(typ))
		s.route("GET", base+"/{snapname}/config", permAny("/vms/{vmid}", "VM.Snapshot", "VM.Snapshot.Rollback", "VM.Audit"),
			nv(pSnapname()), s.hSnapshotConfig(typ))
		s.route("PUT", base+"/{snapname}/config", permPath("/vms/{vmid}", "VM.Snapshot"),
			nv(pSnapname(), pStr("description").opt()), s.hSnapshotConfigPut(typ))
		s.route("POST", base+"/{snapname}/rollback", permAny("/vms/{vmid}", "VM.Snapshot", "VM.Snapshot.Rollback"),
			nv(pSnapname(), pBool("start").opt().def("0")), s.hSnapshotRollback(typ))
		s.route("DELETE", base+"/{snapname}", permPath("/vms/{vmid}", "VM.Snapshot"),
			nv(pSnapname(), pBool("force").opt()), s.hSnapshotDelete(typ))
	}
}

// snapParent is the "parent" of the current state.
func (g *Guest) snapParent() string {
	if g.snapParentSet {
		return g.SnapParent
	}
	if n := len(g.Snapshots); n > 0 {
		return g.Snapshots[n-1].Name
	}
	return ""
}

func (g *Guest) setSnapParent(p string) { g.SnapParent, g.snapParentSet = p, true }

func (g *Guest) snapshot(name string) *Snapshot {
	for _, sn := range g.Snapshots {
		if sn.Name == name {
			return sn
		}
	}
	return nil
}

// snapConf is the config a snapshot holds.
func (g *Guest) snapConf(sn *Snapshot) *Conf {
	if sn.Conf != nil {
		return sn.Conf
	}
	return g.Conf
}

// snapshotDisks are the volumes a snapshot covers: no CD-ROMs, cloud-init drives or unused disks.
func snapshotDisks(g *Guest) []DiskRef {
	var out []DiskRef
	for _, d := range g.Disks() {
		if d.Media == "cdrom" || strings.HasPrefix(d.Key, "unused") || strings.Contains(d.VolID, "cloudinit") || d.VolID == "" || d.VolID == "none" {
			continue
		}
		out = append(out, d)
	}
	return out
}

// storageSnapshots reports whether a volume on a storage type can be snapshotted (the storage plugins'
// volume_has_feature 'snapshot').
func storageSnapshots(typ, volid string) bool {
	switch typ {
	case "zfspool", "zfs", "lvmthin", "rbd", "btrfs":
		return true
	case "dir", "nfs", "cifs", "glusterfs", "cephfs":
		return strings.HasSuffix(volid, ".qcow2")
	}
	return false
}

// snapshotFeature is has_feature('snapshot'); "" when every disk can. Caller holds s.mu.
func (s *Sim) snapshotFeature(g *Guest) string {
	for _, d := range snapshotDisks(g) {
		cfg := s.st.storageCfg(d.Storage)
		if cfg == nil || !storageSnapshots(cfg.Type, d.VolID) {
			return "snapshot feature is not available"
		}
	}
	return ""
}

// rollbackBlockers are the snapshots newer than sn on a ZFS volume of g (ZFSPoolPlugin's
// volume_rollback_is_possible) and the first such volume. Caller holds s.mu.
func (s *Sim) rollbackBlockers(g *Guest, sn *Snapshot) (string, []string) {
	var zvol string
	for _, d := range snapshotDisks(g) {
		if cfg := s.st.storageCfg(d.Storage); cfg != nil && (cfg.Type == "zfspool" || cfg.Type == "zfs") {
			zvol = d.VolID
			break
		}
	}
	if zvol == "" {
		return "", nil
	}
	var newer []string
	found := false
	for _, x := range g.Snapshots {
		if x == sn {
			found = true
		} else if found {
			newer = append(newer, x.Name)
		}
	}
	return zvol, newer
}

func snapTaskType(typ, what string) string {
	if typ == "lxc" {
		return "vz" + what
	}
	return "qm" + what
}

func reservedSnapname(name string) error {
	if name == "current" {
		return err500("unable to use snapshot name 'current' (reserved name)")
	}
	if strings.EqualFold(name, "pending") {
		return err500("unable to use snapshot name 'pending' (reserved name)")
	}
	return nil
}

func (s *Sim) hSnapshotCreate(typ string) handler {
	return func(c *reqCtx) (any, error) {
		name := c.Str("snapname")
		if err := reservedSnapname(name); err != nil {
			return nil, err
		}
		node, vmid, desc, vmstate := c.Node, c.Int("vmid"), c.Str("description"), typ == "qemu" && c.Bool("vmstate")
		return s.tasks.start(node, snapTaskType(typ, "snapshot"), strconv.Itoa(vmid), c.User(), func(w *worker) error {
			var saveState bool
			var stateStorage string
			var disks []DiskRef
			var memGiB float64
			err := s.stateErr(func() error {
				g := s.guestOn(node, typ, vmid)
				if g == nil {
					return fmt.Errorf("%s", confMissing(node, typ, vmid))
				}
				if m := lockMsg(g); m != "" {
					return fmt.Errorf("%s", m)
				}
				if g.snapshot(name) != nil {
					return fmt.Errorf("snapshot name '%s' already used", name)
				}
				if m := s.snapshotFeature(g); m != "" {
					return fmt.Errorf("%s", m)
				}
				disks = snapshotDisks(g)
				saveState = vmstate && g.IsRunning()
				if saveState {
					stateStorage = g.Conf.Get("vmstatestorage")
					if stateStorage == "" && len(disks) > 0 {
						stateStorage = disks[0].Storage
					}
					memGiB = float64(g.MemBytes()) / (1 << 30)
				}
				parent := g.snapParent()
				g.Lock = "snapshot"
				g.Snapshots = append(g.Snapshots, &Snapshot{Name: name, Description: desc, Time: s.now().Unix(), Parent: parent,
					VMState: saveState, Conf: g.Conf.Clone()})
				return nil
			})
			if err != nil {
				return err
			}
			undo := func() {
				s.withState(func() {
					if g := s.guestOn(node, typ, vmid); g != nil {
						for i, sn := range g.Snapshots {
							if sn.Name == name {
								g.Snapshots = append(g.Snapshots[:i], g.Snapshots[i+1:]...)
								break
							}
						}
						g.Lock = ""
					}
				})
			}
			if saveState {
				w.Log("saving VM state and RAM using storage '%s'", stateStorage)
				if err := w.Sleep(durSnapshotVMSave); err != nil {
					undo()
					return err
				}
				saved := memGiB * 0.6
				w.Log("completed saving the VM state in %ds, saved %.2f GiB", int(durSnapshotVMSave.Seconds()), saved)
			}
			for _, d := range disks {
				if typ == "qemu" {
					w.Log("snapshotting 'drive-%s' (%s)", d.Key, d.VolID)
				}
			}
			if err := w.Sleep(durSnapshot); err != nil {
				undo()
				return err
			}
			s.withState(func() {
				if g := s.guestOn(node, typ, vmid); g != nil {
					g.Lock = ""
					g.setSnapParent(name)
				}
			})
			return nil
		}), nil
	}
}

func (s *Sim) hSnapshotIndex(typ string) handler {
	return func(c *reqCtx) (any, error) {
		return []map[string]any{{"cmd": "rollback"}, {"cmd": "config"}}, nil
	}
}

func (s *Sim) snapOnPath(c *reqCtx, typ string) (*Guest, *Snapshot, error) {
	g, err := s.loadGuest(c, typ)
	if err != nil {
		return nil, nil, err
	}
	sn := g.snapshot(c.Str("snapname"))
	if sn == nil {
		return g, nil, err500("snapshot '%s' does not exist", c.Str("snapname"))
	}
	return g, sn, nil
}

func (s *Sim) hSnapshotConfig(typ string) handler {
	return func(c *reqCtx) (any, error) {
		g, sn, err := s.snapOnPath(c, typ)
		if err != nil {
			return nil, err
		}
		out := typedConf(typ, g.snapConf(sn))
		out["snaptime"] = sn.Time
		if sn.Description != "" {
			out["description"] = sn.Description
		}
		if sn.Parent != "" {
			out["parent"] = sn.Parent
		}
		if sn.VMState {
			if d := snapshotDisks(g); len(d) > 0 {
				out["vmstate"] = fmt.Sprintf("%s:vm-%d-state-%s", d[0].Storage, g.VMID, sn.Name)
			}
		}
		for _, k := range []string{"cipassword", "password"} {
			if _, ok := out[k]; ok {
				out[k] = "**********"
			}
		}
		return out, nil
	}
}

func (s *Sim) hSnapshotConfigPut(typ string) handler {
	return func(c *reqCtx) (any, error) {
		_, sn, err := s.snapOnPath(c, typ)
		if err != nil {
			return nil, err
		}
		if c.Has("description") {
			sn.Description = c.Str("description")
		}
		return nil, nil
	}
}

func (s *Sim) hSnapshotRollback(typ string) handler {
	return func(c *reqCtx) (any, error) {
		node, vmid, name, start := c.Node, c.Int("vmid"), c.Str("snapname"), c.Bool("start")
		return s.tasks.start(node, snapTaskType(typ, "rollback"), strconv.Itoa(vmid), c.User(), func(w *worker) error {
			var wasRunning, vmstate bool
			err := s.stateErr(func() error {
				g := s.guestOn(node, typ, vmid)
				if g == nil {
					return fmt.Errorf("%s", confMissing(node, typ, vmid))
				}
				sn := g.snapshot(name)
				if sn == nil {
					return fmt.Errorf("snapshot '%s' does not exist", name)
				}
				if g.Lock != "" && g.Lock != "rollback" {
					return fmt.Errorf("%s", lockMsg(g))
				}
				if g.Template() {
					if typ == "lxc" {
						return fmt.Errorf("you can't rollback if CT is a template")
					}
					return fmt.Errorf("you can't rollback if vm is a template")
				}
				if zvol, newer := s.rollbackBlockers(g, sn); len(newer) > 0 {
					return fmt.Errorf("can't rollback, '%s' is not most recent snapshot on '%s'", name, zvol)
				}
				wasRunning, vmstate = g.IsRunning(), sn.VMState && typ == "qemu"
				g.Lock = "rollback"
				return nil
			})
			if err != nil {
				return err
			}
			if wasRunning {
				// __snapshot_rollback_vm_stop: the guest is stopped hard before its disks go back.
				if err := w.Sleep(durStop); err != nil {
					s.withState(func() {
						if g := s.guestOn(node, typ, vmid); g != nil {
							g.Lock = ""
						}
					})
					return err
				}
				s.withState(func() {
					if g := s.guestOn(node, typ, vmid); g != nil {
						g.Status = "stopped"
					}
				})
			}
			if err := w.Sleep(durRollback); err != nil {
				return err // the lock stays, as after a failed rollback in Proxmox
			}
			s.withState(func() {
				g := s.guestOn(node, typ, vmid)
				if g == nil {
					return
				}
				if sn := g.snapshot(name); sn != nil && sn.Conf != nil {
					g.Conf = sn.Conf.Clone()
				}
				g.Pending, g.PendingDel = nil, nil
				g.setSnapParent(name)
				g.Lock = ""
				if vmstate {
					// The saved RAM state is loaded: the VM runs on from the moment of the snapshot.
					g.Status, g.StartedAt = "running", s.now()
				}
			})
			if start && !vmstate {
				if typ == "qemu" {
					w.Log("starting VM %d", vmid)
				}
				if err := w.Sleep(durStart); err != nil {
					return err
				}
				s.withState(func() {
					if g := s.guestOn(node, typ, vmid); g != nil && !g.IsRunning() {
						g.Status, g.StartedAt = "running", s.now()
					}
				})
			}
			return nil
		}), nil
	}
}

func (s *Sim) hSnapshotDelete(typ string) handler {
	return func(c *reqCtx) (any, error) {
		node, vmid, name, force := c.Node, c.Int("vmid"), c.Str("snapname"), c.Bool("force")
		return s.tasks.start(node, snapTaskType(typ, "delsnapshot"), strconv.Itoa(vmid), c.User(), func(w *worker) error {
			err := s.stateErr(func() error {
				g := s.guestOn(node, typ, vmid)
				if g == nil {
					return fmt.Errorf("%s", confMissing(node, typ, vmid))
				}
				if g.snapshot(name) == nil {
					return fmt.Errorf("snapshot '%s' does not exist", name)
				}
				if m := lockMsg(g); m != "" && !force {
					return fmt.Errorf("%s", m)
				}
				g.Lock = "snapshot-delete"
				return nil
			})
			if err != nil {
				return err
			}
			if err := w.Sleep(durDelSnapshot); err != nil {
				return err
			}
			s.withState(func() {
				g := s.guestOn(node, typ, vmid)
				if g == nil {
					return
				}
				cur := g.snapParent()
				var parent string
				for i, sn := range g.Snapshots {
					if sn.Name == name {
						parent = sn.Parent
						g.Snapshots = append(g.Snapshots[:i], g.Snapshots[i+1:]...)
						break
					}
				}
				for _, sn := range g.Snapshots {
					if sn.Parent == name {
						sn.Parent = parent
					}
				}
				if cur == name {
					cur = parent
				}
				g.setSnapParent(cur)
				g.Lock = ""
			})
			return nil
		}), nil
	}
}
