package tools

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/pvemcp/pvemcp/guard"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/toolkit"
)

func init() {
	toolkit.Register(toolkit.New(toolkit.Meta{
		Name:  "restore_backup",
		Title: "Plan a restore",
		Description: "Plans restoring a backup as a new guest or, with force, over a stopped one (its disks are destroyed). " +
			"Nothing happens until confirm_plan.",
		Toolset: toolkit.ToolsetSnapshots,
		Hints:   &writeHints,
		Needs:   []toolkit.Need{{Priv: "VM.Allocate", Path: "/vms"}, {Priv: "Datastore.AllocateSpace", Path: "/storage"}},
	}, restoreBackup))
}

// RestoreArgs describe a restore.
type RestoreArgs struct {
	VolID   string `json:"volid" required:"true" maxLength:"255" pattern:"^[a-zA-Z][a-zA-Z0-9._-]*:.+$"`
	VMID    int    `json:"vmid,omitempty" pve:"vmid" description:"default: next free"`
	Node    string `json:"node,omitempty" pve:"node"`
	Storage string `json:"storage,omitempty" maxLength:"64" pattern:"^[a-zA-Z][a-zA-Z0-9._-]*$" description:"default: the disks' original storage"`
	Force   bool   `json:"force,omitempty" description:"over the existing stopped guest vmid"`
	Unique  bool   `json:"unique,omitempty" description:"new MAC addresses"`
	Start   bool   `json:"start,omitempty"`
}

// RestoreResult is the plan of a restore.
type RestoreResult struct {
	PlanResult
	VolID      string        `json:"volid"`
	Type       string        `json:"type"`
	VMID       int           `json:"vmid"`
	Node       string        `json:"node"`
	Overwrites *PlanGuest    `json:"overwrites,omitempty"`
	Disks      []RestoreDisk `json:"disks"`
}

// RestoreDisk is one disk the restore creates.
type RestoreDisk struct {
	Key     string  `json:"key"`
	SizeGiB float64 `json:"size_gib"`
	Storage string  `json:"storage"`
	From    string  `json:"from,omitempty" description:"the volume it had when backed up"`
}

// archivedDisks reads disk keys, sizes and storages from a backup's config.
func archivedDisks(text, typ string) []RestoreDisk {
	var out []RestoreDisk
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "[") {
			break // snapshot or pending sections
		}
		k, v, ok := strings.Cut(line, ": ")
		if !ok || !snapDiskKeyRE.MatchString(k) || strings.Contains(v, "media=cdrom") || strings.Contains(v, "cloudinit") {
			continue
		}
		if typ == "lxc" && k != "rootfs" && !strings.HasPrefix(k, "mp") {
			continue
		}
		vol, _, _ := strings.Cut(v, ",")
		vol = strings.TrimPrefix(vol, "volume=")
		st, _, _ := strings.Cut(vol, ":")
		out = append(out, RestoreDisk{Key: k, SizeGiB: toolkit.Round(diskSizeGiB(v), 1), Storage: st, From: vol})
	}
	return out
}

