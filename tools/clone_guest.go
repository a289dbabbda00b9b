package tools

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/pvemcp/pvemcp/guard"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/toolkit"
)

func init() {
	toolkit.Register(toolkit.New(toolkit.Meta{
		Name:  "clone_guest",
		Title: "Plan a clone of a VM or container",
		Description: "Plans one or several clones of a VM, container or template: full copy, or linked (templates only), " +
			"next free VMIDs, names from a pattern, target node, storage, pool; they run one after the other. " +
			"Nothing happens until confirm_plan.",
		Toolset: toolkit.ToolsetLifecycle,
		Hints:   &toolkit.Hints{ReadOnly: false, Destructive: false, Idempotent: false, OpenWorld: false},
		Needs:   []toolkit.Need{{Priv: "VM.Clone", Path: "/vms"}, {Priv: "VM.Allocate", Path: "/vms"}, {Priv: "Datastore.AllocateSpace", Path: "/storage"}},
	}, cloneGuest))
}

// CloneArgs describe the clones to make.
type CloneArgs struct {
	VMID    int    `json:"vmid" pve:"vmid" required:"true"`
	NewID   int    `json:"newid,omitempty" pve:"vmid" description:"VMID of the first clone (default: next free)"`
	Name    string `json:"name,omitempty" maxLength:"60" description:"VM name or CT hostname; {n} becomes the clone number"`
	Count   int    `json:"count,omitempty" minimum:"1" maximum:"10"`
	Full    *bool  `json:"full,omitempty" description:"default: linked for a template, full otherwise"`
	Target  string `json:"target,omitempty" pve:"node" description:"another node only from shared storage"`
	Storage string `json:"storage,omitempty" maxLength:"64" description:"full clones only (default: the source's)"`
	Pool    string `json:"pool,omitempty" maxLength:"64"`
}

var (
	storageIDRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_.-]*$`)
	poolIDRE    = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

var namePatternRE = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9.{}-]*[a-zA-Z0-9}])?$`)

// Validate refuses malformed names and a storage for linked clones before any Proxmox request.
func (a CloneArgs) Validate() error {
	if a.Name != "" && !namePatternRE.MatchString(a.Name) {
		return fmt.Errorf("argument \"name\": %q is not a valid DNS name (letters, digits, '-', '.'; '{n}' for the clone number)", a.Name)
	}
	if a.Name != "" && strings.Count(a.Name, "{") != strings.Count(a.Name, "{n}") {
		return fmt.Errorf("argument \"name\": only {n} may appear in braces")
	}
	if a.Storage != "" && !storageIDRE.MatchString(a.Storage) {
		return fmt.Errorf("argument \"storage\": %q is not a Proxmox storage ID", a.Storage)
	}
	if a.Pool != "" && !poolIDRE.MatchString(a.Pool) {
		return fmt.Errorf("argument \"pool\": %q is not a Proxmox pool ID", a.Pool)
	}
	if a.Full != nil && !*a.Full && a.Storage != "" {
		return fmt.Errorf("argument \"storage\": a linked clone stays on the template's storage (Proxmox: parameter 'storage' not allowed for linked clones)")
	}
	return nil
}

// PlannedClone is one clone of the plan.
type PlannedClone struct {
	VMID int    `json:"vmid"`
	Name string `json:"name,omitempty"`
}

// CloneResult is the plan of the clones.
type CloneResult struct {
	PlanResult
	Source  PlanGuest      `json:"source"`
	Mode    string         `json:"mode"`
	Target  string         `json:"target_node"`
	Storage string         `json:"storage,omitempty"`
	Clones  []PlannedClone `json:"clones"`
}

// guestDisk is one disk of a guest's config.
type guestDisk struct {
	Key     string
	VolID   string
	Storage string
	SizeGiB float64
}

var lxcDiskKeyRE = regexp.MustCompile(`^(rootfs|mp\d+)$`)

// configDisks lists a guest's disks (VM: scsi/virtio/sata/ide/efidisk/tpmstate without CD-ROMs; container:
// rootfs and mount points with a volume; unused volumes when withUnused).
func configDisks(typ string, cfg map[string]string, withUnused bool) []guestDisk {
	var out []guestDisk
	for _, k := range slices.Sorted(maps.Keys(cfg)) {
		v := cfg[k]
		isUnused := strings.HasPrefix(k, "unused")
		switch {
		case isUnused && withUnused:
		case typ == string(proxmox.TypeLXC) && lxcDiskKeyRE.MatchString(k):
		case typ == string(proxmox.TypeQemu) && (diskKeyRE.MatchString(k) || k == "efidisk0" || k == "tpmstate0"):
			if strings.Contains(v, "media=cdrom") && !strings.Contains(v, "cloudinit") {
				continue
			}
		default:
			continue
		}
		vol, _, _ := strings.Cut(v, ",")
		vol = strings.TrimPrefix(strings.TrimPrefix(vol, "volume="), "file=")
		if vol == "none" || !strings.Contains(vol, ":") || strings.HasPrefix(vol, "/") {
			continue // no disk, or a bind mount / host device
		}
		out = append(out, guestDisk{Key: k, VolID: vol, Storage: volumeStorage(vol), SizeGiB: diskSizeGiB(v)})
	}
	return out
}

