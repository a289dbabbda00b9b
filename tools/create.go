package tools

import (
	"context"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/pvemcp/pvemcp/guard"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/toolkit"
)

const gibBytes = 1 << 30

// cpuType is the QEMU CPU type of new VMs: the host's own CPU, as the
// product's provisioning example shows (fastest; live migration then needs
// nodes with the same CPU).
const cpuType = "host"

var dnsName = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$`)

// ---- shared by create_vm and create_container ----

// chooseVMID takes the asked VMID when free, else Proxmox's next free one.
func chooseVMID(ctx context.Context, c *proxmox.Client, asked int) (int, error) {
	if asked == 0 {
		return c.NextVMID(ctx)
	}
	free, err := c.VMIDFree(ctx, asked)
	if err != nil {
		return 0, err
	}
	if !free {
		return 0, fmt.Errorf("VMID %d is already in use", asked)
	}
	return asked, nil
}

// vmidStillFree is the recheck of a planned VMID.
func vmidStillFree(ctx context.Context, vmid int) error {
	c, err := toolkit.Client(ctx)
	if err != nil {
		return err
	}
	free, err := c.VMIDFree(ctx, vmid)
	if err != nil {
		return err
	}
	if !free {
		return fmt.Errorf("VMID %d was taken since the plan", vmid)
	}
	return nil
}

// storageFit describes a storage chosen for new disks.
type storageFit struct {
	name               string
	availGiB, afterPct float64
}

// chooseStorage picks where a new disk of sizeGiB goes on node: the asked
// storage, else local-zfs, else the storage with the most free space among
// those holding content (images or rootdir). The fill after allocation must
// stay below the storage threshold.
func chooseStorage(ctx context.Context, c *proxmox.Client, node, asked, content string, sizeGiB float64) (storageFit, error) {
	rs, err := c.Resources(ctx, proxmox.ResourceStorage)
	if err != nil {
		return storageFit{}, err
	}
	limit := toolkit.EnvFrom(ctx).Thresholds.WithDefaults().StoragePct
	var cands []proxmox.Resource
	for _, r := range rs {
		if r.Node == node && r.Status == "available" && hasContent(r.Content, content) {
			cands = append(cands, r)
		}
	}
	fit := func(r proxmox.Resource) (storageFit, error) {
		avail := float64(r.MaxDisk-r.Disk) / gibBytes
		after := toolkit.Pct(float64(r.Disk)+sizeGiB*gibBytes, float64(r.MaxDisk))
		f := storageFit{name: r.Storage, availGiB: toolkit.Round(avail, 1), afterPct: toolkit.Round(after, 1)}
		if sizeGiB > avail {
			return f, fmt.Errorf("storage %s on %s has %.1f GiB free, %.0f GiB needed", r.Storage, node, avail, sizeGiB)
		}
		if after >= limit {
			return f, fmt.Errorf("storage %s on %s would be %.1f%% full after %.0f GiB (threshold %.0f%%)", r.Storage, node, after, sizeGiB, limit)
		}
		return f, nil
	}
	if asked != "" {
		for _, r := range cands {
			if r.Storage == asked {
				return fit(r)
			}
		}
		return storageFit{}, fmt.Errorf("storage %q is not available on %s for %s (candidates: %s)", asked, node, content, storageNames(cands))
	}
	if len(cands) == 0 {
		return storageFit{}, fmt.Errorf("no available storage for %s on node %s", content, node)
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if (cands[i].Storage == "local-zfs") != (cands[j].Storage == "local-zfs") {
			return cands[i].Storage == "local-zfs"
		}
		return cands[i].MaxDisk-cands[i].Disk > cands[j].MaxDisk-cands[j].Disk
	})
	var reasons []string
	for _, r := range cands {
		f, err := fit(r)
		if err == nil {
			return f, nil
		}
		reasons = append(reasons, err.Error())
	}
	return storageFit{}, fmt.Errorf("no storage on %s has room: %s", node, strings.Join(reasons, "; "))
}

func hasContent(list, want string) bool {
	for _, c := range strings.Split(list, ",") {
		if strings.TrimSpace(c) == want {
			return true
		}
	}
	return false
}

func storageNames(rs []proxmox.Resource) string {
	var n []string
	for _, r := range rs {
		n = append(n, r.Storage)
	}
	if len(n) == 0 {
		return "none"
	}
	return strings.Join(n, ", ")
}

// storageStillFits is the recheck of a chosen storage.
func storageStillFits(ctx context.Context, node, storage, content string, sizeGiB float64) error {
	c, err := toolkit.Client(ctx)
	if err != nil {
		return err
	}
	_, err = chooseStorage(ctx, c, node, storage, content, sizeGiB)
	return err
}

// nodeOnline checks the node exists and is online.
func nodeOnline(ctx context.Context, c *proxmox.Client, node string) (proxmox.Resource, error) {
	nodes, err := c.Resources(ctx, proxmox.ResourceNode)
	if err != nil {
		return proxmox.Resource{}, err
	}
	for _, n := range nodes {
		if n.Node == node {
			if n.Status != "online" {
				return n, fmt.Errorf("node %s is %s", node, n.Status)
			}
			return n, nil
		}
	}
	return proxmox.Resource{}, fmt.Errorf("no node %q in the cluster", node)
}

// findVolume looks for a volume on node's storages with the given content
// (iso, vztmpl, import) by volid or by file name (exact, or as a prefix:
// "debian-12" finds "debian-12-standard_12.7-1_amd64.tar.zst"). Several
// prefix matches take the last in name order (usually the newest version).
func findVolume(ctx context.Context, c *proxmox.Client, node, want string, contents ...string) (proxmox.Volume, []string, error) {
	rs, err := c.Resources(ctx, proxmox.ResourceStorage)
	if err != nil {
		return proxmox.Volume{}, nil, err
	}
	var exact, prefix []proxmox.Volume
	var seen []string
	for _, r := range rs {
		if r.Node != node || r.Status != "available" {
			continue
		}
		for _, content := range contents {
			if !hasContent(r.Content, content) {
				continue
			}
			vols, err := c.StorageVolumes(ctx, node, r.Storage, content)
			if err != nil {
				toolkit.AddErr(ctx, node, err)
				continue
			}
			for _, v := range vols {
				file := v.VolID[strings.LastIndex(v.VolID, "/")+1:]
				seen = append(seen, v.VolID)
				switch {
				case v.VolID == want || file == want:
					exact = append(exact, v)
				case strings.HasPrefix(file, want):
					prefix = append(prefix, v)
				}
			}
		}
	}
	if len(exact) > 0 {
		return exact[0], nil, nil
	}
	if len(prefix) > 0 {
		sort.Slice(prefix, func(i, j int) bool { return prefix[i].VolID < prefix[j].VolID })
		var others []string
		for _, v := range prefix[:len(prefix)-1] {
			others = append(others, v.VolID)
		}
		return prefix[len(prefix)-1], others, nil
	}
	return proxmox.Volume{}, nil, fmt.Errorf("no %s named %q on %s (found: %s)", strings.Join(contents, " or "), want, node, orNone(seen))
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func volumeStorage(volid string) string {
	s, _, _ := strings.Cut(volid, ":")
	return s
}

// memoryMiB resolves memory_mib / memory_gib (Validate allows one) with a
// default.
func memoryMiB(mib int, gib float64, def int) int {
	switch {
	case gib > 0:
		return int(math.Round(gib * 1024))
	case mib > 0:
		return mib
	}
	return def
}

// ---- create_vm ----

// CreateVMArgs describe a new VM.
type CreateVMArgs struct {
	Node      string  `json:"node" pve:"node" required:"true"`
	Name      string  `json:"name,omitempty" maxLength:"63" description:"default: from the template"`
	Cores     int     `json:"cores,omitempty" minimum:"1" maximum:"512" default:"2"`
	MemoryMiB int     `json:"memory_mib,omitempty" minimum:"16" maximum:"4194304"`
	MemoryGiB float64 `json:"memory_gib,omitempty" minimum:"0.016" maximum:"4096"`
	DiskGiB   int     `json:"disk_gib,omitempty" minimum:"1" maximum:"131072" default:"32"`
	Storage   string  `json:"storage,omitempty" maxLength:"64" description:"default: local-zfs, else the images storage with most room"`
	Bridge    string  `json:"bridge,omitempty" maxLength:"16" pattern:"^[a-zA-Z][a-zA-Z0-9._-]*$" default:"vmbr0"`
	Template  string  `json:"template,omitempty" maxLength:"255" description:"VM template to clone (name or VMID) or cloud image (name or volid)"`
	ISO       string  `json:"iso,omitempty" maxLength:"255" description:"installer ISO (name or volid)"`
	Start     bool    `json:"start,omitempty"`
	VMID      int     `json:"vmid,omitempty" minimum:"100" maximum:"999999999" description:"default: GET /cluster/nextid"`
}

// Validate refuses contradictory arguments before any Proxmox request.
func (a CreateVMArgs) Validate() error {
	if a.MemoryMiB > 0 && a.MemoryGiB > 0 {
		return fmt.Errorf("give memory_mib or memory_gib, not both")
	}
	if a.Template != "" && a.ISO != "" {
		return fmt.Errorf("give template or iso, not both")
	}
	if a.Name != "" && !dnsName.MatchString(a.Name) {
		return fmt.Errorf("name %q is not a valid DNS name", a.Name)
	}
	return nil
}

// CreateVMResult is the plan of a new VM.
type CreateVMResult struct {
	PlanResult
	VMID      int    `json:"vmid"`
	Name      string `json:"name"`
	Node      string `json:"node"`
	Source    string `json:"source"` // clone of template X, cloud image V, ISO V, or empty disk
	Cores     int    `json:"cores"`
	CPUType   string `json:"cpu_type"`
	MemoryMiB int    `json:"memory_mib"`
	DiskGiB   int    `json:"disk_gib"`
	Storage   string `json:"storage"`
	Network   string `json:"network"`
	Start     bool   `json:"start"`
}

var diskKeyRE = regexp.MustCompile(`^(scsi|virtio|sata|ide)\d+$`)

// bootDisk finds a VM config's first disk (boot order first) and its size.
func bootDisk(cfg map[string]string) (key string, sizeGiB float64, storage string) {
	order := []string{}
	if b := cfg["boot"]; strings.HasPrefix(b, "order=") {
		order = strings.Split(strings.TrimPrefix(b, "order="), ";")
	}
	keys := slices.Sorted(maps.Keys(cfg))
	order = append(order, keys...)
	for _, k := range order {
		v, ok := cfg[k]
		if !ok || !diskKeyRE.MatchString(k) || strings.Contains(v, "media=cdrom") || strings.Contains(v, "cloudinit") {
			continue
		}
		return k, diskSizeGiB(v), volumeStorage(v)
	}
	return "", 0, ""
}

var sizeRE = regexp.MustCompile(`(?:^|,)size=(\d+(?:\.\d+)?)([KMGT]?)`)

// diskSizeGiB reads "size=80G" from a disk property string.
func diskSizeGiB(v string) float64 {
	m := sizeRE.FindStringSubmatch(v)
	if m == nil {
		return 0
	}
	n, _ := strconv.ParseFloat(m[1], 64)
	switch m[2] {
	case "K":
		return n / (1 << 20)
	case "M":
		return n / 1024
	case "T":
		return n * 1024
	case "":
		return n / gibBytes
	}
	return n
}

// defaultVMName turns "ubuntu-22.04-cloud" into "ubuntu-2204-new".
func defaultVMName(source string, vmid int) string {
	if source == "" {
		return fmt.Sprintf("vm-%d", vmid)
	}
	base := source[strings.LastIndex(source, "/")+1:]
	for _, ext := range []string{".img", ".qcow2", ".raw", ".iso"} {
		base = strings.TrimSuffix(base, ext)
	}
	base = strings.TrimSuffix(strings.TrimSuffix(base, "-cloud"), "-template")
	base = strings.NewReplacer(".", "", "_", "-").Replace(base)
	name := strings.Trim(base, "-") + "-new"
	if len(name) > 63 || !regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9.-]*$`).MatchString(name) {
		return fmt.Sprintf("vm-%d", vmid)
	}
	return name
}

