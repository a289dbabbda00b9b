package resources

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/pvemcp/pvemcp/proxmox"
)

// MIMEType is the type of every resource: the compact JSON of a tool result.
const MIMEType = "application/json"

// Resource is a live, read-only view an MCP client can attach as context.
// Reading it calls one read tool through the tool layer, so its text is
// exactly that tool's result (envelope with sources and fetched_at, secrets
// redacted, read live every time, never cached). It does not know the MCP
// SDK; package mcpserver registers it, and only when Tool is served.
type Resource struct {
	// URI is the resource's URI or, for a template, its RFC 6570 template.
	URI         string
	Name        string
	Title       string
	Description string
	// Tool is the read tool that answers a read.
	Tool string
	// Args turns the URI's parameters (none for a static resource) into
	// the tool's arguments. It rejects an invalid parameter with a message
	// naming it, so nothing is asked of Proxmox.
	Args func(params map[string]string) (json.RawMessage, error)
}

const live = " Read live from the Proxmox API at every read, never cached; the JSON carries sources and fetched_at."

// Resources returns the static resources.
func Resources() []Resource {
	return []Resource{{
		URI:         "pvemcp://cluster/overview",
		Name:        "cluster_overview",
		Title:       "Cluster overview",
		Description: "The cluster_overview result: quorum, per-node CPU, RAM and storage use, guest counts and threshold alerts." + live,
		Tool:        "cluster_overview",
		// Any "arguments" a client sends along are ignored: the URI is
		// the whole address of a static resource.
		Args: func(map[string]string) (json.RawMessage, error) { return json.RawMessage(`{}`), nil },
	}}
}

// Templates returns the resource templates. Their URIs must not overlap:
// mcp-go tries templates in no fixed order.
func Templates() []Resource {
	return []Resource{
		{
			URI:         "pvemcp://guests/{vmid}",
			Name:        "guest",
			Title:       "One VM or container",
			Description: "The get_guest result for a VMID (e.g. pvemcp://guests/100): status, usage, config with secrets redacted, HA state, snapshots, IPs." + live,
			Tool:        "get_guest",
			Args: func(p map[string]string) (json.RawMessage, error) {
				id, err := vmidParam(p)
				if err != nil {
					return nil, err
				}
				return encode(map[string]any{"vmid": id})
			},
		},
		{
			URI:         "pvemcp://nodes/{node}/storage",
			Name:        "node_storage",
			Title:       "Storage of one node",
			Description: "The storage_status result for one node (e.g. pvemcp://nodes/pve-node01/storage): usage and fill forecast per storage." + live,
			Tool:        "storage_status",
			Args: func(p map[string]string) (json.RawMessage, error) {
				node, err := nodeParam(p)
				if err != nil {
					return nil, err
				}
				return encode(map[string]any{"node": node})
			},
		},
		{
			// {+upid}: a UPID holds ':' and '@', which a client may send
			// as is (as tools return UPIDs) or percent-encoded.
			URI:         "pvemcp://tasks/{node}/{+upid}",
			Name:        "task",
			Title:       "One task with its log",
			Description: "The get_task result for a task of a node (e.g. pvemcp://tasks/pve-node01/UPID:pve-node01:...:): status, log tail, error lines." + live,
			Tool:        "get_task",
			Args: func(p map[string]string) (json.RawMessage, error) {
				node, err := nodeParam(p)
				if err != nil {
					return nil, err
				}
				upid := strings.TrimSpace(p["upid"])
				if proxmox.UPIDNode(upid) == "" {
					return nil, paramErr("upid", "must be a Proxmox task id (UPID:node:pid:pstart:starttime:type:id:user:)", upid)
				}
				if n := proxmox.UPIDNode(upid); n != node {
					return nil, paramErr("upid", "names node "+n+", not the URI's node "+node, upid)
				}
				return encode(map[string]any{"upid": upid})
			},
		},
	}
}

func vmidParam(p map[string]string) (int, error) {
	v := strings.TrimSpace(p["vmid"])
	id, err := strconv.Atoi(v)
	if err != nil || !proxmox.ValidVMID(id) {
		return 0, paramErr("vmid", fmt.Sprintf("must be a VMID between %d and %d", proxmox.MinVMID, proxmox.MaxVMID), v)
	}
	return id, nil
}

func nodeParam(p map[string]string) (string, error) {
	n := strings.TrimSpace(p["node"])
	if !proxmox.ValidNode(n) {
		return "", paramErr("node", "must be a node name (letters, digits, '-')", n)
	}
	return n, nil
}

// paramErr names the URI parameter and quotes a clipped value: the URI is
// client input and may be long or hostile.
func paramErr(name, msg, got string) error {
	if len(got) > 80 {
		got = got[:80] + "..."
	}
	return fmt.Errorf("URI parameter %q: %s, got %q", name, msg, got)
}

func encode(v map[string]any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	return b, err
}
