package pvesim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Guest lifecycle beyond create: conversion to a template (POST .../qemu/{vmid}/template, qmtemplate;
// POST .../lxc/{vmid}/template, vztemplate) and container clones (POST .../lxc/{vmid}/clone, vzclone),
// following qemu-server API2/Qemu.pm template, pve-container API2/LXC.pm template and clone_vm, and
// PVE::Storage's create_base / volume_is_base_and_used.

func init() { routeSetups = append(routeSetups, (*Sim).registerLifecycleRoutes) }

const (
	durTemplate = 2 * time.Second
)

func (s *Sim) registerLifecycleRoutes() {
	s.route("POST", "/nodes/{node}/qemu/{vmid}/template", permPath("/vms/{vmid}", "VM.Allocate"),
		[]param{pStr("disk").opt().enum(qemuDiskNames()...), pNode(), pVMID()}, s.hQemuTemplate)
	s.route("POST", "/nodes/{node}/lxc/{vmid}/template", permPath("/vms/{vmid}", "VM.Allocate"), []param{pNode(), pVMID()}, s.hLxcTemplate)
	s.route("POST", "/nodes/{node}/lxc/{vmid}/clone", permPath("/vms/{vmid}", "VM.Clone"), []param{
		pNum("bwlimit").opt(),
		pStr("description").opt(),
		pBool("full").opt(),
		pStr("hostname").opt().fmt("dns-name"),
		pInt("newid").min(100).max(999999999).fmt("pve-vmid"),
		pNode(),
		pStr("pool").opt().fmt("pve-poolid"),
		pStr("snapname").opt().fmt("pve-configid").maxLength(40),
		pStr("storage").opt().fmt("pve-storage-id"),
		pStr("target").opt().fmt("pve-node"),
		pVMID(),
	}, s.hLxcClone)
}

// templateChecks are the refusals of both template handlers, made under the config lock before the worker.
func templateChecks(g *Guest) error {
	kind := kindWord(g.Type)
	if m := lockMsg(g); m != "" {
		return err500("%s", m)
	}
	if len(g.Snapshots) > 0 {
		return err500("unable to create template, because %s contains snapshots", kind)
	}
	if g.Template() {
		return err500("you can't convert a template to a template")
	}
	if g.IsRunning() {
		if g.Type == "lxc" {
			return err500("you can't convert a CT to template if the CT is running")
		}
		return err500("you can't convert a VM to template if VM is running")
	}
	return nil
}

// baseName is create_base's new name of a volume: vm-100-disk-0 becomes base-100-disk-0 (subvol- becomes
// basevol-), in its own directory on file storages.
func baseName(volid string) string {
	sid, name, _ := strings.Cut(volid, ":")
	dir, leaf := "", name
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		dir, leaf = name[:i+1], name[i+1:]
	}
	switch {
	case strings.HasPrefix(leaf, "vm-"):
		leaf = "base-" + strings.TrimPrefix(leaf, "vm-")
	case strings.HasPrefix(leaf, "subvol-"):
		leaf = "basevol-" + strings.TrimPrefix(leaf, "subvol-")
	}
	return sid + ":" + dir + leaf
}

// isBaseVolume reports a base image (not a linked clone of one: those carry the base as a prefix).
func isBaseVolume(volid string) bool {
	_, name, _ := strings.Cut(volid, ":")
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		if strings.HasPrefix(name, "base-") || strings.HasPrefix(name, "basevol-") {
			return false // "base-9000-disk-0/vm-120-disk-0" is a linked clone
		}
		name = name[i+1:]
	}
	return strings.HasPrefix(name, "base-") || strings.HasPrefix(name, "basevol-")
}

// makeBase renames a guest's disks to base volumes and marks it a template. Caller holds s.mu.
func (s *Sim) makeBase(g *Guest, only string) error {
	for _, d := range g.Disks() {
		if only != "" && d.Key != only {
			continue
		}
		if d.Media == "cdrom" || strings.HasPrefix(d.Key, "unused") || strings.Contains(d.VolID, "-cloudinit") || isBaseVolume(d.VolID) {
			continue
		}
		si, v := s.st.findVolume(g.Node, d.VolID)
		if v == nil || si == nil {
			continue
		}
		if si.Cfg.Type == "lvm" {
			return fmt.Errorf("can't create base images in lvm storage")
		}
		nv := baseName(d.VolID)
		v.VolID = nv
		g.Conf.Set(d.Key, strings.Replace(g.Conf.Get(d.Key), d.VolID, nv, 1))
	}
	g.Conf.Set("template", "1")
	return nil
}

