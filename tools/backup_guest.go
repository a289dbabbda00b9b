package tools

import (
	"context"
	"fmt"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/pvemcp/pvemcp/analyze"
	"github.com/pvemcp/pvemcp/guard"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/toolkit"
)

func init() {
	toolkit.Register(toolkit.New(toolkit.Meta{
		Name:  "backup_guest",
		Title: "Plan a backup now",
		Description: "Plans a vzdump backup of guests now; estimates the size and refuses if the storage cannot hold it. " +
			"Nothing happens until confirm_plan.",
		Toolset: toolkit.ToolsetSnapshots,
		// Destructive: vzdump prunes older archives by the storage's retention.
		Hints: &writeHints,
		Needs: []toolkit.Need{{Priv: "VM.Backup", Path: "/vms"}, {Priv: "Datastore.AllocateSpace", Path: "/storage"}},
	}, backupGuest))
	confirmHooks["backup_guest"] = confirmBackupHook
}

// BackupGuestArgs describe a backup run now.
type BackupGuestArgs struct {
	VMIDs     []int  `json:"vmids" required:"true" maxItems:"50"`
	Storage   string `json:"storage,omitempty" maxLength:"64" pattern:"^[a-zA-Z][a-zA-Z0-9._-]*$" description:"default: the guest's backup job storage"`
	Mode      string `json:"mode,omitempty" enum:"snapshot,suspend,stop" default:"snapshot"`
	Compress  string `json:"compress,omitempty" enum:"zstd,gzip,lzo,none" default:"zstd"`
	Notes     string `json:"notes,omitempty" maxLength:"1024" description:"may use {{guestname}}, {{vmid}}"`
	Protected bool   `json:"protected,omitempty"`
}

// Validate checks the VMIDs.
func (a BackupGuestArgs) Validate() error {
	if len(a.VMIDs) == 0 {
		return fmt.Errorf("vmids: give at least one VMID")
	}
	seen := map[int]bool{}
	for _, id := range a.VMIDs {
		if !proxmox.ValidVMID(id) {
			return fmt.Errorf("vmids: %d is not a VMID (100..999999999)", id)
		}
		if seen[id] {
			return fmt.Errorf("vmids: %d given twice", id)
		}
		seen[id] = true
	}
	return nil
}

// BackupGuestResult is the plan of a backup run.
type BackupGuestResult struct {
	PlanResult
	Storage     string            `json:"storage"`
	Mode        string            `json:"mode"`
	Compress    string            `json:"compress"`
	Guests      []BackupPlanGuest `json:"guests"`
	EstimateGiB float64           `json:"estimate_gib" description:"expected archive size, all guests"`
	FreeGiB     float64           `json:"free_gib" description:"free space on the storage now"`
}

// BackupPlanGuest is one guest of the run.
type BackupPlanGuest struct {
	PlanGuest
	UsedGiB     float64 `json:"disk_used_gib"`
	EstimateGiB float64 `json:"estimate_gib"`
	Basis       string  `json:"basis"`
}

// backupRatio is the expected archive size per used byte (conservative).
func backupRatio(compress string) float64 {
	switch compress {
	case "zstd":
		return 0.5
	case "gzip":
		return 0.55
	case "lzo":
		return 0.65
	}
	return 1
}