// cloneNames expands the name pattern for count clones.
func cloneNames(pattern string, count int) []string {
	out := make([]string, count)
	for i := range out {
		switch {
		case pattern == "":
		case strings.Contains(pattern, "{n}"):
			out[i] = strings.ReplaceAll(pattern, "{n}", strconv.Itoa(i+1))
		case count > 1:
			out[i] = fmt.Sprintf("%s-%d", pattern, i+1)
		default:
			out[i] = pattern
		}
	}
	return out
}

// chooseVMIDs picks count free VMIDs from first (or Proxmox's next free one) upward.
func chooseVMIDs(ctx context.Context, c *proxmox.Client, first, count int) ([]int, error) {
	id, err := chooseVMID(ctx, c, first)
	if err != nil {
		return nil, err
	}
	ids := []int{id}
	for cand := id + 1; len(ids) < count; cand++ {
		if !proxmox.ValidVMID(cand) {
			return nil, fmt.Errorf("no %d free VMIDs from %d", count, id)
		}
		free, err := c.VMIDFree(ctx, cand)
		if err != nil {
			return nil, err
		}
		if free {
			ids = append(ids, cand)
		} else if first != 0 {
			return nil, fmt.Errorf("VMID %d is already in use (clones take consecutive VMIDs from newid %d)", cand, first)
		}
	}
	return ids, nil
}

