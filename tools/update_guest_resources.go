package tools

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/pvemcp/pvemcp/guard"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/toolkit"
)

// UpdateResourcesArgs change a guest's CPU, memory or disk size.
type UpdateResourcesArgs struct {
	VMID        int    `json:"vmid" pve:"vmid" required:"true"`
	Cores       int    `json:"cores,omitempty" minimum:"1" maximum:"512"`
	MemoryMiB   int    `json:"memory_mib,omitempty" minimum:"16" maximum:"4194304"`
	Disk        string `json:"disk,omitempty" maxLength:"16" pattern:"^(rootfs|mp[0-9]+|(scsi|virtio|sata|ide)[0-9]+)$" description:"default: boot disk or rootfs"`
	DiskGrowGiB int    `json:"disk_grow_gib,omitempty" minimum:"1" maximum:"131072"`
}

// Validate refuses a call that changes nothing before any Proxmox request.
func (a UpdateResourcesArgs) Validate() error {
	if a.Cores == 0 && a.MemoryMiB == 0 && a.DiskGrowGiB == 0 {
		return fmt.Errorf("nothing to change: give cores, memory_mib or disk_grow_gib")
	}
	return nil
}

// ResourceChange is one planned change, from → to.
type ResourceChange struct {
	Setting string `json:"setting"`
	From    string `json:"from"`
	To      string `json:"to"`
}

// UpdateResourcesResult is the plan of a resource change.
type UpdateResourcesResult struct {
	PlanResult
	Guest   PlanGuest        `json:"guest"`
	Digest  string           `json:"config_digest"`
	Changes []ResourceChange `json:"changes"`
}

// configMemoryMiB reads memory from a config ("8192" or qemu's
// "current=8192" property string); 512 is Proxmox's default.
func configMemoryMiB(v string) int {
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimPrefix(part, "current=")
		if n, err := strconv.Atoi(part); err == nil {
			return n
		}
	}
	return 512
}

