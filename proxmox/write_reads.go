package proxmox

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
)

// Reads that planning a write needs. They are GET-only (the gate test proves
// no function in this package outside the Approval-taking Send can issue
// anything else), so they take no Approval.

// NextVMID reads GET /cluster/nextid: the VMID Proxmox would assign next.
func (c *Client) NextVMID(ctx context.Context) (int, error) {
	var id Int
	if err := c.get(ctx, "/cluster/nextid", nil, &id); err != nil {
		return 0, err
	}
	return int(id), nil
}

// VMIDFree asks GET /cluster/nextid?vmid=N whether N is unused. Proxmox
// answers 400 "VM N already exists" for a taken id, reported as (false, nil).
func (c *Client) VMIDFree(ctx context.Context, vmid int) (bool, error) {
	if !ValidVMID(vmid) {
		return false, invalidf("invalid VMID %d (must be %d..%d)", vmid, MinVMID, MaxVMID)
	}
	var id Int
	err := c.get(ctx, "/cluster/nextid", url.Values{"vmid": {strconv.Itoa(vmid)}}, &id)
	if err != nil {
		if e, ok := err.(*Error); ok && e.Kind == KindBadRequest && strings.Contains(e.Params["vmid"], "already exists") {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// MigrationCheck is Proxmox's own migration precondition
// (GET .../qemu|lxc/{vmid}/migrate), normalised across the qemu (snake_case)
// and PVE 9 lxc (hyphenated) answers.
type MigrationCheck struct {
	Running        bool
	AllowedNodes   []string
	NotAllowed     map[string]string // node → reason
	LocalDisks     []LocalDisk
	LocalResources []string
	DependentHA    []string
	BlockingHA     map[string][]string
}

// LocalDisk is a guest volume on storage not shared with the target.
type LocalDisk struct {
	VolID     string `json:"volid"`
	DriveName string `json:"drivename"`
	Size      Int    `json:"size"`
	CDROM     Bool   `json:"cdrom"`
	IsUnused  Bool   `json:"is_unused"`
}

// MigrationPrecondition reads Proxmox's migration precondition for a guest,
// optionally for one target node.
func (c *Client) MigrationPrecondition(ctx context.Context, node string, t GuestType, vmid int, target string) (*MigrationCheck, error) {
	if err := checkGuest(node, t, vmid); err != nil {
		return nil, err
	}
	var q url.Values
	if target != "" {
		if err := checkNode(target); err != nil {
			return nil, err
		}
		q = url.Values{"target": {target}}
	}
	var raw map[string]json.RawMessage
	if err := c.get(ctx, guestPath(node, t, vmid, "migrate"), q, &raw); err != nil {
		return nil, err
	}
	pick := func(keys ...string) json.RawMessage {
		for _, k := range keys {
			if v, ok := raw[k]; ok {
				return v
			}
		}
		return nil
	}
	var m MigrationCheck
	var running Bool
	_ = json.Unmarshal(pick("running"), &running)
	m.Running = bool(running)
	_ = json.Unmarshal(pick("allowed_nodes", "allowed-nodes"), &m.AllowedNodes)
	var notAllowed map[string]map[string]json.RawMessage
	_ = json.Unmarshal(pick("not_allowed_nodes", "not-allowed-nodes"), &notAllowed)
	m.NotAllowed = map[string]string{}
	m.BlockingHA = map[string][]string{}
	for n, why := range notAllowed {
		var reasons []string
		var storages []string
		if json.Unmarshal(why["unavailable_storages"], &storages) == nil && len(storages) > 0 {
			reasons = append(reasons, "storage not available there: "+strings.Join(storages, ", "))
		}
		var blocking []struct {
			SID   string `json:"sid"`
			Cause string `json:"cause"`
		}
		if json.Unmarshal(why["blocking-ha-resources"], &blocking) == nil {
			for _, b := range blocking {
				m.BlockingHA[n] = append(m.BlockingHA[n], b.SID)
				reasons = append(reasons, "HA "+b.Cause+" with "+b.SID)
			}
		}
		if len(reasons) == 0 {
			reasons = append(reasons, "not allowed by Proxmox")
		}
		m.NotAllowed[n] = strings.Join(reasons, "; ")
	}
	_ = json.Unmarshal(pick("local_disks"), &m.LocalDisks)
	var locals []json.RawMessage
	_ = json.Unmarshal(pick("local_resources"), &locals)
	for _, l := range locals {
		var s string
		if json.Unmarshal(l, &s) == nil {
			m.LocalResources = append(m.LocalResources, s)
		} else {
			m.LocalResources = append(m.LocalResources, string(l))
		}
	}
	var dep []json.RawMessage
	_ = json.Unmarshal(pick("dependent-ha-resources"), &dep)
	for _, d := range dep {
		var s string
		if json.Unmarshal(d, &s) == nil {
			m.DependentHA = append(m.DependentHA, s)
		}
	}
	return &m, nil
}

// Volume is one entry of a storage's content list.
type Volume struct {
	VolID   string `json:"volid"`
	Content string `json:"content"` // iso, vztmpl, images, rootdir, backup, import
	Format  string `json:"format"`
	Size    Int    `json:"size"`
	VMID    Int    `json:"vmid"`
	CTime   Int    `json:"ctime"` // creation time (epoch); for a backup archive, when the backup was written
}

// StorageVolumes reads GET /nodes/{node}/storage/{storage}/content,
// optionally filtered by content type (e.g. "iso", "vztmpl").
func (c *Client) StorageVolumes(ctx context.Context, node, storage, content string) ([]Volume, error) {
	if err := checkNode(node); err != nil {
		return nil, err
	}
	if storage == "" || strings.ContainsAny(storage, "/?#") {
		return nil, invalidf("invalid storage name %q", storage)
	}
	var q url.Values
	if content != "" {
		q = url.Values{"content": {content}}
	}
	var out []Volume
	if err := c.get(ctx, apiPath("nodes", node, "storage", storage, "content"), q, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// TaskState is GET /nodes/{node}/tasks/{upid}/status, as far as waiting for a
// write's task needs it.
type TaskState struct {
	UPID       string `json:"upid"`
	Node       string `json:"node"`
	Type       string `json:"type"`
	ID         string `json:"id"`
	Status     string `json:"status"`     // running | stopped
	ExitStatus string `json:"exitstatus"` // OK, WARNINGS: n, or the error; only when stopped
}

// Done reports a finished task.
func (t TaskState) Done() bool { return t.Status == "stopped" }

// OK reports a task that finished without error (warnings included).
func (t TaskState) OK() bool {
	return t.Done() && (t.ExitStatus == "OK" || strings.HasPrefix(t.ExitStatus, "WARNINGS"))
}

// UPIDNode returns the node a UPID names ("UPID:node:..."), or "".
func UPIDNode(upid string) string {
	parts := strings.Split(upid, ":")
	if len(parts) < 9 || parts[0] != "UPID" || !ValidNode(parts[1]) {
		return ""
	}
	return parts[1]
}

func taskPath(upid string, rest string) (string, error) {
	node := UPIDNode(upid)
	if node == "" {
		return "", invalidf("invalid task id %q", upid)
	}
	return apiPath("nodes", node, "tasks", upid, rest), nil
}

// PollTask reads a task's status once.
func (c *Client) PollTask(ctx context.Context, upid string) (TaskState, error) {
	p, err := taskPath(upid, "status")
	if err != nil {
		return TaskState{}, err
	}
	var st TaskState
	if err := c.get(ctx, p, nil, &st); err != nil {
		return TaskState{}, err
	}
	return st, nil
}

// TaskErrorLines reads a finished task's log and returns the lines that
// explain a failure (ERROR:, TASK ERROR:, "failed", "unable to", "error").
func (c *Client) TaskErrorLines(ctx context.Context, upid string) ([]string, error) {
	p, err := taskPath(upid, "log")
	if err != nil {
		return nil, err
	}
	var lines []struct {
		N Int    `json:"n"`
		T string `json:"t"`
	}
	if err := c.get(ctx, p, url.Values{"limit": {"0"}}, &lines); err != nil {
		return nil, err
	}
	var out []string
	for _, l := range lines {
		low := strings.ToLower(l.T)
		if strings.Contains(low, "error") || strings.Contains(low, "failed") || strings.Contains(low, "unable to") {
			out = append(out, l.T)
		}
	}
	return out, nil
}
