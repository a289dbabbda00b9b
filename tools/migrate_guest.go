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

// MigrateArgs select a guest and its target node.
type MigrateArgs struct {
	VMID           int    `json:"vmid" pve:"vmid" required:"true"`
	Target         string `json:"target" pve:"node" required:"true"`
	Mode           string `json:"mode,omitempty" enum:"auto,offline" default:"auto" description:"auto: live for running VMs, restart for containers"`
	WithLocalDisks bool   `json:"with_local_disks,omitempty" description:"live-copy local disks of a running VM"`
}

// MigrateResult is the plan of a migration.
type MigrateResult struct {
	PlanResult
	Guest  PlanGuest `json:"guest"`
	Target string    `json:"target"`
	Online bool      `json:"online"`
	// The target's RAM and CPU use in percent now and after the move, as
	// derived from /cluster/resources: node use plus the guest's maximum
	// memory and its current CPU use (a stopped guest adds nothing).
	TargetRAMPct      float64 `json:"target_ram_pct"`
	TargetRAMAfterPct float64 `json:"target_ram_after_pct"`
	TargetCPUAfterPct float64 `json:"target_cpu_after_pct"`
	LocalDisksGiB     float64 `json:"local_disks_gib,omitempty"`
}

// headroom is the target's RAM and CPU use now and after adding the guest,
// against the thresholds.
type headroom struct {
	ramNow, ramAfter, ramLimit float64
	cpuAfter, cpuLimit         float64
	detail                     string
}

// crossing names the threshold the move would cross, or "".
func (h headroom) crossing() string {
	switch {
	case h.ramAfter >= h.ramLimit:
		return fmt.Sprintf("RAM would reach %.1f%% (threshold %.0f%%)", h.ramAfter, h.ramLimit)
	case h.cpuAfter >= h.cpuLimit:
		return fmt.Sprintf("CPU would reach %.1f%% (threshold %.0f%%)", h.cpuAfter, h.cpuLimit)
	}
	return ""
}

func targetHeadroom(ctx context.Context, c *proxmox.Client, target string, g proxmox.Resource) (headroom, error) {
	n, err := nodeOnline(ctx, c, target)
	if err != nil {
		return headroom{}, fmt.Errorf("target: %w", err)
	}
	if n.MaxMem <= 0 || n.MaxCPU <= 0 {
		return headroom{}, fmt.Errorf("target node %s reports no usage figures (Sys.Audit on /nodes/%s needed)", target, target)
	}
	var addMem int64
	var addCPU float64
	if g.Status == "running" {
		addMem, addCPU = int64(g.MaxMem), float64(g.CPU)*float64(g.MaxCPU)
	}
	th := toolkit.EnvFrom(ctx).Thresholds.WithDefaults()
	h := headroom{
		ramNow:   toolkit.Pct(int64(n.Mem), int64(n.MaxMem)),
		ramAfter: toolkit.Pct(int64(n.Mem)+addMem, int64(n.MaxMem)),
		ramLimit: th.RAMPct,
		cpuAfter: toolkit.Pct(float64(n.CPU)*float64(n.MaxCPU)+addCPU, float64(n.MaxCPU)),
		cpuLimit: th.CPUPct,
	}
	h.detail = fmt.Sprintf("%s after the move: RAM %.1f of %.1f GiB + %.1f GiB = %.1f%% (threshold %.0f%%), CPU %.1f%% (threshold %.0f%%)",
		target, toolkit.GiB(int64(n.Mem)), toolkit.GiB(int64(n.MaxMem)), toolkit.GiB(addMem), h.ramAfter, h.ramLimit, h.cpuAfter, h.cpuLimit)
	return h, nil
}

// localDiskRoom checks that the target's storages of the same names can take
// the guest's local disks without crossing the storage threshold.
func localDiskRoom(ctx context.Context, c *proxmox.Client, target string, disks []proxmox.LocalDisk, content string) error {
	need := map[string]float64{}
	for _, d := range disks {
		if !d.CDROM && !d.IsUnused {
			need[volumeStorage(d.VolID)] += float64(d.Size) / gibBytes
		}
	}
	for st, gib := range need {
		if _, err := chooseStorage(ctx, c, target, st, content, gib); err != nil {
			return err
		}
	}
	return nil
}

