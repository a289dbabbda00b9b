package pvesim

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// state is the whole simulated cluster. Sim.mu guards it.
type state struct {
	Name          string
	ConfigVersion int
	Seed          int64
	T0            time.Time // reference time of the dynamics: "now" at Start

	Nodes  []*Node
	nodes  map[string]*Node
	Guests map[int]*Guest

	Storages []*StorageCfg
	insts    map[string]*StorageInst // "node/id", shared storages under "/id"

	Pools       []*Pool
	HAResources []*HAResource
	HAGroups    []*HAGroup
	HARules     []*HARule
	BackupJobs  []*BackupJob

	Users  map[string]*userRec
	Tokens map[string]*tokenRec // by "user@realm!name"
	ACL    []aclEntry
	Roles  map[string]map[string]bool

	diag *diagState // diag_scenario.go
}

// Node is a cluster member.
type Node struct {
	Name      string
	ID        int
	IP        string
	CPUModel  string
	Sockets   int
	Cores     int // per socket
	CPUs      int // logical
	MHz       string
	MemTotal  int64
	SwapTotal int64
	SwapUsed  int64
	RootTotal int64
	RootUsed  int64
	HostMem   int64   // memory used by the host itself, without guests and ARC
	ARC       int64   // ZFS ARC size (counted as used memory, as PVE shows it)
	CPUBase   float64 // host's own CPU load fraction
	BootTime  time.Time
	Level     string
	Kernel    string
	Disks     []*Disk
	ZPools    []*ZPool
	OfflineAt bool // scenario: node is down from the start
}

// Disk is a physical disk of a node (GET /disks/list).
type Disk struct {
	DevPath string
	Type    string // nvme, ssd, hdd
	Size    int64
	Model   string
	Vendor  string
	Serial  string
	WWN     string
	Health  string
	Wearout int // remaining life %, -1 = "N/A"
	RPM     int // HDD rpm; 0 for SSD/NVMe, -1 unknown
	GPT     bool
	Used    string
	ByID    string
	Smart   []SmartAttr
}

// SmartAttr is one ATA SMART attribute.
type SmartAttr struct {
	ID                                  int
	Name, Flags, Fail, Raw              string
	Value, Normalized, Worst, Threshold int
}

// ZPool is a ZFS pool of a node.
type ZPool struct {
	Name       string
	Size       int64
	ExtraAlloc int64 // allocation not belonging to a PVE storage (root fs, other datasets)
	Frag       int
	Dedup      float64
	Health     string
	Status     string
	Action     string
	See        string
	Scan       string
	Errors     string
	Vdevs      []*Vdev // below the root vdev
	Special    []*Vdev // logs, cache, spares
}

// Vdev is one node of a pool's vdev tree.
type Vdev struct {
	Name               string
	State              string
	Read, Write, Cksum int64
	Msg                string
	Children           []*Vdev
}

// StorageCfg is one entry of storage.cfg.
type StorageCfg struct {
	ID       string
	Type     string // dir, zfspool, nfs, lvmthin, pbs
	Content  []string
	Shared   bool
	Nodes    []string // empty = all nodes
	Path     string
	Pool     string // zfspool: "rpool/data"; dir on a zpool: the pool name
	PoolNode string // shared storage backed by a zpool of this node
	Server   string
	Export   string
	Disabled bool
	Prune    string
}

func (c *StorageCfg) availableOn(node string) bool {
	return !c.Disabled && (len(c.Nodes) == 0 || contains(c.Nodes, node))
}

func (c *StorageCfg) contentString() string {
	l := append([]string(nil), c.Content...)
	sort.Strings(l)
	return strings.Join(l, ",")
}

// StorageInst is a storage as seen on one node (or the single shared
// instance of a shared storage).
type StorageInst struct {
	Cfg        *StorageCfg
	Node       string // "" for shared
	Total      int64
	BaseUsed   int64   // used at T0 besides the listed volumes
	target     int64   // scenario's "used" at T0, volumes included (0 = volumes only)
	GrowPerDay float64 // bytes/day of BaseUsed
	Inactive   bool
	Volumes    []*Volume
	// snapBase is what the scenario's snapshots held at T0 (inside target);
	// see snapshotSpace.
	snapBase int64
}

// Volume is one volume on a storage.
type Volume struct {
	VolID     string
	VMID      int
	Size      int64
	Used      int64 // allocated bytes (thin volumes use less than Size)
	Format    string
	Content   string // images, rootdir, iso, vztmpl, backup
	Ctime     int64
	Notes     string
	Protected bool
	// Archived is the guest config a backup archive holds (restore reads it).
	Archived *Conf
}