func restoreBackup(ctx context.Context, args RestoreArgs) (RestoreResult, error) {
	p, err := newPlanBuilder(ctx)
	if err != nil {
		return RestoreResult{}, err
	}
	var existing *proxmox.Resource
	if args.VMID != 0 {
		if g, err := findGuest(ctx, p.client, args.VMID); err == nil {
			existing = &g
		}
	}
	node := args.Node
	if node == "" && existing != nil {
		node = existing.Node
	}
	vol, err := findBackup(ctx, p.client, args.VolID, node)
	if err != nil {
		return RestoreResult{}, err
	}
	typ := backupGuestType(vol.StoredVolume)
	if node == "" {
		node = vol.store.node
		if orig, err := findGuest(ctx, p.client, int(vol.VMID)); err == nil && slices.Contains(vol.store.nodes, orig.Node) {
			node = orig.Node
		}
	}
	if _, err := nodeOnline(ctx, p.client, node); err != nil {
		return RestoreResult{}, err
	}
	kind := guestKind(typ)
	var warnings []string
	vmid := args.VMID
	switch {
	case existing != nil && !args.Force:
		return RestoreResult{}, fmt.Errorf("VMID %d is %s %d (%s) on %s; restoring over it needs force=true, which destroys its current disks. Omit vmid to restore as a new guest",
			vmid, guestKind(existing.Type), vmid, existing.Name, existing.Node)
	case existing != nil:
		if existing.Type != typ {
			return RestoreResult{}, fmt.Errorf("VMID %d is a %s; backup %s is of a %s", vmid, guestKind(existing.Type), args.VolID, kind)
		}
		if existing.Node != node {
			return RestoreResult{}, fmt.Errorf("%s %d lives on %s; a restore over it must run there (node %s given)", kind, vmid, existing.Node, node)
		}
		if existing.Status != "stopped" {
			return RestoreResult{}, fmt.Errorf("%s %d (%s) is %s; Proxmox restores only over a stopped guest. Stop it first (guest_power), or omit vmid to restore as a new guest",
				kind, vmid, existing.Name, existing.Status)
		}
		if err := p.gate.Protection.Check(vmid, existing.Tags); err != nil {
			return RestoreResult{}, err
		}
		if existing.Lock != "" {
			return RestoreResult{}, fmt.Errorf("%s %d is locked (%s)", kind, vmid, existing.Lock)
		}
	case args.Force:
		return RestoreResult{}, fmt.Errorf("force is for restoring over an existing guest; VMID %d is free", vmid)
	case vmid == 0:
		if vmid, err = p.client.NextVMID(ctx); err != nil {
			return RestoreResult{}, err
		}
	}
	text, err := p.client.BackupConfig(ctx, node, args.VolID)
	if err != nil {
		return RestoreResult{}, fmt.Errorf("reading the guest config in %s: %w", args.VolID, err)
	}
	disks := archivedDisks(text, typ)
	if len(disks) == 0 {
		warnings = append(warnings, "the archived config lists no disks")
	}
	content := "images"
	if typ == "lxc" {
		content = "rootdir"
	}
	perStorage := map[string]float64{}
	for i := range disks {
		if args.Storage != "" {
			disks[i].Storage = args.Storage
		}
		perStorage[disks[i].Storage] += disks[i].SizeGiB
	}
	var room []string
	for _, st := range slices.Sorted(maps.Keys(perStorage)) {
		fit, err := chooseStorage(ctx, p.client, node, st, content, perStorage[st])
		if err != nil {
			if fit.name == "" {
				return RestoreResult{}, fmt.Errorf("cannot restore to %s on %s: %v", st, node, err)
			}
			if perStorage[st] > fit.availGiB {
				return RestoreResult{}, fmt.Errorf("cannot restore to %s on %s: %v", st, node, err)
			}
			warnings = append(warnings, err.Error()+" (thin storage may need less)")
		}
		room = append(room, fmt.Sprintf("%s: %.1f GiB free, %.1f GiB of disks", st, fit.availGiB, perStorage[st]))
	}
	needs := []guard.Need{{Path: vmPath(vmid), Privs: []string{"VM.Allocate"}}}
	for _, st := range slices.Sorted(maps.Keys(perStorage)) {
		needs = append(needs, guard.Need{Path: "/storage/" + st, Privs: []string{"Datastore.AllocateSpace"}})
	}
	if err := p.require(ctx, needs...); err != nil {
		return RestoreResult{}, err
	}
	// Reading the archive: Datastore.Allocate on its storage, or
	// Datastore.AllocateSpace there with VM.Backup on its guest.
	if err := p.requireBackupAccess(ctx, vol); err != nil {
		return RestoreResult{}, err
	}
	params := map[string]string{"vmid": strconv.Itoa(vmid)}
	if typ == "lxc" {
		params["ostemplate"], params["restore"] = args.VolID, "1"
		st := args.Storage
		if st == "" && len(disks) > 0 {
			st = disks[0].Storage
		}
		if st != "" {
			params["storage"] = st
		}
	} else {
		params["archive"] = args.VolID
		if args.Storage != "" {
			params["storage"] = args.Storage
		}
	}
	if args.Force {
		params["force"] = "1"
	}
	if args.Unique {
		params["unique"] = "1"
	}
	if args.Start {
		params["start"] = "1"
	}
	if !proxmox.ValidNode(node) {
		return RestoreResult{}, fmt.Errorf("invalid node name %q", node)
	}
	call := guard.Call{Method: "POST", Path: fmt.Sprintf("/nodes/%s/%s", node, typ), Params: params}
	out := RestoreResult{VolID: args.VolID, Type: typ, VMID: vmid, Node: node, Disks: disks}
	what := fmt.Sprintf("as new %s %d", kind, vmid)
	pre := []guard.Precondition{
		precondition("backup exists", fmt.Sprintf("%s (%s %d, %s, %.1f GiB)", args.VolID, kind, vol.VMID, rfcTime(int64(vol.CTime)), toolkit.GiB(vol.Size)), true),
		precondition("storage room", strings.Join(room, "; "), true),
	}
	if existing != nil {
		pg := planGuest(*existing)
		out.Overwrites = &pg
		what = fmt.Sprintf("over %s %d (%s), which is stopped", kind, vmid, existing.Name)
		cur, err := p.client.GuestConfig(ctx, existing.Node, proxmox.GuestType(existing.Type), vmid)
		if err != nil {
			return RestoreResult{}, err
		}
		old := storageFacts(cur.Values, nil).disks
		warnings = append(warnings, fmt.Sprintf("the current disks of %s %d are destroyed and replaced by the backup's: %s. Its current config and snapshots are replaced too",
			kind, vmid, orNone(old)))
		pre = append(pre, precondition("guest stopped", fmt.Sprintf("%s %d on %s", kind, vmid, existing.Node), true))
	} else {
		pre = append(pre, precondition("VMID free", strconv.Itoa(vmid), true))
	}
	if !args.Unique && existing == nil {
		if _, err := findGuest(ctx, p.client, int(vol.VMID)); err == nil {
			warnings = append(warnings, fmt.Sprintf("the original guest %d still exists: without unique=true the copy keeps its MAC addresses, which clash on the same network", vol.VMID))
		}
	}
	var sizes []string
	for _, d := range disks {
		sizes = append(sizes, fmt.Sprintf("%s %.0f GiB on %s", d.Key, d.SizeGiB, d.Storage))
	}
	plan := guard.Plan{
		Tool:          "restore_backup",
		Summary:       fmt.Sprintf("restore %s %s on %s: disks %s; unique: %v; start: %v", args.VolID, what, node, orNone(sizes), args.Unique, args.Start),
		Calls:         []guard.Call{call},
		Preconditions: pre,
		Warnings:      warnings,
	}
	recheck := func(ctx context.Context) error {
		c, err := toolkit.Client(ctx)
		if err != nil {
			return err
		}
		if existing == nil {
			if err := vmidStillFree(ctx, vmid); err != nil {
				return err
			}
		} else {
			now, err := findGuest(ctx, c, vmid)
			if err != nil {
				return err
			}
			if now.Node != existing.Node || now.Status != "stopped" || now.Lock != "" {
				return fmt.Errorf("%s %d is now %s on %s (lock %q); a restore over it needs it stopped and unlocked", kind, vmid, now.Status, now.Node, now.Lock)
			}
		}
		_, err = findBackup(ctx, c, args.VolID, node)
		return err
	}
	res, err := p.propose(ctx, plan, recheck)
	if err != nil {
		return RestoreResult{}, err
	}
	out.PlanResult = res
	return out, nil
}

// requireBackupAccess is Proxmox's check for reading or removing a backup:
// Datastore.Allocate on its storage, or Datastore.AllocateSpace there plus
// VM.Backup on the guest it belongs to.
func (p *planBuilder) requireBackupAccess(ctx context.Context, v storedBackup) error {
	sp := "/storage/" + v.store.storage
	if p.require(ctx, guard.Need{Path: sp, Privs: []string{"Datastore.Allocate"}}) == nil {
		return nil
	}
	if v.VMID == 0 {
		return fmt.Errorf("refused at plan time: the API token lacks Datastore.Allocate on %s", sp)
	}
	if err := p.require(ctx, guard.Need{Path: sp, Privs: []string{"Datastore.AllocateSpace"}},
		guard.Need{Path: vmPath(int(v.VMID)), Privs: []string{"VM.Backup"}}); err != nil {
		return fmt.Errorf("%v (Proxmox wants Datastore.Allocate on %s, or Datastore.AllocateSpace there with VM.Backup on %s)", err, sp, vmPath(int(v.VMID)))
	}
	return nil
}
