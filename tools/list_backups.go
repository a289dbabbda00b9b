package tools

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/pvemcp/pvemcp/analyze"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/toolkit"
)

// Backup volumes: finding them on the backup storages (shared by
// list_backups, backup_guest, restore_backup and delete_backup) and
// list_backups.

func init() {
	toolkit.Register(
		toolkit.New(toolkit.Meta{
			Name:  "list_backups",
			Title: "Backup archives",
			Description: "Backup volumes (all, or of one storage, node or guest): time, size, notes, protection, PBS verification; " +
				"and guests without a recent backup.",
			Toolset: toolkit.ToolsetSnapshots,
			Hints:   &toolkit.ReadHints,
			Needs:   []toolkit.Need{{Priv: "Datastore.Audit", Path: "/storage"}},
		}, listBackups),
	)
}

// ---- finding backups ----

// backupStore is a backup-capable storage and the node it is read from.
type backupStore struct {
	storage, node, typ string
	shared             bool
	nodes              []string
	freeBytes          int64
	totalBytes         int64
}

// backupStores lists the available storages with backup content, shared
// ones once (read from the first online node that has them).
func backupStores(ctx context.Context, c *proxmox.Client, onlyStorage, onlyNode string) ([]backupStore, error) {
	rs, err := c.Resources(ctx, proxmox.ResourceStorage)
	if err != nil {
		return nil, err
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].ID < rs[j].ID })
	var out []backupStore
	idx := map[string]int{}
	for _, r := range rs {
		if !hasContent(r.Content, "backup") || r.Status != "available" {
			continue
		}
		if (onlyStorage != "" && r.Storage != onlyStorage) || (onlyNode != "" && r.Node != onlyNode) {
			continue
		}
		if bool(r.Shared) {
			if i, ok := idx[r.Storage]; ok {
				out[i].nodes = append(out[i].nodes, r.Node)
				continue
			}
			idx[r.Storage] = len(out)
		}
		out = append(out, backupStore{storage: r.Storage, node: r.Node, typ: r.PluginType, shared: bool(r.Shared), nodes: []string{r.Node},
			freeBytes: int64(r.MaxDisk - r.Disk), totalBytes: int64(r.MaxDisk)})
	}
	return out, nil
}

// storedBackup is a backup volume with where it was read.
type storedBackup struct {
	proxmox.StoredVolume
	store backupStore
}

// readBackups lists the backup volumes of the stores (vmid 0: all guests);
// a store that cannot be read is reported and skipped.
func readBackups(ctx context.Context, c *proxmox.Client, stores []backupStore, vmid int) []storedBackup {
	keys := make([]string, len(stores))
	for i := range stores {
		keys[i] = strconv.Itoa(i)
	}
	res := proxmox.FanOut(ctx, keys, c.FanOutLimit(), func(ctx context.Context, k string) ([]proxmox.StoredVolume, error) {
		i, _ := strconv.Atoi(k)
		return c.StoredVolumes(ctx, stores[i].node, stores[i].storage, "backup", vmid)
	})
	var out []storedBackup
	for _, r := range res {
		i, _ := strconv.Atoi(r.Node)
		if r.Err != nil {
			toolkit.AddErr(ctx, stores[i].node, fmt.Errorf("backups on %s: %w", stores[i].storage, r.Err))
			continue
		}
		for _, v := range r.Value {
			if v.Content == "backup" {
				out = append(out, storedBackup{StoredVolume: v, store: stores[i]})
			}
		}
	}
	return out
}

// findBackup locates one backup volume by volid: on node if given, else on
// the storage's instance seen by the guest's node or any online node.
func findBackup(ctx context.Context, c *proxmox.Client, volid, node string) (storedBackup, error) {
	sid, _, ok := strings.Cut(volid, ":")
	if !ok || !proxmox.ValidStorage(sid) {
		return storedBackup{}, fmt.Errorf("volid %q is not <storage>:<volume>", volid)
	}
	stores, err := backupStores(ctx, c, sid, node)
	if err != nil {
		return storedBackup{}, err
	}
	if len(stores) == 0 {
		return storedBackup{}, fmt.Errorf("no available backup storage %q%s", sid, onNode(node))
	}
	var seen []string
	for _, v := range readBackups(ctx, c, stores, 0) {
		if v.VolID == volid {
			return v, nil
		}
		if len(seen) < 5 {
			seen = append(seen, v.VolID)
		}
	}
	return storedBackup{}, fmt.Errorf("no backup %s on storage %s%s (some there: %s)", volid, sid, onNode(node), orNone(seen))
}

