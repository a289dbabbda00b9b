package pvesim

import (
	"fmt"
	"strings"
)

// One volume of a storage: GET/PUT/DELETE /nodes/{node}/storage/{storage}/content/{volume}
// (pve-storage API2/Storage/Content.pm). The volume is a full volid or a name relative to the storage;
// its "/" may arrive escaped or not (routeRest).

func init() { routeSetups = append(routeSetups, (*Sim).registerVolumeRoutes) }

func (s *Sim) registerVolumeRoutes() {
	base := "/nodes/{node}/storage/{storage}/content/{volume}"
	vol := func(extra ...param) []param {
		return append([]param{pNode(), pStorage().opt(), pStr("volume")}, extra...)
	}
	s.routeRest("GET", base, permNone(), vol(), s.hVolumeGet)
	s.routeRest("PUT", base, permNone(), vol(pStr("notes").opt(), pBool("protected").opt()), s.hVolumePut)
	s.routeRest("DELETE", base, permNone(), vol(pInt("delay").opt().min(1).max(30)), s.hVolumeDelete)
}

// volumeOnPath is real_volume_id plus the lookup on the node's instance of the storage.
func (s *Sim) volumeOnPath(c *reqCtx) (*StorageInst, *Volume, error) {
	volume, storage := c.Str("volume"), c.Str("storage")
	volid := volume
	if sid, _, ok := strings.Cut(volume, ":"); ok {
		if storage != "" && sid != storage {
			return nil, nil, errParam1("volume", fmt.Sprintf("storage ID mismatch ('%s' != '%s')", sid, storage))
		}
		storage = sid
	} else {
		if storage == "" {
			return nil, nil, errParam1("volume", "no storage specified")
		}
		volid = storage + ":" + volume
	}
	if s.st.storageCfg(storage) == nil {
		return nil, nil, err500("storage '%s' does not exist", storage)
	}
	si := s.st.storageOn(c.Node, storage)
	if si == nil {
		return nil, nil, err500("storage '%s' is not available on node '%s'", storage, c.Node)
	}
	for _, v := range si.Volumes {
		if v.VolID == volid && v.Ctime <= s.now().Unix() {
			return si, v, nil
		}
	}
	return si, nil, err500("volume '%s' does not exist", volid)
}

// volumeAccess is PVE::Storage::check_volume_access: Datastore.Allocate on the storage, or for a backup
// Datastore.AllocateSpace with VM.Backup on its guest, for ISO images and templates
// Datastore.AllocateSpace or Datastore.Audit, for a guest's disks VM.Config.Disk on the guest.
func (s *Sim) volumeAccess(c *reqCtx, si *StorageInst, v *Volume) error {
	sp := "/storage/" + si.Cfg.ID
	if c.Can(sp, "Datastore.Allocate") {
		return nil
	}
	switch v.Content {
	case "backup":
		if v.VMID > 0 {
			if err := c.Check(sp, "Datastore.AllocateSpace"); err != nil {
				return err
			}
			return c.Check(vmPath(v.VMID), "VM.Backup")
		}
	case "iso", "vztmpl", "import", "snippets":
		if c.Can(sp, "Datastore.AllocateSpace") || c.Can(sp, "Datastore.Audit") {
			return nil
		}
		return errPerm(sp, "Datastore.AllocateSpace", "Datastore.Audit")
	case "images", "rootdir":
		if v.VMID > 0 && c.Can(sp, "Datastore.AllocateSpace") {
			return c.Check(vmPath(v.VMID), "VM.Config.Disk")
		}
	}
	return errPerm(sp, "Datastore.Allocate")
}

// volumePath is the file or device path of a volume.
func volumePath(si *StorageInst, v *Volume) string {
	_, name, _ := strings.Cut(v.VolID, ":")
	cfg := si.Cfg
	switch cfg.Type {
	case "zfspool":
		return "/dev/zvol/" + cfg.Pool + "/" + name
	case "lvm", "lvmthin":
		return "/dev/pve/" + name
	}
	dir := strings.TrimSuffix(storagePath(cfg), "/")
	switch v.Content {
	case "backup":
		return dir + "/dump/" + strings.TrimPrefix(name, "backup/")
	case "iso":
		return dir + "/template/iso/" + strings.TrimPrefix(name, "iso/")
	case "vztmpl":
		return dir + "/template/cache/" + strings.TrimPrefix(name, "vztmpl/")
	}
	return dir + "/images/" + name
}

func (s *Sim) hVolumeGet(c *reqCtx) (any, error) {
	si, v, err := s.volumeOnPath(c)
	if err != nil {
		return nil, err
	}
	if err := s.volumeAccess(c, si, v); err != nil {
		return nil, err
	}
	out := map[string]any{"path": volumePath(si, v), "size": v.Size, "used": v.Used, "format": v.Format}
	if v.Content == "backup" {
		out["protected"] = b2i(v.Protected)
		if v.Notes != "" {
			out["notes"] = v.Notes
		}
	}
	return out, nil
}

func (s *Sim) hVolumePut(c *reqCtx) (any, error) {
	si, v, err := s.volumeOnPath(c)
	if err != nil {
		return nil, err
	}
	if err := s.volumeAccess(c, si, v); err != nil {
		return nil, err
	}
	for _, attr := range []string{"notes", "protected"} {
		if c.Has(attr) && v.Content != "backup" {
			return nil, err500("only backups support attribute '%s'", attr)
		}
	}
	if c.Has("notes") {
		v.Notes = c.Str("notes")
	}
	if c.Has("protected") {
		v.Protected = c.Bool("protected")
	}
	return nil, nil
}

func (s *Sim) hVolumeDelete(c *reqCtx) (any, error) {
	si, v, err := s.volumeOnPath(c)
	if err != nil {
		return nil, err
	}
	if err := s.volumeAccess(c, si, v); err != nil {
		return nil, err
	}
	volid := v.VolID
	if v.Content == "images" || v.Content == "rootdir" {
		if g := s.st.guest(v.VMID); g != nil {
			for _, d := range g.Disks() {
				if d.VolID == volid {
					return nil, err500("unable to delete volume '%s' - volume is still in use by %s %d", volid, kindWord(g.Type), g.VMID)
				}
			}
		}
	}
	id := si.Cfg.ID
	if v.VMID > 0 {
		id = fmt.Sprintf("%d@%s", v.VMID, si.Cfg.ID)
	}
	path := volumePath(si, v)
	return s.tasks.start(c.Node, "imgdel", id, c.User(), func(w *worker) error {
		return s.stateErr(func() error {
			var cur *Volume
			for _, x := range si.Volumes {
				if x.VolID == volid {
					cur = x
				}
			}
			if cur == nil {
				return fmt.Errorf("volume '%s' does not exist", volid)
			}
			if cur.Protected {
				return fmt.Errorf("cannot remove protected archive '%s'", path)
			}
			for i, x := range si.Volumes {
				if x == cur {
					si.Volumes = append(si.Volumes[:i], si.Volumes[i+1:]...)
					break
				}
			}
			w.Log("Removed volume '%s'", volid)
			return nil
		})
	}), nil
}
