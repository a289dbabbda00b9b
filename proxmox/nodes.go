package proxmox

import "context"

// NodeInfo is one entry of GET /nodes.
type NodeInfo struct {
	Node           string `json:"node"`
	Status         string `json:"status"` // online, offline, unknown
	Level          string `json:"level"`
	CPU            Num    `json:"cpu"`
	MaxCPU         Num    `json:"maxcpu"`
	Mem            Int    `json:"mem"`
	MaxMem         Int    `json:"maxmem"`
	Disk           Int    `json:"disk"`
	MaxDisk        Int    `json:"maxdisk"`
	Uptime         Int    `json:"uptime"`
	SSLFingerprint string `json:"ssl_fingerprint"`
}

// Nodes reads GET /nodes.
func (c *Client) Nodes(ctx context.Context) ([]NodeInfo, error) {
	var out []NodeInfo
	if err := c.get(ctx, "/nodes", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// NodeStatus is GET /nodes/{node}/status. Memory and rootfs are bytes.
type NodeStatus struct {
	Uptime     Int    `json:"uptime"`
	CPU        Num    `json:"cpu"`  // fraction
	Wait       Num    `json:"wait"` // iowait fraction
	LoadAvg    []Num  `json:"loadavg"`
	KVersion   string `json:"kversion"`
	PVEVersion string `json:"pveversion"`
	CPUInfo    struct {
		Model   string `json:"model"`
		CPUs    Int    `json:"cpus"`
		Cores   Int    `json:"cores"`
		Sockets Int    `json:"sockets"`
		MHz     Num    `json:"mhz"`
	} `json:"cpuinfo"`
	Memory struct {
		Total     Int `json:"total"`
		Used      Int `json:"used"`
		Free      Int `json:"free"`
		Available Int `json:"available"`
	} `json:"memory"`
	Swap struct {
		Total Int `json:"total"`
		Used  Int `json:"used"`
		Free  Int `json:"free"`
	} `json:"swap"`
	RootFS struct {
		Total Int `json:"total"`
		Used  Int `json:"used"`
		Avail Int `json:"avail"`
		Free  Int `json:"free"`
	} `json:"rootfs"`
}

// NodeStatus reads one node's status (needs Sys.Audit on /nodes/{node}).
func (c *Client) NodeStatus(ctx context.Context, node string) (*NodeStatus, error) {
	return nodeReadRef[NodeStatus](ctx, c, node, "status")
}