// Guest is a VM or container.
type Guest struct {
	VMID         int
	Type         string // "qemu" | "lxc"
	Node         string
	Status       string // running, stopped, paused
	Conf         *Conf
	Lock         string
	StartedAt    time.Time
	Pool         string
	Snapshots    []*Snapshot
	AgentRunning bool // the guest agent service runs inside the guest (answers while the guest runs)
	AgentHung    bool // the agent is installed but does not answer: QMP commands time out
	NICs         []GuestNIC
	// AgentOS overrides get-osinfo; AgentHost get-host-name (default the
	// guest's name); Exec scripts agent/exec answers (see agent.go).
	AgentOS   map[string]any
	AgentHost string
	Exec      []ExecScript
	Prof      Profile
	Created   time.Time
	// Pending holds config changes a running guest could not take live (the
	// [PENDING] section of the .conf); PendingDel the pending deletions, true
	// for a forced one. See pending.go.
	Pending    *Conf
	PendingDel map[string]bool
	// SnapParent is the snapshot the current state derives from, once a
	// snapshot write set it (see snapshots.go); before, the newest snapshot.
	SnapParent    string
	snapParentSet bool
	// PastRuns are the periods the guest ran before its current run, oldest
	// first: its RRD history, which outlives stops, restarts, migrations
	// and node outages as Proxmox's RRD files do.
	PastRuns []guestRun
	// Missing lists volumes of the config that are not on this node: left
	// on a dead node's local storage when HA stole the config (see
	// ha_recovery.go). A start fails on them, as Proxmox's would.
	Missing []string
}

// guestRun is one period a guest ran: [From, To).
type guestRun struct{ From, To time.Time }

// maxPastRuns bounds the run history kept per guest (older runs fall out of
// every RRD timeframe long before a guest restarts this often).
const maxPastRuns = 256

// endRun files the current run (if any) as history ending at at. Call it
// before a running guest stops, or before its StartedAt is reset.
func (g *Guest) endRun(at time.Time) {
	if !g.IsRunning() || g.StartedAt.IsZero() || !at.After(g.StartedAt) {
		return
	}
	g.PastRuns = append(g.PastRuns, guestRun{From: g.StartedAt, To: at})
	if len(g.PastRuns) > maxPastRuns {
		g.PastRuns = append([]guestRun(nil), g.PastRuns[len(g.PastRuns)-maxPastRuns:]...)
	}
}

// GuestNIC is what the guest agent reports for one interface.
type GuestNIC struct {
	Name string
	MAC  string
	IPv4 []string // "10.10.20.11/24"
	IPv6 []string
}

// Snapshot is one guest snapshot.
type Snapshot struct {
	Name        string
	Description string
	Time        int64
	Parent      string
	VMState     bool
	// Conf is the guest config when the snapshot was taken (nil: as now).
	Conf *Conf
}

// Profile drives a guest's usage (see dynamics.go).
type Profile struct {
	CPU       float64 // mean fraction of its vCPUs
	Mem       float64 // mean fraction of its memory
	Disk      float64 // containers: used fraction of the root fs
	NetIn     float64 // bytes/s
	NetOut    float64
	DiskRead  float64
	DiskWrite float64
}

// newGuestProfile gives a created guest modest, deterministic usage.
func newGuestProfile(vmid int) Profile {
	h := float64(hash64(0, "profile", int64(vmid))%1000) / 1000
	return Profile{CPU: 0.05 + 0.1*h, Mem: 0.3 + 0.2*h, Disk: 0.2 + 0.2*h, NetIn: 20000 + 50000*h, NetOut: 10000 + 30000*h, DiskRead: 50000 * h, DiskWrite: 80000 * h}
}

func (g *Guest) Name() string {
	if g.Type == "lxc" {
		if n := g.Conf.Get("hostname"); n != "" {
			return n
		}
		return fmt.Sprintf("CT%d", g.VMID)
	}
	if n := g.Conf.Get("name"); n != "" {
		return n
	}
	return fmt.Sprintf("VM %d", g.VMID)
}

func (g *Guest) Template() bool  { return g.Conf.Get("template") == "1" }
func (g *Guest) IsRunning() bool { return g.Status == "running" || g.Status == "paused" }

