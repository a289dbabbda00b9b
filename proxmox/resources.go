package proxmox

import (
	"context"
	"net/url"
)

// Resource is one entry of GET /cluster/resources (guest, node, storage, pool,
// sdn or network). Sizes are bytes, CPU is a fraction of MaxCPU.
type Resource struct {
	ID         string `json:"id"`
	Type       string `json:"type"` // qemu, lxc, node, storage, pool, sdn, network
	Node       string `json:"node"`
	Name       string `json:"name"`
	Status     string `json:"status"`
	VMID       Int    `json:"vmid"`
	Template   Bool   `json:"template"`
	CPU        Num    `json:"cpu"`
	MaxCPU     Num    `json:"maxcpu"`
	Mem        Int    `json:"mem"`
	MaxMem     Int    `json:"maxmem"`
	MemHost    Int    `json:"memhost"`
	Disk       Int    `json:"disk"`
	MaxDisk    Int    `json:"maxdisk"`
	NetIn      Int    `json:"netin"`
	NetOut     Int    `json:"netout"`
	DiskRead   Int    `json:"diskread"`
	DiskWrite  Int    `json:"diskwrite"`
	Uptime     Int    `json:"uptime"`
	Tags       string `json:"tags"`
	Lock       string `json:"lock"`
	Pool       string `json:"pool"`
	HAState    string `json:"hastate"`
	Storage    string `json:"storage"`
	PluginType string `json:"plugintype"`
	Content    string `json:"content"`
	Shared     Bool   `json:"shared"`
	Level      string `json:"level"`
}

// IsGuest reports a VM or container entry.
func (r Resource) IsGuest() bool { return r.Type == "qemu" || r.Type == "lxc" }

// Resource type filters accepted by /cluster/resources.
const (
	ResourceVM      = "vm"
	ResourceNode    = "node"
	ResourceStorage = "storage"
	ResourceSDN     = "sdn"
)

// Resources reads GET /cluster/resources, filtered by type ("vm", "node",
// "storage", "sdn") or everything when typ is "".
func (c *Client) Resources(ctx context.Context, typ string) ([]Resource, error) {
	var q url.Values
	if typ != "" {
		switch typ {
		case ResourceVM, ResourceNode, ResourceStorage, ResourceSDN:
		default:
			return nil, invalidf("invalid resource type %q (want vm, node, storage or sdn)", typ)
		}
		q = url.Values{"type": {typ}}
	}
	var out []Resource
	if err := c.get(ctx, "/cluster/resources", q, &out); err != nil {
		return nil, err
	}
	return out, nil
}
