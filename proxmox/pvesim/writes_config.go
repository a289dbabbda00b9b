package pvesim

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Config updates (POST/PUT .../config), resize, and the disk, NIC and permission helpers shared with create
// and clone.

var (
	// newDiskRe is a "STORAGE:SIZE_GiB" allocation request (qemu-server's NEW_DISK_RE).
	newDiskRe   = regexp.MustCompile(`^(([^/:\s]+):)?(\d+(\.\d+)?)$`)
	qemuDriveRe = regexp.MustCompile(`^(ide|scsi|virtio|sata)\d+$|^(efidisk0|tpmstate0)$`)
	netKeyRe    = regexp.MustCompile(`^net\d+$`)
	unusedKeyRe = regexp.MustCompile(`^unused\d+$`)
	numaKeyRe   = regexp.MustCompile(`^numa\d+$`)
	ipconfKeyRe = regexp.MustCompile(`^ipconfig\d+$`)
	skipPermRe  = regexp.MustCompile(`^(?:unused|serial|usb|hostpci|virtiofs)\d+$`)
	macRe       = regexp.MustCompile(`^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$`)
	// dnsNameRe is pve_verify_dns_name: the format of VM names and CT hostnames.
	dnsNameRe = regexp.MustCompile(`^(([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)\.)*([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)$`)
	resizeRe  = regexp.MustCompile(`^\d+(\.\d+)?[KMGT]?$`)
)

// Option groups of Qemu.pm's check_vm_modify_config_perm.
var (
	qemuCPUOpts      = setOf("cores", "cpu", "runningcpu", "cpulimit", "cpuunits", "numa", "smp", "sockets", "vcpus")
	qemuMemOpts      = setOf("memory", "balloon", "shares", "allow-ksm")
	qemuHWOpts       = setOf("acpi", "hotplug", "kvm", "machine", "runningmachine", "scsihw", "smbios1", "tablet", "vga", "watchdog", "audio0", "rng0")
	qemuGeneralOpts  = setOf("agent", "autostart", "bios", "description", "keyboard", "localtime", "migrate_downtime", "migrate_speed", "name", "onboot", "ostype", "protection", "reboot", "startdate", "startup", "tdf", "template")
	qemuDiskOpts     = setOf("boot", "bootdisk", "vmstatestorage")
	qemuCloudOpts    = setOf("cicustom", "cipassword", "citype", "ciuser", "ciupgrade", "nameserver", "searchdomain", "sshkeys")
	qemuNonConfOpts  = setOf("node", "vmid", "digest", "delete", "revert", "skiplock", "force", "background_delay", "skip_cloud_init", "import-working-storage")
	lxcNonConfOpts   = setOf("node", "vmid", "digest", "delete", "revert")
	qemuCreateNoConf = setOf("node", "vmid", "start", "storage", "pool", "force", "unique", "archive", "ha-managed", "live-restore", "import-working-storage", "bwlimit", "lock")
)

