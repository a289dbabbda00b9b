package proxmox

import (
	"context"
	"net/url"
	"strconv"
)

// Reads through the QEMU guest agent (GET /nodes/{node}/qemu/{vmid}/agent/...). Each fails with Proxmox's
// own 500 when the agent is not configured ("No QEMU guest agent configured"), the VM does not run ("VM 101
// is not running"), or the agent does not answer Proxmox's 3-second ping ("QEMU guest agent is not
// running"); callers report that as unavailable data, not as a failed call. Starting a command (agent/exec) is a write and
// lives with the other writes.

// AgentOSInfo is guest-get-osinfo.
type AgentOSInfo struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	PrettyName    string `json:"pretty-name"`
	Version       string `json:"version"`
	VersionID     string `json:"version-id"`
	KernelRelease string `json:"kernel-release"`
	Machine       string `json:"machine"`
}

// AgentFilesystem is one entry of guest-get-fsinfo.
type AgentFilesystem struct {
	Name       string `json:"name"`
	Mountpoint string `json:"mountpoint"`
	Type       string `json:"type"`
	UsedBytes  *Int   `json:"used-bytes"`
	TotalBytes *Int   `json:"total-bytes"`
	Disk       []struct {
		Dev    string `json:"dev"`
		Serial string `json:"serial"`
	} `json:"disk"`
}

// AgentExecStatus is GET agent/exec-status: exited, and once exited the exit code and output.
type AgentExecStatus struct {
	Exited       Bool   `json:"exited"`
	ExitCode     *Int   `json:"exitcode"`
	Signal       *Int   `json:"signal"`
	OutData      string `json:"out-data"`
	ErrData      string `json:"err-data"`
	OutTruncated Bool   `json:"out-truncated"`
	ErrTruncated Bool   `json:"err-truncated"`
}

func (c *Client) agentGet(ctx context.Context, node string, vmid int, cmd string, query url.Values, out any) error {
	if err := checkGuest(node, TypeQemu, vmid); err != nil {
		return err
	}
	return c.get(ctx, guestPath(node, TypeQemu, vmid, "agent", cmd), query, out)
}

// AgentOSInfo reads the guest's OS as its agent reports it.
func (c *Client) AgentOSInfo(ctx context.Context, node string, vmid int) (*AgentOSInfo, error) {
	var w struct {
		Result AgentOSInfo `json:"result"`
	}
	if err := c.agentGet(ctx, node, vmid, "get-osinfo", nil, &w); err != nil {
		return nil, err
	}
	return &w.Result, nil
}

// AgentHostname reads the guest's host name.
func (c *Client) AgentHostname(ctx context.Context, node string, vmid int) (string, error) {
	var w struct {
		Result struct {
			HostName string `json:"host-name"`
		} `json:"result"`
	}
	err := c.agentGet(ctx, node, vmid, "get-host-name", nil, &w)
	return w.Result.HostName, err
}

// AgentFilesystems reads the guest's mounted filesystems with their use.
func (c *Client) AgentFilesystems(ctx context.Context, node string, vmid int) ([]AgentFilesystem, error) {
	var w struct {
		Result []AgentFilesystem `json:"result"`
	}
	if err := c.agentGet(ctx, node, vmid, "get-fsinfo", nil, &w); err != nil {
		return nil, err
	}
	return w.Result, nil
}

// AgentVersion reads the agent's version (guest-info).
func (c *Client) AgentVersion(ctx context.Context, node string, vmid int) (string, error) {
	var w struct {
		Result struct {
			Version string `json:"version"`
		} `json:"result"`
	}
	err := c.agentGet(ctx, node, vmid, "info", nil, &w)
	return w.Result.Version, err
}

// AgentExecStatus reads the state of a command started with agent/exec. Proxmox answers it unwrapped and
// with the output already decoded; the agent forgets the pid once it reported the exit.
func (c *Client) AgentExecStatus(ctx context.Context, node string, vmid, pid int) (*AgentExecStatus, error) {
	var st AgentExecStatus
	if err := c.agentGet(ctx, node, vmid, "exec-status", url.Values{"pid": {strconv.Itoa(pid)}}, &st); err != nil {
		return nil, err
	}
	return &st, nil
}