func isCloudImage(volid string) bool {
	for _, ext := range []string{".img", ".qcow2", ".raw"} {
		if strings.HasSuffix(volid, ext) {
			return true
		}
	}
	return false
}

func createVM(ctx context.Context, args CreateVMArgs) (CreateVMResult, error) {
	p, err := newPlanBuilder(ctx)
	if err != nil {
		return CreateVMResult{}, err
	}
	mem := memoryMiB(args.MemoryMiB, args.MemoryGiB, 2048)
	if args.Cores == 0 {
		args.Cores = 2
	}
	if args.DiskGiB == 0 {
		args.DiskGiB = 32
	}
	if args.Bridge == "" {
		args.Bridge = "vmbr0"
	}
	if _, err := nodeOnline(ctx, p.client, args.Node); err != nil {
		return CreateVMResult{}, err
	}
	vmid, err := chooseVMID(ctx, p.client, args.VMID)
	if err != nil {
		return CreateVMResult{}, err
	}
	if err := p.require(ctx, guard.Need{Path: vmPath(vmid), Privs: []string{"VM.Allocate"}}); err != nil {
		return CreateVMResult{}, err
	}
	st, err := chooseStorage(ctx, p.client, args.Node, args.Storage, "images", float64(args.DiskGiB))
	if err != nil {
		return CreateVMResult{}, err
	}
	needs := []guard.Need{{Path: "/storage/" + st.name, Privs: []string{"Datastore.AllocateSpace"}}}

	// The source: a VM template to clone, a cloud image to import, an ISO.
	var tmpl *proxmox.Resource
	var tmplDisk string
	var tmplDiskGiB float64
	var image proxmox.Volume
	var warnings []string
	source := "empty disk"
	if args.Template != "" {
		tmpl, err = findTemplate(ctx, p.client, args.Template)
		if err != nil {
			return CreateVMResult{}, err
		}
		if tmpl == nil {
			vol, others, err := findVolume(ctx, p.client, args.Node, args.Template, "iso", "import")
			if err != nil {
				return CreateVMResult{}, fmt.Errorf("template %q is neither a VM template in the cluster nor an image on %s: %v", args.Template, args.Node, err)
			}
			if !isCloudImage(vol.VolID) {
				return CreateVMResult{}, fmt.Errorf("%s is an installer ISO, not a cloud image; pass it as iso", vol.VolID)
			}
			image = vol
			if len(others) > 0 {
				warnings = append(warnings, "other images matched too: "+strings.Join(others, ", "))
			}
			needs = append(needs, guard.Need{Path: "/storage/" + volumeStorage(vol.VolID), Privs: []string{"Datastore.Audit", "Datastore.AllocateSpace"}})
			source = fmt.Sprintf("%s (cloud image %s)", args.Template, vol.VolID)
		} else {
			needs = append(needs, guard.Need{Path: vmPath(int(tmpl.VMID)), Privs: []string{"VM.Clone"}})
			cfg, err := p.client.GuestConfig(ctx, tmpl.Node, proxmox.TypeQemu, int(tmpl.VMID))
			if err != nil {
				return CreateVMResult{}, err
			}
			var tmplStorage string
			tmplDisk, tmplDiskGiB, tmplStorage = bootDisk(cfg.Values)
			if tmplDisk == "" {
				return CreateVMResult{}, fmt.Errorf("template %s (%d) has no disk to clone", tmpl.Name, tmpl.VMID)
			}
			if float64(args.DiskGiB) < tmplDiskGiB {
				return CreateVMResult{}, fmt.Errorf("template %s has a %.1f GiB disk; disks cannot shrink below it (asked %d GiB)", tmpl.Name, tmplDiskGiB, args.DiskGiB)
			}
			if tmpl.Node != args.Node && !sharedStorage(ctx, p.client, tmplStorage) {
				return CreateVMResult{}, fmt.Errorf("template %s lives on %s with its disk on local storage %s; Proxmox can clone it to another node only from shared storage. Create the VM on %s instead", tmpl.Name, tmpl.Node, tmplStorage, tmpl.Node)
			}
			source = fmt.Sprintf("clone of template %s (%d on %s)", tmpl.Name, tmpl.VMID, tmpl.Node)
		}
	}
	var iso proxmox.Volume
	if args.ISO != "" {
		vol, others, err := findVolume(ctx, p.client, args.Node, args.ISO, "iso")
		if err != nil {
			return CreateVMResult{}, err
		}
		iso = vol
		if len(others) > 0 {
			warnings = append(warnings, "other ISOs matched too: "+strings.Join(others, ", "))
		}
		needs = append(needs, guard.Need{Path: "/storage/" + volumeStorage(vol.VolID), Privs: []string{"Datastore.Audit", "Datastore.AllocateSpace"}})
		source = "installer ISO " + vol.VolID
	}
	if err := p.require(ctx, needs...); err != nil {
		return CreateVMResult{}, err
	}
	name := args.Name
	if name == "" {
		name = defaultVMName(args.Template, vmid)
	}

	vmBase := fmt.Sprintf("/nodes/%s/qemu", args.Node)
	vmPathNew := fmt.Sprintf("%s/%d", vmBase, vmid)
	net0 := "virtio,bridge=" + args.Bridge
	network := args.Bridge
	var calls []guard.Call
	switch {
	case tmpl != nil:
		clone := map[string]string{"newid": strconv.Itoa(vmid), "name": name, "full": "1", "storage": st.name}
		if tmpl.Node != args.Node {
			clone["target"] = args.Node
		}
		calls = append(calls,
			guard.Call{Method: "POST", Path: fmt.Sprintf("/nodes/%s/qemu/%d/clone", tmpl.Node, tmpl.VMID), Params: clone},
			guard.Call{Method: "PUT", Path: vmPathNew + "/config", Params: map[string]string{
				"cores": strconv.Itoa(args.Cores), "cpu": cpuType, "memory": strconv.Itoa(mem), "net0": net0}})
		if float64(args.DiskGiB) > tmplDiskGiB {
			calls = append(calls, guard.Call{Method: "PUT", Path: vmPathNew + "/resize",
				Params: map[string]string{"disk": tmplDisk, "size": fmt.Sprintf("%dG", args.DiskGiB)}})
		}
		network += ", as configured in the template"
	case image.VolID != "":
		calls = append(calls,
			guard.Call{Method: "POST", Path: vmBase, Params: map[string]string{
				"vmid": strconv.Itoa(vmid), "name": name, "cores": strconv.Itoa(args.Cores), "cpu": cpuType,
				"memory": strconv.Itoa(mem), "ostype": "l26", "scsihw": "virtio-scsi-single", "agent": "1",
				"scsi0": st.name + ":0,import-from=" + image.VolID, "ide2": st.name + ":cloudinit",
				"ipconfig0": "ip=dhcp", "boot": "order=scsi0", "net0": net0, "serial0": "socket"}},
			guard.Call{Method: "PUT", Path: vmPathNew + "/resize",
				Params: map[string]string{"disk": "scsi0", "size": fmt.Sprintf("%dG", args.DiskGiB)}})
		network += ", DHCP (cloud-init)"
	default:
		params := map[string]string{
			"vmid": strconv.Itoa(vmid), "name": name, "cores": strconv.Itoa(args.Cores), "cpu": cpuType,
			"memory": strconv.Itoa(mem), "ostype": "l26", "scsihw": "virtio-scsi-single",
			"scsi0": fmt.Sprintf("%s:%d", st.name, args.DiskGiB), "net0": net0, "boot": "order=scsi0;net0"}
		if iso.VolID != "" {
			params["ide2"] = iso.VolID + ",media=cdrom"
			params["boot"] = "order=scsi0;ide2;net0"
		}
		if args.Start {
			params["start"] = "1"
		}
		calls = append(calls, guard.Call{Method: "POST", Path: vmBase, Params: params})
	}
	if args.Start && (tmpl != nil || image.VolID != "") {
		calls = append(calls, guard.Call{Method: "POST", Path: vmPathNew + "/status/start"})
	}
	startText := "no (start it after review)"
	if args.Start {
		startText = "yes"
	}
	plan := guard.Plan{
		Tool: "create_vm",
		Summary: fmt.Sprintf("create VM %d %q on %s from %s: %d cores (type %s), %d MiB memory, %d GiB disk on %s, network %s; start: %s",
			vmid, name, args.Node, source, args.Cores, cpuType, mem, args.DiskGiB, st.name, network, startText),
		Calls: calls,
		Preconditions: []guard.Precondition{
			precondition("VMID free", fmt.Sprintf("%d (GET /cluster/nextid)", vmid), true),
			precondition("node online", args.Node, true),
			precondition("storage room", fmt.Sprintf("%s: %.1f GiB free, %.1f%% full after", st.name, st.availGiB, st.afterPct), true),
			precondition("source", source, true),
		},
		Warnings: warnings,
	}
	recheck := func(ctx context.Context) error {
		if err := vmidStillFree(ctx, vmid); err != nil {
			return err
		}
		if err := storageStillFits(ctx, args.Node, st.name, "images", float64(args.DiskGiB)); err != nil {
			return err
		}
		if tmpl != nil {
			c, err := toolkit.Client(ctx)
			if err != nil {
				return err
			}
			t, err := findTemplate(ctx, c, strconv.Itoa(int(tmpl.VMID)))
			if err != nil {
				return err
			}
			if t == nil || t.Node != tmpl.Node {
				return fmt.Errorf("template %s (%d) is gone or moved since the plan", tmpl.Name, tmpl.VMID)
			}
		}
		return nil
	}
	res, err := p.propose(ctx, plan, recheck)
	if err != nil {
		return CreateVMResult{}, err
	}
	return CreateVMResult{PlanResult: res, VMID: vmid, Name: name, Node: args.Node, Source: source, Cores: args.Cores,
		CPUType: cpuType, MemoryMiB: mem, DiskGiB: args.DiskGiB, Storage: st.name, Network: network, Start: args.Start}, nil
}

