package pvesim

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Guest creation: POST /nodes/{node}/qemu (qmcreate), POST /nodes/{node}/lxc (vzcreate) and
// POST /nodes/{node}/qemu/{vmid}/clone (qmclone), following Qemu.pm create_vm/clone_vm and LXC.pm create_vm.

func init() { routeSetups = append(routeSetups, (*Sim).registerCreateRoutes) }

const (
	durCreate      = 4 * time.Second
	durCreateCT    = 6 * time.Second
	durCloneFull   = 5 * time.Second
	durCloneLinked = 2 * time.Second
	// qemuVersion is what meta: creation-qemu records.
	qemuVersion9 = "10.0.2"
	qemuVersion8 = "9.2.0"
)

func (s *Sim) registerCreateRoutes() {
	// Permissions are checked inside, as the "user => 'all'" of the schema says.
	s.route("POST", "/nodes/{node}/qemu", permNone(), qemuCreateParams(), s.hQemuCreate)
	s.route("POST", "/nodes/{node}/lxc", permNone(), lxcCreateParams(), s.hLxcCreate)
	s.route("POST", "/nodes/{node}/qemu/{vmid}/clone", permPath("/vms/{vmid}", "VM.Clone"), qemuCloneParams(), s.hQemuClone)
}

// vmidTaken is check_vmid_unused: "VM 100 already exists on node 'x'" (the type of the existing guest).
func (s *Sim) vmidTaken(vmid int) string {
	if g := s.st.guest(vmid); g != nil {
		return fmt.Sprintf("%s %d already exists on node '%s'", kindWord(g.Type), vmid, g.Node)
	}
	return ""
}

// allocatePerm is the VM.Allocate check of create: on /vms/{vmid} or on the pool; otherwise a bare
// "Permission check failed" (raise_perm_exc without argument).
func (s *Sim) allocatePerm(c *reqCtx, vmid int, pool string) error {
	if c.Can(fmt.Sprintf("/vms/%d", vmid), "VM.Allocate") || (pool != "" && c.Can("/pool/"+pool, "VM.Allocate")) {
		return nil
	}
	return errStatus(403, "Permission check failed")
}

func (s *Sim) poolExists(pool string) error {
	if pool == "" {
		return nil
	}
	for _, p := range s.st.Pools {
		if p.ID == pool {
			return nil
		}
	}
	return err500("pool '%s' does not exist", pool)
}

// addToPool is add_vm_to_pool. Caller holds s.mu.
func (s *Sim) addToPool(g *Guest, pool string) {
	for _, p := range s.st.Pools {
		if p.ID == pool {
			p.VMs = append(p.VMs, g.VMID)
			g.Pool = pool
			return
		}
	}
}

// newGuest registers the config a create writes at once: empty but for "lock: create". Caller holds s.mu.
func (s *Sim) newGuest(vmid int, typ, node, lock string) *Guest {
	g := &Guest{VMID: vmid, Type: typ, Node: node, Status: "stopped", Conf: newConf(), Lock: lock,
		Prof: newGuestProfile(vmid), Created: s.now()}
	s.st.addGuest(g)
	return g
}

// dropGuest undoes a failed create: its volumes and its config. Caller holds s.mu.
func (s *Sim) dropGuest(vmid int, volids []string) {
	for _, v := range volids {
		s.st.removeVolume(v)
	}
	s.st.removeGuest(vmid)
}

// ---- qemu create ----

// bootOrder is get_default_bootdevices: the first disk, the first CD-ROM, the first NIC.
func bootOrder(c *Conf) string {
	var disk, cd, nic string
	prefixes := []string{"ide", "scsi", "virtio", "sata"}
	max := map[string]int{"ide": 4, "scsi": 31, "virtio": 16, "sata": 6}
	for _, p := range prefixes {
		for i := 0; i < max[p]; i++ {
			k := p + strconv.Itoa(i)
			v := c.Get(k)
			if v == "" {
				continue
			}
			if isCdromValue(k, v) {
				if cd == "" {
					cd = k
				}
			} else if disk == "" {
				disk = k
			}
		}
	}
	for i := 0; i < 32; i++ {
		if c.Has("net" + strconv.Itoa(i)) {
			nic = "net" + strconv.Itoa(i)
			break
		}
	}
	var order []string
	for _, d := range []string{disk, cd, nic} {
		if d != "" {
			order = append(order, d)
		}
	}
	if len(order) == 0 {
		return ""
	}
	return "order=" + strings.Join(order, ";")
}

