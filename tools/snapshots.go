package tools

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/pvemcp/pvemcp/guard"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/toolkit"
)

func init() {
	toolkit.Register(
		toolkit.New(toolkit.Meta{
			Name:        "list_snapshots",
			Title:       "Guest snapshots",
			Description: "Snapshots of a guest or of all guests: tree, times, RAM state, where the guest is now, and whether ZFS limits rollback to the newest.",
			Toolset:     toolkit.ToolsetSnapshots,
			Hints:       &toolkit.ReadHints,
			Needs:       []toolkit.Need{{Priv: "VM.Audit", Path: "/vms"}},
		}, listSnapshots),
		toolkit.New(toolkit.Meta{
			Name:  "snapshot_guest",
			Title: "Plan a snapshot, rollback or snapshot deletion",
			Description: "Plans a snapshot create (optionally with RAM), rollback (lists what is lost; refused on ZFS past newer snapshots) " +
				"or delete. Nothing happens until confirm_plan.",
			Toolset: toolkit.ToolsetSnapshots,
			Hints:   &writeHints,
			Needs:   []toolkit.Need{{Priv: "VM.Snapshot", Path: "/vms"}},
		}, snapshotGuest),
	)
}

// ---- list_snapshots ----

// ListSnapshotsArgs select the guests.
type ListSnapshotsArgs struct {
	VMID int    `json:"vmid,omitempty" pve:"vmid"`
	Node string `json:"node,omitempty" pve:"node"`
}

// ListSnapshotsResult is the snapshots per guest.
type ListSnapshotsResult struct {
	Guests []GuestSnapshots `json:"guests"`
	Total  int              `json:"total_snapshots"`
}