func updateGuestResources(ctx context.Context, args UpdateResourcesArgs) (UpdateResourcesResult, error) {
	mem := args.MemoryMiB
	growDisk := args.DiskGrowGiB > 0
	p, err := newPlanBuilder(ctx)
	if err != nil {
		return UpdateResourcesResult{}, err
	}
	var privs []string
	if args.Cores > 0 {
		privs = append(privs, "VM.Config.CPU")
	}
	if mem > 0 {
		privs = append(privs, "VM.Config.Memory")
	}
	if growDisk {
		privs = append(privs, "VM.Config.Disk")
	}
	g, err := p.guest(ctx, args.VMID, privs...)
	if err != nil {
		return UpdateResourcesResult{}, err
	}
	kind := guestKind(g.Type)
	isCT := g.Type == string(proxmox.TypeLXC)
	cfg, err := p.client.GuestConfig(ctx, g.Node, proxmox.GuestType(g.Type), args.VMID)
	if err != nil {
		return UpdateResourcesResult{}, err
	}
	if cfg.Digest == "" {
		return UpdateResourcesResult{}, fmt.Errorf("Proxmox returned no config digest for %s %d; cannot guard against concurrent changes", kind, args.VMID)
	}
	running := g.Status == "running"
	var changes []ResourceChange
	var warnings []string
	config := map[string]string{}
	if args.Cores > 0 {
		from := cfg.Values["cores"]
		if from == "" {
			from = "1"
			if isCT {
				from = "all host cores"
			}
		}
		if from != strconv.Itoa(args.Cores) {
			config["cores"] = strconv.Itoa(args.Cores)
			changes = append(changes, ResourceChange{Setting: "cores", From: from, To: strconv.Itoa(args.Cores)})
		}
	}
	if mem > 0 {
		from := configMemoryMiB(cfg.Values["memory"])
		if from != mem {
			config["memory"] = strconv.Itoa(mem)
			changes = append(changes, ResourceChange{Setting: "memory_mib", From: strconv.Itoa(from), To: strconv.Itoa(mem)})
			if mem < from && running {
				warnings = append(warnings, "memory shrinks while the guest runs: applications may be killed for lack of memory")
			}
			if mem > from && running {
				if err := nodeRAMWarning(ctx, p.client, g, int64(mem-from)<<20, &warnings); err != nil {
					return UpdateResourcesResult{}, err
				}
			}
		}
	}
	if running && !isCT && len(config) > 0 {
		warnings = append(warnings, "the VM is running: CPU and memory changes stay pending until its next restart unless CPU/memory hotplug is enabled")
	}
	var resize *guard.Call
	var disk string
	var growGiB float64
	if growDisk {
		disk = args.Disk
		var curGiB float64
		var storage string
		switch {
		case disk == "" && isCT:
			disk = "rootfs"
			fallthrough
		case disk != "":
			v, ok := cfg.Values[disk]
			if !ok {
				return UpdateResourcesResult{}, fmt.Errorf("%s %d has no disk %s", kind, args.VMID, disk)
			}
			curGiB, storage = diskSizeGiB(v), volumeStorage(v)
		default:
			disk, curGiB, storage = bootDisk(cfg.Values)
			if disk == "" {
				return UpdateResourcesResult{}, fmt.Errorf("VM %d has no disk", args.VMID)
			}
		}
		// Proxmox takes whole GiB; round the new size up.
		target := math.Ceil(curGiB) + float64(args.DiskGrowGiB)
		growGiB = target - curGiB
		if err := p.require(ctx, guard.Need{Path: "/storage/" + storage, Privs: []string{"Datastore.AllocateSpace"}}); err != nil {
			return UpdateResourcesResult{}, err
		}
		if _, err := chooseStorage(ctx, p.client, g.Node, storage, storageContentFor(isCT), growGiB); err != nil {
			return UpdateResourcesResult{}, fmt.Errorf("cannot grow disk %s: %v", disk, err)
		}
		path, err := guestAPIPath(g.Node, g.Type, args.VMID, "resize")
		if err != nil {
			return UpdateResourcesResult{}, err
		}
		resize = &guard.Call{Method: "PUT", Path: path, Params: map[string]string{"disk": disk, "size": fmt.Sprintf("%.0fG", target)}}
		changes = append(changes, ResourceChange{Setting: "disk " + disk, From: fmt.Sprintf("%.1f GiB", curGiB), To: fmt.Sprintf("%.0f GiB", target)})
		warnings = append(warnings, "growing a disk enlarges the block device only: grow the partition and filesystem inside the guest afterwards")
	}
	if len(changes) == 0 {
		return UpdateResourcesResult{}, fmt.Errorf("%s %d already has these settings; nothing to change", kind, args.VMID)
	}

	// Only the first call can carry the digest: it changes the config, so a
	// second call would fail on its own digest. The recheck at confirm time
	// covers the whole plan.
	var calls []guard.Call
	if len(config) > 0 {
		path, err := guestAPIPath(g.Node, g.Type, args.VMID, "config")
		if err != nil {
			return UpdateResourcesResult{}, err
		}
		config["digest"] = cfg.Digest
		calls = append(calls, guard.Call{Method: "PUT", Path: path, Params: config})
	}
	if resize != nil {
		if len(calls) == 0 {
			resize.Params["digest"] = cfg.Digest
		}
		calls = append(calls, *resize)
	}
	var parts []string
	for _, c := range changes {
		parts = append(parts, fmt.Sprintf("%s %s → %s", c.Setting, c.From, c.To))
	}
	plan := guard.Plan{
		Tool:    "update_guest_resources",
		Summary: fmt.Sprintf("change %s %d (%s) on %s: %s", kind, args.VMID, g.Name, g.Node, strings.Join(parts, ", ")),
		Calls:   calls,
		Preconditions: []guard.Precondition{
			precondition("guest", fmt.Sprintf("%s %d %s on %s", kind, args.VMID, g.Status, g.Node), true),
			precondition("config digest", cfg.Digest, true),
			precondition("not locked", "no lock", true),
		},
		Warnings: warnings,
	}
	digest := cfg.Digest
	recheck := func(ctx context.Context) error {
		c, err := toolkit.Client(ctx)
		if err != nil {
			return err
		}
		now, err := findGuest(ctx, c, args.VMID)
		if err != nil {
			return err
		}
		if now.Node != g.Node {
			return fmt.Errorf("%s %d moved to %s since the plan", kind, args.VMID, now.Node)
		}
		cur, err := c.GuestConfig(ctx, now.Node, proxmox.GuestType(now.Type), args.VMID)
		if err != nil {
			return err
		}
		if cur.Digest != digest {
			return fmt.Errorf("the configuration of %s %d changed since the plan (digest %s, now %s); plan again", kind, args.VMID, digest, cur.Digest)
		}
		if growDisk {
			return storageStillFits(ctx, now.Node, volumeStorage(cur.Values[disk]), storageContentFor(isCT), growGiB)
		}
		return nil
	}
	res, err := p.propose(ctx, plan, recheck)
	if err != nil {
		return UpdateResourcesResult{}, err
	}
	return UpdateResourcesResult{PlanResult: res, Guest: planGuest(g), Digest: digest, Changes: changes}, nil
}

func storageContentFor(isCT bool) string {
	if isCT {
		return "rootdir"
	}
	return "images"
}

// nodeRAMWarning warns when growing a running guest's memory would push its
// node past the RAM threshold.
func nodeRAMWarning(ctx context.Context, c *proxmox.Client, g proxmox.Resource, addBytes int64, warnings *[]string) error {
	n, err := nodeOnline(ctx, c, g.Node)
	if err != nil || n.MaxMem <= 0 {
		return err
	}
	limit := toolkit.EnvFrom(ctx).Thresholds.WithDefaults().RAMPct
	after := toolkit.Pct(int64(n.Mem)+addBytes, int64(n.MaxMem))
	if after >= limit {
		*warnings = append(*warnings, fmt.Sprintf("node %s would reach %.1f%% RAM use once the guest uses the new memory (threshold %.0f%%)", g.Node, after, limit))
	}
	return nil
}

func init() {
	toolkit.Register(toolkit.New(toolkit.Meta{
		Name:  "update_guest_resources",
		Title: "Plan a resource change",
		Description: "Plans new cores or memory for a VM or container, or growing a disk (config digest guards against " +
			"concurrent changes). Nothing happens until confirm_plan.",
		Toolset: toolkit.ToolsetWrite,
		Hints:   &writeHints,
		Needs:   []toolkit.Need{{Priv: "VM.Config.CPU", Path: "/vms"}, {Priv: "VM.Config.Memory", Path: "/vms"}, {Priv: "VM.Config.Disk", Path: "/vms"}},
	}, updateGuestResources))
}