// Cores is the number of vCPUs (sockets*cores or vcpus for qemu, cores for lxc).
func (g *Guest) Cores() int {
	cores := atoiDef(g.Conf.Get("cores"), 1)
	if g.Type == "lxc" {
		if g.Conf.Get("cores") == "" {
			return 1
		}
		return cores
	}
	n := cores * atoiDef(g.Conf.Get("sockets"), 1)
	if v := atoiDef(g.Conf.Get("vcpus"), 0); v > 0 && v < n {
		n = v
	}
	return n
}

// MemBytes is the configured memory (qemu default 512 MiB, lxc 512 MiB).
func (g *Guest) MemBytes() int64 {
	m := g.Conf.Get("memory")
	if i := strings.Index(m, "current="); i >= 0 {
		m = m[i+8:]
	}
	m, _, _ = strings.Cut(m, ",")
	return int64(atoiDef(m, 512)) << 20
}

// SwapBytes is an LXC container's swap.
func (g *Guest) SwapBytes() int64 { return int64(atoiDef(g.Conf.Get("swap"), 512)) << 20 }

// DiskRef is a volume reference in a guest config.
type DiskRef struct {
	Key     string
	VolID   string
	Storage string
	Size    int64
	Media   string
}

var qemuDiskKey = regexp.MustCompile(`^(scsi|virtio|sata|ide)\d+$|^(efidisk0|tpmstate0)$|^unused\d+$`)
var lxcDiskKey = regexp.MustCompile(`^(rootfs|mp\d+|unused\d+)$`)

// Disks lists the guest's disks in key order.
func (g *Guest) Disks() []DiskRef {
	var out []DiskRef
	for _, k := range g.Conf.Keys() {
		if (g.Type == "qemu" && !qemuDiskKey.MatchString(k)) || (g.Type == "lxc" && !lxcDiskKey.MatchString(k)) {
			continue
		}
		out = append(out, parseDiskRef(k, g.Conf.Get(k)))
	}
	return out
}

func parseDiskRef(key, v string) DiskRef {
	parts := strings.Split(v, ",")
	d := DiskRef{Key: key, VolID: parts[0]}
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(p, "=")
		switch k {
		case "size":
			d.Size = parseSize(val)
		case "media":
			d.Media = val
		case "volume":
			d.VolID = val
		}
	}
	if strings.HasPrefix(parts[0], "volume=") {
		d.VolID = strings.TrimPrefix(parts[0], "volume=")
	}
	if st, _, ok := strings.Cut(d.VolID, ":"); ok {
		d.Storage = st
	}
	return d
}

// BootDiskSize is vmstatus' maxdisk: the boot disk (first disk in boot
// order, else the first non-cdrom disk) for qemu, rootfs for lxc.
func (g *Guest) BootDiskSize() int64 {
	if g.Type == "lxc" {
		if v := g.Conf.Get("rootfs"); v != "" {
			return parseDiskRef("rootfs", v).Size
		}
		return 4 << 30
	}
	boot := g.Conf.Get("boot")
	if strings.HasPrefix(boot, "order=") {
		for _, k := range strings.Split(strings.TrimPrefix(boot, "order="), ";") {
			if v := g.Conf.Get(k); v != "" && qemuDiskKey.MatchString(k) {
				if d := parseDiskRef(k, v); d.Media != "cdrom" {
					return d.Size
				}
			}
		}
	}
	for _, d := range g.Disks() {
		if d.Media != "cdrom" && !strings.HasPrefix(d.Key, "unused") && d.Key != "efidisk0" && d.Key != "tpmstate0" {
			return d.Size
		}
	}
	return 0
}

// parseSize parses Proxmox sizes like "32G", "512M", "1T", "1024" (bytes).
func parseSize(s string) int64 {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	mul := float64(1)
	switch s[len(s)-1] {
	case 'K', 'k':
		mul = 1 << 10
	case 'M', 'm':
		mul = 1 << 20
	case 'G', 'g':
		mul = 1 << 30
	case 'T', 't':
		mul = 1 << 40
	}
	if mul != 1 {
		s = s[:len(s)-1]
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0
	}
	return int64(f * mul)
}

// formatSize renders bytes the way PVE writes size= (whole G when possible).
func formatSize(b int64) string {
	switch {
	case b%(1<<40) == 0 && b > 0:
		return fmt.Sprintf("%dT", b>>40)
	case b%(1<<30) == 0:
		return fmt.Sprintf("%dG", b>>30)
	case b%(1<<20) == 0:
		return fmt.Sprintf("%dM", b>>20)
	case b%(1<<10) == 0:
		return fmt.Sprintf("%dK", b>>10)
	}
	return strconv.FormatInt(b, 10)
}