func cloneGuest(ctx context.Context, args CloneArgs) (CloneResult, error) {
	p, err := newPlanBuilder(ctx)
	if err != nil {
		return CloneResult{}, err
	}
	count := max(args.Count, 1)
	if err := p.require(ctx, guard.Need{Path: vmPath(args.VMID), Privs: []string{"VM.Clone"}}); err != nil {
		return CloneResult{}, err
	}
	src, err := findGuest(ctx, p.client, args.VMID)
	if err != nil {
		return CloneResult{}, err
	}
	kind := guestKind(src.Type)
	if src.Lock != "" {
		return CloneResult{}, fmt.Errorf("%s %d is locked (%s); Proxmox refuses to clone it until the lock is released", kind, args.VMID, src.Lock)
	}
	full := !bool(src.Template)
	if args.Full != nil {
		full = *args.Full
	}
	if !full && !bool(src.Template) {
		return CloneResult{}, fmt.Errorf("refused: a linked clone needs a template, and %s %d (%s) is not one; Proxmox only links clones to a template's base disks. Clone it with full=true, or convert it with convert_to_template first", kind, args.VMID, src.Name)
	}
	if full && src.Type == string(proxmox.TypeLXC) && src.Status == "running" {
		return CloneResult{}, fmt.Errorf("refused: container %d is running; Proxmox makes a full clone of a running container only from a snapshot (\"Cannot do full clones on a running container without snapshots\"). Shut it down first", args.VMID)
	}
	cfg, err := p.client.GuestConfig(ctx, src.Node, proxmox.GuestType(src.Type), args.VMID)
	if err != nil {
		return CloneResult{}, err
	}
	disks := configDisks(src.Type, cfg.Values, false)
	target := args.Target
	if target == "" {
		target = src.Node
	}
	var warnings []string
	if target != src.Node {
		if _, err := nodeOnline(ctx, p.client, target); err != nil {
			return CloneResult{}, err
		}
		for _, d := range disks {
			if !sharedStorage(ctx, p.client, d.Storage) {
				return CloneResult{}, fmt.Errorf("refused: %s %d has disk %s on local storage %s; Proxmox clones to another node (%s) only from shared storage. Clone on %s and migrate the clones instead", kind, args.VMID, d.Key, d.Storage, target, src.Node)
			}
		}
		if args.Storage != "" && !sharedStorage(ctx, p.client, args.Storage) {
			return CloneResult{}, fmt.Errorf("refused: Proxmox clones to another node only onto shared storage; %s is not shared", args.Storage)
		}
	}
	// Room for full copies: every clone copies every disk onto its storage (the target, or the disk's own).
	content := "images"
	if src.Type == string(proxmox.TypeLXC) {
		content = "rootdir"
	}
	perStorage := map[string]float64{}
	for _, d := range disks {
		st := d.Storage
		if full && args.Storage != "" {
			st = args.Storage
		}
		copied := 0.0 // a linked clone only writes its changes
		if full {
			copied = d.SizeGiB * float64(count)
		}
		perStorage[st] += copied
	}
	stores := slices.Sorted(maps.Keys(perStorage))
	var needs []guard.Need
	var pre []guard.Precondition
	for _, st := range stores {
		needs = append(needs, guard.Need{Path: "/storage/" + st, Privs: []string{"Datastore.AllocateSpace"}})
		if !full {
			continue
		}
		fit, err := chooseStorage(ctx, p.client, src.Node, st, content, perStorage[st])
		if err != nil {
			return CloneResult{}, fmt.Errorf("refused: %w", err)
		}
		pre = append(pre, precondition("storage room", fmt.Sprintf("%s: %.1f GiB free, %.1f GiB to copy, %.1f%% full after", st, fit.availGiB, perStorage[st], fit.afterPct), true))
	}
	ids, err := chooseVMIDs(ctx, p.client, args.NewID, count)
	if err != nil {
		return CloneResult{}, err
	}
	// VM.Allocate on each new VMID, or on the pool when one is given (clone_vm's check).
	for _, id := range ids {
		err := p.require(ctx, guard.Need{Path: vmPath(id), Privs: []string{"VM.Allocate"}})
		if err != nil && args.Pool != "" {
			err = p.require(ctx, guard.Need{Path: "/pool/" + args.Pool, Privs: []string{"VM.Allocate"}})
		}
		if err != nil {
			return CloneResult{}, err
		}
	}
	if err := p.require(ctx, needs...); err != nil {
		return CloneResult{}, err
	}
	names := cloneNames(args.Name, count)
	nameKey := "name"
	if src.Type == string(proxmox.TypeLXC) {
		nameKey = "hostname"
	}
	path, err := guestAPIPath(src.Node, src.Type, args.VMID, "clone")
	if err != nil {
		return CloneResult{}, err
	}
	mode := "full"
	if !full {
		mode = "linked"
	}
	var calls []guard.Call
	var clones []PlannedClone
	for i, id := range ids {
		params := map[string]string{"newid": strconv.Itoa(id), "full": "0"}
		if full {
			params["full"] = "1"
		}
		if names[i] != "" {
			params[nameKey] = names[i]
		}
		if target != src.Node {
			params["target"] = target
		}
		if full && args.Storage != "" {
			params["storage"] = args.Storage
		}
		if args.Pool != "" {
			params["pool"] = args.Pool
		}
		calls = append(calls, guard.Call{Method: "POST", Path: path, Params: params})
		clones = append(clones, PlannedClone{VMID: id, Name: names[i]})
	}
	var copyGiB float64
	for _, v := range perStorage {
		copyGiB += v
	}
	what := fmt.Sprintf("%d %s clone(s) of %s %d (%s)", count, mode, kind, args.VMID, src.Name)
	idList := make([]string, len(ids))
	for i, id := range ids {
		idList[i] = strconv.Itoa(id)
	}
	summary := fmt.Sprintf("%s as %s on %s", what, strings.Join(idList, ", "), target)
	if full {
		summary += fmt.Sprintf(", copying %.1f GiB of disks", copyGiB)
	}
	if args.Pool != "" {
		summary += ", in pool " + args.Pool
	}
	if !full {
		warnings = append(warnings, fmt.Sprintf("linked clones share the template's base disks: template %d cannot be deleted while they exist", args.VMID))
	}
	if count > 1 {
		warnings = append(warnings, fmt.Sprintf("the %d clones run one after the other; if one fails, the later ones are not sent", count))
	}
	if src.Status == "running" && src.Type == string(proxmox.TypeQemu) {
		warnings = append(warnings, fmt.Sprintf("%s %d is running: the clone copies its disks as they are at that moment", kind, args.VMID))
	}
	plan := guard.Plan{
		Tool:    "clone_guest",
		Summary: summary,
		Calls:   calls,
		Preconditions: append([]guard.Precondition{
			precondition("source exists", fmt.Sprintf("%s %d on %s", kind, args.VMID, src.Node), true),
			precondition("source unlocked", "no lock", true),
			precondition("clone mode", fmt.Sprintf("%s (source is a template: %v)", mode, bool(src.Template)), true),
			precondition("VMIDs free", strings.Join(idList, ", "), true),
			precondition("privileges", fmt.Sprintf("VM.Clone on %s, VM.Allocate on the new VMIDs, Datastore.AllocateSpace on %s", vmPath(args.VMID), strings.Join(stores, ", ")), true),
		}, pre...),
		Warnings: warnings,
	}
	srcNode := src.Node
	recheck := func(ctx context.Context) error {
		c, err := toolkit.Client(ctx)
		if err != nil {
			return err
		}
		now, err := guestOnPlanNode(ctx, c, args.VMID, kind, srcNode)
		if err != nil {
			return err
		}
		if now.Lock != "" {
			return fmt.Errorf("%s %d is now locked (%s)", kind, args.VMID, now.Lock)
		}
		if bool(now.Template) != bool(src.Template) {
			return fmt.Errorf("%s %d changed between template and guest since the plan", kind, args.VMID)
		}
		for _, id := range ids {
			if err := vmidStillFree(ctx, id); err != nil {
				return err
			}
		}
		if full {
			for _, st := range stores {
				if err := storageStillFits(ctx, srcNode, st, content, perStorage[st]); err != nil {
					return err
				}
			}
		}
		return nil
	}
	res, err := p.propose(ctx, plan, recheck)
	if err != nil {
		return CloneResult{}, err
	}
	sort.Slice(clones, func(i, j int) bool { return clones[i].VMID < clones[j].VMID })
	out := CloneResult{PlanResult: res, Source: planGuest(src), Mode: mode, Target: target, Clones: clones}
	if full {
		out.Storage = args.Storage
	}
	return out, nil
}
