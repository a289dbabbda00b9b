package tools

import (
	"context"
	"slices"
	"sort"
	"strings"

	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/toolkit"
)

// PermissionsArgs optionally narrow the check to one ACL path.
type PermissionsArgs struct {
	Path string `json:"path,omitempty" maxLength:"255" pattern:"^/[A-Za-z0-9/._-]*$" description:"one ACL path, e.g. /vms/103"`
}

// ToolAccess says whether a pvemcp tool will work with this token.
type ToolAccess struct {
	Tool string `json:"tool"`
	// Works: yes, partial (only for some guests/storages/nodes), no.
	Works   string   `json:"works"`
	Needs   string   `json:"needs"`
	Missing []string `json:"missing,omitempty"`
	// Only lists the paths where a partial grant applies.
	Only []string `json:"only_on,omitempty"`
}

// PathPrivileges lists the token's privileges on one ACL path.
type PathPrivileges struct {
	Path       string   `json:"path"`
	Privileges []string `json:"privileges"`
	// NotPropagated are those of Privileges that hold on this path only, not
	// below it (an ACL with propagate 0).
	NotPropagated []string `json:"not_propagated,omitempty"`
}

// PermissionsResult maps the token's privileges to pvemcp's tools.
type PermissionsResult struct {
	Token string           `json:"token"`
	Tools []ToolAccess     `json:"tools"`
	Paths []PathPrivileges `json:"paths"`
	Note  string           `json:"note"`
}

// toolNeed is a tool's Need (see Meta.Needs).
type toolNeed = toolkit.Need

// agentPrivNames maps the PVE 9 guest agent privileges to PVE 8's VM.Monitor when the token's privileges are
// named the PVE 8 way (VM.Monitor granted somewhere, no VM.GuestAgent.* anywhere).
func agentPrivNames(perms proxmox.Permissions, needs []toolNeed) []toolNeed {
	monitor := false
	for _, p := range perms.Paths() {
		for priv := range perms[p] {
			if strings.HasPrefix(priv, "VM.GuestAgent.") {
				return needs
			}
			monitor = monitor || priv == "VM.Monitor"
		}
	}
	if !monitor {
		return needs
	}
	out := make([]toolNeed, len(needs))
	for i, n := range needs {
		if strings.HasPrefix(n.Priv, "VM.GuestAgent.") {
			n.Priv = "VM.Monitor"
		}
		out[i] = n
	}
	return out
}

// anyChild names a path below an ACL path that has no ACL of its own, such
// as a guest on /vms; it can never be listed, so Permissions.Has infers it
// from its ancestors' propagating grants.
const anyChild = "/\x00"

// holdsEverywhere reports whether priv holds wherever the tool will need it:
// on / itself, or on every path below /vms, /storage, /nodes (the objects
// the tool reads or changes), which a grant with propagate 0 does not reach.
func holdsEverywhere(perms proxmox.Permissions, path, priv string) bool {
	if path == "/" {
		return perms.Has(path, priv)
	}
	return perms.Has(strings.TrimSuffix(path, "/")+anyChild, priv)
}

// access evaluates one tool's needs against the token's permissions.
func access(perms proxmox.Permissions, tool string, needs []toolNeed) ToolAccess {
	a := ToolAccess{Tool: tool, Works: "yes"}
	var needText []string
	for _, n := range needs {
		needText = append(needText, n.Priv+" on "+n.Path)
		if holdsEverywhere(perms, n.Path, n.Priv) {
			continue
		}
		var below []string
		for _, p := range perms.Paths() {
			if _, granted := perms[p][n.Priv]; granted && strings.HasPrefix(p, strings.TrimSuffix(n.Path, "/")+"/") {
				below = append(below, p)
			}
		}
		if len(below) > 0 {
			if a.Works == "yes" {
				a.Works = "partial"
			}
			a.Only = append(a.Only, below...)
			continue
		}
		a.Works = "no"
		a.Missing = append(a.Missing, n.Priv+" on "+n.Path)
	}
	if a.Works == "no" {
		a.Only = nil
	}
	slices.Sort(a.Only)
	a.Only = slices.Compact(a.Only)
	a.Needs = strings.Join(needText, ", ")
	if len(needs) == 0 {
		a.Needs = "any valid token"
	}
	return a
}

func checkPermissions(ctx context.Context, args PermissionsArgs) (PermissionsResult, error) {
	c, err := toolkit.Client(ctx)
	if err != nil {
		return PermissionsResult{}, err
	}
	perms, err := c.Permissions(ctx, args.Path)
	if err != nil {
		return PermissionsResult{}, err
	}
	res := PermissionsResult{
		Token: c.TokenID(),
		Note: "Computed from GET /access/permissions. Write tools also check the exact guest (/vms/<vmid>) and storage " +
			"before planning and name a missing privilege. The token can never do more than these privileges allow.",
	}
	if args.Path == "" {
		for _, t := range toolkit.All() {
			res.Tools = append(res.Tools, access(perms, t.Name, agentPrivNames(perms, t.Needs)))
		}
	}
	for _, p := range perms.Paths() {
		pp := PathPrivileges{Path: p, Privileges: []string{}}
		for k, propagates := range perms[p] {
			pp.Privileges = append(pp.Privileges, k)
			if !propagates {
				pp.NotPropagated = append(pp.NotPropagated, k)
			}
		}
		sort.Strings(pp.Privileges)
		sort.Strings(pp.NotPropagated)
		res.Paths = append(res.Paths, pp)
	}
	return res, nil
}

func init() {
	toolkit.Register(toolkit.New(toolkit.Meta{
		Name:  "check_permissions",
		Title: "Check the token's permissions",
		Description: "What the Proxmox API token may do: privileges per ACL path, and which pvemcp tools will work " +
			"(yes, partial, no) with the missing privilege.",
		Toolset: toolkit.ToolsetAccess,
		Hints:   &toolkit.ReadHints,
		Needs:   toolkit.NeedsNothing,
	}, checkPermissions))
}