func setOf(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// checkDNSName validates a dns-name formatted parameter with JSONSchema.pm's message (the route's param
// spec carries only the type, like the schema).
func checkDNSName(c *reqCtx, key string) error {
	if v, ok := c.Params[key]; ok && !dnsNameRe.MatchString(v) {
		return errParam1(key, "invalid format - value does not look like a valid DNS name\n")
	}
	return nil
}

// vmPerm is check_vm_perm: the privilege on /vms/{vmid}, or on the guest's pool.
func (s *Sim) vmPerm(c *reqCtx, vmid int, pool string, privs ...string) error {
	path := fmt.Sprintf("/vms/%d", vmid)
	for _, p := range privs {
		if c.Can(path, p) || (pool != "" && c.Can("/pool/"+pool, p)) {
			return nil
		}
	}
	return errPerm(path, privs...)
}

// qemuKeyPerms is check_vm_modify_config_perm plus the drive checks of update_vm_api.
func (s *Sim) qemuKeyPerms(c *reqCtx, vmid int, pool string, keys []string, values map[string]string) error {
	if c.User() == "root@pam" {
		return nil
	}
	for _, k := range keys {
		var err error
		switch {
		case qemuDriveRe.MatchString(k) || k == "cdrom":
			if isCdromValue(k, values[k]) {
				err = s.vmPerm(c, vmid, pool, "VM.Config.CDROM")
			} else {
				err = s.vmPerm(c, vmid, pool, "VM.Config.Disk")
			}
		case unusedKeyRe.MatchString(k):
			err = s.vmPerm(c, vmid, pool, "VM.Config.Disk")
		case skipPermRe.MatchString(k) || k == "tags":
		case qemuCPUOpts[k] || numaKeyRe.MatchString(k):
			err = s.vmPerm(c, vmid, pool, "VM.Config.CPU")
		case qemuMemOpts[k]:
			err = s.vmPerm(c, vmid, pool, "VM.Config.Memory")
		case qemuHWOpts[k]:
			err = s.vmPerm(c, vmid, pool, "VM.Config.HWType")
		case qemuGeneralOpts[k]:
			err = s.vmPerm(c, vmid, pool, "VM.Config.Options")
			if err == nil && k == "startup" {
				err = c.Check("/", "Sys.Modify")
			}
		case k == "freeze":
			err = s.vmPerm(c, vmid, pool, "VM.PowerMgmt")
		case qemuDiskOpts[k]:
			err = s.vmPerm(c, vmid, pool, "VM.Config.Disk")
		case netKeyRe.MatchString(k):
			err = s.vmPerm(c, vmid, pool, "VM.Config.Network")
		case qemuCloudOpts[k] || ipconfKeyRe.MatchString(k):
			err = s.vmPerm(c, vmid, pool, "VM.Config.Cloudinit", "VM.Config.Network")
		default:
			err = err500("only root can set '%s' config", k)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// lxcKeyPerms is check_ct_modify_config_perm, simplified to the options a client sets.
func (s *Sim) lxcKeyPerms(c *reqCtx, vmid int, pool string, keys []string, values map[string]string, unprivileged bool) error {
	if c.User() == "root@pam" {
		return nil
	}
	for _, k := range keys {
		var err error
		switch {
		case k == "cores" || k == "cpuunits" || k == "cpulimit":
			err = s.vmPerm(c, vmid, pool, "VM.Config.CPU")
		case k == "rootfs" || strings.HasPrefix(k, "mp") || unusedKeyRe.MatchString(k):
			err = s.vmPerm(c, vmid, pool, "VM.Config.Disk")
			if v := parseDiskSpec(values[k]).vol; err == nil && strings.HasPrefix(v, "/") {
				typ := "bind"
				if strings.HasPrefix(v, "/dev/") {
					typ = "device"
				}
				err = errStatus(403, fmt.Sprintf("Permission check failed (mount point type %s is only allowed for root@pam)", typ))
			}
		case k == "memory" || k == "swap":
			err = s.vmPerm(c, vmid, pool, "VM.Config.Memory")
		case netKeyRe.MatchString(k) || k == "nameserver" || k == "searchdomain" || k == "hostname":
			err = s.vmPerm(c, vmid, pool, "VM.Config.Network")
		case strings.HasPrefix(k, "dev"):
			err = errStatus(403, "Permission check failed (configuring device passthrough is only allowed for root@pam)")
		case k == "features" && !unprivileged:
			err = errStatus(403, "Permission check failed (changing feature flags for privileged container is only allowed for root@pam)")
		case k == "lxc" || k == "hookscript":
			err = errStatus(403, "Permission check failed (user != root@pam)")
		default:
			err = s.vmPerm(c, vmid, pool, "VM.Config.Options")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// bridgeAccess is check_vnet_access for every NIC of a config: SDN.Use on the zone's bridge (or VLAN).
func (s *Sim) bridgeAccess(c *reqCtx, values map[string]string) error {
	if c.User() == "root@pam" {
		return nil
	}
	for _, k := range sortedKeys(values) {
		if !netKeyRe.MatchString(k) {
			continue
		}
		opts := propOpts(values[k])
		bridge := opts["bridge"]
		if bridge == "" {
			continue
		}
		path := "/sdn/zones/localnetwork/" + bridge
		if tag := opts["tag"]; tag != "" {
			path += "/" + tag
		}
		if err := c.Check(path, "SDN.Use"); err != nil {
			return err
		}
	}
	return nil
}

// sortedKeys returns m's keys in order, never nil.
func sortedKeys[V any](m map[string]V) []string {
	keys := slices.AppendSeq(make([]string, 0, len(m)), maps.Keys(m))
	slices.Sort(keys)
	return keys
}

// propOpts parses the key=value parts of a property string (the first, positional part is skipped
// unless it has a key).
func propOpts(v string) map[string]string {
	out := map[string]string{}
	for i, p := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(p, "=")
		if !ok {
			if i == 0 {
				out[""] = p
			}
			continue
		}
		out[k] = val
	}
	return out
}

// isCdromValue reports whether a drive value is a CD-ROM (media=cdrom, "cdrom" alias, "none").
func isCdromValue(key, v string) bool {
	if key == "cdrom" {
		return true
	}
	o := propOpts(v)
	return o["media"] == "cdrom"
}

// storageFor validates a storage for new disks on node: it exists, is enabled there and holds content.
// Caller holds s.mu.
func (s *Sim) storageFor(node, sid, content string) (*StorageInst, error) {
	cfg := s.st.storageCfg(sid)
	if cfg == nil {
		return nil, fmt.Errorf("storage '%s' does not exist", sid)
	}
	if cfg.Disabled {
		return nil, fmt.Errorf("storage '%s' is disabled", sid)
	}
	si := s.st.storageOn(node, sid)
	if si == nil {
		return nil, fmt.Errorf("storage '%s' is not available on node '%s'", sid, node)
	}
	if !contains(cfg.Content, content) {
		if content == "rootdir" {
			return nil, fmt.Errorf("storage '%s' does not support container directories", sid)
		}
		return nil, fmt.Errorf("storage '%s' does not support vm images", sid)
	}
	return si, nil
}

// storagePath is where a storage keeps its files (dir/nfs), for log lines.
func storagePath(cfg *StorageCfg) string {
	if cfg.Path != "" {
		return cfg.Path
	}
	if cfg.Type == "nfs" || cfg.Type == "cifs" {
		return "/mnt/pve/" + cfg.ID
	}
	return "/var/lib/vz"
}

func zfsPool(cfg *StorageCfg) string {
	if cfg.Pool != "" {
		return cfg.Pool
	}
	return "rpool/data"
}

// allocUsage is how much of a storage a new volume takes at once: thick zvols and LVs reserve their
// size, thin ones (qcow2, lvm-thin, sparse files) only metadata, a CT subvolume what gets written to it.
func allocUsage(cfg *StorageCfg, typ string, size int64) int64 {
	switch cfg.Type {
	case "zfspool":
		if typ == "lxc" {
			return 0
		}
		return size
	case "lvm":
		return size
	}
	u := size / 512
	if u < 1<<20 {
		u = 1 << 20
	}
	return u
}

// allocDisk creates a volume of size bytes for vmid on si, logging as the storage plugin's tools do.
// initialUse overrides what the volume occupies at once (CT root filesystems get the extracted
// template). Caller holds s.mu.
func (s *Sim) allocDisk(w *worker, si *StorageInst, vmid int, typ string, size, initialUse int64) (string, error) {
	cfg := si.Cfg
	volid := s.st.nextDiskName(si, vmid, typ)
	_, name, _ := strings.Cut(volid, ":")
	use := allocUsage(cfg, typ, size)
	if initialUse > use {
		use = initialUse
	}
	if use > s.freeOn(si) {
		switch cfg.Type {
		case "zfspool":
			return "", fmt.Errorf("zfs error: cannot create '%s/%s': out of space", zfsPool(cfg), name)
		case "lvm", "lvmthin":
			return "", fmt.Errorf("lvcreate 'pve/%s' error:   Volume group \"pve\" has insufficient free space (%d extents): %d required.", name, s.freeOn(si)>>22, use>>22)
		default:
			path := storagePath(cfg) + "/images/" + name
			return "", fmt.Errorf("unable to create image: qemu-img: %s: Could not create '%s': No space left on device", path, path)
		}
	}
	format := "raw"
	switch {
	case cfg.Type == "zfspool" && typ == "lxc":
		format = "subvol"
	case (cfg.Type == "dir" || cfg.Type == "nfs" || cfg.Type == "cifs") && typ == "qemu":
		format = "qcow2"
	}
	content := "images"
	if typ == "lxc" {
		content = "rootdir"
	}
	switch {
	case format == "qcow2":
		w.Log("Formatting '%s/images/%s', fmt=qcow2 cluster_size=65536 extended_l2=off preallocation=metadata compression_type=zlib size=%d lazy_refcounts=off refcount_bits=16", storagePath(cfg), name, size)
	case cfg.Type == "dir" || cfg.Type == "nfs" || cfg.Type == "cifs":
		w.Log("Formatting '%s/images/%s', fmt=raw size=%d preallocation=off", storagePath(cfg), name, size)
	case cfg.Type == "lvm" || cfg.Type == "lvmthin":
		w.Log("  Logical volume \"%s\" created.", name)
	}
	s.st.addVolume(si, &Volume{VolID: volid, VMID: vmid, Size: size, Used: use, Format: format, Content: content, Ctime: s.now().Unix()})
	return volid, nil
}

// nicMAC is a deterministic MAC in Proxmox's OUI BC:24:11 for a guest NIC.
func (s *Sim) nicMAC(vmid int, key string, salt int64) string {
	h := hash64(s.seed, fmt.Sprintf("mac/%d/%s", vmid, key), salt)
	return fmt.Sprintf("BC:24:11:%02X:%02X:%02X", byte(h>>16), byte(h>>8), byte(h))
}

// newUUID is a deterministic random-looking (version 4) UUID.
func (s *Sim) newUUID(what string, vmid int, salt int64) string {
	a, b := hash64(s.seed, what+"/"+strconv.Itoa(vmid), salt), hash64(s.seed, what+"/"+strconv.Itoa(vmid), salt+1)
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", uint32(a>>32), uint16(a>>16), uint16(a)&0xfff, (uint16(b>>48)&0x3fff)|0x8000, b&0xffffffffffff)
}

var qemuNICModels = setOf("e1000", "e1000-82540em", "e1000-82544gc", "e1000-82545em", "e1000e", "i82551", "i82557b", "i82559er", "ne2k_isa", "ne2k_pci", "pcnet", "rtl8139", "virtio", "vmxnet3")

// qemuNet normalises a netN value the way print_net writes it: "model=MAC" first, a MAC generated when
// none was given.
func (s *Sim) qemuNet(vmid int, key, v string, salt int64) (string, error) {
	parts := strings.Split(v, ",")
	model, mac := "", ""
	var rest []string
	for i, p := range parts {
		k, val, ok := strings.Cut(p, "=")
		switch {
		case !ok && i == 0:
			model = p
		case ok && k == "model":
			model = val
		case ok && k == "macaddr":
			mac = val
		case ok && qemuNICModels[k]:
			model, mac = k, val
		default:
			rest = append(rest, p)
		}
	}
	if !qemuNICModels[model] {
		return "", fmt.Errorf("invalid format - format error\n%s.model: value '%s' does not have a value in the enumeration 'e1000, e1000-82540em, e1000-82544gc, e1000-82545em, e1000e, i82551, i82557b, i82559er, ne2k_isa, ne2k_pci, pcnet, rtl8139, virtio, vmxnet3'\n", key, model)
	}
	if mac != "" && !macRe.MatchString(mac) {
		return "", fmt.Errorf("invalid format - format error\n%s.macaddr: value does not match the regex pattern\n", key)
	}
	if mac == "" {
		mac = s.nicMAC(vmid, key, salt)
	}
	return strings.Join(append([]string{model + "=" + strings.ToUpper(mac)}, rest...), ","), nil
}

// lxcNet normalises an LXC netN: name required, hwaddr generated, type=veth.
func (s *Sim) lxcNet(vmid int, key, v string, salt int64) (string, error) {
	o := map[string]string{}
	var order []string
	for _, p := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(p, "=")
		if !ok {
			k, val = "name", p
		}
		if _, seen := o[k]; !seen {
			order = append(order, k)
		}
		o[k] = val
	}
	if o["name"] == "" {
		return "", fmt.Errorf("invalid format - format error\n%s.name: property is missing and it is not optional\n", key)
	}
	if o["hwaddr"] == "" {
		o["hwaddr"] = s.nicMAC(vmid, key, salt)
		order = append(order, "hwaddr")
	}
	if o["type"] == "" {
		o["type"] = "veth"
		order = append(order, "type")
	}
	// print_lxc_network writes name first, then the rest sorted.
	sort.Strings(order)
	out := []string{"name=" + o["name"]}
	for _, k := range order {
		if k != "name" {
			out = append(out, k+"="+o[k])
		}
	}
	return strings.Join(out, ","), nil
}

// normTags is get_unique_tags: split on ; , or space, drop duplicates, sorted, joined with ';'.
func normTags(v string) string {
	seen := map[string]bool{}
	var out []string
	for _, t := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == ',' || r == ' ' }) {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ";")
}

// firstFreeUnused is the next unusedN key of a config.
func firstFreeUnused(c *Conf) string {
	for i := 0; ; i++ {
		k := fmt.Sprintf("unused%d", i)
		if !c.Has(k) {
			return k
		}
	}
}

// diskSpec is a drive value split into its volume part and options.
type diskSpec struct {
	vol  string
	opts []string
}

func parseDiskSpec(v string) diskSpec {
	parts := strings.Split(v, ",")
	d := diskSpec{vol: parts[0], opts: parts[1:]}
	if k, val, ok := strings.Cut(d.vol, "="); ok && (k == "file" || k == "volume") {
		d.vol = val
	}
	var opts []string
	for _, o := range d.opts {
		k, val, _ := strings.Cut(o, "=")
		if k == "file" || k == "volume" {
			d.vol = val
			continue
		}
		opts = append(opts, o)
	}
	d.opts = opts
	return d
}

// withSize renders the drive as print_drive does: the volume, then the options sorted by key with the
// size among them.
func (d diskSpec) withSize(volid string, size int64) string {
	var opts []string
	for _, o := range d.opts {
		if !strings.HasPrefix(o, "size=") && !strings.HasPrefix(o, "import-from=") && !strings.HasPrefix(o, "format=") {
			opts = append(opts, o)
		}
	}
	if size > 0 {
		opts = append(opts, "size="+formatSize(size))
	}
	sort.SliceStable(opts, func(i, j int) bool {
		ki, _, _ := strings.Cut(opts[i], "=")
		kj, _, _ := strings.Cut(opts[j], "=")
		return ki < kj
	})
	return strings.Join(append([]string{volid}, opts...), ",")
}

func (d diskSpec) opt(key string) string {
	for _, o := range d.opts {
		if k, v, ok := strings.Cut(o, "="); ok && k == key {
			return v
		}
	}
	return ""
}

var cloudinitRe = regexp.MustCompile(`^([^/:\s]+):cloudinit$`)

// driveRequest classifies a qemu drive value: a new allocation ("STORAGE:SIZE", with import-from), a new
// cloud-init drive ("STORAGE:cloudinit"), or a reference to an existing volume. It returns the storage
// of a new volume ("" for references).
func driveRequest(v, defStorage string) (sid string, isNew bool) {
	d := parseDiskSpec(v)
	if m := cloudinitRe.FindStringSubmatch(d.vol); m != nil {
		return m[1], true
	}
	if m := newDiskRe.FindStringSubmatch(d.vol); m != nil {
		if m[2] != "" {
			return m[2], true
		}
		return defStorage, true
	}
	return "", false
}

// createDrive allocates what a qemu drive value asks for (create_disks) and returns the drive string the
// config gets. Caller holds s.mu.
func (s *Sim) createDrive(w *worker, node string, vmid int, key, value, defStorage string) (string, string, error) {
	d := parseDiskSpec(value)
	sid, _ := driveRequest(value, defStorage)
	if sid == "" {
		return "", "", fmt.Errorf("no storage ID specified (and no default storage)")
	}
	si, err := s.storageFor(node, sid, "images")
	if err != nil {
		return "", "", err
	}
	if cloudinitRe.MatchString(d.vol) {
		name := fmt.Sprintf("vm-%d-cloudinit", vmid)
		if si.Cfg.Type == "dir" || si.Cfg.Type == "nfs" || si.Cfg.Type == "cifs" {
			name = fmt.Sprintf("%d/%s.qcow2", vmid, name)
		}
		volid := sid + ":" + name
		s.st.addVolume(si, &Volume{VolID: volid, VMID: vmid, Size: 4 << 20, Used: 4 << 20, Format: "raw", Content: "images", Ctime: s.now().Unix()})
		d.opts = append(d.opts, "media=cdrom")
		drive := d.withSize(volid, 0)
		w.Log("%s: successfully created disk '%s'", key, drive)
		return drive, volid, nil
	}
	m := newDiskRe.FindStringSubmatch(d.vol)
	gib, _ := strconv.ParseFloat(m[3], 64)
	size := int64(gib * (1 << 30))
	switch key {
	case "efidisk0":
		size = 128 << 10
		if d.opt("efitype") == "4m" {
			size = 528 << 10
		}
		if si.Cfg.Type == "zfspool" {
			size = 1 << 20 // zvols are at least 1M
		}
	case "tpmstate0":
		size = 4 << 20
	}
	if src := d.opt("import-from"); src != "" {
		sv := s.volumeOn(node, src)
		if sv == nil || (sv.Content != "images" && sv.Content != "iso" && sv.Content != "import") {
			return "", "", fmt.Errorf("cannot import from '%s' - volume does not exist", src)
		}
		size = sv.Size
		if gib > 0 && int64(gib*(1<<30)) > size {
			size = int64(gib * (1 << 30))
		}
	}
	if size <= 0 {
		return "", "", fmt.Errorf("invalid size '0' for a new disk")
	}
	volid, err := s.allocDisk(w, si, vmid, "qemu", size, 0)
	if err != nil {
		return "", "", err
	}
	if src := d.opt("import-from"); src != "" {
		for _, pct := range []int64{0, 50, 100} {
			w.Log("transferred %s of %s (%d.00%%)", humanBytes(size*pct/100), humanBytes(size), pct)
		}
	}
	drive := d.withSize(volid, size)
	w.Log("%s: successfully created disk '%s'", key, drive)
	return drive, volid, nil
}

// ---- qemu config ----

func (s *Sim) hQemuConfigPost(c *reqCtx) (any, error) { return s.qemuConfigUpdate(c, false) }
func (s *Sim) hQemuConfigPut(c *reqCtx) (any, error)  { return s.qemuConfigUpdate(c, true) }

// configChange is a parsed update request.
type configChange struct {
	set map[string]string
	del []string
}

func (s *Sim) parseConfigChange(c *reqCtx, nonConf map[string]bool, cdromAlias bool) (configChange, error) {
	ch := configChange{set: map[string]string{}}
	for k, v := range c.Params {
		if nonConf[k] {
			continue
		}
		if cdromAlias && k == "cdrom" {
			k, v = "ide2", v+",media=cdrom"
		}
		ch.set[k] = v
	}
	for _, k := range splitList(c.Str("delete")) {
		if cdromAlias && k == "cdrom" {
			k = "ide2"
		}
		if _, ok := ch.set[k]; ok {
			return ch, errParam1("delete", fmt.Sprintf("you can't use '-%s' and -delete %s' at the same time", k, k))
		}
		ch.del = append(ch.del, k)
	}
	for _, k := range splitList(c.Str("revert")) {
		if _, ok := ch.set[k]; ok {
			return ch, errParam1("delete", fmt.Sprintf("you can't use '-%s' and -revert %s' at the same time", k, k))
		}
	}
	if len(ch.set) == 0 && len(ch.del) == 0 && c.Str("revert") == "" {
		return ch, err500("no options specified")
	}
	return ch, nil
}

func (s *Sim) qemuConfigUpdate(c *reqCtx, sync bool) (any, error) {
	if err := checkDNSName(c, "name"); err != nil {
		return nil, err
	}
	if err := rootOnly(c, "skiplock"); err != nil {
		return nil, err
	}
	ch, err := s.parseConfigChange(c, qemuNonConfOpts, true)
	if err != nil {
		return nil, err
	}
	g, err := s.loadGuest(c, "qemu")
	if err != nil {
		return nil, err
	}
	if d := c.Str("digest"); d != "" && d != g.Digest() {
		return nil, err500("checksum mismatch (file change by other user?)")
	}
	if m := lockMsg(g); m != "" && !c.Bool("skiplock") {
		return nil, err500("%s", m)
	}
	keys := append(sortedKeys(ch.set), ch.del...)
	if err := s.qemuKeyPerms(c, g.VMID, g.Pool, keys, ch.set); err != nil {
		return nil, err
	}
	if err := s.prepareDevices(c, g, ch, s.qemuNet); err != nil {
		return nil, err
	}
	revert, force := splitList(c.Str("revert")), c.Bool("force")
	if sync {
		if err := s.updateConfig(nil, g, ch, revert, force); err != nil {
			return nil, err500("%s", err.Error())
		}
		return nil, nil
	}
	node, vmid := c.Node, g.VMID
	return s.tasks.start(node, "qmconfig", strconv.Itoa(vmid), c.User(), func(w *worker) error {
		if err := w.Sleep(durConfig); err != nil {
			return err
		}
		return s.stateErr(func() error {
			g := s.guestOn(node, "qemu", vmid)
			if g == nil {
				return fmt.Errorf("%s", confMissing(node, "qemu", vmid))
			}
			return s.updateConfig(w, g, ch, revert, force)
		})
	}), nil
}

// prepareDevices checks the rights a config change needs for new disks and
// bridges, then completes its network devices (e.g. a generated MAC) with
// net, as both guest types do before writing.
func (s *Sim) prepareDevices(c *reqCtx, g *Guest, ch configChange, net func(vmid int, key, v string, salt int64) (string, error)) error {
	if err := s.newDiskPerms(c, ch.set); err != nil {
		return err
	}
	if err := s.bridgeAccess(c, ch.set); err != nil {
		return err
	}
	for k, v := range ch.set {
		if netKeyRe.MatchString(k) {
			nv, err := net(g.VMID, k, v, int64(len(g.Conf.Keys())))
			if err != nil {
				return errParam1(k, err.Error())
			}
			ch.set[k] = nv
		}
	}
	return nil
}

// newDiskPerms checks Datastore.AllocateSpace for every "STORAGE:SIZE" disk, and read access to ISO
// images, as check_storage_access does.
func (s *Sim) newDiskPerms(c *reqCtx, set map[string]string) error {
	if c.User() == "root@pam" {
		return nil
	}
	for _, k := range sortedKeys(set) {
		if !qemuDriveRe.MatchString(k) && k != "rootfs" && !strings.HasPrefix(k, "mp") {
			continue
		}
		d := parseDiskSpec(set[k])
		if m := cloudinitRe.FindStringSubmatch(d.vol); m != nil {
			if err := c.Check("/storage/"+m[1], "Datastore.AllocateSpace"); err != nil {
				return err
			}
			continue
		}
		if m := newDiskRe.FindStringSubmatch(d.vol); m != nil {
			sid := m[2]
			if sid == "" {
				sid = c.Str("storage")
			}
			if sid == "" {
				continue
			}
			if err := c.Check("/storage/"+sid, "Datastore.AllocateSpace"); err != nil {
				return err
			}
			continue
		}
		if sid, rest, ok := strings.Cut(d.vol, ":"); ok && (strings.HasPrefix(rest, "iso/") || strings.HasPrefix(rest, "vztmpl/")) {
			if err := c.Check("/storage/"+sid, "Datastore.AllocateSpace", "Datastore.Audit"); err != nil {
				return err
			}
		}
	}
	return nil
}

// applyConfig changes a guest config: deleted disks become unusedN (an unusedN deleted is destroyed),
// "STORAGE:SIZE" disks are allocated, a replaced disk is kept as unused. w may be nil (synchronous PUT).
// Caller holds s.mu.
func (s *Sim) applyConfig(w *worker, g *Guest, ch configChange) error {
	if w == nil {
		w = &worker{ts: s.tasks, t: &task{}}
	}
	isDisk := func(k string) bool {
		if g.Type == "lxc" {
			return k == "rootfs" || strings.HasPrefix(k, "mp")
		}
		return qemuDriveRe.MatchString(k)
	}
	for _, k := range ch.del {
		if k == "lock" {
			g.Lock = "" // the lock lives on the guest, not in Conf
			continue
		}
		if !g.Conf.Has(k) {
			continue
		}
		v := g.Conf.Get(k)
		switch {
		case unusedKeyRe.MatchString(k):
			d := parseDiskSpec(v)
			if si, vol := s.st.findVolume(g.Node, d.vol); vol != nil {
				s.logFree(w, si, vol)
				s.st.removeVolume(d.vol)
			}
			g.Conf.Del(k)
		case isDisk(k) && !isCdromValue(k, v):
			if k == "rootfs" {
				return fmt.Errorf("unable to delete required option '%s'", k)
			}
			d := parseDiskSpec(v)
			g.Conf.Del(k)
			g.Conf.Set(firstFreeUnused(g.Conf), d.vol)
		default:
			g.Conf.Del(k)
		}
	}
	var created []string
	fail := func(err error) error {
		for _, v := range created {
			s.st.removeVolume(v)
		}
		return err
	}
	for _, k := range sortedKeys(ch.set) {
		v := ch.set[k]
		switch {
		case k == "lock":
			g.Lock = v
			continue
		case k == "tags":
			v = normTags(v)
		case k == "memory":
			if _, err := strconv.Atoi(strings.TrimPrefix(v, "current=")); err != nil {
				return fail(fmt.Errorf("invalid format - value '%s' does not look like a valid memory size", v))
			}
		case isDisk(k) && !isCdromValue(k, v):
			d := parseDiskSpec(v)
			if _, isNew := driveRequest(v, ""); isNew && g.Type == "qemu" {
				drive, volid, err := s.createDrive(w, g.Node, g.VMID, k, v, "")
				if err != nil {
					return fail(err)
				}
				created = append(created, volid)
				v = drive
			} else if m := newDiskRe.FindStringSubmatch(d.vol); m != nil {
				si, err := s.storageFor(g.Node, m[2], "rootdir")
				if err != nil {
					return fail(err)
				}
				gib, _ := strconv.ParseFloat(m[3], 64)
				size := int64(gib * (1 << 30))
				volid, err := s.allocDisk(w, si, g.VMID, g.Type, size, 0)
				if err != nil {
					return fail(err)
				}
				created = append(created, volid)
				v = d.withSize(volid, size)
			}
			if old := g.Conf.Get(k); old != "" && !isCdromValue(k, old) {
				if od := parseDiskSpec(old); od.vol != parseDiskSpec(v).vol {
					g.Conf.Set(firstFreeUnused(g.Conf), od.vol)
				}
			}
		}
		g.Conf.Set(k, v)
	}
	return nil
}

// ---- lxc config ----

func (s *Sim) hLxcConfigPut(c *reqCtx) (any, error) {
	if err := checkDNSName(c, "hostname"); err != nil {
		return nil, err
	}
	ch, err := s.parseConfigChange(c, lxcNonConfOpts, false)
	if err != nil {
		return nil, err
	}
	g, err := s.loadGuest(c, "lxc")
	if err != nil {
		return nil, err
	}
	if d := c.Str("digest"); d != "" && d != g.Digest() {
		return nil, err500("detected modified configuration - file changed by other user? Try again.")
	}
	if m := lockMsg(g); m != "" {
		return nil, err500("%s", m)
	}
	if _, ok := ch.set["unprivileged"]; ok {
		return nil, errParam1("unprivileged", "unable to modify read-only option: 'unprivileged'")
	}
	keys := append(sortedKeys(ch.set), ch.del...)
	if err := s.lxcKeyPerms(c, g.VMID, g.Pool, keys, ch.set, g.Conf.Get("unprivileged") == "1"); err != nil {
		return nil, err
	}
	if err := s.prepareDevices(c, g, ch, s.lxcNet); err != nil {
		return nil, err
	}
	if err := s.updateConfig(nil, g, ch, splitList(c.Str("revert")), false); err != nil {
		return nil, err500("%s", err.Error())
	}
	return nil, nil
}

// ---- resize ----

func (s *Sim) hResize(typ string) handler {
	return func(c *reqCtx) (any, error) {
		if typ == "qemu" {
			if err := rootOnly(c, "skiplock"); err != nil {
				return nil, err
			}
		}
		sizeStr := c.Str("size")
		ext := strings.HasPrefix(sizeStr, "+")
		req := parseSize(strings.TrimPrefix(sizeStr, "+"))
		if typ == "lxc" {
			if !resizeRe.MatchString(strings.TrimPrefix(sizeStr, "+")) {
				return nil, err500("invalid size string")
			}
		}
		// A number without unit is bytes for both parsers.
		node, vmid, disk, digest := c.Node, c.Int("vmid"), c.Str("disk"), c.Str("digest")
		pr := c.Principal
		skiplock := c.Bool("skiplock")
		return s.tasks.start(node, "resize", strconv.Itoa(vmid), c.User(), func(w *worker) error {
			if err := w.Sleep(durResize / 2); err != nil {
				return err
			}
			err := s.stateErr(func() error {
				g := s.guestOn(node, typ, vmid)
				if g == nil {
					return fmt.Errorf("%s", confMissing(node, typ, vmid))
				}
				if digest != "" && digest != g.Digest() {
					if typ == "qemu" {
						return fmt.Errorf("checksum mismatch (file change by other user?)")
					}
					return fmt.Errorf("detected modified configuration - file changed by other user? Try again.")
				}
				if m := lockMsg(g); m != "" && !(typ == "qemu" && skiplock) {
					return fmt.Errorf("%s", m)
				}
				if !g.Conf.Has(disk) {
					return fmt.Errorf("disk '%s' does not exist", disk)
				}
				d := parseDiskSpec(g.Conf.Get(disk))
				if isCdromValue(disk, g.Conf.Get(disk)) {
					return fmt.Errorf("you can't resize a cdrom")
				}
				sid, _, _ := strings.Cut(d.vol, ":")
				if pr != nil && pr.full() != "root@pam" && !s.can(pr, "/storage/"+sid, "Datastore.AllocateSpace") {
					return fmt.Errorf("Permission check failed (/storage/%s, Datastore.AllocateSpace)", sid)
				}
				si, vol := s.st.findVolume(node, d.vol)
				size := parseDiskRef(disk, g.Conf.Get(disk)).Size
				if vol != nil {
					size = vol.Size
				}
				newSize := req
				if ext {
					newSize += size
				}
				if newSize < size {
					if typ == "qemu" {
						return fmt.Errorf("shrinking disks is not supported")
					}
					return fmt.Errorf("unable to shrink disk size")
				}
				if newSize == size {
					if typ == "lxc" {
						return fmt.Errorf("disk is already at specified size")
					}
					return nil
				}
				if vol != nil && si != nil {
					grow := allocUsage(si.Cfg, typ, newSize) - allocUsage(si.Cfg, typ, size)
					if grow > s.freeOn(si) {
						_, name, _ := strings.Cut(d.vol, ":")
						return fmt.Errorf("zfs error: cannot set property for '%s/%s': size is greater than available space", zfsPool(si.Cfg), name)
					}
					vol.Size = newSize
					if grow > 0 {
						vol.Used += grow
					}
				}
				g.Conf.Set(disk, d.withSize(d.vol, newSize))
				if typ == "lxc" && si != nil && si.Cfg.Type != "zfspool" {
					w.Log("resize2fs 1.47.2 (1-Jan-2025)")
					w.Log("The filesystem on /dev/loop0 is now %d (4k) blocks long.", newSize/4096)
				}
				return nil
			})
			if err != nil {
				return err
			}
			return w.Sleep(durResize / 2)
		}), nil
	}
}

// freeOn is what a storage has left now. Caller holds s.mu.
func (s *Sim) freeOn(si *StorageInst) int64 {
	now := s.now()
	free := s.instTotal(si, now) - s.instUsedAt(si, now)
	if free < 0 {
		return 0
	}
	return free
}
