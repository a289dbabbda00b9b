package proxmox

import (
	"context"
	"strconv"
	"strings"
)

// HAResource is one entry of GET /cluster/ha/resources: the configured HA
// resource (the live state is in HAStatus).
type HAResource struct {
	SID         string `json:"sid"`
	Type        string `json:"type"`  // vm, ct
	State       string `json:"state"` // requested: started, stopped, enabled, disabled, ignored
	Group       string `json:"group"` // PVE 8 only
	MaxRestart  *Int   `json:"max_restart"`
	MaxRelocate *Int   `json:"max_relocate"`
	Failback    *Bool  `json:"failback"` // PVE 9
	Comment     string `json:"comment"`
}

// HAResources reads the configured HA resources (needs Sys.Audit on /).
func (c *Client) HAResources(ctx context.Context) ([]HAResource, error) {
	var out []HAResource
	if err := c.get(ctx, "/cluster/ha/resources", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// HAGroup is one PVE 8 HA group (GET /cluster/ha/groups).
type HAGroup struct {
	Group      string `json:"group"`
	Nodes      string `json:"nodes"` // "pve1:2,pve2:1,pve3"
	Restricted Bool   `json:"restricted"`
	NoFailback Bool   `json:"nofailback"`
	Comment    string `json:"comment"`
}

// HAGroups reads PVE 8 HA groups. On PVE 9, once groups were migrated to
// rules, Proxmox answers 500; IsHAGroupsMigrated recognises that error.
func (c *Client) HAGroups(ctx context.Context) ([]HAGroup, error) {
	var out []HAGroup
	if err := c.get(ctx, "/cluster/ha/groups", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// IsHAGroupsMigrated reports the PVE 9 answer of the groups endpoint after
// groups became rules.
func IsHAGroupsMigrated(err error) bool {
	e, ok := err.(*Error)
	return ok && strings.Contains(e.Reason+e.msg, "migrated to rules")
}

// HARule is one PVE 9 HA rule (GET /cluster/ha/rules).
type HARule struct {
	Rule      string `json:"rule"`
	Type      string `json:"type"`      // node-affinity, resource-affinity
	Resources string `json:"resources"` // "vm:100,vm:101"
	Nodes     string `json:"nodes"`     // node-affinity: "pve1:2,pve2:1"
	Strict    Bool   `json:"strict"`
	Affinity  string `json:"affinity"` // resource-affinity: positive, negative
	Disable   Bool   `json:"disable"`
	Comment   string `json:"comment"`
	Order     Int    `json:"order"`
}

// HARules reads the HA rules (PVE 9; PVE 8 answers 501 or 404).
func (c *Client) HARules(ctx context.Context) ([]HARule, error) {
	var out []HARule
	if err := c.get(ctx, "/cluster/ha/rules", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// ParseHANodes splits "pve1:2,pve2:1,pve3" into node → priority (0 when
// none is given).
func ParseHANodes(s string) map[string]int {
	out := map[string]int{}
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' }) {
		name, prio, _ := strings.Cut(part, ":")
		p, _ := strconv.Atoi(prio)
		if name != "" {
			out[name] = p
		}
	}
	return out
}

// SplitList splits Proxmox's comma lists ("vm:100,vm:101").
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
