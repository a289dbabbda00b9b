package tools

import (
	"context"
	"fmt"

	"github.com/pvemcp/pvemcp/analyze"
	"github.com/pvemcp/pvemcp/guard"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/toolkit"
)

func init() {
	toolkit.Register(toolkit.New(toolkit.Meta{
		Name:        "delete_backup",
		Title:       "Plan deleting a backup",
		Description: "Plans deleting a backup volume; refuses protected ones, warns on a guest's last backup. Nothing happens until confirm_plan.",
		Toolset:     toolkit.ToolsetSnapshots,
		Hints:       &writeHints,
		Needs:       []toolkit.Need{{Priv: "VM.Backup", Path: "/vms"}, {Priv: "Datastore.AllocateSpace", Path: "/storage"}},
	}, deleteBackup))
}

// DeleteBackupArgs name the backup to remove.
type DeleteBackupArgs struct {
	VolID string `json:"volid" required:"true" maxLength:"255" pattern:"^[a-zA-Z][a-zA-Z0-9._-]*:.+$"`
	Node  string `json:"node,omitempty" pve:"node"`
}

// DeleteBackupResult is the plan of a deletion.
type DeleteBackupResult struct {
	PlanResult
	VolID        string  `json:"volid"`
	VMID         int     `json:"vmid"`
	Time         string  `json:"time"`
	SizeGiB      float64 `json:"size_gib"`
	OtherBackups int     `json:"other_backups" description:"backups of the same guest left afterwards"`
}

func deleteBackup(ctx context.Context, args DeleteBackupArgs) (DeleteBackupResult, error) {
	p, err := newPlanBuilder(ctx)
	if err != nil {
		return DeleteBackupResult{}, err
	}
	vol, err := findBackup(ctx, p.client, args.VolID, args.Node)
	if err != nil {
		return DeleteBackupResult{}, err
	}
	if vol.Protected {
		return DeleteBackupResult{}, fmt.Errorf("backup %s is protected; Proxmox refuses to delete it. Remove the protection first if it really should go", args.VolID)
	}
	tags := ""
	if g, err := findGuest(ctx, p.client, int(vol.VMID)); err == nil {
		tags = g.Tags
	}
	if err := p.gate.Protection.Check(int(vol.VMID), tags); err != nil {
		return DeleteBackupResult{}, fmt.Errorf("the backup belongs to a protected guest: %w", err)
	}
	if err := p.requireBackupAccess(ctx, vol); err != nil {
		return DeleteBackupResult{}, err
	}
	vmid := int(vol.VMID)
	others := 0
	var warnings []string
	if vmid != 0 {
		stores, err := backupStores(ctx, p.client, "", "")
		if err != nil {
			return DeleteBackupResult{}, err
		}
		for _, v := range readBackups(ctx, p.client, stores, vmid) {
			if v.VolID != args.VolID || v.store.storage != vol.store.storage || v.store.node != vol.store.node {
				others++
			}
		}
		if others == 0 {
			name := ""
			if g, err := findGuest(ctx, p.client, vmid); err == nil {
				name = g.Name
			}
			warnings = append(warnings, fmt.Sprintf("this is the last backup of %s: afterwards the guest has no backup at all", analyze.GuestLabel(vmid, name)))
		}
	}
	node := vol.store.node
	if !proxmox.ValidNode(node) {
		return DeleteBackupResult{}, fmt.Errorf("invalid node name %q", node)
	}
	call := guard.Call{Method: "DELETE", Path: "/nodes/" + node + "/storage/" + vol.store.storage + "/content/" + args.VolID}
	plan := guard.Plan{
		Tool:    "delete_backup",
		Summary: fmt.Sprintf("delete backup %s (guest %d, %s, %.1f GiB); %d other backup(s) of the guest remain", args.VolID, vmid, rfcTime(int64(vol.CTime)), toolkit.GiB(vol.Size), others),
		Calls:   []guard.Call{call},
		Preconditions: []guard.Precondition{
			precondition("backup exists", args.VolID, true),
			precondition("not protected", "protected=0", true),
		},
		Warnings: warnings,
	}
	recheck := func(ctx context.Context) error {
		c, err := toolkit.Client(ctx)
		if err != nil {
			return err
		}
		now, err := findBackup(ctx, c, args.VolID, node)
		if err != nil {
			return err
		}
		if now.Protected {
			return fmt.Errorf("backup %s is protected now", args.VolID)
		}
		return nil
	}
	res, err := p.propose(ctx, plan, recheck)
	if err != nil {
		return DeleteBackupResult{}, err
	}
	return DeleteBackupResult{PlanResult: res, VolID: args.VolID, VMID: vmid, Time: rfcTime(int64(vol.CTime)), SizeGiB: toolkit.GiB(vol.Size), OtherBackups: others}, nil
}