// findTemplate finds a VM template by VMID or name; nil when none matches.
func findTemplate(ctx context.Context, c *proxmox.Client, want string) (*proxmox.Resource, error) {
	rs, err := c.Resources(ctx, proxmox.ResourceVM)
	if err != nil {
		return nil, err
	}
	id, _ := strconv.Atoi(want)
	for _, r := range rs {
		if r.Type == string(proxmox.TypeQemu) && bool(r.Template) && (r.Name == want || (id > 0 && int(r.VMID) == id)) {
			return &r, nil
		}
	}
	return nil, nil
}

// sharedStorage reports whether a storage is shared across nodes.
func sharedStorage(ctx context.Context, c *proxmox.Client, storage string) bool {
	rs, err := c.Resources(ctx, proxmox.ResourceStorage)
	if err != nil {
		return false
	}
	for _, r := range rs {
		if r.Storage == storage && bool(r.Shared) {
			return true
		}
	}
	return false
}

// ---- create_container ----

// CreateContainerArgs describe a new LXC container.
type CreateContainerArgs struct {
	Node          string `json:"node" pve:"node" required:"true"`
	OSTemplate    string `json:"ostemplate" required:"true" maxLength:"255" description:"vztmpl name or volid, e.g. debian-12"`
	Hostname      string `json:"hostname,omitempty" maxLength:"63"`
	Cores         int    `json:"cores,omitempty" minimum:"1" maximum:"512" default:"1"`
	MemoryMiB     int    `json:"memory_mib,omitempty" minimum:"16" maximum:"4194304" default:"512"`
	SwapMiB       int    `json:"swap_mib,omitempty" minimum:"0" maximum:"4194304" default:"512"`
	DiskGiB       int    `json:"disk_gib,omitempty" minimum:"1" maximum:"131072" default:"8"`
	Storage       string `json:"storage,omitempty" maxLength:"64"`
	Bridge        string `json:"bridge,omitempty" maxLength:"16" pattern:"^[a-zA-Z][a-zA-Z0-9._-]*$" default:"vmbr0"`
	Password      string `json:"password,omitempty" maxLength:"128"`
	SSHPublicKeys string `json:"ssh_public_keys,omitempty" maxLength:"8192"`
	Start         bool   `json:"start,omitempty"`
	VMID          int    `json:"vmid,omitempty" minimum:"100" maximum:"999999999"`
}