// guestUsedBytes sums what a guest's disks occupy, from its storages'
// content listings (used); a disk whose usage is unknown counts whole.
func guestUsedBytes(ctx context.Context, c *proxmox.Client, g proxmox.Resource) (int64, string, error) {
	cfg, err := c.GuestConfig(ctx, g.Node, proxmox.GuestType(g.Type), int(g.VMID))
	if err != nil {
		return 0, "", err
	}
	f := storageFacts(cfg.Values, nil)
	byStorage := map[string][]proxmox.StoredVolume{}
	var total int64
	var guessed []string
	for _, vol := range f.disks {
		sid, _, _ := strings.Cut(vol, ":")
		list, ok := byStorage[sid]
		if !ok {
			list, err = c.StoredVolumes(ctx, g.Node, sid, "", int(g.VMID))
			if err != nil {
				list = nil
			}
			byStorage[sid] = list
		}
		found := false
		for _, v := range list {
			if v.VolID == vol {
				found = true
				if v.Used > 0 {
					total += int64(v.Used)
				} else {
					total += int64(v.Size)
					guessed = append(guessed, vol)
				}
			}
		}
		if !found {
			guessed = append(guessed, vol)
			for k, v := range cfg.Values {
				if strings.HasPrefix(v, vol) {
					total += int64(diskSizeGiB(cfg.Values[k]) * gibBytes)
				}
			}
		}
	}
	basis := "used space of its disks"
	if len(guessed) > 0 {
		basis += "; full size counted for " + strings.Join(guessed, ", ")
	}
	return total, basis, nil
}