func (s *Sim) hQemuCreate(c *reqCtx) (any, error) {
	if err := checkDNSName(c, "name"); err != nil {
		return nil, err
	}
	vmid, node := c.Int("vmid"), c.Node
	pool := c.Str("pool")
	if c.Has("archive") {
		return s.hQemuRestore(c)
	}
	if err := s.poolExists(pool); err != nil {
		return nil, err
	}
	if c.Bool("ha-managed") {
		if err := c.Check("/", "Sys.Console"); err != nil {
			return nil, err
		}
	}
	if c.Bool("start") {
		if err := s.vmPerm(c, vmid, pool, "VM.PowerMgmt"); err != nil {
			return nil, err
		}
	}
	if err := s.allocatePerm(c, vmid, pool); err != nil {
		return nil, err
	}
	set := map[string]string{}
	for k, v := range c.Params {
		if qemuCreateNoConf[k] {
			continue
		}
		if k == "cdrom" {
			k, v = "ide2", v+",media=cdrom"
		}
		set[k] = v
	}
	// check_storage_access: every new disk needs space on an enabled storage with images content;
	// referenced volumes (ISO images, existing disks) must exist.
	defStorage := c.Str("storage")
	for _, k := range sortedKeys(set) {
		if !qemuDriveRe.MatchString(k) {
			continue
		}
		d := parseDiskSpec(set[k])
		if d.vol == "none" || d.vol == "cdrom" {
			continue
		}
		sid, isNew := driveRequest(set[k], defStorage)
		if !isNew {
			if s.volumeOn(node, d.vol) == nil {
				if vsid, _, ok := strings.Cut(d.vol, ":"); ok && s.st.storageCfg(vsid) == nil {
					return nil, err500("storage '%s' does not exist", vsid)
				}
				return nil, err500("volume '%s' does not exist", d.vol)
			}
			continue
		}
		if sid == "" {
			return nil, err500("no storage ID specified (and no default storage)")
		}
		if _, err := s.storageFor(node, sid, "images"); err != nil {
			return nil, err500("%s", err.Error())
		}
		if d.opt("import-from") != "" && newDiskRe.MatchString(d.vol) && !strings.HasSuffix(d.vol, ":0") {
			return nil, errParam1(k, "'import-from' requires special syntax - use <storage ID>:0,import-from=<source>")
		}
		if !strings.Contains(d.vol, ":") {
			set[k] = strings.Join(append([]string{sid + ":" + d.vol}, d.opts...), ",")
		}
	}
	if err := s.newDiskPerms(c, set); err != nil {
		return nil, err
	}
	if err := s.qemuKeyPerms(c, vmid, pool, sortedKeys(set), set); err != nil {
		return nil, err
	}
	if err := s.bridgeAccess(c, set); err != nil {
		return nil, err
	}
	for _, k := range sortedKeys(set) {
		if netKeyRe.MatchString(k) {
			nv, err := s.qemuNet(vmid, k, set[k], 0)
			if err != nil {
				return nil, errParam1(k, err.Error())
			}
			set[k] = nv
		}
	}
	if msg := s.vmidTaken(vmid); msg != "" {
		return nil, err500("unable to create VM %d - %s", vmid, msg)
	}
	s.newGuest(vmid, "qemu", node, "create")
	user := c.User()
	start, haManaged := c.Bool("start"), c.Bool("ha-managed")
	return s.tasks.start(node, "qmcreate", strconv.Itoa(vmid), user, func(w *worker) error {
		if err := w.Sleep(durCreate / 4); err != nil {
			s.withState(func() { s.dropGuest(vmid, nil) })
			return err
		}
		err := s.stateErr(func() error {
			g := s.guestOn(node, "qemu", vmid)
			if g == nil {
				return fmt.Errorf("unable to create VM %d - %s", vmid, confMissing(node, "qemu", vmid))
			}
			conf := newConf()
			var created []string
			// Disks are created in drive-name order (ide, scsi, virtio, sata, efidisk0, tpmstate0), which
			// decides their volume numbers.
			for _, k := range qemuDiskNames() {
				v, ok := set[k]
				if !ok {
					continue
				}
				if _, isNew := driveRequest(v, ""); isNew {
					drive, volid, err := s.createDrive(w, node, vmid, k, v, "")
					if err != nil {
						s.dropGuest(vmid, created)
						return fmt.Errorf("unable to create VM %d - %s", vmid, err)
					}
					created = append(created, volid)
					v = drive
				}
				conf.Set(k, v)
			}
			for _, k := range sortedKeys(set) {
				if conf.Has(k) {
					continue
				}
				v := set[k]
				if k == "tags" {
					v = normTags(v)
				}
				conf.Set(k, v)
			}
			qv := qemuVersion9
			if s.ver < 9 {
				qv = qemuVersion8
			}
			conf.Set("meta", fmt.Sprintf("creation-qemu=%s,ctime=%d", qv, s.now().Unix()))
			if !conf.Has("boot") {
				if b := bootOrder(conf); b != "" {
					conf.Set("boot", b)
				}
			}
			if !conf.Has("smbios1") {
				conf.Set("smbios1", "uuid="+s.newUUID("smbios1", vmid, s.now().UnixNano()))
			}
			if v := conf.Get("vmgenid"); (v == "" || v == "1") && conf.Get("arch") != "aarch64" {
				conf.Set("vmgenid", s.newUUID("vmgenid", vmid, s.now().UnixNano()))
			}
			g.Conf = conf
			if pool != "" {
				s.addToPool(g, pool)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := w.Sleep(durCreate * 3 / 4); err != nil {
			s.withState(func() {
				if g := s.guestOn(node, "qemu", vmid); g != nil {
					s.dropGuest(vmid, diskVolids(g))
				}
			})
			return err
		}
		s.withState(func() {
			if g := s.guestOn(node, "qemu", vmid); g != nil {
				g.Lock = ""
			}
		})
		return s.afterCreate(w, node, "qemu", vmid, user, start, haManaged)
	}), nil
}

// diskVolids lists the volumes a guest's disks use (no CD-ROMs). Caller holds s.mu.
func diskVolids(g *Guest) []string {
	var out []string
	for _, d := range g.Disks() {
		if d.Media != "cdrom" && d.VolID != "" && d.VolID != "none" {
			out = append(out, d.VolID)
		}
	}
	return out
}

// afterCreate adds the guest to HA and starts it when asked, as the end of both create workers does.
func (s *Sim) afterCreate(w *worker, node, typ string, vmid int, user string, start, haManaged bool) error {
	kind := "vm"
	if typ == "lxc" {
		kind = "ct"
	}
	if haManaged {
		w.Log("Add as HA resource")
		state := "stopped"
		if start {
			state = "started"
		}
		s.withState(func() {
			if s.st.haResource(fmt.Sprintf("%s:%d", kind, vmid)) == nil {
				s.st.HAResources = append(s.st.HAResources, &HAResource{SID: fmt.Sprintf("%s:%d", kind, vmid), Type: kind, State: state, MaxRestart: 1, MaxRelocate: 1, Failback: true})
			}
		})
		if start {
			s.tasks.after(durHALRM, func() { s.haApply(fmt.Sprintf("%s:%d", kind, vmid), false) })
		}
		return nil
	}
	if !start {
		return nil
	}
	if typ == "qemu" {
		w.Log("Execute autostart")
	}
	var upid string
	s.withState(func() { upid = s.powerTask(node, typ, vmid, "start", user, powerOpts{}) })
	if err := s.tasks.wait(w.ctx, upid); err != nil {
		return errInterrupted
	}
	if v, ok := s.tasks.get(upid); ok && v.Status != "OK" && typ == "lxc" {
		return fmt.Errorf("%s", v.Status)
	}
	return nil
}

// ---- lxc create ----

// plainSizeRe is a mount point given as a bare size in GiB, allocated on the default storage.
var plainSizeRe = regexp.MustCompile(`^\d+(\.\d+)?$`)

var ostypeByTemplate = []struct{ prefix, ostype string }{
	{"debian", "debian"}, {"ubuntu", "ubuntu"}, {"alpine", "alpine"}, {"archlinux", "archlinux"},
	{"centos", "centos"}, {"rockylinux", "centos"}, {"almalinux", "centos"}, {"fedora", "fedora"},
	{"opensuse", "opensuse"}, {"gentoo", "gentoo"}, {"devuan", "devuan"}, {"nixos", "nixos"},
}

func templateOSType(volid string) string {
	_, name, _ := strings.Cut(volid, "vztmpl/")
	for _, o := range ostypeByTemplate {
		if strings.HasPrefix(name, o.prefix) {
			return o.ostype
		}
	}
	return "unmanaged"
}

func (s *Sim) hLxcCreate(c *reqCtx) (any, error) {
	if err := checkDNSName(c, "hostname"); err != nil {
		return nil, err
	}
	vmid, node := c.Int("vmid"), c.Node
	pool := c.Str("pool")
	if c.Bool("restore") {
		return s.hLxcRestore(c)
	}
	storage := c.Str("storage")
	if storage == "" {
		storage = "local"
	}
	unprivileged := !c.Has("unprivileged") || c.Bool("unprivileged")
	if !unprivileged {
		if err := c.Check("/", "Sys.Modify"); err != nil {
			return nil, err
		}
	}
	if c.Bool("ha-managed") {
		if err := c.Check("/", "Sys.Console"); err != nil {
			return nil, err
		}
	}
	if msg := s.vmidTaken(vmid); msg != "" && !c.Bool("force") {
		return nil, err500("unable to create CT %d - %s", vmid, msg)
	}
	if err := s.poolExists(pool); err != nil {
		return nil, err
	}
	if err := s.allocatePerm(c, vmid, pool); err != nil {
		return nil, err
	}
	set := map[string]string{}
	skip := setOf("node", "vmid", "ostemplate", "password", "ssh-public-keys", "storage", "pool", "start", "force",
		"restore", "unique", "ignore-unpack-errors", "bwlimit", "ha-managed", "unprivileged", "lock")
	for k, v := range c.Params {
		if skip[k] || unusedKeyRe.MatchString(k) {
			continue
		}
		if (k == "rootfs" || strings.HasPrefix(k, "mp")) && plainSizeRe.MatchString(v) {
			v = storage + ":" + v
		}
		set[k] = v
	}
	if _, ok := set["rootfs"]; !ok {
		for k := range set {
			if strings.HasPrefix(k, "mp") {
				return nil, err500("mount points configured, but 'rootfs' not set - aborting")
			}
		}
		set["rootfs"] = storage + ":4"
	}
	if err := s.lxcKeyPerms(c, vmid, pool, sortedKeys(set), set, unprivileged); err != nil {
		return nil, err
	}
	for _, k := range sortedKeys(set) {
		if k != "rootfs" && !strings.HasPrefix(k, "mp") {
			continue
		}
		d := parseDiskSpec(set[k])
		m := newDiskRe.FindStringSubmatch(d.vol)
		if m == nil {
			if c.User() != "root@pam" && strings.HasPrefix(d.vol, "/") {
				return nil, err500("Only root can pass arbitrary filesystem paths.")
			}
			continue
		}
		if _, err := s.storageFor(node, m[2], "rootdir"); err != nil {
			if strings.Contains(err.Error(), "container directories") {
				return nil, errParam1("storage", err.Error())
			}
			return nil, err500("%s", err.Error())
		}
		if err := c.Check("/storage/"+m[2], "Datastore.AllocateSpace"); err != nil {
			return nil, err
		}
	}
	tmpl := c.Str("ostemplate")
	if tsid, _, ok := strings.Cut(tmpl, ":"); ok {
		if err := c.Check("/storage/"+tsid, "Datastore.AllocateSpace", "Datastore.Audit"); err != nil {
			return nil, err
		}
	}
	if err := s.bridgeAccess(c, set); err != nil {
		return nil, err
	}
	for _, k := range sortedKeys(set) {
		if netKeyRe.MatchString(k) {
			nv, err := s.lxcNet(vmid, k, set[k], 0)
			if err != nil {
				return nil, errParam1(k, err.Error())
			}
			set[k] = nv
		}
	}
	if msg := s.vmidTaken(vmid); msg != "" {
		return nil, err500("unable to create CT %d - %s", vmid, msg)
	}
	s.newGuest(vmid, "lxc", node, "create")
	user := c.User()
	start, haManaged := c.Bool("start"), c.Bool("ha-managed")
	fail := func(created []string, err error) error {
		s.dropGuest(vmid, created)
		return fmt.Errorf("unable to create CT %d - %s", vmid, err)
	}
	return s.tasks.start(node, "vzcreate", strconv.Itoa(vmid), user, func(w *worker) error {
		var tmplPath string
		var tmplSize int64
		err := s.stateErr(func() error {
			if s.guestOn(node, "lxc", vmid) == nil {
				return fmt.Errorf("unable to create CT %d - %s", vmid, confMissing(node, "lxc", vmid))
			}
			tv := s.volumeOn(node, tmpl)
			tsid, _, _ := strings.Cut(tmpl, ":")
			tsi := s.st.storageOn(node, tsid)
			if tv == nil || tv.Content != "vztmpl" {
				return fail(nil, fmt.Errorf("volume '%s' does not exist", tmpl))
			}
			_, name, _ := strings.Cut(tmpl, "vztmpl/")
			tmplPath = storagePath(tsi.Cfg) + "/template/cache/" + name
			tmplSize = tv.Size
			var created []string
			conf := newConf()
			for _, k := range lxcVolumeOrder(set) {
				v := set[k]
				if k == "rootfs" || strings.HasPrefix(k, "mp") {
					d := parseDiskSpec(v)
					if m := newDiskRe.FindStringSubmatch(d.vol); m != nil {
						si, err := s.storageFor(node, m[2], "rootdir")
						if err != nil {
							return fail(created, err)
						}
						gib, _ := strconv.ParseFloat(m[3], 64)
						size := int64(gib * (1 << 30))
						use := int64(0)
						if k == "rootfs" {
							use = tv.Size * 4 // unpacked size of a compressed template
						}
						volid, err := s.allocDisk(w, si, vmid, "lxc", size, use)
						if err != nil {
							return fail(created, err)
						}
						created = append(created, volid)
						v = d.withSize(volid, size)
					}
				}
				if k == "tags" {
					v = normTags(v)
				}
				conf.Set(k, v)
			}
			conf.Set("arch", "amd64")
			if !conf.Has("ostype") {
				conf.Set("ostype", templateOSType(tmpl))
			}
			if !conf.Has("hostname") {
				conf.Set("hostname", fmt.Sprintf("CT%d", vmid))
			}
			if !conf.Has("memory") {
				conf.Set("memory", "512")
			}
			if !conf.Has("swap") {
				conf.Set("swap", "512")
			}
			if unprivileged {
				conf.Set("unprivileged", "1")
			}
			s.guestOn(node, "lxc", vmid).Conf = conf
			return nil
		})
		if err != nil {
			return err
		}
		w.Log("extracting archive '%s'", tmplPath)
		if err := w.Sleep(durCreateCT / 2); err != nil {
			s.withState(func() {
				if g := s.guestOn(node, "lxc", vmid); g != nil {
					s.dropGuest(vmid, diskVolids(g))
				}
			})
			return err
		}
		unpacked := tmplSize * 4
		w.Log("Total bytes read: %d (%dMiB, %dMiB/s)", unpacked, unpacked>>20, (unpacked>>20)/3+1)
		w.Log("Detected container architecture: amd64")
		var host string
		s.withState(func() {
			if g := s.guestOn(node, "lxc", vmid); g != nil {
				host = g.Conf.Get("hostname")
			}
		})
		for i, kt := range []string{"rsa", "ecdsa", "ed25519"} {
			w.Log("Creating SSH host key 'ssh_host_%s_key' - this may take some time ...", kt)
			w.Log("done: SHA256:%s root@%s", fingerprintFor(s.seed, vmid, i), host)
		}
		if err := w.Sleep(durCreateCT / 2); err != nil {
			s.withState(func() {
				if g := s.guestOn(node, "lxc", vmid); g != nil {
					s.dropGuest(vmid, diskVolids(g))
				}
			})
			return err
		}
		s.withState(func() {
			if g := s.guestOn(node, "lxc", vmid); g != nil {
				g.Lock = ""
				if pool != "" {
					s.addToPool(g, pool)
				}
			}
		})
		return s.afterCreate(w, node, "lxc", vmid, user, start, haManaged)
	}), nil
}

// volumeOn finds a volume on the instance of its storage that node sees, nil elsewhere. Caller holds s.mu.
func (s *Sim) volumeOn(node, volid string) *Volume {
	sid, _, _ := strings.Cut(volid, ":")
	si := s.st.storageOn(node, sid)
	if si == nil {
		return nil
	}
	for _, v := range si.Volumes {
		if v.VolID == volid {
			return v
		}
	}
	return nil
}

// lxcVolumeOrder lists a CT config's keys with rootfs and the mount points first, in mount order, as
// foreach_volume walks them (it decides the volume numbers).
func lxcVolumeOrder(set map[string]string) []string {
	var out []string
	if _, ok := set["rootfs"]; ok {
		out = append(out, "rootfs")
	}
	for _, k := range lxcDiskNames()[1:] {
		if _, ok := set[k]; ok {
			out = append(out, k)
		}
	}
	for _, k := range sortedKeys(set) {
		if k != "rootfs" && !strings.HasPrefix(k, "mp") {
			out = append(out, k)
		}
	}
	return out
}

// fingerprintFor is a stable base64-looking SSH key fingerprint for log lines.
func fingerprintFor(seed int64, vmid, i int) string {
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	var sb strings.Builder
	for n := 0; n < 43; n++ {
		sb.WriteByte(b64[hash64(seed, fmt.Sprintf("sshkey/%d/%d", vmid, i), int64(n))%64])
	}
	return sb.String()
}

// ---- qemu clone ----

func (s *Sim) hQemuClone(c *reqCtx) (any, error) {
	if err := checkDNSName(c, "name"); err != nil {
		return nil, err
	}
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
	if target != "" && s.st.node(target) == nil {
		return nil, err500("no such cluster node '%s'", target)
	}
	src, err := s.loadGuest(c, "qemu")
	if err != nil {
		return nil, err
	}
	if storage != "" {
		cfg := s.st.storageCfg(storage)
		if cfg == nil {
			return nil, err500("storage '%s' does not exist", storage)
		}
		if _, err := s.storageFor(node, storage, "images"); err != nil {
			if strings.Contains(err.Error(), "vm images") {
				return nil, errParam1("storage", err.Error())
			}
			return nil, err500("%s", err.Error())
		}
		if target != "" {
			if s.st.storageOn(target, storage) == nil {
				return nil, err500("storage '%s' is not available on node '%s'", storage, target)
			}
			if !cfg.Shared {
				return nil, err500("can't clone to non-shared storage '%s'", storage)
			}
		}
	}
	full, err := cloneMode(c, src, storage)
	if err != nil {
		return nil, err
	}
	if c.Has("format") && !full {
		return nil, err500("parameter 'format' not allowed for linked clones")
	}
	// Disk access: full clones need space on the target storage, linked clones on the source's.
	shared := true
	type cloneDisk struct {
		key, vol string
		spec     diskSpec
		size     int64
		used     int64 // what a full copy writes on the target
		storage  string
	}
	var disks []cloneDisk
	for _, k := range src.Conf.Keys() {
		if !qemuDriveRe.MatchString(k) {
			continue
		}
		v := src.Conf.Get(k)
		d := parseDiskSpec(v)
		cloudinit := strings.Contains(d.vol, "-cloudinit")
		if isCdromValue(k, v) && !cloudinit {
			continue
		}
		sid, _, _ := strings.Cut(d.vol, ":")
		if cfg := s.st.storageCfg(sid); cfg == nil || !cfg.Shared {
			shared = false
		}
		dst := sid
		if full && storage != "" {
			dst = storage
		}
		if err := c.Check("/storage/"+dst, "Datastore.AllocateSpace"); err != nil && c.User() != "root@pam" {
			return nil, err
		}
		_, vol := s.st.findVolume(node, d.vol)
		size := parseDiskRef(k, v).Size
		used := int64(0)
		if vol != nil {
			size, used = vol.Size, vol.Used
		}
		if !full && !src.Template() && !cloudinit {
			return nil, err500("Linked clone feature is not supported for '%s' (%s)", d.vol, k)
		}
		disks = append(disks, cloneDisk{key: k, vol: d.vol, spec: d, size: size, used: used, storage: dst})
	}
	if err := s.bridgeAccess(c, src.Conf.m); err != nil {
		return nil, err
	}
	if target != "" && !shared {
		return nil, err500("can't clone VM to node '%s' (VM uses local storage)", target)
	}
	if g := s.guestOn(node, "qemu", newid); g != nil {
		return nil, err500("unable to create VM %d: config file already exists", newid)
	}
	if msg := s.vmidTaken(newid); msg != "" {
		return nil, err500("unable to create VM %d - %s", newid, msg)
	}
	srcConf := src.Conf.Clone()
	srcName := src.Name()
	// The clone boots the same disk image: the same guest agent, and the same network setup inside.
	srcAgent := *src
	s.newGuest(newid, "qemu", node, "clone")
	name, desc := c.Str("name"), c.Str("description")
	dur := durCloneLinked
	if full {
		dur = durCloneFull
	}
	return s.tasks.start(node, "qmclone", strconv.Itoa(vmid), c.User(), func(w *worker) error {
		w.Log("creating a clone of VM %d with ID %d", vmid, newid)
		conf := newConf()
		for _, k := range srcConf.Keys() {
			switch {
			case k == "template" || k == "parent" || k == "snaptime" || k == "vmstate" || unusedKeyRe.MatchString(k):
			case netKeyRe.MatchString(k):
				// Clones always get new MAC addresses.
				o := parseDiskSpec(srcConf.Get(k))
				model, _, _ := strings.Cut(o.vol, "=")
				nv, _ := s.qemuNet(newid, k, strings.Join(append([]string{model}, o.opts...), ","), 0)
				conf.Set(k, nv)
			default:
				conf.Set(k, srcConf.Get(k))
			}
		}
		conf.Set("smbios1", "uuid="+s.newUUID("smbios1", newid, s.now().UnixNano()))
		if conf.Has("vmgenid") {
			conf.Set("vmgenid", s.newUUID("vmgenid", newid, s.now().UnixNano()))
		}
		if name != "" {
			conf.Set("name", name)
		} else {
			conf.Set("name", "Copy-of-VM-"+srcName)
		}
		if desc != "" {
			conf.Set("description", desc)
		}
		var created []string
		cleanup := func() {
			s.withState(func() { s.dropGuest(newid, created) })
		}
		for _, d := range disks {
			cloudinit := strings.Contains(d.vol, "-cloudinit")
			var volid string
			err := s.stateErr(func() error {
				if full || cloudinit {
					w.Log("create full clone of drive %s (%s)", d.key, d.vol)
					si, err := s.storageFor(node, d.storage, "images")
					if err != nil {
						return err
					}
					if cloudinit {
						volid = fmt.Sprintf("%s:vm-%d-cloudinit", d.storage, newid)
						s.st.addVolume(si, &Volume{VolID: volid, VMID: newid, Size: d.size, Used: d.size, Format: "raw", Content: "images", Ctime: s.now().Unix()})
						return nil
					}
					volid, err = s.allocDisk(w, si, newid, "qemu", d.size, d.used)
					return err
				}
				w.Log("create linked clone of drive %s (%s)", d.key, d.vol)
				si := s.st.storageOn(node, d.storage)
				if si == nil {
					return fmt.Errorf("storage '%s' is not available on node '%s'", d.storage, node)
				}
				base := strings.TrimPrefix(d.vol, d.storage+":")
				name := s.st.nextDiskName(si, newid, "qemu")
				_, leaf, _ := strings.Cut(name, ":")
				// A linked clone names its base: "base-9000-disk-0/vm-120-disk-0".
				volid = fmt.Sprintf("%s:%s/%s", d.storage, base, leaf)
				s.st.addVolume(si, &Volume{VolID: volid, VMID: newid, Size: d.size, Used: 1 << 20, Format: "raw", Content: "images", Ctime: s.now().Unix()})
				return nil
			})
			if err != nil {
				cleanup()
				return fmt.Errorf("clone failed: %s", err)
			}
			created = append(created, volid)
			if full && !cloudinit {
				for _, pct := range []int{0, 25, 50, 75, 100} {
					done := d.size / 100 * int64(pct)
					w.Log("transferred %s of %s (%d.00%%)", humanBytes(done), humanBytes(d.size), pct)
					if pct < 100 {
						if err := w.Sleep(dur / 5); err != nil {
							cleanup()
							return err
						}
					}
				}
			}
			conf.Set(d.key, d.spec.withSize(volid, d.size))
		}
		if !full {
			if err := w.Sleep(dur); err != nil {
				cleanup()
				return err
			}
		}
		s.finishClone(node, "qemu", newid, target, pool, conf, func(g *Guest) {
			g.AgentRunning, g.AgentHung, g.AgentOS, g.Exec = srcAgent.AgentRunning, srcAgent.AgentHung, srcAgent.AgentOS, srcAgent.Exec
			for i, nic := range srcAgent.NICs {
				// The MAC inside follows the clone's new one; addresses are what the image configures.
				if m := parseDiskSpec(conf.Get(fmt.Sprintf("net%d", i))); strings.Contains(m.vol, "=") {
					_, mac, _ := strings.Cut(m.vol, "=")
					nic.MAC = strings.ToLower(mac)
				}
				g.NICs = append(g.NICs, nic)
			}
		})
		return nil
	}), nil
}

// finishClone gives a cloned guest its config on the node it ends on (the
// target of a migrating clone), unlocks it and adds it to its pool; more, if
// not nil, runs on it in the same state change.
func (s *Sim) finishClone(node, typ string, newid int, target, pool string, conf *Conf, more func(g *Guest)) {
	dest := node
	if target != "" {
		dest = target
	}
	s.withState(func() {
		g := s.guestOn(node, typ, newid)
		if g == nil {
			return
		}
		g.Conf, g.Lock, g.Node = conf, "", dest
		if pool != "" {
			s.addToPool(g, pool)
		}
		if more != nil {
			more(g)
		}
	})
}

// allocatePermClone is clone_vm's check: VM.Allocate on /vms/{newid}, or on the pool when one is given.
func (s *Sim) allocatePermClone(c *reqCtx, newid int, pool string) error {
	if c.Can(fmt.Sprintf("/vms/%d", newid), "VM.Allocate") {
		return nil
	}
	if pool != "" {
		if c.Can("/pool/"+pool, "VM.Allocate") {
			return nil
		}
		return errPerm("/pool/"+pool, "VM.Allocate")
	}
	return errPerm(fmt.Sprintf("/vms/%d", newid), "VM.Allocate")
}

// humanBytes renders sizes as qemu-server's render_bytes does ("32.0 GiB").
func humanBytes(b int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	f := float64(b)
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %s", f, units[i])
}

// cloneMode checks what qemu-server and pve-container check of a clone's
// source before anything else (its lock, the snapshot named) and says whether
// the clone is full: a template clones linked unless told otherwise, any
// other guest only fully; a target storage is refused for a linked clone.
func cloneMode(c *reqCtx, src *Guest, storage string) (full bool, err error) {
	if m := lockMsg(src); m != "" {
		return false, err500("%s", m)
	}
	if sn := c.Str("snapname"); sn != "" {
		found := false
		for _, snap := range src.Snapshots {
			found = found || snap.Name == sn
		}
		if !found {
			return false, err500("snapshot '%s' does not exist", sn)
		}
	}
	full = !src.Template()
	if c.Has("full") {
		full = c.Bool("full")
	}
	if storage != "" && !full {
		return false, err500("parameter 'storage' not allowed for linked clones")
	}
	return full, nil
}