// Validate refuses a malformed hostname before any Proxmox request.
func (a CreateContainerArgs) Validate() error {
	if a.Hostname != "" && !dnsName.MatchString(a.Hostname) {
		return fmt.Errorf("hostname %q is not a valid DNS name", a.Hostname)
	}
	return nil
}

// CreateContainerResult is the plan of a new container.
type CreateContainerResult struct {
	PlanResult
	VMID         int    `json:"vmid"`
	Hostname     string `json:"hostname"`
	Node         string `json:"node"`
	OSTemplate   string `json:"ostemplate"`
	Cores        int    `json:"cores"`
	MemoryMiB    int    `json:"memory_mib"`
	SwapMiB      int    `json:"swap_mib"`
	DiskGiB      int    `json:"disk_gib"`
	Storage      string `json:"storage"`
	Network      string `json:"network"`
	Unprivileged bool   `json:"unprivileged"`
	Start        bool   `json:"start"`
}

func createContainer(ctx context.Context, args CreateContainerArgs) (CreateContainerResult, error) {
	p, err := newPlanBuilder(ctx)
	if err != nil {
		return CreateContainerResult{}, err
	}
	mem := args.MemoryMiB
	if mem == 0 {
		mem = 512
	}
	if args.Cores == 0 {
		args.Cores = 1
	}
	if args.DiskGiB == 0 {
		args.DiskGiB = 8
	}
	if args.Bridge == "" {
		args.Bridge = "vmbr0"
	}
	if _, err := nodeOnline(ctx, p.client, args.Node); err != nil {
		return CreateContainerResult{}, err
	}
	vmid, err := chooseVMID(ctx, p.client, args.VMID)
	if err != nil {
		return CreateContainerResult{}, err
	}
	if err := p.require(ctx, guard.Need{Path: vmPath(vmid), Privs: []string{"VM.Allocate"}}); err != nil {
		return CreateContainerResult{}, err
	}
	st, err := chooseStorage(ctx, p.client, args.Node, args.Storage, "rootdir", float64(args.DiskGiB))
	if err != nil {
		return CreateContainerResult{}, err
	}
	tmpl, others, err := findVolume(ctx, p.client, args.Node, args.OSTemplate, "vztmpl")
	if err != nil {
		return CreateContainerResult{}, err
	}
	if err := p.require(ctx,
		guard.Need{Path: "/storage/" + st.name, Privs: []string{"Datastore.AllocateSpace"}},
		guard.Need{Path: "/storage/" + volumeStorage(tmpl.VolID), Privs: []string{"Datastore.AllocateTemplate", "Datastore.Audit"}},
	); err != nil {
		return CreateContainerResult{}, err
	}
	hostname := args.Hostname
	if hostname == "" {
		hostname = fmt.Sprintf("ct%d", vmid)
	}
	params := map[string]string{
		"vmid": strconv.Itoa(vmid), "ostemplate": tmpl.VolID, "hostname": hostname,
		"cores": strconv.Itoa(args.Cores), "memory": strconv.Itoa(mem), "swap": strconv.Itoa(args.SwapMiB),
		"rootfs":       fmt.Sprintf("%s:%d", st.name, args.DiskGiB),
		"net0":         "name=eth0,bridge=" + args.Bridge + ",ip=dhcp",
		"unprivileged": "1",
	}
	if args.Password != "" {
		params["password"] = args.Password
	}
	if args.SSHPublicKeys != "" {
		params["ssh-public-keys"] = args.SSHPublicKeys
	}
	if args.Start {
		params["start"] = "1"
	}
	var warnings []string
	if len(others) > 0 {
		warnings = append(warnings, "other templates matched too: "+strings.Join(others, ", "))
	}
	if args.Password == "" && args.SSHPublicKeys == "" {
		warnings = append(warnings, "no root password or SSH key given: log in through the Proxmox console (pct enter) to set one")
	}
	startText := "no"
	if args.Start {
		startText = "yes"
	}
	plan := guard.Plan{
		Tool: "create_container",
		Summary: fmt.Sprintf("create unprivileged container %d %q on %s from %s: %d cores, %d MiB memory, %d MiB swap, %d GiB rootfs on %s, network %s DHCP; start: %s",
			vmid, hostname, args.Node, tmpl.VolID, args.Cores, mem, args.SwapMiB, args.DiskGiB, st.name, args.Bridge, startText),
		Calls: []guard.Call{{Method: "POST", Path: fmt.Sprintf("/nodes/%s/lxc", args.Node), Params: params}},
		Preconditions: []guard.Precondition{
			precondition("VMID free", fmt.Sprintf("%d (GET /cluster/nextid)", vmid), true),
			precondition("node online", args.Node, true),
			precondition("storage room", fmt.Sprintf("%s: %.1f GiB free, %.1f%% full after", st.name, st.availGiB, st.afterPct), true),
			precondition("OS template", tmpl.VolID, true),
		},
		Warnings: warnings,
	}
	recheck := func(ctx context.Context) error {
		if err := vmidStillFree(ctx, vmid); err != nil {
			return err
		}
		return storageStillFits(ctx, args.Node, st.name, "rootdir", float64(args.DiskGiB))
	}
	res, err := p.propose(ctx, plan, recheck)
	if err != nil {
		return CreateContainerResult{}, err
	}
	return CreateContainerResult{PlanResult: res, VMID: vmid, Hostname: hostname, Node: args.Node, OSTemplate: tmpl.VolID,
		Cores: args.Cores, MemoryMiB: mem, SwapMiB: args.SwapMiB, DiskGiB: args.DiskGiB, Storage: st.name,
		Network: args.Bridge + ", DHCP", Unprivileged: true, Start: args.Start}, nil
}