func atoiDef(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return def
}

// Conf is a guest configuration as key -> .conf text value. Keys are kept
// sorted when rendered, as PVE writes them.
type Conf struct {
	m map[string]string
}

func newConf() *Conf { return &Conf{m: map[string]string{}} }

func (c *Conf) Get(k string) string {
	if c == nil {
		return "" // a nil Conf is an empty one (e.g. no pending section)
	}
	return c.m[k]
}

func (c *Conf) Has(k string) bool {
	if c == nil {
		return false
	}
	_, ok := c.m[k]
	return ok
}
func (c *Conf) Set(k, v string) { c.m[k] = v }
func (c *Conf) Del(k string)    { delete(c.m, k) }

func (c *Conf) Keys() []string { return sortedKeys(c.m) }

func (c *Conf) Clone() *Conf {
	n := newConf()
	for k, v := range c.m {
		n.m[k] = v
	}
	return n
}

// Text is the canonical .conf file text.
func (c *Conf) Text() string {
	var b strings.Builder
	for _, k := range c.Keys() {
		fmt.Fprintf(&b, "%s: %s\n", k, c.m[k])
	}
	return b.String()
}

// ConfText is the guest's .conf text: the config plus its lock line and,
// as write_vm_config does, a [PENDING] section after a blank line.
func (g *Guest) ConfText() string {
	t := g.Conf.Text()
	if g.Lock != "" {
		t = "lock: " + g.Lock + "\n" + t
	}
	if g.hasPending() {
		t += "\n[PENDING]\n" + g.pendingText()
	}
	return t
}

// Digest is the SHA1 of the guest's config file (lock included), the
// "digest" of GET config; writes compare it.
func (g *Guest) Digest() string {
	h := sha1.Sum([]byte(g.ConfText()))
	return hex.EncodeToString(h[:])
}

// Pool is a resource pool.
type Pool struct {
	ID       string
	Comment  string
	VMs      []int
	Storages []string
}

// HAResource is one entry of resources.cfg.
type HAResource struct {
	SID         string // "vm:100"
	Type        string // "vm" | "ct"
	State       string // started, stopped, enabled, disabled, ignored
	Group       string
	MaxRestart  int
	MaxRelocate int
	Failback    bool
	Comment     string
	// Recovery is the CRM's state while it fences a dead node and recovers
	// the service elsewhere: "fence", "recovery" or "" (see ha_recovery.go).
	Recovery string
	// FromNode is the node a recovered service came from (for failback).
	FromNode string
}

func (h *HAResource) VMID() int {
	_, id, _ := strings.Cut(h.SID, ":")
	return atoiDef(id, 0)
}

// HAGroup is a PVE 8 HA group.
type HAGroup struct {
	Name       string
	Nodes      string // "pve1:2,pve2:1"
	Restricted bool
	NoFailback bool
	Comment    string
}

// HARule is a PVE 9 HA rule.
type HARule struct {
	ID        string
	Type      string // node-affinity | resource-affinity
	Resources []string
	Nodes     string
	Strict    bool
	Affinity  string
	Disable   bool
	Comment   string
	Order     int
}

// BackupJob is a vzdump job of jobs.cfg.
type BackupJob struct {
	ID               string
	Schedule         string
	Enabled          bool
	Storage          string
	Mode             string
	VMIDs            []int
	All              bool
	Exclude          []int
	Pool             string
	Node             string
	Compress         string
	MailNotification string
	NotesTemplate    string
	Prune            map[string]string
	Comment          string
	RepeatMissed     bool
	// ratioFactor scales the archive size of a run now (0: 1); see vzdump.go.
	ratioFactor float64
}

// ---- lookups and mutations (callers hold Sim.mu) ----

func (st *state) node(name string) *Node { return st.nodes[name] }

func (st *state) guest(vmid int) *Guest { return st.Guests[vmid] }

func (st *state) addGuest(g *Guest) {
	if g.Created.IsZero() {
		g.Created = st.T0
	}
	st.Guests[g.VMID] = g
}

func (st *state) removeGuest(vmid int) {
	delete(st.Guests, vmid)
	for _, p := range st.Pools {
		for i, id := range p.VMs {
			if id == vmid {
				p.VMs = append(p.VMs[:i], p.VMs[i+1:]...)
				break
			}
		}
	}
}

