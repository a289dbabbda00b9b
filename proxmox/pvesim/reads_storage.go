package pvesim

import (
	"math"
	"sort"
	"strings"
)

func init() { routeSetups = append(routeSetups, (*Sim).registerStorageReads) }

func (s *Sim) registerStorageReads() {
	storPerm := permAny("/storage/{storage}", "Datastore.Audit", "Datastore.AllocateSpace")
	s.route("GET", "/nodes/{node}/storage", permNone(), []param{pNode(), pStr("content").opt().fmt("pve-storage-content-list"),
		pBool("enabled").opt().def("0"), pBool("format").opt().def("0"), pStorage().opt(), pStr("target").opt().fmt("pve-node")}, s.getStorageList)
	s.route("GET", "/storage", permNone(), []param{pStr("type").opt().enum("btrfs", "cephfs", "cifs", "dir", "esxi", "iscsi", "iscsidirect",
		"lvm", "lvmthin", "nfs", "pbs", "rbd", "zfs", "zfspool")}, s.getStorageConfigs)
	s.route("GET", "/storage/{storage}", permPath("/storage/{storage}", "Datastore.Allocate"), []param{pStorage()}, s.getStorageConfig)
	s.route("GET", "/nodes/{node}/storage/{storage}", storPerm, []param{pNode(), pStorage()}, s.getStorageIndex)
	s.route("GET", "/nodes/{node}/storage/{storage}/status", storPerm, []param{pNode(), pStorage()}, s.getStorageStatus)
	s.route("GET", "/nodes/{node}/storage/{storage}/rrddata", storPerm, []param{pNode(), pStorage(), pTimeframe, pStr("cf").opt().enum("AVERAGE", "MAX")}, s.getStorageRRD)
	s.route("GET", "/nodes/{node}/storage/{storage}/content", storPerm, []param{pNode(), pStorage(), pStr("content").opt().fmt("pve-storage-content"), pVMID().opt()}, s.getStorageContent)
}

func (s *Sim) storageEntry(si *StorageInst, node string) map[string]any {
	now := s.now()
	cfg := si.Cfg
	e := map[string]any{"storage": cfg.ID, "type": cfg.Type, "content": cfg.contentString(), "shared": b2i(cfg.Shared),
		"enabled": b2i(!cfg.Disabled), "active": 1}
	if s.storageDown(si, node) || s.nodeOffline(node) {
		e["active"], e["total"], e["used"], e["avail"] = 0, 0, 0, 0
		return e
	}
	total, used := s.instTotal(si, now), s.instUsedAt(si, now)
	avail := total - used
	if avail < 0 {
		avail = 0
	}
	e["total"], e["used"], e["avail"] = total, used, avail
	if total > 0 {
		e["used_fraction"] = math.Round(float64(used)/float64(total)*1e6) / 1e6
	}
	return e
}

func (s *Sim) getStorageList(c *reqCtx) (any, error) {
	out := []map[string]any{}
	var want []string
	if ct := c.Str("content"); ct != "" {
		want = strings.Split(ct, ",")
	}
	for _, cfg := range s.st.Storages {
		if id := c.Str("storage"); id != "" && id != cfg.ID {
			continue
		}
		si := s.st.storageOn(c.Node, cfg.ID)
		if si == nil {
			continue
		}
		if t := c.Str("target"); t != "" && t != c.Node && s.st.storageOn(t, cfg.ID) == nil {
			continue
		}
		if !(c.Can("/storage/"+cfg.ID, "Datastore.Audit") || c.Can("/storage/"+cfg.ID, "Datastore.AllocateSpace")) {
			continue
		}
		if len(want) > 0 {
			ok := false
			for _, w := range want {
				if contains(cfg.Content, w) {
					ok = true
				}
			}
			if !ok {
				continue
			}
		}
		if c.Bool("enabled") && cfg.Disabled {
			continue
		}
		e := s.storageEntry(si, c.Node)
		if c.Bool("format") {
			if cfg.Type == "zfspool" {
				e["format"] = []any{map[string]any{"raw": 1, "subvol": 1}, "raw"}
				e["formats"] = map[string]any{"supported": []string{"raw", "subvol"}, "default": "raw"}
			} else {
				e["format"] = []any{map[string]any{"raw": 1, "qcow2": 1, "vmdk": 1}, "qcow2"}
				e["formats"] = map[string]any{"supported": []string{"raw", "qcow2", "vmdk"}, "default": "qcow2"}
			}
		}
		out = append(out, e)
	}
	return out, nil
}

func (s *Sim) storageOnPath(c *reqCtx) (*StorageInst, error) {
	if s.st.storageCfg(c.Str("storage")) == nil {
		return nil, err500("storage '%s' does not exist", c.Str("storage"))
	}
	si := s.st.storageOn(c.Node, c.Str("storage"))
	if si == nil {
		return nil, errParam1("storage", "No such storage.")
	}
	return si, nil
}

