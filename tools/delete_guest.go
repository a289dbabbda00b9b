package tools

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/pvemcp/pvemcp/guard"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/toolkit"
)

func init() {
	toolkit.Register(toolkit.New(toolkit.Meta{
		Name:  "delete_guest",
		Title: "Plan the deletion of a VM or container",
		Description: "Plans destroying a stopped VM or container and lists what goes with it: disks by volume and size, " +
			"snapshots, backup-job and HA entries (purge), unreferenced disks (when asked). Refuses running or protected " +
			"guests and templates still used by linked clones. Cannot be undone; nothing happens until confirm_plan.",
		Toolset: toolkit.ToolsetLifecycle,
		Hints:   &writeHints,
		Needs:   []toolkit.Need{{Priv: "VM.Allocate", Path: "/vms"}},
	}, deleteGuest))
}

// DeleteArgs select the guest and what Proxmox removes with it.
type DeleteArgs struct {
	VMID                     int  `json:"vmid" pve:"vmid" required:"true"`
	Purge                    bool `json:"purge,omitempty" description:"also remove it from backup jobs and HA (required when HA-managed)"`
	DestroyUnreferencedDisks bool `json:"destroy_unreferenced_disks,omitempty" description:"also delete volumes of its VMID no config names"`
}

// DeletedVolume is a disk that goes with the guest.
type DeletedVolume struct {
	Key     string   `json:"key,omitempty"`
	VolID   string   `json:"volid"`
	SizeGiB *float64 `json:"size_gib,omitempty"`
}

// DeleteResult is the plan of a deletion.
type DeleteResult struct {
	PlanResult
	Guest       PlanGuest       `json:"guest"`
	Volumes     []DeletedVolume `json:"volumes"`
	Snapshots   []string        `json:"snapshots,omitempty"`
	BackupJobs  []string        `json:"backup_jobs,omitempty"`
	HAResource  string          `json:"ha_resource,omitempty"`
	KeptVolumes []DeletedVolume `json:"kept_unreferenced_volumes,omitempty"`
}

// linkedClonesOf lists the volumes of other guests that are linked clones of the given base volumes.
func linkedClonesOf(ctx context.Context, c *proxmox.Client, node string, disks []guestDisk) ([]string, error) {
	var out []string
	done := map[string]bool{}
	for _, d := range disks {
		if done[d.Storage] {
			continue
		}
		done[d.Storage] = true
		vols, err := c.StorageVolumes(ctx, node, d.Storage, "")
		if err != nil {
			return nil, err
		}
		for _, v := range vols {
			for _, b := range disks {
				if strings.HasPrefix(v.VolID, b.VolID+"/") {
					out = append(out, v.VolID)
				}
			}
		}
	}
	return out, nil
}

