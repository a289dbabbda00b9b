// Package resources holds pvemcp's MCP prompts: ready-made questions a user
// picks in the client (slash commands in Claude Desktop and Claude Code) that
// tell the assistant which tools answer them; and its MCP resources and
// resource templates: live views a client attaches as context, each answered
// by a read tool (resources.go); and its MCP Apps views: HTML documents a
// host renders next to a tool's answer (views.go, views/). It does not know
// the MCP SDK; package mcpserver registers them.
package resources

import (
	"fmt"
	"strconv"
	"strings"
)

// Arg is a prompt argument.
type Arg struct {
	Name        string
	Description string
	Required    bool
}

// Prompt is one prompt template.
type Prompt struct {
	Name        string
	Title       string
	Description string
	Args        []Arg
	// Tools are the tools the prompt asks for; it is offered only when
	// all of them are served.
	Tools []string
	// Render returns the user message for the given arguments; it rejects
	// invalid ones with a message naming the argument.
	Render func(args map[string]string) (string, error)
}

const common = " Use only pvemcp tool results; cite the API calls from each result's sources; " +
	"say plainly what is unavailable or which node did not answer instead of guessing."

// Prompts returns every prompt, in display order.
func Prompts() []Prompt {
	return []Prompt{
		{
			Name:        "cluster_health",
			Title:       "Cluster health check",
			Description: "How is the cluster doing: nodes, alerts, storage, ZFS, HA and last week's backups.",
			Tools:       []string{"cluster_overview", "zfs_health", "ha_status", "storage_status", "backup_status"},
			Render: func(map[string]string) (string, error) {
				return "Give me a health check of my Proxmox VE cluster. Start with cluster_overview, then check " +
					"zfs_health, ha_status, storage_status and backup_status (last 7 days). Summarise as a short " +
					"dashboard: what is fine, what needs attention (most urgent first) and the next step for each." + common, nil
			},
		},
		{
			Name:        "guest_report",
			Title:       "Report on one guest",
			Description: "Everything about one VM or container: state, config, HA, snapshots, IPs and its recent load.",
			Args:        []Arg{{Name: "vmid", Description: "VM or container ID, e.g. 100", Required: true}},
			Tools:       []string{"get_guest", "get_metrics"},
			Render: func(a map[string]string) (string, error) {
				id, err := vmidArg(a)
				if err != nil {
					return "", err
				}
				return fmt.Sprintf("Report on guest %d: call get_guest with vmid %d, then get_metrics for it over the "+
					"last day. Describe its state, resources and how much of them it uses, HA state, snapshots and IP "+
					"addresses, and anything unusual.%s", id, id, common), nil
			},
		},
		{
			Name:        "running_vms",
			Title:       "Running VMs on a node",
			Description: "The running VMs of one node (or the whole cluster) with CPU, memory, disk and uptime.",
			Args:        []Arg{{Name: "node", Description: "node name, e.g. pve-node01 (empty: all nodes)"}},
			Tools:       []string{"list_guests"},
			Render: func(a map[string]string) (string, error) {
				node := strings.TrimSpace(a["node"])
				where := "across the cluster"
				args := `{"type":"qemu","status":"running"}`
				if node != "" {
					if !validNode(node) {
						return "", fmt.Errorf("argument %q: %q is not a valid node name", "node", node)
					}
					where = "on " + node
					args = fmt.Sprintf(`{"node":%q,"type":"qemu","status":"running"}`, node)
				}
				return fmt.Sprintf("Show me all running VMs %s: call list_guests with %s and show a table with "+
					"VMID, name, CPU, memory used/max, disk and uptime, then the totals (running, vCPUs allocated, "+
					"RAM in use).%s", where, args, common), nil
			},
		},
		{
			Name:        "capacity_review",
			Title:       "Capacity review",
			Description: "vCPU and RAM commitment per node, storage forecasts and validated rebalancing moves.",
			Tools:       []string{"capacity_report"},
			Render: func(map[string]string) (string, error) {
				return "Analyse my cluster's capacity and suggest rebalancing: call capacity_report, and explain " +
					"each suggested migration with the headroom it leaves on the target." + common, nil
			},
		},
	}
}

func vmidArg(a map[string]string) (int, error) {
	v := strings.TrimSpace(a["vmid"])
	id, err := strconv.Atoi(v)
	if err != nil || id < 100 || id > 999999999 {
		return 0, fmt.Errorf("argument %q: must be a VMID between 100 and 999999999, got %q", "vmid", v)
	}
	return id, nil
}

func validNode(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}