func (s *Sim) hQemuTemplate(c *reqCtx) (any, error) {
	g, err := s.loadGuest(c, "qemu")
	if err != nil {
		return nil, err
	}
	disk := c.Str("disk")
	if disk == "" || !g.Template() {
		if err := templateChecks(g); err != nil {
			return nil, err
		}
	} else if g.IsRunning() {
		return nil, err500("you can't convert a VM to template if VM is running")
	}
	if disk != "" && !g.Conf.Has(disk) {
		return nil, err500("no such disk '%s'", disk)
	}
	node, vmid := c.Node, g.VMID
	// qemu-server writes template: 1 before it forks the worker.
	g.Conf.Set("template", "1")
	return s.tasks.start(node, "qmtemplate", strconv.Itoa(vmid), c.User(), func(w *worker) error {
		if err := w.Sleep(durTemplate); err != nil {
			return err
		}
		return s.stateErr(func() error {
			g := s.guestOn(node, "qemu", vmid)
			if g == nil {
				return fmt.Errorf("%s", confMissing(node, "qemu", vmid))
			}
			return s.makeBase(g, disk)
		})
	}), nil
}

// hLxcTemplate answers null although it forks a vztemplate worker (the schema's "returns": null): a client
// finds the task in the node's task list.
func (s *Sim) hLxcTemplate(c *reqCtx) (any, error) {
	g, err := s.loadGuest(c, "lxc")
	if err != nil {
		return nil, err
	}
	if err := templateChecks(g); err != nil {
		return nil, err
	}
	for _, d := range g.Disks() {
		if cfg := s.st.storageCfg(d.Storage); cfg != nil && (cfg.Type == "dir" || cfg.Type == "nfs" || cfg.Type == "cifs") {
			return nil, err500("Directory storage '%s' does not support container templates!", d.Storage)
		}
	}
	node, vmid := c.Node, g.VMID
	s.tasks.start(node, "vztemplate", strconv.Itoa(vmid), c.User(), func(w *worker) error {
		if err := w.Sleep(durTemplate); err != nil {
			return err
		}
		return s.stateErr(func() error {
			g := s.guestOn(node, "lxc", vmid)
			if g == nil {
				return fmt.Errorf("%s", confMissing(node, "lxc", vmid))
			}
			return s.makeBase(g, "")
		})
	})
	return nil, nil
}

// baseInUse is volume_is_base_and_used: a linked clone ("base-9000-disk-0/vm-120-disk-0") still uses the
// base volume. Caller holds s.mu.
func (s *Sim) baseInUse(g *Guest) string {
	for _, d := range g.Disks() {
		if !isBaseVolume(d.VolID) {
			continue
		}
		prefix := d.VolID + "/"
		for _, si := range s.storagesSeenFrom(g.Node) {
			for _, v := range si.Volumes {
				if strings.HasPrefix(v.VolID, prefix) && v.VMID != g.VMID {
					return fmt.Sprintf("base volume '%s' is still in use by linked cloned", d.VolID)
				}
			}
		}
	}
	return ""
}

// ---- lxc clone ----

