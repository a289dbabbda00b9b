package proxmox

import "context"

// Guest is one VM or container as listed by GET /nodes/{node}/qemu|lxc or
// returned by .../status/current. Sizes are bytes, CPU a fraction of CPUs.
type Guest struct {
	VMID      Int       `json:"vmid"`
	Name      string    `json:"name"`
	Type      GuestType `json:"type"` // set by the client for qemu (Proxmox sends it for lxc only)
	Status    string    `json:"status"`
	QMPStatus string    `json:"qmpstatus"`
	Template  Bool      `json:"template"`
	Lock      string    `json:"lock"`
	Tags      string    `json:"tags"`
	CPUs      Num       `json:"cpus"`
	CPU       Num       `json:"cpu"`
	Mem       Int       `json:"mem"`
	MaxMem    Int       `json:"maxmem"`
	MemHost   Int       `json:"memhost"`
	Balloon   Int       `json:"balloon"`
	FreeMem   Int       `json:"freemem"`
	Disk      Int       `json:"disk"`
	MaxDisk   Int       `json:"maxdisk"`
	Swap      Int       `json:"swap"`
	MaxSwap   Int       `json:"maxswap"`
	NetIn     Int       `json:"netin"`
	NetOut    Int       `json:"netout"`
	DiskRead  Int       `json:"diskread"`
	DiskWrite Int       `json:"diskwrite"`
	Uptime    Int       `json:"uptime"`
	PID       Int       `json:"pid"`
	// Only in status/current:
	HA struct {
		Managed Bool   `json:"managed"`
		State   string `json:"state"`
	} `json:"ha"`
	Agent          Bool   `json:"agent"`
	RunningMachine string `json:"running-machine"`
	RunningQemu    string `json:"running-qemu"`
}

// Guests lists one node's VMs (t=TypeQemu) or containers (t=TypeLXC).
func (c *Client) Guests(ctx context.Context, node string, t GuestType) ([]Guest, error) {
	if err := checkNode(node); err != nil {
		return nil, err
	}
	if !t.Valid() {
		return nil, invalidf("invalid guest type %q (want qemu or lxc)", t)
	}
	var out []Guest
	if err := c.get(ctx, apiPath("nodes", node, string(t)), nil, &out); err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Type = t
	}
	return out, nil
}

// GuestStatus reads .../status/current of one guest (needs VM.Audit).
func (c *Client) GuestStatus(ctx context.Context, node string, t GuestType, vmid int) (*Guest, error) {
	if err := checkGuest(node, t, vmid); err != nil {
		return nil, err
	}
	var g Guest
	if err := c.get(ctx, guestPath(node, t, vmid, "status", "current"), nil, &g); err != nil {
		return nil, err
	}
	g.Type = t
	return &g, nil
}

// Snapshot is one entry of .../snapshot. The pseudo-entry "current" (the
// live state) is dropped by Snapshots.
type Snapshot struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Parent      string `json:"parent"`
	SnapTime    Int    `json:"snaptime"` // Unix seconds
	VMState     Bool   `json:"vmstate"`  // RAM included (qemu only)
	Running     Bool   `json:"running"`  // only on the "current" entry
}

// Snapshots lists a guest's snapshots, oldest first as Proxmox returns them.
func (c *Client) Snapshots(ctx context.Context, node string, t GuestType, vmid int) ([]Snapshot, error) {
	if err := checkGuest(node, t, vmid); err != nil {
		return nil, err
	}
	var raw []Snapshot
	if err := c.get(ctx, guestPath(node, t, vmid, "snapshot"), nil, &raw); err != nil {
		return nil, err
	}
	out := raw[:0]
	for _, s := range raw {
		if s.Name != "current" {
			out = append(out, s)
		}
	}
	return out, nil
}

// NetInterface is a guest network interface with its addresses, from the
// QEMU guest agent or the container's interface list.
type NetInterface struct {
	Name string   `json:"name"`
	MAC  string   `json:"mac,omitempty"`
	IPv4 []string `json:"ipv4,omitempty"` // CIDR form
	IPv6 []string `json:"ipv6,omitempty"`
}

type agentIface struct {
	Name   string `json:"name"`
	HWAddr string `json:"hardware-address"`
	IPs    []struct {
		Addr   string `json:"ip-address"`
		Type   string `json:"ip-address-type"`
		Prefix Int    `json:"prefix"`
	} `json:"ip-addresses"`
	// LXC form
	LXCHWAddr string `json:"hwaddr"`
	Inet      string `json:"inet"`
	Inet6     string `json:"inet6"`
}

// GuestInterfaces reads a guest's interfaces: for a VM through the QEMU guest
// agent (fails when the agent is not running), for a container from the host.
func (c *Client) GuestInterfaces(ctx context.Context, node string, t GuestType, vmid int) ([]NetInterface, error) {
	if err := checkGuest(node, t, vmid); err != nil {
		return nil, err
	}
	var raw []agentIface
	if t == TypeQemu {
		var wrapped struct {
			Result []agentIface `json:"result"`
		}
		if err := c.get(ctx, guestPath(node, t, vmid, "agent", "network-get-interfaces"), nil, &wrapped); err != nil {
			return nil, err
		}
		raw = wrapped.Result
	} else if err := c.get(ctx, guestPath(node, t, vmid, "interfaces"), nil, &raw); err != nil {
		return nil, err
	}
	out := make([]NetInterface, 0, len(raw))
	for _, r := range raw {
		ni := NetInterface{Name: r.Name, MAC: r.HWAddr}
		if ni.MAC == "" {
			ni.MAC = r.LXCHWAddr
		}
		for _, ip := range r.IPs {
			addr := ip.Addr
			if ip.Prefix > 0 {
				addr += "/" + itoa(int64(ip.Prefix))
			}
			if ip.Type == "ipv6" {
				ni.IPv6 = append(ni.IPv6, addr)
			} else {
				ni.IPv4 = append(ni.IPv4, addr)
			}
		}
		if r.Inet != "" {
			ni.IPv4 = append(ni.IPv4, r.Inet)
		}
		if r.Inet6 != "" {
			ni.IPv6 = append(ni.IPv6, r.Inet6)
		}
		out = append(out, ni)
	}
	return out, nil
}

// GuestConfig is a guest's configuration with secrets redacted at the source.
type GuestConfig struct {
	Digest string
	// Values maps config keys to their value as text (numbers rendered).
	Values map[string]string
	// Redacted lists the keys whose values were replaced.
	Redacted []string
}

// GuestConfig reads .../config (pending changes applied, as Proxmox does).
func (c *Client) GuestConfig(ctx context.Context, node string, t GuestType, vmid int) (*GuestConfig, error) {
	if err := checkGuest(node, t, vmid); err != nil {
		return nil, err
	}
	var raw map[string]any
	if err := c.get(ctx, guestPath(node, t, vmid, "config"), nil, &raw); err != nil {
		return nil, err
	}
	return redactConfig(raw), nil
}
