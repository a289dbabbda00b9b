package proxmox

import (
	"context"
	"regexp"
)

// ZFSPool is one entry of GET /nodes/{node}/disks/zfs (zpool list). Sizes
// are bytes, Frag percent, Dedup a ratio.
type ZFSPool struct {
	Name   string `json:"name"`
	Health string `json:"health"`
	Size   Int    `json:"size"`
	Alloc  Int    `json:"alloc"`
	Free   Int    `json:"free"`
	Frag   Num    `json:"frag"`
	Dedup  Num    `json:"dedup"`
}

// ZFSVdev is a node of a pool's vdev tree. Section headers (logs, cache,
// spares, special, dedup) carry no state and no counters.
type ZFSVdev struct {
	Name     string    `json:"name"`
	State    string    `json:"state"`
	Read     Int       `json:"read"`
	Write    Int       `json:"write"`
	Cksum    Int       `json:"cksum"`
	Msg      string    `json:"msg"`
	Leaf     Bool      `json:"leaf"`
	Children []ZFSVdev `json:"children"`
}

// ZFSPoolStatus is GET /nodes/{node}/disks/zfs/{name}: the key lines of
// `zpool status` and the vdev tree.
type ZFSPoolStatus struct {
	Name     string    `json:"name"`
	State    string    `json:"state"`
	Status   string    `json:"status"`
	Action   string    `json:"action"`
	See      string    `json:"see"`
	Scan     string    `json:"scan"`
	Errors   string    `json:"errors"`
	Children []ZFSVdev `json:"children"`
}

var poolNameRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9\-_.:]*$`)

// ZFSPools lists a node's pools (needs Sys.Audit on /).
func (c *Client) ZFSPools(ctx context.Context, node string) ([]ZFSPool, error) {
	return nodeRead[[]ZFSPool](ctx, c, node, "disks", "zfs")
}

// ZFSPoolDetail reads one pool's status and vdev tree.
func (c *Client) ZFSPoolDetail(ctx context.Context, node, pool string) (*ZFSPoolStatus, error) {
	if len(pool) > 255 || !poolNameRE.MatchString(pool) {
		return nil, invalidf("invalid ZFS pool name %q", pool)
	}
	return nodeReadRef[ZFSPoolStatus](ctx, c, node, "disks", "zfs", pool)
}