// sortedGuests returns guests ordered by vmid.
func (st *state) sortedGuests() []*Guest {
	out := make([]*Guest, 0, len(st.Guests))
	for _, g := range st.Guests {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].VMID < out[j].VMID })
	return out
}

// guestsByNode groups guests by node, each list ordered by vmid.
func (st *state) guestsByNode() map[string][]*Guest {
	out := map[string][]*Guest{}
	for _, g := range st.sortedGuests() {
		out[g.Node] = append(out[g.Node], g)
	}
	return out
}

func (st *state) guestsOn(node string) []*Guest {
	var out []*Guest
	for _, g := range st.Guests {
		if g.Node == node {
			out = append(out, g)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].VMID < out[j].VMID })
	return out
}

func (st *state) storageCfg(id string) *StorageCfg {
	for _, c := range st.Storages {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// storageOn is the storage id as seen from node, nil if not available there.
func (st *state) storageOn(node, id string) *StorageInst {
	c := st.storageCfg(id)
	if c == nil || !c.availableOn(node) {
		return nil
	}
	if c.Shared {
		return st.insts["/"+id]
	}
	return st.insts[node+"/"+id]
}

func (st *state) addInst(si *StorageInst) {
	if si.Cfg.Shared {
		st.insts["/"+si.Cfg.ID] = si
	} else {
		st.insts[si.Node+"/"+si.Cfg.ID] = si
	}
}

func (si *StorageInst) hasVolume(volid string) bool {
	for _, v := range si.Volumes {
		if v.VolID == volid {
			return true
		}
	}
	return false
}

// addVolume places a volume on a storage.
func (st *state) addVolume(si *StorageInst, v *Volume) {
	if v.Used == 0 {
		v.Used = v.Size
	}
	si.Volumes = append(si.Volumes, v)
}

// removeVolume drops a volume by volid from every instance holding it.
func (st *state) removeVolume(volid string) {
	for _, si := range st.insts {
		for i, v := range si.Volumes {
			if v.VolID == volid {
				si.Volumes = append(si.Volumes[:i], si.Volumes[i+1:]...)
				break
			}
		}
	}
}

// findVolume finds a volume by volid, preferring the given node's instance.
func (st *state) findVolume(node, volid string) (*StorageInst, *Volume) {
	sid, _, _ := strings.Cut(volid, ":")
	if si := st.storageOn(node, sid); si != nil {
		for _, v := range si.Volumes {
			if v.VolID == volid {
				return si, v
			}
		}
	}
	for _, si := range st.insts {
		for _, v := range si.Volumes {
			if v.VolID == volid {
				return si, v
			}
		}
	}
	return nil, nil
}

// nextDiskName returns a free volume id for a new disk of vmid on si, named
// per storage type: zfs "vm-100-disk-1" (containers "subvol-"), dir
// "100/vm-100-disk-0.qcow2" (containers ".raw").
func (st *state) nextDiskName(si *StorageInst, vmid int, typ string) string {
	for n := 0; ; n++ {
		var name string
		switch si.Cfg.Type {
		case "dir", "nfs", "cifs":
			ext := "qcow2"
			if typ == "lxc" {
				ext = "raw"
			}
			name = fmt.Sprintf("%d/vm-%d-disk-%d.%s", vmid, vmid, n, ext)
		case "zfspool":
			if typ == "lxc" {
				name = fmt.Sprintf("subvol-%d-disk-%d", vmid, n)
			} else {
				name = fmt.Sprintf("vm-%d-disk-%d", vmid, n)
			}
		default:
			name = fmt.Sprintf("vm-%d-disk-%d", vmid, n)
		}
		volid := si.Cfg.ID + ":" + name
		if !si.hasVolume(volid) {
			return volid
		}
	}
}

func (st *state) haResource(sid string) *HAResource {
	for _, r := range st.HAResources {
		if r.SID == sid {
			return r
		}
	}
	return nil
}

// haIndex maps HA service ids to resources, for lookups in long lists.
func (st *state) haIndex() map[string]*HAResource {
	m := make(map[string]*HAResource, len(st.HAResources))
	for _, r := range st.HAResources {
		m[r.SID] = r
	}
	return m
}

// haSID is the HA service id of a guest ("vm:100" / "ct:200").
func haSID(g *Guest) string {
	if g.Type == "lxc" {
		return fmt.Sprintf("ct:%d", g.VMID)
	}
	return fmt.Sprintf("vm:%d", g.VMID)
}

func sha1hex(s string) string {
	h := sha1.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}
