package tools

import (
	"context"
	"slices"
	"sort"
	"strings"

	"github.com/pvemcp/pvemcp/proxmox"
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

// toolNeed is one privilege a tool needs, on a general path; a grant on a
// path below it makes the tool work there only.
type toolNeed struct {
	priv, path string
}

// toolNeeds lists what each tool needs (NOTES §2.20 and the endpoints each
// tool calls). Every need must hold; check_permissions needs nothing.
var toolNeeds = []struct {
	tool  string
	needs []toolNeed
}{
	{"cluster_overview", []toolNeed{{"Sys.Audit", "/"}, {"VM.Audit", "/vms"}}},
	{"list_guests", []toolNeed{{"VM.Audit", "/vms"}}},
	{"get_guest", []toolNeed{{"VM.Audit", "/vms"}}},
	{"get_metrics", []toolNeed{{"Sys.Audit", "/nodes"}, {"VM.Audit", "/vms"}, {"Datastore.Audit", "/storage"}}},
	{"storage_status", []toolNeed{{"Datastore.Audit", "/storage"}}},
	{"zfs_health", []toolNeed{{"Sys.Audit", "/"}}},
	{"ha_status", []toolNeed{{"Sys.Audit", "/"}}},
	{"backup_status", []toolNeed{{"Sys.Audit", "/"}}},
	{"list_tasks", []toolNeed{{"Sys.Audit", "/nodes"}}},
	{"get_task", []toolNeed{{"Sys.Audit", "/nodes"}}},
	{"capacity_report", []toolNeed{{"Sys.Audit", "/"}, {"VM.Audit", "/vms"}, {"Datastore.Audit", "/storage"}}},
	{"check_permissions", nil},
	{"node_logs", []toolNeed{{"Sys.Syslog", "/nodes"}, {"Sys.Audit", "/nodes"}}},
	{"node_health", []toolNeed{{"Sys.Audit", "/nodes"}}},
	{"replication_status", []toolNeed{{"VM.Audit", "/vms"}}},
	{"ceph_health", []toolNeed{{"Sys.Audit", "/"}}},
	{"firewall_status", []toolNeed{{"Sys.Audit", "/"}, {"VM.Audit", "/vms"}}},
	{"storage_content", []toolNeed{{"Datastore.Audit", "/storage"}}},
	{"guest_power", []toolNeed{{"VM.PowerMgmt", "/vms"}}},
	{"migrate_guest", []toolNeed{{"VM.Migrate", "/vms"}}},
	{"create_vm", []toolNeed{{"VM.Allocate", "/vms"}, {"Datastore.AllocateSpace", "/storage"}}},
	{"create_container", []toolNeed{{"VM.Allocate", "/vms"}, {"Datastore.AllocateSpace", "/storage"}}},
	{"update_guest_resources", []toolNeed{{"VM.Config.CPU", "/vms"}, {"VM.Config.Memory", "/vms"}, {"VM.Config.Disk", "/vms"}}},
	{"clone_guest", []toolNeed{{"VM.Clone", "/vms"}, {"VM.Allocate", "/vms"}, {"Datastore.AllocateSpace", "/storage"}}},
	{"convert_to_template", []toolNeed{{"VM.Allocate", "/vms"}}},
	{"delete_guest", []toolNeed{{"VM.Allocate", "/vms"}}},
	// PVE 8 names both VM.Monitor (see agentPrivNames).
	{"guest_agent_info", []toolNeed{{"VM.Audit", "/vms"}, {"VM.GuestAgent.Audit", "/vms"}}},
	{"guest_exec", []toolNeed{{"VM.GuestAgent.Unrestricted", "/vms"}}},
}

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
		if strings.HasPrefix(n.priv, "VM.GuestAgent.") {
			n.priv = "VM.Monitor"
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
		needText = append(needText, n.priv+" on "+n.path)
		if holdsEverywhere(perms, n.path, n.priv) {
			continue
		}
		var below []string
		for _, p := range perms.Paths() {
			if _, granted := perms[p][n.priv]; granted && strings.HasPrefix(p, strings.TrimSuffix(n.path, "/")+"/") {
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
		a.Missing = append(a.Missing, n.priv+" on "+n.path)
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
	c, err := Client(ctx)
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
		for _, t := range toolNeeds {
			res.Tools = append(res.Tools, access(perms, t.tool, agentPrivNames(perms, t.needs)))
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
	Register(New(Meta{
		Name:  "check_permissions",
		Title: "Check the token's permissions",
		Description: "What the Proxmox API token may do: privileges per ACL path, and which pvemcp tools will work " +
			"(yes, partial, no) with the missing privilege.",
		Toolset: ToolsetAccess,
		Hints:   &ReadHints,
	}, checkPermissions))
}
