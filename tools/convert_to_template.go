package tools

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pvemcp/pvemcp/guard"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/toolkit"
)

func init() {
	toolkit.Register(toolkit.New(toolkit.Meta{
		Name:  "convert_to_template",
		Title: "Plan turning a guest into a template",
		Description: "Plans turning a stopped VM or container without snapshots into a template: its disks become " +
			"read-only base images that clone_guest links clones to. Cannot be undone; nothing happens until confirm_plan.",
		Toolset: toolkit.ToolsetLifecycle,
		Hints:   &writeHints,
		Needs:   []toolkit.Need{{Priv: "VM.Allocate", Path: "/vms"}},
	}, convertToTemplate))
	stepHooks["convert_to_template"] = findTemplateTask
}

// TemplateArgs select the guest.
type TemplateArgs struct {
	VMID int `json:"vmid" pve:"vmid" required:"true"`
}

// TemplateResult is the plan of the conversion.
type TemplateResult struct {
	PlanResult
	Guest     PlanGuest `json:"guest"`
	BaseDisks []string  `json:"base_disks"`
}

func convertToTemplate(ctx context.Context, args TemplateArgs) (TemplateResult, error) {
	p, err := newPlanBuilder(ctx)
	if err != nil {
		return TemplateResult{}, err
	}
	g, err := p.guest(ctx, args.VMID, "VM.Allocate")
	if err != nil {
		return TemplateResult{}, err
	}
	kind, typ := guestKind(g.Type), proxmox.GuestType(g.Type)
	if bool(g.Template) {
		return TemplateResult{}, fmt.Errorf("refused: %s %d (%s) is already a template", kind, args.VMID, g.Name)
	}
	if g.Status != "stopped" {
		return TemplateResult{}, fmt.Errorf("refused: %s %d (%s) is %s; Proxmox converts only a stopped guest (\"you can't convert a %s to template if %s is running\"). Shut it down first", kind, args.VMID, g.Name, g.Status, kindWordPVE(g.Type), kindWordPVE(g.Type))
	}
	snaps, err := p.client.Snapshots(ctx, g.Node, typ, args.VMID)
	if err != nil {
		return TemplateResult{}, err
	}
	var names []string
	for _, s := range snaps {
		if s.Name != "current" {
			names = append(names, s.Name)
		}
	}
	if len(names) > 0 {
		return TemplateResult{}, fmt.Errorf("refused: %s %d has snapshots (%s); Proxmox refuses (\"unable to create template, because %s contains snapshots\"). Delete them first", kind, args.VMID, strings.Join(names, ", "), kindWordPVE(g.Type))
	}
	cfg, err := p.client.GuestConfig(ctx, g.Node, typ, args.VMID)
	if err != nil {
		return TemplateResult{}, err
	}
	var base []string
	for _, d := range configDisks(g.Type, cfg.Values, false) {
		if !strings.Contains(d.VolID, "cloudinit") {
			base = append(base, d.Key+" "+d.VolID)
		}
	}
	path, err := guestAPIPath(g.Node, g.Type, args.VMID, "template")
	if err != nil {
		return TemplateResult{}, err
	}
	warnings := []string{
		fmt.Sprintf("this cannot be undone through the API: %s %d can never be started again; its disks become read-only base images. Use clone_guest to get runnable guests from it", kind, args.VMID),
	}
	if g.HAState != "" {
		warnings = append(warnings, fmt.Sprintf("%s %d is an HA resource; a template cannot run, so remove it from HA", kind, args.VMID))
	}
	plan := guard.Plan{
		Tool:    "convert_to_template",
		Summary: fmt.Sprintf("convert %s %d (%s) on %s into a template; base images: %s", kind, args.VMID, g.Name, g.Node, orNone(base)),
		Calls:   []guard.Call{{Method: "POST", Path: path}},
		Preconditions: []guard.Precondition{
			precondition("guest exists", fmt.Sprintf("%s %d on %s", kind, args.VMID, g.Node), true),
			precondition("stopped", g.Status, true),
			precondition("no snapshots", "none", true),
			precondition("not locked", "no lock", true),
			precondition("privilege", "VM.Allocate on "+vmPath(args.VMID), true),
		},
		Warnings: warnings,
	}
	node := g.Node
	recheck := func(ctx context.Context) error {
		c, err := toolkit.Client(ctx)
		if err != nil {
			return err
		}
		now, err := guestOnPlanNode(ctx, c, args.VMID, kind, node)
		if err != nil {
			return err
		}
		switch {
		case now.Status != "stopped":
			return fmt.Errorf("%s %d is now %s; it must be stopped", kind, args.VMID, now.Status)
		case bool(now.Template):
			return fmt.Errorf("%s %d is already a template", kind, args.VMID)
		case now.Lock != "":
			return fmt.Errorf("%s %d is now locked (%s)", kind, args.VMID, now.Lock)
		}
		return nil
	}
	res, err := p.propose(ctx, plan, recheck)
	if err != nil {
		return TemplateResult{}, err
	}
	return TemplateResult{PlanResult: res, Guest: planGuest(g), BaseDisks: base}, nil
}

// findTemplateTask finds the vztemplate task of a container conversion: Proxmox answers that call with
// null although it starts a worker, so the task is looked up in the node's task list (newest first).
func findTemplateTask(ctx context.Context, c *proxmox.Client, call guard.Call, wr proxmox.WriteResult, sent time.Time, _ *StepResult) (string, error) {
	if wr.UPID != "" {
		return wr.UPID, nil
	}
	parts := strings.Split(strings.Trim(call.Path, "/"), "/")
	if len(parts) != 5 || parts[2] != string(proxmox.TypeLXC) {
		return "", nil
	}
	vmid, err := strconv.Atoi(parts[3])
	if err != nil {
		return "", nil
	}
	// A margin for clock skew between this host and the node; a container is converted only once.
	tasks, _, err := c.Tasks(ctx, parts[1], proxmox.TaskFilter{TypeFilter: "vztemplate", VMID: vmid, Source: "all", Limit: 5, Since: sent.Add(-10 * time.Minute).Unix()})
	if err != nil {
		return "", fmt.Errorf("Proxmox started the conversion but its task could not be found: %w", err)
	}
	newest := proxmox.Task{}
	for _, t := range tasks {
		if t.StartTime >= newest.StartTime {
			newest = t
		}
	}
	return newest.UPID, nil
}