func deleteGuest(ctx context.Context, args DeleteArgs) (DeleteResult, error) {
	p, err := newPlanBuilder(ctx)
	if err != nil {
		return DeleteResult{}, err
	}
	g, err := p.guest(ctx, args.VMID, "VM.Allocate")
	if err != nil {
		return DeleteResult{}, err
	}
	kind, typ := guestKind(g.Type), proxmox.GuestType(g.Type)
	if g.Status != "stopped" {
		return DeleteResult{}, fmt.Errorf("refused: %s %d (%s) is %s; stop it first (Proxmox refuses to destroy a running guest)", kind, args.VMID, g.Name, g.Status)
	}
	cfg, err := p.client.GuestConfig(ctx, g.Node, typ, args.VMID)
	if err != nil {
		return DeleteResult{}, err
	}
	if cfg.Values["protection"] == "1" {
		return DeleteResult{}, fmt.Errorf("refused: %s %d has protection: 1 in its config (Proxmox: \"can't remove %s %d - protection mode enabled\"); remove the protection flag first if the deletion is really wanted", kind, args.VMID, kindWordPVE(g.Type), args.VMID)
	}
	if g.HAState != "" && !args.Purge {
		return DeleteResult{}, fmt.Errorf("refused: %s %d is an HA resource (Proxmox: \"unable to remove %s %d - used in HA resources and purge parameter not set.\"); plan again with purge=true to remove it from HA too", kind, args.VMID, kindWordPVE(g.Type), args.VMID)
	}
	disks := configDisks(g.Type, cfg.Values, true)
	if bool(g.Template) {
		clones, err := linkedClonesOf(ctx, p.client, g.Node, disks)
		if err != nil {
			return DeleteResult{}, err
		}
		if len(clones) > 0 {
			return DeleteResult{}, fmt.Errorf("refused: template %d's base disks are used by linked clones (%s); Proxmox refuses (\"base volume ... is still in use by linked cloned\"). Delete those clones first", args.VMID, strings.Join(clones, ", "))
		}
	}
	out := DeleteResult{Guest: planGuest(g), Volumes: []DeletedVolume{}}
	referenced := map[string]bool{}
	var totalGiB float64
	for _, d := range disks {
		referenced[d.VolID] = true
		if strings.Contains(d.VolID, "cloudinit") {
			out.Volumes = append(out.Volumes, DeletedVolume{Key: d.Key, VolID: d.VolID})
			continue
		}
		size := toolkit.Round(d.SizeGiB, 2)
		totalGiB += size
		out.Volumes = append(out.Volumes, DeletedVolume{Key: d.Key, VolID: d.VolID, SizeGiB: &size})
	}
	// Volumes of this VMID on the node's storages that no config key names.
	storages, err := p.client.Resources(ctx, proxmox.ResourceStorage)
	if err != nil {
		return DeleteResult{}, err
	}
	for _, s := range storages {
		if s.Node != g.Node || s.Status != "available" || !(hasContent(s.Content, "images") || hasContent(s.Content, "rootdir")) {
			continue
		}
		vols, err := p.client.StorageVolumes(ctx, g.Node, s.Storage, "")
		if err != nil {
			toolkit.AddErr(ctx, g.Node, err)
			toolkit.AddUnavailable(ctx, "unreferenced volumes on "+s.Storage, err.Error())
			continue
		}
		for _, v := range vols {
			if int(v.VMID) != args.VMID || referenced[v.VolID] || (v.Content != "images" && v.Content != "rootdir") {
				continue
			}
			referenced[v.VolID] = true // shared storages are listed once per node
			size := toolkit.GiB2(float64(v.Size))
			dv := DeletedVolume{VolID: v.VolID, SizeGiB: &size}
			if args.DestroyUnreferencedDisks {
				totalGiB += size
				out.Volumes = append(out.Volumes, dv)
			} else {
				out.KeptVolumes = append(out.KeptVolumes, dv)
			}
		}
	}
	snaps, err := p.client.Snapshots(ctx, g.Node, typ, args.VMID)
	if err != nil {
		return DeleteResult{}, err
	}
	for _, s := range snaps {
		if s.Name != "current" {
			out.Snapshots = append(out.Snapshots, s.Name)
		}
	}
	var warnings []string
	jobs, err := p.client.BackupJobs(ctx)
	if err != nil {
		toolkit.AddUnavailable(ctx, "backup_jobs", "backup jobs could not be read: "+err.Error())
	}
	for _, j := range jobs {
		if slices.Contains(j.VMIDs(), args.VMID) {
			out.BackupJobs = append(out.BackupJobs, j.ID)
		}
	}
	if len(out.BackupJobs) > 0 && !args.Purge {
		warnings = append(warnings, fmt.Sprintf("backup job(s) %s still name VMID %d afterwards; with purge=true Proxmox removes it from them", strings.Join(out.BackupJobs, ", "), args.VMID))
	}
	if g.HAState != "" {
		out.HAResource = proxmox.HASID(typ, args.VMID)
	}
	path, err := guestAPIPath(g.Node, g.Type, args.VMID)
	if err != nil {
		return DeleteResult{}, err
	}
	call := guard.Call{Method: "DELETE", Path: path}
	params := map[string]string{}
	if args.Purge {
		params["purge"] = "1"
	}
	if args.DestroyUnreferencedDisks {
		params["destroy-unreferenced-disks"] = "1"
	}
	if len(params) > 0 {
		call.Params = params
	}
	var gone []string
	gone = append(gone, fmt.Sprintf("%d disk(s), %.1f GiB", len(out.Volumes), totalGiB))
	if len(out.Snapshots) > 0 {
		gone = append(gone, fmt.Sprintf("%d snapshot(s)", len(out.Snapshots)))
	}
	if args.Purge && len(out.BackupJobs) > 0 {
		gone = append(gone, "its entries in backup job(s) "+strings.Join(out.BackupJobs, ", "))
	}
	if out.HAResource != "" {
		gone = append(gone, "HA resource "+out.HAResource)
	}
	warnings = append([]string{"deletion cannot be undone: the disks and snapshots are destroyed; only a backup brings the guest back"}, warnings...)
	if len(out.KeptVolumes) > 0 {
		warnings = append(warnings, fmt.Sprintf("%d volume(s) of VMID %d are not in its config and stay (destroy_unreferenced_disks=true deletes them)", len(out.KeptVolumes), args.VMID))
	}
	what := "guest"
	if bool(g.Template) {
		what = "template"
	}
	plan := guard.Plan{
		Tool:    "delete_guest",
		Summary: fmt.Sprintf("destroy %s %s %d (%s) on %s with %s", kind, what, args.VMID, g.Name, g.Node, strings.Join(gone, ", ")),
		Calls:   []guard.Call{call},
		Preconditions: []guard.Precondition{
			precondition("guest exists", fmt.Sprintf("%s %d on %s", kind, args.VMID, g.Node), true),
			precondition("stopped", g.Status, true),
			precondition("not protected", "protection not set; not in pvemcp's protected guests", true),
			precondition("not locked", "no lock", true),
			precondition("config digest", cfg.Digest, true),
			precondition("privilege", "VM.Allocate on "+vmPath(args.VMID), true),
		},
		Warnings: warnings,
	}
	node, digest := g.Node, cfg.Digest
	recheck := func(ctx context.Context) error {
		c, err := toolkit.Client(ctx)
		if err != nil {
			return err
		}
		now, err := guestOnPlanNode(ctx, c, args.VMID, kind, node)
		if err != nil {
			return err
		}
		if now.Status != "stopped" {
			return fmt.Errorf("%s %d is now %s; it must be stopped", kind, args.VMID, now.Status)
		}
		if now.Lock != "" {
			return fmt.Errorf("%s %d is now locked (%s)", kind, args.VMID, now.Lock)
		}
		cfg, err := c.GuestConfig(ctx, node, typ, args.VMID)
		if err != nil {
			return err
		}
		if cfg.Digest != digest {
			return fmt.Errorf("the config of %s %d changed since the plan (digest %s, was %s): the list of what is deleted may be wrong; plan again", kind, args.VMID, cfg.Digest, digest)
		}
		return nil
	}
	res, err := p.propose(ctx, plan, recheck)
	if err != nil {
		return DeleteResult{}, err
	}
	out.PlanResult = res
	return out, nil
}

// kindWordPVE is how Proxmox's own messages name a guest type.
func kindWordPVE(typ string) string {
	if typ == string(proxmox.TypeLXC) {
		return "CT"
	}
	return "VM"
}
