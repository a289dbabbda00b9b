package tools

import (
	"context"
	"fmt"
	"strconv"

	"github.com/pvemcp/pvemcp/guard"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/toolkit"
)

// PowerArgs select a guest and a power action.
type PowerArgs struct {
	VMID     int    `json:"vmid" pve:"vmid" required:"true"`
	Action   string `json:"action" required:"true" enum:"start,stop,shutdown,reboot,suspend,resume" description:"stop cuts power; shutdown asks the OS"`
	TimeoutS int    `json:"timeout_s,omitempty" minimum:"1" maximum:"3600" description:"shutdown/reboot wait"`
}

// PowerResult is the plan of a power action.
type PowerResult struct {
	PlanResult
	Guest  PlanGuest `json:"guest"`
	Action string    `json:"action"`
}

// powerState is what a guest must be in for an action, and why.
func powerAllowed(action, typ, status, qmp string) error {
	paused := typ == string(proxmox.TypeQemu) && (qmp == "paused" || qmp == "suspended" || qmp == "prelaunch")
	switch action {
	case "start":
		if status == "running" && paused {
			return fmt.Errorf("it is paused (%s); use action resume", qmp)
		}
		if status != "stopped" {
			return fmt.Errorf("it is %s, not stopped", status)
		}
	case "stop":
		if status != "running" {
			return fmt.Errorf("it is already %s", status)
		}
	case "shutdown", "reboot", "suspend":
		if status != "running" {
			return fmt.Errorf("it is %s, not running", status)
		}
		if paused {
			return fmt.Errorf("it is paused (%s); resume it first", qmp)
		}
	case "resume":
		if status != "running" {
			return fmt.Errorf("it is %s, not suspended", status)
		}
		if typ == string(proxmox.TypeQemu) && !paused {
			return fmt.Errorf("it is running, not paused")
		}
	default:
		return fmt.Errorf("unknown action %q", action)
	}
	return nil
}

// qmpStatus tells a paused VM apart from a running one (cluster resources
// say "running" for both).
func qmpStatus(ctx context.Context, c *proxmox.Client, g proxmox.Resource) (string, error) {
	if g.Type != string(proxmox.TypeQemu) || g.Status != "running" {
		return "", nil
	}
	st, err := c.GuestStatus(ctx, g.Node, proxmox.TypeQemu, int(g.VMID))
	if err != nil {
		return "", err
	}
	return st.QMPStatus, nil
}

// powerState is "running", "stopped" or e.g. "running (paused)".
func powerState(status, qmp string) string {
	if qmp != "" && qmp != status {
		return status + " (" + qmp + ")"
	}
	return status
}

func guestPower(ctx context.Context, args PowerArgs) (PowerResult, error) {
	p, err := newPlanBuilder(ctx)
	if err != nil {
		return PowerResult{}, err
	}
	g, err := p.guest(ctx, args.VMID, "VM.PowerMgmt")
	if err != nil {
		return PowerResult{}, err
	}
	qmp, err := qmpStatus(ctx, p.client, g)
	if err != nil {
		return PowerResult{}, err
	}
	kind := guestKind(g.Type)
	if g.Template {
		return PowerResult{}, fmt.Errorf("%s %d is a template; templates cannot be powered on", kind, args.VMID)
	}
	if err := powerAllowed(args.Action, g.Type, g.Status, qmp); err != nil {
		return PowerResult{}, fmt.Errorf("cannot %s %s %d: %v", args.Action, kind, args.VMID, err)
	}
	path, err := guestAPIPath(g.Node, g.Type, args.VMID, "status", args.Action)
	if err != nil {
		return PowerResult{}, err
	}
	call := guard.Call{Method: "POST", Path: path}
	if args.TimeoutS > 0 && (args.Action == "shutdown" || args.Action == "reboot") {
		call.Params = map[string]string{"timeout": strconv.Itoa(args.TimeoutS)}
	}
	status := powerState(g.Status, qmp)
	plan := guard.Plan{
		Tool:    "guest_power",
		Summary: fmt.Sprintf("%s %s %d (%s) on %s", args.Action, kind, args.VMID, g.Name, g.Node),
		Calls:   []guard.Call{call},
		Preconditions: []guard.Precondition{
			precondition("guest exists", fmt.Sprintf("%s %d on %s", kind, args.VMID, g.Node), true),
			precondition("status allows "+args.Action, status, true),
			precondition("not locked", "no lock", true),
			precondition("privilege", "VM.PowerMgmt on "+vmPath(args.VMID), true),
		},
	}
	if g.HAState != "" && args.Action != "suspend" && args.Action != "resume" {
		plan.Warnings = append(plan.Warnings, fmt.Sprintf(
			"%s %d is HA-managed (HA state %s): Proxmox hands %s to the HA manager, which runs it as an HA task (hastart/hastop) and changes the HA resource's requested state.",
			kind, args.VMID, g.HAState, args.Action))
	}
	if args.Action == "stop" {
		plan.Warnings = append(plan.Warnings, "stop cuts power without a clean shutdown: unsaved data in the guest is lost. Prefer shutdown.")
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
		nowQMP, err := qmpStatus(ctx, c, now)
		if err != nil {
			return err
		}
		if now.Node != g.Node {
			return fmt.Errorf("%s %d moved from %s to %s since the plan", kind, args.VMID, g.Node, now.Node)
		}
		if was, is := status, powerState(now.Status, nowQMP); is != was {
			return fmt.Errorf("%s %d is now %s (was %s when planned)", kind, args.VMID, is, was)
		}
		if now.Lock != "" {
			return fmt.Errorf("%s %d is now locked (%s)", kind, args.VMID, now.Lock)
		}
		return nil
	}
	res, err := p.propose(ctx, plan, recheck)
	if err != nil {
		return PowerResult{}, err
	}
	return PowerResult{PlanResult: res, Guest: planGuest(g), Action: args.Action}, nil
}

func init() {
	toolkit.Register(toolkit.New(toolkit.Meta{
		Name:  "guest_power",
		Title: "Plan a power action",
		Description: "Plans start, stop, shutdown, reboot, suspend or resume of a VM or container. " +
			"Nothing happens until confirm_plan.",
		Toolset: toolkit.ToolsetWrite,
		Hints:   &writeHints,
		Needs:   []toolkit.Need{{Priv: "VM.PowerMgmt", Path: "/vms"}},
	}, guestPower))
}
