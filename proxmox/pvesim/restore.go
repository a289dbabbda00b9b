package pvesim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Restores of vzdump archives: POST /nodes/{node}/qemu with archive (qmrestore) and POST /nodes/{node}/lxc
// with ostemplate=<archive> and restore=1 (vzrestore). The guest's config comes from the archive, its disks
// are allocated anew (on the storage asked, else where they were) and filled; force replaces an existing,
// stopped guest of the same type, whose disks are destroyed first. The guest stays locked ("create")
// while the task runs.

const durRestore = 5 * time.Second

// restoreArchive checks the archive of a restore: a backup volume of the right guest type that node sees,
// readable by the caller. Caller holds s.mu.
func (s *Sim) restoreArchive(c *reqCtx, typ, archive string, emsg string) (*StorageInst, *Volume, error) {
	sid, _, ok := strings.Cut(archive, ":")
	if !ok {
		return nil, nil, err500("%s unable to parse volume ID '%s'", emsg, archive)
	}
	if s.st.storageCfg(sid) == nil {
		return nil, nil, err500("storage '%s' does not exist", sid)
	}
	si := s.st.storageOn(c.Node, sid)
	var v *Volume
	if si != nil {
		for _, x := range si.Volumes {
			if x.VolID == archive && x.Ctime <= s.now().Unix() {
				v = x
			}
		}
	}
	if v == nil || v.Content != "backup" {
		return nil, nil, err500("%s volume '%s' does not exist", emsg, archive)
	}
	kind := "qemu"
	if strings.Contains(archive, "vzdump-lxc-") {
		kind = "lxc"
	}
	if kind != typ {
		what := "a VM"
		if typ == "lxc" {
			what = "a container"
		}
		return nil, nil, err500("%s archive '%s' is not %s backup", emsg, archive, what)
	}
	if err := s.volumeAccess(c, si, v); err != nil {
		return nil, nil, err
	}
	return si, v, nil
}

// restoreOver checks an existing guest a forced restore replaces. Caller holds s.mu.
func (s *Sim) restoreOver(node, typ string, vmid int, force bool, emsg string) (*Guest, error) {
	g := s.st.guest(vmid)
	if g == nil {
		return nil, nil
	}
	if !force || g.Type != typ || g.Node != node {
		return nil, err500("%s %s", emsg, s.vmidTaken(vmid))
	}
	if g.Conf.Get("protection") == "1" {
		return nil, err500("%s protection mode enabled", emsg)
	}
	if g.Lock != "" {
		return nil, err500("%s %s", emsg, lockMsg(g))
	}
	if g.IsRunning() {
		if typ == "lxc" {
			return nil, err500("%s CT is running", emsg)
		}
		return nil, err500("%s vm is running", emsg)
	}
	return g, nil
}

func (s *Sim) hQemuRestore(c *reqCtx) (any, error) {
	vmid, node := c.Int("vmid"), c.Node
	emsg := fmt.Sprintf("unable to restore VM %d -", vmid)
	if err := s.poolExists(c.Str("pool")); err != nil {
		return nil, err
	}
	if err := s.allocatePerm(c, vmid, c.Str("pool")); err != nil {
		return nil, err
	}
	if st := c.Str("storage"); st != "" {
		if _, err := s.storageFor(node, st, "images"); err != nil {
			return nil, err500("%s", err.Error())
		}
		if err := c.Check("/storage/"+st, "Datastore.AllocateSpace"); err != nil {
			return nil, err
		}
	}
	_, arch, err := s.restoreArchive(c, "qemu", c.Str("archive"), emsg)
	if err != nil {
		return nil, err
	}
	if c.Bool("start") {
		if err := s.vmPerm(c, vmid, c.Str("pool"), "VM.PowerMgmt"); err != nil {
			return nil, err
		}
	}
	old, err := s.restoreOver(node, "qemu", vmid, c.Bool("force"), emsg)
	if err != nil {
		return nil, err
	}
	return s.startRestore(c, "qemu", vmid, old, arch), nil
}

