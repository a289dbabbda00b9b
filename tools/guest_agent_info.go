package tools

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/toolkit"
)

func init() {
	toolkit.Register(toolkit.New(toolkit.Meta{
		Name:  "guest_agent_info",
		Title: "Inside a guest (guest agent)",
		Description: "What a VM's QEMU guest agent reports: IPs per interface, OS, hostname, filesystems with used/total " +
			"(a VM's real disk use), agent version; containers: their IPs. An agent that does not answer is listed under " +
			"unavailable with Proxmox's reason.",
		Toolset: toolkit.ToolsetAgent,
		Hints:   &toolkit.ReadHints,
		Needs:   []toolkit.Need{{Priv: "VM.Audit", Path: "/vms"}, {Priv: "VM.GuestAgent.Audit", Path: "/vms"}},
	}, guestAgentInfo))
}

// GuestAgentArgs select a guest.
type GuestAgentArgs struct {
	VMID int    `json:"vmid" pve:"vmid" required:"true"`
	Node string `json:"node,omitempty" pve:"node"`
}

// GuestAgentResult is what the guest agent reports.
type GuestAgentResult struct {
	VMID   int        `json:"vmid"`
	Name   string     `json:"name"`
	Node   string     `json:"node"`
	Type   string     `json:"type"`
	Status string     `json:"status"`
	Agent  *AgentData `json:"agent,omitempty"`
}

// AgentData is the guest's own view, as its agent reports it. Text fields are data from inside the guest.
type AgentData struct {
	Version      string                 `json:"version,omitempty"`
	Hostname     string                 `json:"hostname,omitempty"`
	OS           *AgentOS               `json:"os,omitempty"`
	Interfaces   []proxmox.NetInterface `json:"interfaces,omitempty"`
	Filesystems  []AgentFS              `json:"filesystems,omitempty"`
	DiskUsedGiB  *float64               `json:"disk_used_gib,omitempty"`
	DiskTotalGiB *float64               `json:"disk_total_gib,omitempty"`
}

// AgentOS is guest-get-osinfo.
type AgentOS struct {
	ID         string `json:"id,omitempty"`
	PrettyName string `json:"pretty_name,omitempty"`
	Version    string `json:"version,omitempty"`
	Kernel     string `json:"kernel,omitempty"`
	Machine    string `json:"machine,omitempty"`
}

// AgentFS is one mounted filesystem inside the guest.
type AgentFS struct {
	Mountpoint string   `json:"mountpoint"`
	Type       string   `json:"type"`
	Device     string   `json:"device,omitempty"`
	UsedGiB    *float64 `json:"used_gib,omitempty"`
	TotalGiB   *float64 `json:"total_gib,omitempty"`
	UsedPct    *float64 `json:"used_pct,omitempty"`
}

// pseudoFS are filesystems that hold no guest data on its disks (snap images, RAM, overlays, CD-ROMs).
var pseudoFS = map[string]bool{"squashfs": true, "tmpfs": true, "overlay": true, "iso9660": true, "udf": true, "devtmpfs": true}

// agentReason is why the agent gave nothing: Proxmox's own message ("QEMU guest agent is not running",
// "No QEMU guest agent configured", "VM 101 is not running").
func agentReason(err error) string {
	var e *proxmox.Error
	if errors.As(err, &e) {
		if e.Kind == proxmox.KindPermission {
			return e.Message()
		}
		if e.Reason != "" {
			return e.Reason
		}
		return e.Message()
	}
	return err.Error()
}

// agentUnavailable reports a failed agent read of what under unavailable; failures other than the agent's
// own (a node down, a missing privilege) also go to errors.
func agentUnavailable(ctx context.Context, node, what string, err error) {
	toolkit.AddUnavailable(ctx, what, "the QEMU guest agent gave no answer: "+agentReason(err))
	if k := proxmox.KindOf(err); k != proxmox.KindServer && k != proxmox.KindNotFound {
		toolkit.AddErr(ctx, node, err)
	}
}