func (s *Sim) hLxcClone(c *reqCtx) (any, error) {
	node, vmid, newid := c.Node, c.Int("vmid"), c.Int("newid")
	pool, storage, target := c.Str("pool"), c.Str("storage"), c.Str("target")
	if target == node || target == "localhost" {
		target = ""
	}
	if err := s.allocatePermClone(c, newid, pool); err != nil {
		return nil, err
	}
	if err := s.poolExists(pool); err != nil {
		return nil, err
	}
	if msg := s.vmidTaken(newid); msg != "" {
		return nil, err500("unable to create CT %d - %s", newid, msg)
	}
	if target != "" && s.st.node(target) == nil {
		return nil, err500("no such cluster node '%s'", target)
	}
	src, err := s.loadGuest(c, "lxc")
	if err != nil {
		return nil, err
	}
	full, err := cloneMode(c, src, storage)
	if err != nil {
		return nil, err
	}
	if storage != "" {
		if _, err := s.storageFor(node, storage, "rootdir"); err != nil {
			return nil, err500("%s", err.Error())
		}
		if cfg := s.st.storageCfg(storage); target != "" && !cfg.Shared {
			return nil, err500("can't clone to non-shared storage '%s'", storage)
		}
	}
	type ctDisk struct {
		key, vol   string
		spec       diskSpec
		size, used int64
		storage    string
	}
	var disks []ctDisk
	shared := true
	for _, k := range lxcVolumeOrder(src.Conf.m) {
		if k != "rootfs" && !strings.HasPrefix(k, "mp") {
			continue
		}
		d := parseDiskSpec(src.Conf.Get(k))
		sid, _, ok := strings.Cut(d.vol, ":")
		if !ok {
			typ := "bind"
			if strings.HasPrefix(d.vol, "/dev/") {
				typ = "device"
			}
			return nil, err500("unable to clone mountpoint '%s' (type %s)", k, typ)
		}
		if storage != "" && full {
			sid = storage
		}
		if cfg := s.st.storageCfg(sid); cfg == nil || !cfg.Shared {
			shared = false
		}
		if full && src.IsRunning() && c.Str("snapname") == "" {
			return nil, err500("Cannot do full clones on a running container without snapshots")
		}
		if !full && !isBaseVolume(d.vol) {
			return nil, err500("Linked clone feature for '%s' is not available", d.vol)
		}
		dst := sid
		if err := c.Check("/storage/"+dst, "Datastore.AllocateSpace"); err != nil {
			return nil, err
		}
		ref := parseDiskRef(k, src.Conf.Get(k))
		size, used := ref.Size, ref.Size/2
		if _, v := s.st.findVolume(node, d.vol); v != nil {
			size, used = v.Size, v.Used
		}
		disks = append(disks, ctDisk{key: k, vol: d.vol, spec: d, size: size, used: used, storage: dst})
		if !full {
			disks[len(disks)-1].storage, _, _ = strings.Cut(d.vol, ":")
		}
	}
	if target != "" && !shared {
		return nil, err500("can't clone CT to node '%s' (CT uses local storage)", target)
	}
	if err := s.bridgeAccess(c, src.Conf.m); err != nil {
		return nil, err
	}
	srcConf := src.Conf.Clone()
	// The source keeps a "disk" lock while its volumes are copied.
	src.Lock = "disk"
	unlockSrc := func() {
		s.withState(func() {
			if g := s.guestOn(node, "lxc", vmid); g != nil && g.Lock == "disk" {
				g.Lock = ""
			}
		})
	}
	s.newGuest(newid, "lxc", node, "create")
	hostname, desc := c.Str("hostname"), c.Str("description")
	dur := durCloneLinked
	if full {
		dur = durCloneFull
	}
	return s.tasks.start(node, "vzclone", strconv.Itoa(vmid), c.User(), func(w *worker) error {
		conf := newConf()
		for _, k := range srcConf.Keys() {
			switch {
			case k == "template" || k == "parent" || k == "snaptime" || unusedKeyRe.MatchString(k):
			case netKeyRe.MatchString(k):
				// hwaddr is regenerated for the clone.
				m := parsePropString(srcConf.Get(k))
				delete(m, "hwaddr")
				name := m["name"]
				delete(m, "name")
				nv, _ := s.lxcNet(newid, k, "name="+name+","+propString(m), 0)
				conf.Set(k, nv)
			default:
				conf.Set(k, srcConf.Get(k))
			}
		}
		if hostname != "" {
			conf.Set("hostname", hostname)
		}
		if desc != "" {
			conf.Set("description", desc)
		}
		defer unlockSrc()
		var created []string
		cleanup := func() { s.withState(func() { s.dropGuest(newid, created) }) }
		for _, d := range disks {
			var volid string
			err := s.stateErr(func() error {
				if full {
					w.Log("create full clone of mountpoint %s (%s)", d.key, d.vol)
					si, err := s.storageFor(node, d.storage, "rootdir")
					if err != nil {
						return err
					}
					volid, err = s.allocDisk(w, si, newid, "lxc", d.size, d.used)
					return err
				}
				w.Log("create linked clone of mount point %s (%s)", d.key, d.vol)
				si := s.st.storageOn(node, d.storage)
				if si == nil {
					return fmt.Errorf("storage '%s' is not available on node '%s'", d.storage, node)
				}
				name := s.st.nextDiskName(si, newid, "lxc")
				_, leaf, _ := strings.Cut(name, ":")
				volid = d.vol + "/" + leaf
				s.st.addVolume(si, &Volume{VolID: volid, VMID: newid, Size: d.size, Used: 1 << 20, Format: "subvol", Content: "rootdir", Ctime: s.now().Unix()})
				return nil
			})
			if err != nil {
				cleanup()
				return fmt.Errorf("clone failed: %s", err)
			}
			created = append(created, volid)
			conf.Set(d.key, d.spec.withSize(volid, d.size))
			if err := w.Sleep(dur / time.Duration(max(len(disks), 1))); err != nil {
				cleanup()
				return err
			}
		}
		s.finishClone(node, "lxc", newid, target, pool, conf, nil)
		return nil
	}), nil
}