func backupGuest(ctx context.Context, args BackupGuestArgs) (BackupGuestResult, error) {
	p, err := newPlanBuilder(ctx)
	if err != nil {
		return BackupGuestResult{}, err
	}
	if args.Mode == "" {
		args.Mode = "snapshot"
	}
	if args.Compress == "" {
		args.Compress = "zstd"
	}
	var guests []proxmox.Resource
	for _, id := range args.VMIDs {
		g, err := p.guest(ctx, id, "VM.Backup")
		if err != nil {
			return BackupGuestResult{}, err
		}
		guests = append(guests, g)
	}
	storage := args.Storage
	if storage == "" {
		storage = defaultBackupStorage(ctx, p.client, guests)
	}
	stores, err := backupStores(ctx, p.client, storage, "")
	if err != nil {
		return BackupGuestResult{}, err
	}
	if len(stores) == 0 {
		return BackupGuestResult{}, fmt.Errorf("no available storage %q with backup content", storage)
	}
	if err := p.require(ctx, guard.Need{Path: "/storage/" + storage, Privs: []string{"Datastore.AllocateSpace"}}); err != nil {
		return BackupGuestResult{}, err
	}
	// Where each guest's archive goes: the shared instance, or the node's own.
	storeFor := func(node string) (backupStore, bool) {
		for _, s := range stores {
			if slices.Contains(s.nodes, node) {
				return s, true
			}
		}
		return backupStore{}, false
	}
	out := BackupGuestResult{Storage: storage, Mode: args.Mode, Compress: args.Compress}
	need := map[string]int64{} // per store instance
	var byNode = map[string][]int{}
	var nodes []string
	for _, g := range guests {
		st, ok := storeFor(g.Node)
		if !ok {
			return BackupGuestResult{}, fmt.Errorf("storage %s is not available on %s, where %s %d runs", storage, g.Node, guestKind(g.Type), g.VMID)
		}
		used, basis, err := guestUsedBytes(ctx, p.client, g)
		if err != nil {
			return BackupGuestResult{}, err
		}
		est := int64(float64(used) * backupRatio(args.Compress))
		need[st.storage+"/"+st.node] += est
		out.Guests = append(out.Guests, BackupPlanGuest{PlanGuest: planGuest(g), UsedGiB: toolkit.GiB(used), EstimateGiB: toolkit.GiB(est),
			Basis: fmt.Sprintf("%s × %.2f (%s)", basis, backupRatio(args.Compress), args.Compress)})
		out.EstimateGiB += float64(est) / toolkit.BytesPerGiB
		if _, ok := byNode[g.Node]; !ok {
			nodes = append(nodes, g.Node)
		}
		byNode[g.Node] = append(byNode[g.Node], int(g.VMID))
	}
	out.EstimateGiB = toolkit.Round(out.EstimateGiB, 1)
	var free int64
	for _, s := range stores {
		n, used := need[s.storage+"/"+s.node]
		if used {
			free += s.freeBytes
		}
		if n > s.freeBytes {
			where := "on " + s.node
			if s.shared {
				where = "(shared)"
			}
			return BackupGuestResult{}, fmt.Errorf("storage %s %s has %.1f GiB free; the backup needs about %.1f GiB (used disk space × %.2f for %s). Free space or choose another storage",
				storage, where, toolkit.GiB(s.freeBytes), toolkit.GiB(n), backupRatio(args.Compress), args.Compress)
		}
	}
	out.FreeGiB = toolkit.GiB(free)
	var calls []guard.Call
	var warnings []string
	for _, n := range nodes {
		ids := byNode[n]
		list := make([]string, len(ids))
		for i, id := range ids {
			list[i] = strconv.Itoa(id)
		}
		params := map[string]string{"vmid": strings.Join(list, ","), "storage": storage, "mode": args.Mode}
		if args.Compress == "none" {
			params["compress"] = "0"
		} else {
			params["compress"] = args.Compress
		}
		if args.Notes != "" {
			params["notes-template"] = args.Notes
		}
		if args.Protected {
			params["protected"] = "1"
		}
		if !proxmox.ValidNode(n) {
			return BackupGuestResult{}, fmt.Errorf("invalid node name %q", n)
		}
		calls = append(calls, guard.Call{Method: "POST", Path: "/nodes/" + n + "/vzdump", Params: params})
	}
	if w := pruneWarning(ctx, p.client, storage, stores, guests); w != "" {
		warnings = append(warnings, w)
	}
	switch args.Mode {
	case "stop":
		warnings = append(warnings, "mode stop shuts the running guests down for the whole backup and starts them again afterwards: downtime")
	case "suspend":
		warnings = append(warnings, "mode suspend pauses the running guests while their data is copied")
	}
	var labels []string
	for _, g := range guests {
		labels = append(labels, fmt.Sprintf("%s %d (%s)", guestKind(g.Type), g.VMID, g.Name))
	}
	plan := guard.Plan{
		Tool: "backup_guest",
		Summary: fmt.Sprintf("back up %s to %s now (mode %s, %s): about %.1f GiB, %.1f GiB free",
			strings.Join(labels, ", "), storage, args.Mode, args.Compress, out.EstimateGiB, out.FreeGiB),
		Calls: calls,
		Preconditions: []guard.Precondition{
			precondition("guests unlocked", strings.Join(labels, ", "), true),
			precondition("storage room", fmt.Sprintf("%s: %.1f GiB free, about %.1f GiB needed", storage, out.FreeGiB, out.EstimateGiB), true),
			precondition("privilege", "VM.Backup on each guest, Datastore.AllocateSpace on /storage/"+storage, true),
		},
		Warnings: warnings,
	}
	recheck := func(ctx context.Context) error {
		c, err := toolkit.Client(ctx)
		if err != nil {
			return err
		}
		for _, g := range guests {
			now, err := guestOnPlanNode(ctx, c, int(g.VMID), guestKind(g.Type), g.Node)
			if err != nil {
				return err
			}
			if now.Lock != "" {
				return fmt.Errorf("%s %d is now locked (%s)", guestKind(g.Type), g.VMID, now.Lock)
			}
		}
		st, err := backupStores(ctx, c, storage, "")
		if err != nil {
			return err
		}
		for _, s := range st {
			if n := need[s.storage+"/"+s.node]; n > s.freeBytes {
				return fmt.Errorf("storage %s has only %.1f GiB free now; about %.1f GiB needed", storage, toolkit.GiB(s.freeBytes), toolkit.GiB(n))
			}
		}
		return nil
	}
	res, err := p.propose(ctx, plan, recheck)
	if err != nil {
		return BackupGuestResult{}, err
	}
	out.PlanResult = res
	return out, nil
}