// backupGuestType is qemu or lxc from the volume's subtype or file name.
func backupGuestType(v proxmox.StoredVolume) string {
	if v.Subtype == "qemu" || v.Subtype == "lxc" {
		return v.Subtype
	}
	if strings.Contains(v.VolID, "vzdump-lxc-") || strings.Contains(v.VolID, "backup/ct/") {
		return "lxc"
	}
	return "qemu"
}

// ---- list_backups ----

// ListBackupsArgs filter the backups.
type ListBackupsArgs struct {
	Storage         string `json:"storage,omitempty" maxLength:"64" pattern:"^[a-zA-Z][a-zA-Z0-9._-]*$"`
	Node            string `json:"node,omitempty" pve:"node"`
	VMID            int    `json:"vmid,omitempty" pve:"vmid"`
	StaleAfterHours int    `json:"stale_after_hours,omitempty" minimum:"1" maximum:"2000" description:"default: from the guest's job schedules"`
	Limit           int    `json:"limit,omitempty" minimum:"1" maximum:"1000" default:"100"`
	Offset          int    `json:"offset,omitempty" minimum:"0" maximum:"100000"`
}

// ListBackupsResult is the backups found.
type ListBackupsResult struct {
	Backups  []BackupVolumeInfo `json:"backups"`
	Total    int                `json:"total"`
	Offset   int                `json:"offset,omitempty"`
	Storages []BackupStoreInfo  `json:"storages"`
	NoRecent []NoRecentBackup   `json:"without_recent_backup,omitempty" description:"guests whose newest backup is older than their limit, or that have none"`
}

// BackupVolumeInfo is one backup archive.
type BackupVolumeInfo struct {
	VolID        string  `json:"volid"`
	Storage      string  `json:"storage"`
	Node         string  `json:"node,omitempty" description:"for a storage local to a node"`
	VMID         int     `json:"vmid"`
	Guest        string  `json:"guest,omitempty"`
	Type         string  `json:"type"`
	Time         string  `json:"time"`
	SizeGiB      float64 `json:"size_gib"`
	Format       string  `json:"format"`
	Notes        string  `json:"notes,omitempty"`
	Protected    bool    `json:"protected,omitempty"`
	Verification string  `json:"verification,omitempty" description:"Proxmox Backup Server: ok, failed or none"`
	Encrypted    bool    `json:"encrypted,omitempty"`
}

// BackupStoreInfo is one backup storage.
type BackupStoreInfo struct {
	Storage string   `json:"storage"`
	Type    string   `json:"type"`
	Shared  bool     `json:"shared"`
	Nodes   []string `json:"nodes"`
	Backups int      `json:"backups"`
	SizeGiB float64  `json:"backups_gib"`
	FreeGiB float64  `json:"free_gib"`
}

// NoRecentBackup is a guest without a recent enough backup.
type NoRecentBackup struct {
	VMID       int      `json:"vmid"`
	Name       string   `json:"name,omitempty"`
	Type       string   `json:"type"`
	Newest     string   `json:"newest_backup,omitempty"`
	AgeHours   float64  `json:"age_hours,omitempty"`
	LimitHours float64  `json:"limit_hours"`
	Jobs       []string `json:"jobs,omitempty"`
}

