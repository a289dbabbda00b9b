package tools

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/pvemcp/pvemcp/guard"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/toolkit"
)

// writeHints: write tools change state and may lose data (stop, shrink of
// memory); they are not idempotent and touch only the configured cluster.
var writeHints = toolkit.Hints{ReadOnly: false, Destructive: true, Idempotent: false, OpenWorld: false}

// PlanResult is what every write tool returns: a plan, never an action.
type PlanResult struct {
	guard.Proposal
	Next string `json:"next"`
}

// planBuilder is one write tool call building its plan: it holds what the
// tool reads before it plans (the cluster's client and name, the gate, the
// token's permissions), checks privileges and the guest, and proposes the
// plan to the gate's store.
type planBuilder struct {
	client *proxmox.Client
	// cluster is the configured name of the client's cluster; the plan is
	// bound to it.
	cluster string
	gate    *toolkit.Gate
	// perms caches Proxmox's evaluation of each exact ACL path asked.
	perms map[string]proxmox.Permissions
	// vmid is the existing guest the plan is about (0 for none); its
	// protection is checked again at confirm time.
	vmid int
}

// newPlanBuilder prepares a plan against this call's cluster.
func newPlanBuilder(ctx context.Context) (*planBuilder, error) {
	g, err := gateFrom(ctx)
	if err != nil {
		return nil, err
	}
	c, err := toolkit.Client(ctx)
	if err != nil {
		return nil, err
	}
	if env := toolkit.EnvFrom(ctx); env.MultiCluster() && c.Name() == "" {
		// The plan could not be routed back to this cluster at confirm time.
		return nil, errors.New("write tools need a name for every configured cluster")
	}
	return &planBuilder{client: c, cluster: c.Name(), gate: g, perms: map[string]proxmox.Permissions{}}, nil
}

// require checks each need on its exact ACL path as Proxmox evaluates it
// (GET /access/permissions?path=...), so each tool refuses early, naming the
// missing privilege. The full map would only allow an inference for a path
// without an ACL of its own (propagate flags, NoAccess, pools).
func (p *planBuilder) require(ctx context.Context, needs ...guard.Need) error {
	for _, n := range needs {
		perms, ok := p.perms[n.Path]
		if !ok {
			var err error
			if perms, err = p.client.Permissions(ctx, n.Path); err != nil {
				return fmt.Errorf("reading the token's permissions on %s: %w", n.Path, err)
			}
			p.perms[n.Path] = perms
		}
		if err := guard.Require(perms, n); err != nil {
			return fmt.Errorf("refused at plan time: %w", err)
		}
	}
	return nil
}

func vmPath(vmid int) string { return fmt.Sprintf("/vms/%d", vmid) }

// guestOnPlanNode reads guest vmid again when a plan is confirmed and
// refuses it when it moved off the node the plan was made for.
func guestOnPlanNode(ctx context.Context, c *proxmox.Client, vmid int, kind, node string) (proxmox.Resource, error) {
	now, err := findGuest(ctx, c, vmid)
	if err != nil {
		return now, err
	}
	if now.Node != node {
		return now, fmt.Errorf("%s %d moved from %s to %s since the plan", kind, vmid, node, now.Node)
	}
	return now, nil
}

// findGuest locates a VM or container by VMID in /cluster/resources.
func findGuest(ctx context.Context, c *proxmox.Client, vmid int) (proxmox.Resource, error) {
	rs, err := c.Resources(ctx, proxmox.ResourceVM)
	if err != nil {
		return proxmox.Resource{}, err
	}
	for _, r := range rs {
		if r.IsGuest() && int(r.VMID) == vmid {
			return r, nil
		}
	}
	return proxmox.Resource{}, fmt.Errorf("no VM or container with VMID %d in the cluster (or the token may not see it: VM.Audit)", vmid)
}

// guest is the common start of every plan about an existing guest: the
// privileges on /vms/<vmid>, the guest itself, and refusals for protected
// or locked guests.
func (p *planBuilder) guest(ctx context.Context, vmid int, privs ...string) (proxmox.Resource, error) {
	needs := make([]guard.Need, len(privs))
	for i, priv := range privs {
		needs[i] = guard.Need{Path: vmPath(vmid), Privs: []string{priv}}
	}
	if err := p.require(ctx, needs...); err != nil {
		return proxmox.Resource{}, err
	}
	g, err := findGuest(ctx, p.client, vmid)
	if err != nil {
		return g, err
	}
	p.vmid = vmid
	if err := checkProtection(ctx, p.client, p.gate.Protection, g); err != nil {
		return g, err
	}
	if g.Lock != "" {
		return g, fmt.Errorf("%s %d is locked (%s); Proxmox refuses changes until the lock is released", guestKind(g.Type), vmid, g.Lock)
	}
	return g, nil
}