// pruneWarning tells which older backups Proxmox removes after the run: vzdump
// prunes each guest's archives on the storage by its retention (protected
// ones stay). keep-last alone is counted exactly; other rules are named.
func pruneWarning(ctx context.Context, c *proxmox.Client, storage string, stores []backupStore, guests []proxmox.Resource) string {
	ret, err := c.StorageRetention(ctx, storage)
	if err != nil {
		toolkit.AddErr(ctx, "", fmt.Errorf("retention of %s: %w", storage, err))
		return ""
	}
	if ret == "" || strings.Contains(ret, "keep-all=1") {
		return ""
	}
	msg := fmt.Sprintf("after the run Proxmox prunes older backups of each guest on %s by its retention %s (protected backups stay)", storage, ret)
	keepLast := 0
	if strings.HasPrefix(ret, "keep-last=") && !strings.Contains(ret, ",") {
		keepLast, _ = strconv.Atoi(strings.TrimPrefix(ret, "keep-last="))
	}
	if keepLast <= 0 {
		return msg
	}
	var gone []string
	for _, g := range guests {
		var mine []storedBackup
		for _, v := range readBackups(ctx, c, stores, int(g.VMID)) {
			if !bool(v.Protected) && backupGuestType(v.StoredVolume) == g.Type && slices.Contains(v.store.nodes, g.Node) {
				mine = append(mine, v)
			}
		}
		sort.Slice(mine, func(i, j int) bool { return mine[i].CTime > mine[j].CTime })
		for i := keepLast - 1; i < len(mine); i++ {
			gone = append(gone, mine[i].VolID)
		}
	}
	if len(gone) == 0 {
		return ""
	}
	return msg + "; removed: " + strings.Join(gone, ", ")
}

// defaultBackupStorage is the storage of the first enabled job covering the
// first guest, else the backup storage with the most free space.
func defaultBackupStorage(ctx context.Context, c *proxmox.Client, guests []proxmox.Resource) string {
	if jobs, err := c.BackupJobs(ctx); err == nil && len(guests) > 0 {
		g := guests[0]
		ref := analyze.GuestRef{VMID: int(g.VMID), Name: g.Name, Type: g.Type, Node: g.Node, Pool: g.Pool}
		for _, j := range analyzeJobs(jobs) {
			if j.Enabled && j.Covers(ref) && j.Storage != "" {
				return j.Storage
			}
		}
	}
	stores, err := backupStores(ctx, c, "", "")
	if err != nil || len(stores) == 0 {
		return "local"
	}
	best := stores[0]
	for _, s := range stores[1:] {
		if s.freeBytes > best.freeBytes {
			best = s
		}
	}
	return best.storage
}

// BackupOutcome is one guest's archive from a confirmed backup_guest.
type BackupOutcome struct {
	VMID    int      `json:"vmid"`
	Status  string   `json:"status"`
	Archive string   `json:"archive,omitempty" description:"the new backup volume"`
	SizeGiB float64  `json:"size_gib,omitempty"`
	Reason  string   `json:"reason,omitempty"`
	Errors  []string `json:"errors,omitempty" description:"the guest's ERROR lines in the vzdump log"`
}

// confirmBackupHook reads each vzdump task's log after a confirmed
// backup_guest and reports every guest's archive, size and errors.
func confirmBackupHook(ctx context.Context, c *proxmox.Client, res *ConfirmResult) {
	for _, s := range res.Steps {
		if upidType(s.UPID) != "vzdump" || s.Status == "running" {
			continue
		}
		lines, _, err := c.TaskLog(ctx, s.UPID, 0, 0)
		if err != nil {
			toolkit.AddErr(ctx, "", fmt.Errorf("reading the vzdump log %s: %w", s.UPID, err))
			continue
		}
		parsed := parseVzdumpLog(lines, true)
		for _, g := range parsed.Guests {
			o := BackupOutcome{VMID: g.VMID, Status: g.Status, Reason: g.Reason}
			if g.Archive != "" && g.Status != analyze.OutcomeFailed {
				o.Archive = g.Archive
				if parsed.Storage != "" && !g.ArchivePBS {
					o.Archive = parsed.Storage + ":backup/" + path.Base(g.Archive)
				}
			}
			if g.SizeBytes > 0 {
				o.SizeGiB = toolkit.Round(float64(g.SizeBytes)/toolkit.BytesPerGiB, 2)
			}
			for _, e := range g.Errors {
				o.Errors = append(o.Errors, e.Text)
			}
			res.Backups = append(res.Backups, o)
		}
	}
}
