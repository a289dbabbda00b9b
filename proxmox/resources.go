package proxmox

import (
	"context"
	"encoding/json"
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
	var out resourceList
	if err := c.get(ctx, "/cluster/resources", q, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// resourceList decodes /cluster/resources. Large clusters answer with tens
// of thousands of entries, so it first tries plain numeric types (what
// Proxmox sends here) and only falls back to the tolerant types when a value
// arrives in another form.
type resourceList []Resource

func (l *resourceList) UnmarshalJSON(b []byte) error {
	var fast []resourceFast
	if err := json.Unmarshal(b, &fast); err == nil {
		out := make([]Resource, len(fast))
		for i := range fast {
			out[i] = fast[i].resource()
		}
		*l = out
		return nil
	}
	var slow []Resource
	if err := json.Unmarshal(b, &slow); err != nil {
		return err
	}
	*l = slow
	return nil
}

type resourceFast struct {
	ID         string  `json:"id"`
	Type       string  `json:"type"`
	Node       string  `json:"node"`
	Name       string  `json:"name"`
	Status     string  `json:"status"`
	VMID       int64   `json:"vmid"`
	Template   int64   `json:"template"`
	CPU        float64 `json:"cpu"`
	MaxCPU     float64 `json:"maxcpu"`
	Mem        float64 `json:"mem"`
	MaxMem     float64 `json:"maxmem"`
	MemHost    float64 `json:"memhost"`
	Disk       float64 `json:"disk"`
	MaxDisk    float64 `json:"maxdisk"`
	NetIn      float64 `json:"netin"`
	NetOut     float64 `json:"netout"`
	DiskRead   float64 `json:"diskread"`
	DiskWrite  float64 `json:"diskwrite"`
	Uptime     float64 `json:"uptime"`
	Tags       string  `json:"tags"`
	Lock       string  `json:"lock"`
	Pool       string  `json:"pool"`
	HAState    string  `json:"hastate"`
	Storage    string  `json:"storage"`
	PluginType string  `json:"plugintype"`
	Content    string  `json:"content"`
	Shared     int64   `json:"shared"`
	Level      string  `json:"level"`
}

func (f *resourceFast) resource() Resource {
	return Resource{ID: f.ID, Type: f.Type, Node: f.Node, Name: f.Name, Status: f.Status, VMID: Int(f.VMID),
		Template: f.Template != 0, CPU: Num(f.CPU), MaxCPU: Num(f.MaxCPU), Mem: Int(f.Mem), MaxMem: Int(f.MaxMem),
		MemHost: Int(f.MemHost), Disk: Int(f.Disk), MaxDisk: Int(f.MaxDisk), NetIn: Int(f.NetIn), NetOut: Int(f.NetOut),
		DiskRead: Int(f.DiskRead), DiskWrite: Int(f.DiskWrite), Uptime: Int(f.Uptime), Tags: f.Tags, Lock: f.Lock,
		Pool: f.Pool, HAState: f.HAState, Storage: f.Storage, PluginType: f.PluginType, Content: f.Content,
		Shared: f.Shared != 0, Level: f.Level}
}