func init() {
	toolkit.Register(
		toolkit.New(toolkit.Meta{
			Name:  "create_vm",
			Title: "Plan a new VM",
			Description: "Plans a new VM (next free VMID; clone of a template, cloud image or ISO; disk on a storage with room; " +
				"not started unless asked). Nothing happens until confirm_plan.",
			Toolset: toolkit.ToolsetWrite,
			Hints:   &toolkit.Hints{ReadOnly: false, Destructive: false, Idempotent: false, OpenWorld: false},
			Needs:   []toolkit.Need{{Priv: "VM.Allocate", Path: "/vms"}, {Priv: "Datastore.AllocateSpace", Path: "/storage"}},
		}, createVM),
		toolkit.New(toolkit.Meta{
			Name:  "create_container",
			Title: "Plan a new container",
			Description: "Plans a new unprivileged LXC container from an OS template (DHCP network; not started unless asked). " +
				"Nothing happens until confirm_plan.",
			Toolset: toolkit.ToolsetWrite,
			Hints:   &toolkit.Hints{ReadOnly: false, Destructive: false, Idempotent: false, OpenWorld: false},
			Needs:   []toolkit.Need{{Priv: "VM.Allocate", Path: "/vms"}, {Priv: "Datastore.AllocateSpace", Path: "/storage"}},
		}, createContainer),
	)
}