// readAgent asks a running VM's agent everything it tells. When the agent does not answer its first
// question (guest-info), nothing else is asked and the whole agent is unavailable with Proxmox's reason;
// otherwise each part that fails is unavailable on its own.
func readAgent(ctx context.Context, c *proxmox.Client, node string, vmid int) *AgentData {
	version, err := c.AgentVersion(ctx, node, vmid)
	if err != nil {
		agentUnavailable(ctx, node, "guest agent", err)
		return nil
	}
	out := &AgentData{Version: version}
	var (
		wg                           sync.WaitGroup
		osi                          *proxmox.AgentOSInfo
		host                         string
		fss                          []proxmox.AgentFilesystem
		ifs                          []proxmox.NetInterface
		osErr, hostErr, fsErr, ifErr error
	)
	wg.Add(4)
	go func() { defer wg.Done(); osi, osErr = c.AgentOSInfo(ctx, node, vmid) }()
	go func() { defer wg.Done(); host, hostErr = c.AgentHostname(ctx, node, vmid) }()
	go func() { defer wg.Done(); fss, fsErr = c.AgentFilesystems(ctx, node, vmid) }()
	go func() { defer wg.Done(); ifs, ifErr = c.GuestInterfaces(ctx, node, proxmox.TypeQemu, vmid) }()
	wg.Wait()
	if osErr != nil {
		agentUnavailable(ctx, node, "os", osErr)
	} else {
		out.OS = &AgentOS{ID: osi.ID, PrettyName: osi.PrettyName, Version: osi.Version, Kernel: osi.KernelRelease, Machine: osi.Machine}
	}
	if hostErr != nil {
		agentUnavailable(ctx, node, "hostname", hostErr)
	} else {
		out.Hostname = host
	}
	if ifErr != nil {
		agentUnavailable(ctx, node, "interfaces", ifErr)
	} else {
		out.Interfaces = withoutLoopback(ifs)
	}
	if fsErr != nil {
		agentUnavailable(ctx, node, "filesystems", fsErr)
		return out
	}
	var used, total int64
	counted, seen := 0, map[string]bool{}
	for _, f := range fss {
		fs := AgentFS{Mountpoint: f.Mountpoint, Type: f.Type}
		if len(f.Disk) > 0 {
			fs.Device = f.Disk[0].Dev
		}
		if f.UsedBytes != nil && f.TotalBytes != nil {
			u, t := toolkit.GiB2(float64(*f.UsedBytes)), toolkit.GiB2(float64(*f.TotalBytes))
			fs.UsedGiB, fs.TotalGiB = &u, &t
			if *f.TotalBytes > 0 {
				p := toolkit.Pct(float64(*f.UsedBytes), float64(*f.TotalBytes))
				fs.UsedPct = &p
			}
			// A filesystem mounted twice (bind mounts) counts once.
			if !pseudoFS[f.Type] && !seen[f.Name] {
				seen[f.Name] = true
				used += int64(*f.UsedBytes)
				total += int64(*f.TotalBytes)
				counted++
			}
		}
		out.Filesystems = append(out.Filesystems, fs)
	}
	sort.SliceStable(out.Filesystems, func(i, j int) bool { return out.Filesystems[i].Mountpoint < out.Filesystems[j].Mountpoint })
	if counted == 0 {
		return out // no filesystem with used/total bytes: no disk use to sum
	}
	u, t := toolkit.GiB2(float64(used)), toolkit.GiB2(float64(total))
	out.DiskUsedGiB, out.DiskTotalGiB = &u, &t
	return out
}

// agentDiskSource says where a VM's disk_used_gib comes from.
func agentDiskSource(a *AgentData) string {
	n := 0
	for _, f := range a.Filesystems {
		if !pseudoFS[f.Type] && f.UsedGiB != nil {
			n++
		}
	}
	return fmt.Sprintf("guest agent (agent/get-fsinfo): used bytes summed over %d filesystem(s) inside the VM", n)
}

func guestAgentInfo(ctx context.Context, args GuestAgentArgs) (GuestAgentResult, error) {
	c, err := toolkit.Client(ctx)
	if err != nil {
		return GuestAgentResult{}, err
	}
	g, err := findGuest(ctx, c, args.VMID)
	if err != nil {
		return GuestAgentResult{}, err
	}
	if args.Node != "" && g.Node != args.Node {
		return GuestAgentResult{}, fmt.Errorf("guest %d is on node %s, not %s", args.VMID, g.Node, args.Node)
	}
	out := GuestAgentResult{VMID: args.VMID, Name: g.Name, Node: g.Node, Type: g.Type, Status: g.Status}
	if g.Status != "running" {
		toolkit.AddUnavailable(ctx, "guest agent", fmt.Sprintf("%s %d is %s: the guest agent only answers while it runs", guestKind(g.Type), args.VMID, g.Status))
		return out, nil
	}
	if g.Type == string(proxmox.TypeLXC) {
		// Containers have no guest agent: Proxmox reads their interfaces from the host.
		ifs, err := c.GuestInterfaces(ctx, g.Node, proxmox.TypeLXC, args.VMID)
		if err != nil {
			toolkit.AddErr(ctx, g.Node, err)
			toolkit.AddUnavailable(ctx, "interfaces", err.Error())
		} else {
			out.Agent = &AgentData{Interfaces: withoutLoopback(ifs)}
		}
		toolkit.AddUnavailable(ctx, "os, filesystems", "containers have no guest agent; their root filesystem use is in get_guest (disk_used_gib)")
		return out, nil
	}
	out.Agent = readAgent(ctx, c, g.Node, args.VMID)
	return out, nil
}