// migrationBlockers applies Proxmox's own precondition answer. Local disks
// of a live migration need the caller's explicit consent (they are copied
// over the network while the VM runs); offline, Proxmox copies them anyway.
func migrationBlockers(m *proxmox.MigrationCheck, target string, localOK bool) (localGiB float64, local []string, err error) {
	if why, ok := m.NotAllowed[target]; ok {
		return 0, nil, fmt.Errorf("Proxmox does not allow %s as target: %s", target, why)
	}
	if len(m.AllowedNodes) > 0 && !slices.Contains(m.AllowedNodes, target) {
		return 0, nil, fmt.Errorf("Proxmox does not list %s among the allowed targets (%s)", target, strings.Join(m.AllowedNodes, ", "))
	}
	if len(m.LocalResources) > 0 {
		return 0, nil, fmt.Errorf("the guest uses local resources (%s) that cannot move", strings.Join(m.LocalResources, ", "))
	}
	var bytes int64
	for _, d := range m.LocalDisks {
		if d.CDROM || d.IsUnused {
			continue
		}
		local = append(local, d.VolID)
		bytes += int64(d.Size)
	}
	if len(local) > 0 && !localOK {
		return 0, nil, fmt.Errorf("the guest has disks on local storage (%s, %.1f GiB); set with_local_disks to copy them, or move them to shared storage first",
			strings.Join(local, ", "), toolkit.GiB(bytes))
	}
	return toolkit.GiB(bytes), local, nil
}