func (s *Sim) getStorageIndex(c *reqCtx) (any, error) {
	if _, err := s.storageOnPath(c); err != nil {
		return nil, err
	}
	var out []map[string]any
	for _, n := range []string{"content", "download-url", "file-restore", "import-metadata", "prunebackups", "rrd", "rrddata", "status", "upload"} {
		out = append(out, map[string]any{"subdir": n})
	}
	return out, nil
}

func (s *Sim) getStorageStatus(c *reqCtx) (any, error) {
	si, err := s.storageOnPath(c)
	if err != nil {
		return nil, err
	}
	e := s.storageEntry(si, c.Node)
	delete(e, "storage")
	return e, nil
}

func (s *Sim) getStorageRRD(c *reqCtx) (any, error) {
	si, err := s.storageOnPath(c)
	if err != nil {
		return nil, err
	}
	return s.storageRRD(si, c.Str("timeframe"), c.Str("cf")), nil
}

func (s *Sim) getStorageContent(c *reqCtx) (any, error) {
	si, err := s.storageOnPath(c)
	if err != nil {
		return nil, err
	}
	now := s.now().Unix()
	vols := append([]*Volume(nil), si.Volumes...)
	sort.Slice(vols, func(i, j int) bool { return vols[i].VolID < vols[j].VolID })
	out := []map[string]any{}
	for _, v := range vols {
		if v.Ctime > now {
			continue
		}
		if ct := c.Str("content"); ct != "" && ct != v.Content {
			continue
		}
		if c.Has("vmid") && v.VMID != c.Int("vmid") {
			continue
		}
		if v.VMID > 0 && !c.Can(vmPath(v.VMID), "VM.Audit") && !c.Can("/storage/"+si.Cfg.ID, "Datastore.Allocate") {
			continue
		}
		e := map[string]any{"volid": v.VolID, "content": v.Content, "format": v.Format, "size": v.Size, "ctime": v.Ctime}
		if v.VMID > 0 {
			e["vmid"] = v.VMID
		}
		switch v.Content {
		case "images", "rootdir":
			e["used"] = v.Used
		case "backup":
			if v.Notes != "" {
				e["notes"] = v.Notes
			}
			if strings.Contains(v.VolID, "-qemu-") {
				e["subtype"] = "qemu"
			} else {
				e["subtype"] = "lxc"
			}
			e["protected"] = b2i(v.Protected)
		}
		out = append(out, e)
	}
	return out, nil
}

func vmPath(vmid int) string { return "/vms/" + itoa(vmid) }

// storageConfigJSON is a storage.cfg section as GET /storage shows it.
func (s *Sim) storageConfigJSON(c *StorageCfg) map[string]any {
	e := map[string]any{"storage": c.ID, "type": c.Type, "content": c.contentString(), "digest": s.storageDigest()}
	if c.Shared && (c.Type == "dir" || c.Type == "lvm") {
		e["shared"] = 1
	}
	if len(c.Nodes) > 0 {
		e["nodes"] = strings.Join(c.Nodes, ",")
	}
	if c.Disabled {
		e["disable"] = 1
	}
	switch c.Type {
	case "zfspool":
		e["pool"] = c.Pool
		e["sparse"] = 1
	case "dir":
		e["path"] = c.Path
	case "nfs", "cifs":
		e["path"], e["server"], e["export"] = c.Path, c.Server, c.Export
	case "lvmthin":
		e["vgname"], e["thinpool"] = "pve", "data"
	}
	if c.Prune != "" {
		e["prune-backups"] = c.Prune
	}
	return e
}

func (s *Sim) storageDigest() string {
	var b strings.Builder
	for _, c := range s.st.Storages {
		b.WriteString(c.Type + ": " + c.ID + "\n\tcontent " + c.contentString() + "\n")
	}
	return sha1hex(b.String())
}

func (s *Sim) getStorageConfigs(c *reqCtx) (any, error) {
	out := []map[string]any{}
	for _, cfg := range s.st.Storages {
		if t := c.Str("type"); t != "" && t != cfg.Type {
			continue
		}
		if !(c.Can("/storage/"+cfg.ID, "Datastore.Audit") || c.Can("/storage/"+cfg.ID, "Datastore.AllocateSpace")) {
			continue
		}
		out = append(out, s.storageConfigJSON(cfg))
	}
	return out, nil
}

func (s *Sim) getStorageConfig(c *reqCtx) (any, error) {
	cfg := s.st.storageCfg(c.Str("storage"))
	if cfg == nil {
		return nil, err500("storage '%s' does not exist", c.Str("storage"))
	}
	return s.storageConfigJSON(cfg), nil
}