// checkProtection refuses a guest protected by configuration: by VMID, by
// tag, or (when configured) by Proxmox's own protection flag.
func checkProtection(ctx context.Context, c *proxmox.Client, prot guard.Protection, g proxmox.Resource) error {
	vmid := int(g.VMID)
	if err := prot.Check(vmid, g.Tags); err != nil {
		return err
	}
	if !prot.ProxmoxFlag {
		return nil
	}
	cfg, err := c.GuestConfig(ctx, g.Node, proxmox.GuestType(g.Type), vmid)
	if err != nil {
		return fmt.Errorf("reading the config of guest %d for its protection flag: %w", vmid, err)
	}
	return prot.CheckFlag(vmid, cfg.Values["protection"])
}

// guestKind is "VM" or "container" for messages.
func guestKind(t string) string {
	if t == string(proxmox.TypeLXC) {
		return "container"
	}
	return "VM"
}

// propose records the plan in the store, bound to this caller and cluster.
// The recheck runs against the plan's cluster whatever cluster the
// confirming call was routed to.
func (p *planBuilder) propose(ctx context.Context, plan guard.Plan, recheck guard.Recheck) (PlanResult, error) {
	plan.Caller = callerID(ctx)
	if c := toolkit.CallerFrom(ctx); !c.Anonymous {
		plan.Principal = c.Principal
	}
	plan.Cluster = p.cluster
	// How this plan must be approved is fixed now, from the planning
	// client: a plan made where the user can be asked cannot be confirmed
	// later by a request that only carries the nonce.
	canElicit := toolkit.PeerFrom(ctx).CanElicit()
	plan.Approval = p.gate.Approval.Requires(canElicit)
	if recheck != nil || p.vmid != 0 {
		inner, client, vmid, prot := recheck, p.client, p.vmid, p.gate.Protection
		recheck = func(ctx context.Context) error {
			ctx = withClusterClient(ctx, client)
			if vmid != 0 {
				// A guest may have gained a protected tag or flag since.
				g, err := findGuest(ctx, client, vmid)
				if err != nil {
					return err
				}
				if err := checkProtection(ctx, client, prot, g); err != nil {
					return fmt.Errorf("%w (since the plan was made)", err)
				}
			}
			if inner == nil {
				return nil
			}
			return inner(ctx)
		}
	}
	if c := toolkit.ReplanFrom(ctx); c != nil {
		c.Calls, c.Recheck, c.Done = plan.Calls, recheck, true
		return PlanResult{}, toolkit.ErrReplanned
	}
	plan.Args = toolkit.ToolArgs(ctx)
	prop, err := p.gate.Store.Propose(plan, recheck)
	if err != nil {
		return PlanResult{}, err
	}
	next := "Nothing has changed yet. Show this plan to the user; only after they approve it, call confirm_plan with plan_id and nonce before expires_at."
	switch {
	case plan.Approval == guard.ByElicitation && canElicit:
		next = "Nothing has changed yet. Call confirm_plan with plan_id and nonce before expires_at: the client shows the plan to the user and asks for approval; nothing runs if they decline."
	case plan.Approval == guard.ByElicitation:
		next = "Nothing has changed, and this plan cannot be confirmed from this client: the server requires approval by the user through the client's approval prompt (MCP elicitation), which this client does not support. Use a client that supports elicitation to plan and confirm changes."
	}
	return PlanResult{Proposal: prop, Next: next}, nil
}

// guestAPIPath is /nodes/{node}/{qemu|lxc}/{vmid}/rest..., refusing names
// that are not Proxmox node names (they come from API answers, but a plan
// must never carry a path that could leave the guest's subtree).
func guestAPIPath(node, typ string, vmid int, rest ...string) (string, error) {
	if !proxmox.ValidNode(node) || !proxmox.GuestType(typ).Valid() || !proxmox.ValidVMID(vmid) {
		return "", fmt.Errorf("invalid guest address %s/%s/%d", node, typ, vmid)
	}
	p := fmt.Sprintf("/nodes/%s/%s/%d", node, typ, vmid)
	for _, r := range rest {
		p += "/" + url.PathEscape(r)
	}
	return p, nil
}

// PlanGuest names the guest a plan is about.
type PlanGuest struct {
	VMID    int    `json:"vmid"`
	Name    string `json:"name"`
	Type    string `json:"type"`
	Node    string `json:"node"`
	Status  string `json:"status"`
	HAState string `json:"ha_state,omitempty"`
}

func planGuest(r proxmox.Resource) PlanGuest {
	return PlanGuest{VMID: int(r.VMID), Name: r.Name, Type: r.Type, Node: r.Node, Status: r.Status, HAState: r.HAState}
}

func precondition(name, value string, ok bool) guard.Precondition {
	return guard.Precondition{Name: name, Value: value, OK: ok}
}