func listBackups(ctx context.Context, args ListBackupsArgs) (ListBackupsResult, error) {
	c, err := toolkit.Client(ctx)
	if err != nil {
		return ListBackupsResult{}, err
	}
	if args.Limit == 0 {
		args.Limit = 100
	}
	stores, err := backupStores(ctx, c, args.Storage, args.Node)
	if err != nil {
		return ListBackupsResult{}, err
	}
	if args.Storage != "" && len(stores) == 0 {
		return ListBackupsResult{}, fmt.Errorf("no available storage %q with backup content%s", args.Storage, onNode(args.Node))
	}
	guests, gerr := c.Resources(ctx, proxmox.ResourceVM)
	if gerr != nil {
		toolkit.AddErr(ctx, "", gerr)
	}
	names := map[int]proxmox.Resource{}
	for _, g := range guests {
		if g.IsGuest() {
			names[int(g.VMID)] = g
		}
	}
	vols := readBackups(ctx, c, stores, args.VMID)
	sort.SliceStable(vols, func(i, j int) bool {
		if vols[i].CTime != vols[j].CTime {
			return vols[i].CTime > vols[j].CTime
		}
		return vols[i].VolID < vols[j].VolID
	})
	out := ListBackupsResult{Backups: []BackupVolumeInfo{}, Total: len(vols), Offset: args.Offset, Storages: []BackupStoreInfo{}}
	perStore := map[string]*BackupStoreInfo{}
	for _, s := range stores {
		out.Storages = append(out.Storages, BackupStoreInfo{Storage: s.storage, Type: s.typ, Shared: s.shared, Nodes: s.nodes, FreeGiB: toolkit.GiB(s.freeBytes)})
	}
	for i := range out.Storages {
		perStore[out.Storages[i].Storage+"/"+strings.Join(out.Storages[i].Nodes, ",")] = &out.Storages[i]
	}
	newest := map[int]int64{}
	for i, v := range vols {
		st := perStore[v.store.storage+"/"+strings.Join(v.store.nodes, ",")]
		if st != nil {
			st.Backups++
			st.SizeGiB = toolkit.Round(st.SizeGiB+float64(v.Size)/toolkit.BytesPerGiB, 1)
		}
		if int64(v.CTime) > newest[int(v.VMID)] {
			newest[int(v.VMID)] = int64(v.CTime)
		}
		if i < args.Offset || len(out.Backups) >= args.Limit {
			continue
		}
		bi := BackupVolumeInfo{VolID: v.VolID, Storage: v.store.storage, VMID: int(v.VMID), Guest: names[int(v.VMID)].Name, Type: backupGuestType(v.StoredVolume),
			Time: rfcTime(int64(v.CTime)), SizeGiB: toolkit.GiB(v.Size), Format: v.Format, Notes: v.Notes, Protected: bool(v.Protected), Encrypted: v.Encrypted != ""}
		if !v.store.shared {
			bi.Node = v.store.node
		}
		if v.store.typ == "pbs" {
			bi.Verification = "none"
			if v.Verification != nil {
				bi.Verification = v.Verification.State
			}
		}
		out.Backups = append(out.Backups, bi)
	}
	if len(vols) > args.Offset+len(out.Backups) {
		toolkit.AddUnavailable(ctx, fmt.Sprintf("%d older backups", len(vols)-args.Offset-len(out.Backups)), "listing limit reached; use offset or a filter")
	}
	// Guests without a recent backup: their limit follows their jobs'
	// schedules exactly as backup_status computes it.
	if gerr == nil && args.Storage == "" && args.Node == "" {
		jobs, jerr := c.BackupJobs(ctx)
		if jerr != nil {
			toolkit.AddErr(ctx, "", jerr)
		}
		ajobs := analyzeJobs(jobs)
		now := toolkit.EnvFrom(ctx).Time().Unix()
		var vmids []int
		for id, g := range names {
			if !bool(g.Template) && (args.VMID == 0 || id == args.VMID) {
				vmids = append(vmids, id)
			}
		}
		sort.Ints(vmids)
		for _, id := range vmids {
			g := names[id]
			ref := analyze.GuestRef{VMID: id, Name: g.Name, Type: g.Type, Node: g.Node, Pool: g.Pool}
			st, alerts := analyze.EvaluateArchiveAge(ref, ajobs, newest[id], now, float64(args.StaleAfterHours))
			if !st.Stale {
				continue
			}
			out.NoRecent = append(out.NoRecent, NoRecentBackup{VMID: id, Name: g.Name, Type: g.Type, LimitHours: st.LimitHours, Jobs: st.Jobs,
				Newest: rfcTime(st.LastSuccessEpoch), AgeHours: st.AgeHours})
			toolkit.AddAlert(ctx, alerts...)
		}
	}
	return out, nil
}