func (s *Sim) hLxcRestore(c *reqCtx) (any, error) {
	vmid, node := c.Int("vmid"), c.Node
	emsg := fmt.Sprintf("unable to restore CT %d -", vmid)
	if err := s.poolExists(c.Str("pool")); err != nil {
		return nil, err
	}
	if err := s.allocatePerm(c, vmid, c.Str("pool")); err != nil {
		return nil, err
	}
	if st := c.Str("storage"); st != "" {
		if _, err := s.storageFor(node, st, "rootdir"); err != nil {
			return nil, errParam1("storage", err.Error())
		}
		if err := c.Check("/storage/"+st, "Datastore.AllocateSpace"); err != nil {
			return nil, err
		}
	}
	_, arch, err := s.restoreArchive(c, "lxc", c.Str("ostemplate"), emsg)
	if err != nil {
		return nil, err
	}
	old, err := s.restoreOver(node, "lxc", vmid, c.Bool("force"), emsg)
	if err != nil {
		return nil, err
	}
	return s.startRestore(c, "lxc", vmid, old, arch), nil
}

// startRestore locks or registers the guest and starts the restore worker. Caller holds s.mu.
func (s *Sim) startRestore(c *reqCtx, typ string, vmid int, old *Guest, arch *Volume) string {
	node, user := c.Node, c.User()
	target, unique, start, pool := c.Str("storage"), c.Bool("unique"), c.Bool("start"), c.Str("pool")
	archive := arch.VolID
	archived := arch.Archived
	if archived == nil {
		archived = newConf()
	}
	archived = archived.Clone()
	if old != nil {
		old.Lock = "create"
	} else {
		s.newGuest(vmid, typ, node, "create")
	}
	ttype, kind := "qmrestore", "VM"
	if typ == "lxc" {
		ttype, kind = "vzrestore", "CT"
	}
	emsg := fmt.Sprintf("unable to restore %s %d -", kind, vmid)
	overrides := map[string]string{}
	for k, v := range c.Params {
		switch k {
		case "name", "hostname", "cores", "memory", "description", "onboot", "tags":
			overrides[k] = v
		}
	}
	return s.tasks.start(node, ttype, strconv.Itoa(vmid), user, func(w *worker) error {
		var created []string
		fail := func(err error) error {
			s.withState(func() {
				for _, v := range created {
					s.st.removeVolume(v)
				}
				if g := s.guestOn(node, typ, vmid); g != nil {
					if old != nil {
						g.Lock = "" // its disks are gone: Proxmox leaves the config behind too
					} else {
						s.st.removeGuest(vmid)
					}
				}
			})
			return fmt.Errorf("%s %v", emsg, err)
		}
		var dumpPath string
		err := s.stateErr(func() error {
			g := s.guestOn(node, typ, vmid)
			if g == nil {
				return fmt.Errorf("%s", confMissing(node, typ, vmid))
			}
			si, v := s.st.findVolume(node, archive)
			if v == nil {
				return fmt.Errorf("volume '%s' does not exist", archive)
			}
			dumpPath = volumePath(si, v)
			if old != nil {
				// A forced restore destroys the current disks first.
				for _, d := range g.Disks() {
					if vsi, vv := s.st.findVolume(node, d.VolID); vv != nil && vv.VMID == vmid {
						w.Log("destroying old disk '%s'", d.VolID)
						s.logFree(w, vsi, vv)
						s.st.removeVolume(d.VolID)
					}
				}
			}
			return nil
		})
		if err != nil {
			return fail(err)
		}
		if typ == "qemu" {
			w.Log("restore vma archive: zstd -q -d -c %s | vma extract -v -r /var/tmp/vzdumptmp%d.fifo - /var/tmp/vzdumptmp%d", dumpPath, 1000+vmid%9000, 1000+vmid%9000)
			w.Log("CFG: size: %d name: qemu-server.conf", len(archived.Text()))
		} else {
			w.Log("recovering backed-up configuration from '%s'", archive)
			w.Log("restoring '%s' now..", archive)
		}
		conf := archived.Clone()
		err = s.stateErr(func() error {
			disks := (&Guest{Type: typ, Conf: archived}).Disks()
			for _, d := range disks {
				if d.Media == "cdrom" || strings.HasPrefix(d.Key, "unused") || d.VolID == "" || d.VolID == "none" || strings.Contains(d.VolID, "cloudinit") {
					continue
				}
				sid := target
				if sid == "" {
					sid = d.Storage
				}
				content := "images"
				if typ == "lxc" {
					content = "rootdir"
				}
				si, err := s.storageFor(node, sid, content)
				if err != nil {
					return err
				}
				use := d.Size / 2
				if _, ov := s.st.findVolume(node, d.VolID); ov != nil && ov.Used > 0 {
					use = ov.Used
				}
				if typ == "qemu" {
					w.Log("DEV: dev_id=%d size: %d devname: drive-%s", len(created)+1, d.Size, d.Key)
				}
				volid, err := s.allocDisk(w, si, vmid, typ, d.Size, use)
				if err != nil {
					return err
				}
				created = append(created, volid)
				if typ == "qemu" {
					w.Log("new volume ID is '%s'", volid)
				}
				// The drive keeps its options; only the volume changes.
				val := archived.Get(d.Key)
				if i := strings.Index(val, ","); i >= 0 {
					val = volid + val[i:]
				} else {
					val = volid
				}
				conf.Set(d.Key, val)
			}
			return nil
		})
		if err != nil {
			return fail(err)
		}
		if err := w.Sleep(durRestore); err != nil {
			return fail(err)
		}
		if typ == "qemu" {
			w.Log("progress 100%% (read %d bytes, duration %ds)", arch.Size, int(durRestore.Seconds()))
			w.Log("rescan volumes...")
		} else {
			w.Log("extracting archive '%s'", dumpPath)
			w.Log("Total bytes read: %d (%.1fGiB)", arch.Size*2, float64(arch.Size*2)/(1<<30))
			w.Log("merging backed-up and given configuration..")
		}
		s.withState(func() {
			g := s.guestOn(node, typ, vmid)
			if g == nil {
				return
			}
			for k, v := range overrides {
				conf.Set(k, v)
			}
			salt := s.now().UnixNano()
			for _, k := range conf.Keys() {
				if !netKeyRe.MatchString(k) {
					continue
				}
				if unique {
					v := conf.Get(k)
					if typ == "qemu" {
						// Drop the archived MAC; qemuNet generates a new one.
						parts := strings.Split(v, ",")
						if m, _, ok := strings.Cut(parts[0], "="); ok {
							parts[0] = m
						}
						if nv, err := s.qemuNet(vmid, k, strings.Join(parts, ","), salt); err == nil {
							conf.Set(k, nv)
						}
					} else {
						var keep []string
						for _, p := range strings.Split(v, ",") {
							if !strings.HasPrefix(p, "hwaddr=") {
								keep = append(keep, p)
							}
						}
						if nv, err := s.lxcNet(vmid, k, strings.Join(keep, ","), salt); err == nil {
							conf.Set(k, nv)
						}
					}
				}
			}
			if unique && typ == "qemu" {
				conf.Set("vmgenid", s.newUUID("vmgenid", vmid, salt))
				conf.Set("smbios1", "uuid="+s.newUUID("smbios1", vmid, salt))
			}
			g.Conf = conf
			g.Snapshots, g.Pending, g.PendingDel = nil, nil, nil
			g.setSnapParent("")
			g.Lock = ""
			g.Status = "stopped"
			if pool != "" && g.Pool == "" {
				s.addToPool(g, pool)
			}
		})
		return s.afterCreate(w, node, typ, vmid, user, start, false)
	})
}
