package tools

import (
	"context"
	"fmt"
	"sort"

	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/toolkit"
)

// onlineNodes returns the nodes to read, sorted: every cluster node (or only
// `only`) that /cluster/resources shows online. Nodes that are not online
// are recorded as per-node errors (partial result): what is missing is
// named, never invented.
func onlineNodes(ctx context.Context, c *proxmox.Client, only, what string) ([]string, error) {
	rs, err := c.Resources(ctx, proxmox.ResourceNode)
	if err != nil {
		return nil, err
	}
	var out []string
	found := false
	for _, r := range rs {
		if r.Type != "node" || only != "" && r.Node != only {
			continue
		}
		found = true
		if r.Status != "online" {
			toolkit.AddErr(ctx, r.Node, toolkit.NodeUnreachable("%s is %s per /cluster/resources: its %s were not read (partial result)", r.Node, r.Status, what))
			continue
		}
		out = append(out, r.Node)
	}
	if only != "" && !found {
		return nil, fmt.Errorf("node %s is not a member of this cluster (per /cluster/resources)", only)
	}
	sort.Strings(out)
	return out, nil
}