// GuestSnapshots is one guest's snapshot tree.
type GuestSnapshots struct {
	VMID   int    `json:"vmid"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	Node   string `json:"node"`
	Status string `json:"status"`
	// Current is the snapshot the guest's current state derives from ("" =
	// none: the state is not based on any snapshot).
	Current string `json:"current_parent,omitempty"`
	// Path is the chain from the oldest ancestor to the current state.
	Path      []string       `json:"path_to_current,omitempty"`
	Snapshots []SnapshotNode `json:"snapshots"`
	// LatestOnly: a disk is on ZFS, where Proxmox can only roll back to the
	// newest snapshot.
	LatestOnly   bool     `json:"rollback_latest_only,omitempty"`
	ZFSDisks     []string `json:"zfs_disks,omitempty"`
	Unsupported  string   `json:"snapshots_unsupported,omitempty" description:"why Proxmox cannot snapshot this guest"`
	Tree         string   `json:"tree,omitempty" description:"the tree drawn as text, 'current' marking where the guest is"`
	ConfigErrors string   `json:"config_error,omitempty"`
}

// SnapshotNode is one snapshot.
type SnapshotNode struct {
	Name        string   `json:"name"`
	Parent      string   `json:"parent,omitempty"`
	Time        string   `json:"time,omitempty"`
	AgeHours    float64  `json:"age_hours,omitempty"`
	Description string   `json:"description,omitempty"`
	VMState     bool     `json:"vmstate,omitempty" description:"includes RAM: a rollback resumes the VM running"`
	Children    []string `json:"children,omitempty"`
	Depth       int      `json:"depth"`
}

// guestStorageFacts reads a guest's config and tells which disks are on ZFS
// and whether every disk's storage can take snapshots.
type guestStorageFacts struct {
	zfsDisks    []string
	unsupported string
	disks       []string // volids of the snapshot-able disks
}

var snapDiskKeyRE = regexp.MustCompile(`^(scsi|virtio|sata|ide)\d+$|^(efidisk0|tpmstate0|rootfs)$|^mp\d+$`)

func storageFacts(cfg map[string]string, types map[string]string) guestStorageFacts {
	var f guestStorageFacts
	for _, k := range slices.Sorted(maps.Keys(cfg)) {
		v := cfg[k]
		if !snapDiskKeyRE.MatchString(k) || strings.Contains(v, "media=cdrom") || strings.Contains(v, "cloudinit") {
			continue
		}
		vol, _, _ := strings.Cut(v, ",")
		vol = strings.TrimPrefix(vol, "volume=")
		st, _, ok := strings.Cut(vol, ":")
		if !ok || vol == "none" {
			continue
		}
		f.disks = append(f.disks, vol)
		switch typ := types[st]; typ {
		case "zfspool", "zfs":
			f.zfsDisks = append(f.zfsDisks, vol)
		case "lvmthin", "rbd", "btrfs":
		case "dir", "nfs", "cifs", "glusterfs", "cephfs":
			if !strings.HasSuffix(vol, ".qcow2") && f.unsupported == "" {
				f.unsupported = fmt.Sprintf("disk %s (%s) is a raw file on %s storage %s: Proxmox answers \"snapshot feature is not available\"", k, vol, typ, st)
			}
		default:
			if f.unsupported == "" {
				f.unsupported = fmt.Sprintf("disk %s (%s) is on %s storage %s, which has no snapshots: Proxmox answers \"snapshot feature is not available\"", k, vol, orUnknown(typ), st)
			}
		}
	}
	return f
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown-type"
	}
	return s
}

// storageTypes maps storage ids to their plugin type (cluster resources).
func storageTypes(ctx context.Context, c *proxmox.Client) (map[string]string, error) {
	rs, err := c.Resources(ctx, proxmox.ResourceStorage)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, r := range rs {
		if r.PluginType != "" {
			out[r.Storage] = r.PluginType
		}
	}
	return out, nil
}

func snapshotNodes(ctx context.Context, snaps []proxmox.Snapshot) []SnapshotNode {
	now := toolkit.EnvFrom(ctx).Time().Unix()
	byName := map[string]*SnapshotNode{}
	out := make([]SnapshotNode, len(snaps))
	for i, s := range snaps {
		out[i] = SnapshotNode{Name: s.Name, Parent: s.Parent, Time: rfcTime(int64(s.SnapTime)), Description: s.Description, VMState: bool(s.VMState)}
		if s.SnapTime > 0 {
			out[i].AgeHours = toolkit.Round(float64(now-int64(s.SnapTime))/3600, 1)
		}
	}
	for i := range out {
		byName[out[i].Name] = &out[i]
	}
	for i := range out {
		if p := byName[out[i].Parent]; p != nil {
			p.Children = append(p.Children, out[i].Name)
		}
		d, seen := 0, map[string]bool{}
		for p := byName[out[i].Parent]; p != nil && !seen[p.Name]; p = byName[p.Parent] {
			seen[p.Name] = true
			d++
		}
		out[i].Depth = d
	}
	return out
}

// snapshotPath is the chain from the root to name.
func snapshotPath(nodes []SnapshotNode, name string) []string {
	by := map[string]SnapshotNode{}
	for _, n := range nodes {
		by[n.Name] = n
	}
	var path []string
	seen := map[string]bool{}
	for n, ok := by[name]; ok && !seen[n.Name]; n, ok = by[n.Parent] {
		seen[n.Name] = true
		path = append([]string{n.Name}, path...)
	}
	return path
}

// snapshotTreeText draws the tree, children indented under their parent.
func snapshotTreeText(nodes []SnapshotNode, current string) string {
	by := map[string]SnapshotNode{}
	var roots []string
	for _, n := range nodes {
		by[n.Name] = n
	}
	for _, n := range nodes {
		if _, ok := by[n.Parent]; !ok {
			roots = append(roots, n.Name)
		}
	}
	var b strings.Builder
	var walk func(name string, depth int, seen map[string]bool)
	walk = func(name string, depth int, seen map[string]bool) {
		if seen[name] {
			return
		}
		seen[name] = true
		n := by[name]
		b.WriteString(strings.Repeat("  ", depth) + "- " + name)
		if n.VMState {
			b.WriteString(" (RAM)")
		}
		b.WriteString("\n")
		if name == current {
			b.WriteString(strings.Repeat("  ", depth+1) + "- current\n")
		}
		for _, c := range n.Children {
			walk(c, depth+1, seen)
		}
	}
	seen := map[string]bool{}
	for _, r := range roots {
		walk(r, 0, seen)
	}
	if current == "" {
		b.WriteString("- current\n")
	}
	return b.String()
}

func listSnapshots(ctx context.Context, args ListSnapshotsArgs) (ListSnapshotsResult, error) {
	c, err := toolkit.Client(ctx)
	if err != nil {
		return ListSnapshotsResult{}, err
	}
	rs, err := c.Resources(ctx, proxmox.ResourceVM)
	if err != nil {
		return ListSnapshotsResult{}, err
	}
	types, terr := storageTypes(ctx, c)
	if terr != nil {
		toolkit.AddErr(ctx, "", terr)
		toolkit.AddUnavailable(ctx, "storage types", "GET /cluster/resources?type=storage failed; ZFS rollback limits are not shown")
	}
	var guests []proxmox.Resource
	for _, r := range rs {
		if !r.IsGuest() || (args.VMID != 0 && int(r.VMID) != args.VMID) || (args.Node != "" && r.Node != args.Node) {
			continue
		}
		guests = append(guests, r)
	}
	if args.VMID != 0 && len(guests) == 0 {
		return ListSnapshotsResult{}, fmt.Errorf("no VM or container with VMID %d%s (or the token may not see it: VM.Audit)", args.VMID, onNode(args.Node))
	}
	sort.Slice(guests, func(i, j int) bool { return guests[i].VMID < guests[j].VMID })
	keys := make([]string, len(guests))
	byKey := map[string]proxmox.Resource{}
	for i, g := range guests {
		keys[i] = fmt.Sprint(g.VMID)
		byKey[keys[i]] = g
	}
	type answer struct {
		snaps []proxmox.Snapshot
		cur   proxmox.Snapshot
		cfg   *proxmox.GuestConfig
		cfErr error
	}
	res := proxmox.FanOut(ctx, keys, c.FanOutLimit(), func(ctx context.Context, k string) (answer, error) {
		g := byKey[k]
		t := proxmox.GuestType(g.Type)
		snaps, cur, err := c.SnapshotTree(ctx, g.Node, t, int(g.VMID))
		if err != nil {
			return answer{}, err
		}
		cfg, cfErr := c.GuestConfig(ctx, g.Node, t, int(g.VMID))
		return answer{snaps: snaps, cur: cur, cfg: cfg, cfErr: cfErr}, nil
	})
	out := ListSnapshotsResult{Guests: []GuestSnapshots{}}
	for _, r := range res {
		g := byKey[r.Node]
		if r.Err != nil {
			toolkit.AddErr(ctx, g.Node, fmt.Errorf("snapshots of %d: %w", g.VMID, r.Err))
			continue
		}
		nodes := snapshotNodes(ctx, r.Value.snaps)
		gs := GuestSnapshots{VMID: int(g.VMID), Name: g.Name, Type: g.Type, Node: g.Node, Status: g.Status, Current: r.Value.cur.Parent,
			Snapshots: nodes, Path: snapshotPath(nodes, r.Value.cur.Parent)}
		if len(nodes) > 0 {
			gs.Tree = snapshotTreeText(nodes, r.Value.cur.Parent)
		}
		switch {
		case r.Value.cfErr != nil:
			gs.ConfigErrors = "config unreadable, storage limits unknown: " + r.Value.cfErr.Error()
		case terr == nil:
			f := storageFacts(r.Value.cfg.Values, types)
			gs.ZFSDisks, gs.LatestOnly, gs.Unsupported = f.zfsDisks, len(f.zfsDisks) > 0, f.unsupported
		}
		out.Total += len(nodes)
		out.Guests = append(out.Guests, gs)
	}
	return out, nil
}

func onNode(node string) string {
	if node == "" {
		return ""
	}
	return " on node " + node
}

// ---- snapshot_guest ----

// SnapshotArgs describe a snapshot action.
type SnapshotArgs struct {
	VMID        int    `json:"vmid" pve:"vmid" required:"true"`
	Action      string `json:"action" required:"true" enum:"create,rollback,delete"`
	Name        string `json:"name" required:"true" maxLength:"40" pattern:"^[a-zA-Z][a-zA-Z0-9_-]+$" description:"snapshot name"`
	Description string `json:"description,omitempty" maxLength:"8192"`
	VMState     bool   `json:"vmstate,omitempty" description:"create: include RAM"`
	Start       bool   `json:"start,omitempty" description:"rollback: start afterwards"`
}

// Validate refuses reserved names and options of another action.
func (a SnapshotArgs) Validate() error {
	if a.Name == "current" || strings.EqualFold(a.Name, "pending") || a.Name == "vzdump" {
		return fmt.Errorf("snapshot name %q is reserved by Proxmox", a.Name)
	}
	if a.Action != "create" && (a.Description != "" || a.VMState) {
		return fmt.Errorf("description and vmstate are for action create only")
	}
	if a.Action != "rollback" && a.Start {
		return fmt.Errorf("start is for action rollback only")
	}
	return nil
}

// SnapshotResult is the plan of a snapshot action.
type SnapshotResult struct {
	PlanResult
	Guest  PlanGuest `json:"guest"`
	Action string    `json:"action"`
	Name   string    `json:"snapshot"`
	// Lost lists what a rollback throws away.
	Lost *RollbackLoss `json:"rollback_loses,omitempty"`
}

// RollbackLoss is what a rollback discards.
type RollbackLoss struct {
	SnapshotTime   string   `json:"snapshot_time,omitempty"`
	SinceHours     float64  `json:"hours_of_changes,omitempty" description:"disk contents written since the snapshot are discarded"`
	ConfigChanges  []string `json:"config_changes,omitempty" description:"config keys that go back to the snapshot's values"`
	NewerSnapshots []string `json:"newer_snapshots,omitempty" description:"snapshots taken after this one (kept, except that ZFS refuses the rollback)"`
	StateAfter     string   `json:"state_after"`
}

func snapshotGuest(ctx context.Context, args SnapshotArgs) (SnapshotResult, error) {
	p, err := newPlanBuilder(ctx)
	if err != nil {
		return SnapshotResult{}, err
	}
	priv := "VM.Snapshot"
	if args.Action == "rollback" {
		// Proxmox accepts either for a rollback.
		if err := p.require(ctx, guard.Need{Path: vmPath(args.VMID), Privs: []string{"VM.Snapshot.Rollback", "VM.Snapshot"}}); err != nil {
			return SnapshotResult{}, err
		}
		priv = "VM.Audit"
	}
	g, err := p.guest(ctx, args.VMID, priv)
	if err != nil {
		return SnapshotResult{}, err
	}
	kind, typ := guestKind(g.Type), proxmox.GuestType(g.Type)
	snaps, cur, err := p.client.SnapshotTree(ctx, g.Node, typ, args.VMID)
	if err != nil {
		return SnapshotResult{}, err
	}
	cfg, err := p.client.GuestConfig(ctx, g.Node, typ, args.VMID)
	if err != nil {
		return SnapshotResult{}, err
	}
	types, err := storageTypes(ctx, p.client)
	if err != nil {
		return SnapshotResult{}, err
	}
	facts := storageFacts(cfg.Values, types)
	var target *proxmox.Snapshot
	var names []string
	for i := range snaps {
		names = append(names, snaps[i].Name)
		if snaps[i].Name == args.Name {
			target = &snaps[i]
		}
	}
	label := fmt.Sprintf("%s %d (%s) on %s", kind, args.VMID, g.Name, g.Node)
	var calls []guard.Call
	var warnings []string
	var loss *RollbackLoss
	pre := []guard.Precondition{
		precondition("guest exists", fmt.Sprintf("%s %d on %s, %s", kind, args.VMID, g.Node, g.Status), true),
		precondition("not locked", "no lock", true),
	}
	var summary string
	switch args.Action {
	case "create":
		if target != nil {
			return SnapshotResult{}, fmt.Errorf("%s already has a snapshot named %q (snapshots: %s)", label, args.Name, strings.Join(names, ", "))
		}
		if facts.unsupported != "" {
			return SnapshotResult{}, fmt.Errorf("cannot snapshot %s: %s", label, facts.unsupported)
		}
		if g.Template {
			return SnapshotResult{}, fmt.Errorf("%s is a template; Proxmox does not snapshot templates", label)
		}
		path, err := guestAPIPath(g.Node, g.Type, args.VMID, "snapshot")
		if err != nil {
			return SnapshotResult{}, err
		}
		params := map[string]string{"snapname": args.Name}
		if args.Description != "" {
			params["description"] = args.Description
		}
		ram := ""
		if args.VMState {
			if g.Type != string(proxmox.TypeQemu) {
				return SnapshotResult{}, fmt.Errorf("vmstate is for VMs; containers have no RAM snapshots")
			}
			if g.Status != "running" {
				warnings = append(warnings, fmt.Sprintf("%s is %s: there is no RAM to save, Proxmox takes a disk-only snapshot", label, g.Status))
			} else {
				params["vmstate"] = "1"
				ram = fmt.Sprintf(" with RAM (%.1f GiB written to storage; the VM pauses briefly at the end)", toolkit.GiB(g.MaxMem))
			}
		}
		calls = append(calls, guard.Call{Method: "POST", Path: path, Params: params})
		summary = fmt.Sprintf("snapshot %s as %q%s", label, args.Name, ram)
		pre = append(pre, precondition("name free", args.Name, true), precondition("storage supports snapshots", strings.Join(facts.disks, ", "), true))
		if len(facts.zfsDisks) > 0 {
			warnings = append(warnings, "the disks are on ZFS: a later rollback can only go to the newest snapshot, and the snapshot takes space as the guest writes")
		}
	case "rollback":
		if target == nil {
			return SnapshotResult{}, fmt.Errorf("%s has no snapshot %q (snapshots: %s)", label, args.Name, orNone(names))
		}
		var newer []string
		after := false
		for _, s := range snaps {
			if s.Name == args.Name {
				after = true
			} else if after {
				newer = append(newer, s.Name)
			}
		}
		if len(facts.zfsDisks) > 0 && len(newer) > 0 {
			return SnapshotResult{}, fmt.Errorf("cannot roll %s back to %q: its disks are on ZFS (%s), where Proxmox rolls back only to the newest snapshot, and %s newer: %s. Delete those first (snapshot_guest action=delete) if they are not needed",
				label, args.Name, strings.Join(facts.zfsDisks, ", "), plural(len(newer), "snapshot is", "snapshots are"), strings.Join(newer, ", "))
		}
		snapCfg, err := p.client.SnapshotConfig(ctx, g.Node, typ, args.VMID, args.Name)
		if err != nil {
			return SnapshotResult{}, err
		}
		loss = &RollbackLoss{SnapshotTime: rfcTime(int64(target.SnapTime)), NewerSnapshots: newer, ConfigChanges: configDiff(cfg.Values, snapCfg.Values)}
		if target.SnapTime > 0 {
			loss.SinceHours = toolkit.Round(float64(toolkit.EnvFrom(ctx).Time().Unix()-int64(target.SnapTime))/3600, 1)
		}
		path, err := guestAPIPath(g.Node, g.Type, args.VMID, "snapshot", args.Name, "rollback")
		if err != nil {
			return SnapshotResult{}, err
		}
		call := guard.Call{Method: "POST", Path: path}
		switch {
		case bool(target.VMState):
			loss.StateAfter = "running, resumed from the RAM saved in the snapshot"
		case args.Start:
			call.Params = map[string]string{"start": "1"}
			loss.StateAfter = "started after the rollback"
		default:
			loss.StateAfter = "stopped"
		}
		calls = append(calls, call)
		summary = fmt.Sprintf("roll %s back to snapshot %q of %s: everything written since (%.1f h) is lost; afterwards %s", label, args.Name, loss.SnapshotTime, loss.SinceHours, loss.StateAfter)
		if g.Status == "running" && !bool(target.VMState) {
			warnings = append(warnings, fmt.Sprintf("%s is running: Proxmox stops it hard (no shutdown) before rolling back", label))
		}
		warnings = append(warnings, fmt.Sprintf("all disk contents and config changes since %s are discarded and cannot be recovered", loss.SnapshotTime))
		if len(loss.ConfigChanges) > 0 {
			warnings = append(warnings, "config keys that change back: "+strings.Join(loss.ConfigChanges, "; "))
		}
		if len(newer) > 0 {
			warnings = append(warnings, "newer snapshots stay but are no longer on the path to the current state: "+strings.Join(newer, ", "))
		}
		if g.HAState != "" {
			warnings = append(warnings, fmt.Sprintf("%s is HA-managed (%s): the HA manager may start it again after the rollback stops it", label, g.HAState))
		}
		pre = append(pre, precondition("snapshot exists", args.Name, true))
		if len(facts.zfsDisks) > 0 {
			pre = append(pre, precondition("newest snapshot (ZFS)", args.Name, true))
		}
	case "delete":
		if target == nil {
			return SnapshotResult{}, fmt.Errorf("%s has no snapshot %q (snapshots: %s)", label, args.Name, orNone(names))
		}
		path, err := guestAPIPath(g.Node, g.Type, args.VMID, "snapshot", args.Name)
		if err != nil {
			return SnapshotResult{}, err
		}
		calls = append(calls, guard.Call{Method: "DELETE", Path: path})
		summary = fmt.Sprintf("delete snapshot %q of %s (taken %s); the guest itself is not changed", args.Name, label, rfcTime(int64(target.SnapTime)))
		if cur.Parent == args.Name {
			warnings = append(warnings, fmt.Sprintf("%q is the snapshot the current state derives from: after deleting it, a rollback can only go to %s", args.Name, orNone(nonEmpty(target.Parent))))
		}
		if bool(target.VMState) {
			warnings = append(warnings, "the snapshot's saved RAM state is deleted with it")
		}
		pre = append(pre, precondition("snapshot exists", args.Name, true))
	}
	pre = append(pre, precondition("privilege", privName(args.Action)+" on "+vmPath(args.VMID), true))
	plan := guard.Plan{Tool: "snapshot_guest", Summary: summary, Calls: calls, Preconditions: pre, Warnings: warnings}
	status := g.Status
	recheck := func(ctx context.Context) error {
		c, err := toolkit.Client(ctx)
		if err != nil {
			return err
		}
		now, err := guestOnPlanNode(ctx, c, args.VMID, kind, g.Node)
		if err != nil {
			return err
		}
		if now.Lock != "" {
			return fmt.Errorf("%s %d is now locked (%s)", kind, args.VMID, now.Lock)
		}
		if args.Action == "rollback" && now.Status != status {
			return fmt.Errorf("%s %d is now %s (was %s when planned)", kind, args.VMID, now.Status, status)
		}
		snaps, _, err := c.SnapshotTree(ctx, g.Node, typ, args.VMID)
		if err != nil {
			return err
		}
		found, newer, after := false, 0, false
		for _, s := range snaps {
			if s.Name == args.Name {
				found, after = true, true
			} else if after {
				newer++
			}
		}
		switch {
		case args.Action == "create" && found:
			return fmt.Errorf("a snapshot %q exists now", args.Name)
		case args.Action != "create" && !found:
			return fmt.Errorf("snapshot %q is gone", args.Name)
		case args.Action == "rollback" && len(facts.zfsDisks) > 0 && newer > 0:
			return fmt.Errorf("a newer snapshot than %q was taken since the plan; ZFS cannot roll back past it", args.Name)
		}
		return nil
	}
	res, err := p.propose(ctx, plan, recheck)
	if err != nil {
		return SnapshotResult{}, err
	}
	return SnapshotResult{PlanResult: res, Guest: planGuest(g), Action: args.Action, Name: args.Name, Lost: loss}, nil
}

func privName(action string) string {
	if action == "rollback" {
		return "VM.Snapshot.Rollback or VM.Snapshot"
	}
	return "VM.Snapshot"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// configDiff lists the keys whose value differs between the current config
// and a snapshot's ("memory: 8192 -> 4096"), skipping bookkeeping keys.
func configDiff(now, snap map[string]string) []string {
	skip := map[string]bool{"digest": true, "parent": true, "snaptime": true, "vmstate": true, "description": true, "lock": true, "runningmachine": true, "runningcpu": true, "meta": true}
	keys := map[string]bool{}
	for k := range now {
		keys[k] = true
	}
	for k := range snap {
		keys[k] = true
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if skip[k] {
			continue
		}
		a, inNow := now[k]
		b, inSnap := snap[k]
		switch {
		case inNow && !inSnap:
			out = append(out, fmt.Sprintf("%s: %s -> (removed)", k, a))
		case !inNow && inSnap:
			out = append(out, fmt.Sprintf("%s: (absent) -> %s", k, b))
		case a != b:
			out = append(out, fmt.Sprintf("%s: %s -> %s", k, a, b))
		}
	}
	return out
}