func migrateGuest(ctx context.Context, args MigrateArgs) (MigrateResult, error) {
	p, err := newPlanBuilder(ctx)
	if err != nil {
		return MigrateResult{}, err
	}
	g, err := p.guest(ctx, args.VMID, "VM.Migrate")
	if err != nil {
		return MigrateResult{}, err
	}
	kind := guestKind(g.Type)
	if g.Node == args.Target {
		return MigrateResult{}, fmt.Errorf("%s %d is already on %s", kind, args.VMID, args.Target)
	}
	running := g.Status == "running"
	isCT := g.Type == string(proxmox.TypeLXC)
	if running && args.Mode == "offline" {
		return MigrateResult{}, fmt.Errorf("%s %d is running; Proxmox cannot migrate it offline. Shut it down first, or use mode auto", kind, args.VMID)
	}
	hr, err := targetHeadroom(ctx, p.client, args.Target, g)
	if err != nil {
		return MigrateResult{}, err
	}
	if x := hr.crossing(); running && x != "" {
		return MigrateResult{}, fmt.Errorf("refused: on %s %s after the move (%s)", args.Target, x, hr.detail)
	}
	pre, err := p.client.MigrationPrecondition(ctx, g.Node, proxmox.GuestType(g.Type), args.VMID, args.Target)
	var unavailable string
	if err != nil {
		// PVE 8 has no lxc precondition endpoint: plan without it, but say so.
		if !isCT || proxmox.KindOf(err) != proxmox.KindNotImplemented {
			return MigrateResult{}, fmt.Errorf("Proxmox's migration check failed: %w", err)
		}
		unavailable = "this Proxmox version has no migration precondition check for containers"
		toolkit.AddUnavailable(ctx, "migration precondition", unavailable)
		pre = &proxmox.MigrationCheck{}
	}
	liveVM := running && !isCT
	localOK := args.WithLocalDisks || !liveVM
	localGiB, localDisks, err := migrationBlockers(pre, args.Target, localOK)
	if err != nil {
		return MigrateResult{}, fmt.Errorf("cannot migrate %s %d to %s: %v", kind, args.VMID, args.Target, err)
	}
	content := storageContentFor(isCT)
	if err := localDiskRoom(ctx, p.client, args.Target, pre.LocalDisks, content); err != nil {
		return MigrateResult{}, fmt.Errorf("cannot migrate %s %d to %s: %v", kind, args.VMID, args.Target, err)
	}

	path, err := guestAPIPath(g.Node, g.Type, args.VMID, "migrate")
	if err != nil {
		return MigrateResult{}, err
	}
	params := map[string]string{"target": args.Target}
	online := false
	var warnings []string
	if running {
		if isCT {
			// Containers cannot move live: Proxmox stops, moves, starts.
			params["restart"] = "1"
			warnings = append(warnings, fmt.Sprintf("container %d is running: Proxmox restarts it on %s (short downtime).", args.VMID, args.Target))
		} else {
			params["online"] = "1"
			online = true
		}
	}
	if len(localDisks) > 0 {
		if liveVM {
			params["with-local-disks"] = "1"
		}
		warnings = append(warnings, fmt.Sprintf("%.1f GiB of local disks are copied over the network; this takes a while.", localGiB))
	}
	if g.HAState != "" {
		warnings = append(warnings, fmt.Sprintf("%s %d is HA-managed (HA state %s): Proxmox turns this into an HA migration request (hamigrate) that the HA manager carries out.", kind, args.VMID, g.HAState))
	}
	if len(pre.DependentHA) > 0 {
		warnings = append(warnings, "HA resources that move with it: "+strings.Join(pre.DependentHA, ", "))
	}
	if n, err := nodeOnline(ctx, p.client, args.Target); !running && err == nil && n.MaxMem > 0 {
		if after := toolkit.Pct(int64(n.Mem)+int64(g.MaxMem), int64(n.MaxMem)); after >= hr.ramLimit {
			warnings = append(warnings, fmt.Sprintf("once started on %s it would bring RAM use to %.1f%% (threshold %.0f%%)", args.Target, after, hr.ramLimit))
		}
	}
	mode := "offline"
	if online {
		mode = "online (live)"
	} else if running {
		mode = "restart"
	}
	plan := guard.Plan{
		Tool:    "migrate_guest",
		Summary: fmt.Sprintf("migrate %s %d (%s) from %s to %s, %s", kind, args.VMID, g.Name, g.Node, args.Target, mode),
		Calls:   []guard.Call{{Method: "POST", Path: path, Params: params}},
		Preconditions: []guard.Precondition{
			precondition("guest", fmt.Sprintf("%s %d %s on %s", kind, args.VMID, g.Status, g.Node), true),
			precondition("Proxmox migration check", "target allowed", true),
			precondition("local disks", fmt.Sprintf("%d (%.1f GiB)", len(localDisks), localGiB), true),
			precondition("target headroom", hr.detail, hr.crossing() == "" || !running),
			precondition("privilege", "VM.Migrate on "+vmPath(args.VMID), true),
		},
		Warnings: warnings,
	}
	recheck := func(ctx context.Context) error {
		c, err := toolkit.Client(ctx)
		if err != nil {
			return err
		}
		now, err := findGuest(ctx, c, args.VMID)
		if err != nil {
			return err
		}
		if now.Node != g.Node || now.Status != g.Status {
			return fmt.Errorf("%s %d is now %s on %s (was %s on %s when planned)", kind, args.VMID, now.Status, now.Node, g.Status, g.Node)
		}
		h, err := targetHeadroom(ctx, c, args.Target, now)
		if err != nil {
			return err
		}
		if x := h.crossing(); running && x != "" {
			return fmt.Errorf("%s no longer has headroom: %s (%s)", args.Target, x, h.detail)
		}
		if unavailable == "" {
			m, err := c.MigrationPrecondition(ctx, now.Node, proxmox.GuestType(now.Type), args.VMID, args.Target)
			if err != nil {
				return fmt.Errorf("Proxmox's migration check failed: %w", err)
			}
			if _, _, err := migrationBlockers(m, args.Target, localOK); err != nil {
				return err
			}
			if err := localDiskRoom(ctx, c, args.Target, m.LocalDisks, content); err != nil {
				return err
			}
		}
		return nil
	}
	res, err := p.propose(ctx, plan, recheck)
	if err != nil {
		return MigrateResult{}, err
	}
	return MigrateResult{PlanResult: res, Guest: planGuest(g), Target: args.Target, Online: online,
		TargetRAMPct: toolkit.Round(hr.ramNow, 1), TargetRAMAfterPct: toolkit.Round(hr.ramAfter, 1), TargetCPUAfterPct: toolkit.Round(hr.cpuAfter, 1),
		LocalDisksGiB: localGiB}, nil
}

func init() {
	toolkit.Register(toolkit.New(toolkit.Meta{
		Name:  "migrate_guest",
		Title: "Plan a migration",
		Description: "Plans moving a VM or container to another node, after Proxmox's own migration check and the " +
			"target's RAM headroom against the threshold. Nothing happens until confirm_plan.",
		Toolset: toolkit.ToolsetWrite,
		Hints:   &writeHints,
		Needs:   []toolkit.Need{{Priv: "VM.Migrate", Path: "/vms"}},
	}, migrateGuest))
}
