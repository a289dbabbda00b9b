package proxmox

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
)

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
