package proxmox

import (
	"context"
	"regexp"
	"strconv"
)

// FWOptions are the firewall options of a level (cluster, host or guest);
// unset values are absent (zero), so Set tells "enable: 0" from unset.
type FWOptions struct {
	Enable    *Int   `json:"enable"`
	PolicyIn  string `json:"policy_in"`
	PolicyOut string `json:"policy_out"`
}

// FWRule is one rule of a rule list, in evaluation order (Pos).
type FWRule struct {
	Pos     Int    `json:"pos"`
	Type    string `json:"type"` // in, out, forward, group
	Action  string `json:"action"`
	Macro   string `json:"macro"`
	Proto   string `json:"proto"`
	Source  string `json:"source"`
	Dest    string `json:"dest"`
	DPort   string `json:"dport"`
	SPort   string `json:"sport"`
	Iface   string `json:"iface"`
	Log     string `json:"log"`
	Comment string `json:"comment"`
	Enable  *Int   `json:"enable"`
}

// Enabled reports whether the rule is active (absent enable means active).
func (r FWRule) Enabled() bool { return r.Enable == nil || *r.Enable != 0 }

// FWNamed is an IP set, alias or security group name with its comment and,
// for aliases, the CIDR.
type FWNamed struct {
	Name    string `json:"name"`
	Group   string `json:"group"`
	CIDR    string `json:"cidr"`
	Comment string `json:"comment"`
}

// FWCIDR is an entry of an IP set.
type FWCIDR struct {
	CIDR    string `json:"cidr"`
	NoMatch Bool   `json:"nomatch"`
}

// FWScope is where a firewall configuration lives: the cluster, a host, or
// a guest.
type FWScope struct {
	Node string
	Type GuestType
	VMID int
}

func (s FWScope) base() (string, error) {
	switch {
	case s.VMID > 0:
		if err := checkGuest(s.Node, s.Type, s.VMID); err != nil {
			return "", err
		}
		return guestPath(s.Node, s.Type, s.VMID, "firewall"), nil
	case s.Node != "":
		if err := checkNode(s.Node); err != nil {
			return "", err
		}
		return apiPath("nodes", s.Node, "firewall"), nil
	}
	return "/cluster/firewall", nil
}

// FirewallOptions reads a level's options.
func (c *Client) FirewallOptions(ctx context.Context, s FWScope) (*FWOptions, error) {
	b, err := s.base()
	if err != nil {
		return nil, err
	}
	var out FWOptions
	if err := c.get(ctx, b+"/options", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// FirewallRules reads a level's rules.
func (c *Client) FirewallRules(ctx context.Context, s FWScope) ([]FWRule, error) {
	b, err := s.base()
	if err != nil {
		return nil, err
	}
	var out []FWRule
	err = c.get(ctx, b+"/rules", nil, &out)
	return out, err
}

// FirewallIPSets lists the IP sets of the cluster or a guest.
func (c *Client) FirewallIPSets(ctx context.Context, s FWScope) ([]FWNamed, error) {
	b, err := s.base()
	if err != nil {
		return nil, err
	}
	var out []FWNamed
	err = c.get(ctx, b+"/ipset", nil, &out)
	return out, err
}

// FirewallAliases lists the aliases of the cluster or a guest.
func (c *Client) FirewallAliases(ctx context.Context, s FWScope) ([]FWNamed, error) {
	b, err := s.base()
	if err != nil {
		return nil, err
	}
	var out []FWNamed
	err = c.get(ctx, b+"/aliases", nil, &out)
	return out, err
}

var fwNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9\-_]{1,63}$`)

// FirewallIPSet reads the entries of a cluster IP set.
func (c *Client) FirewallIPSet(ctx context.Context, name string) ([]FWCIDR, error) {
	if !fwNameRE.MatchString(name) {
		return nil, invalidf("invalid IP set name %q", name)
	}
	var out []FWCIDR
	err := c.get(ctx, "/cluster/firewall/ipset/"+name, nil, &out)
	return out, err
}

// FirewallGroups lists the cluster's security groups.
func (c *Client) FirewallGroups(ctx context.Context) ([]FWNamed, error) {
	var out []FWNamed
	err := c.get(ctx, "/cluster/firewall/groups", nil, &out)
	return out, err
}

// FirewallGroupRules reads a security group's rules.
func (c *Client) FirewallGroupRules(ctx context.Context, group string) ([]FWRule, error) {
	if len(group) > 18 || !fwNameRE.MatchString(group) {
		return nil, invalidf("invalid security group name %q", group)
	}
	var out []FWRule
	err := c.get(ctx, "/cluster/firewall/groups/"+group, nil, &out)
	return out, err
}

// ContentItem is one volume of GET /nodes/{node}/storage/{storage}/content.
type ContentItem struct {
	VolID     string `json:"volid"`
	Content   string `json:"content"`
	Format    string `json:"format"`
	Size      Int    `json:"size"`
	Used      Int    `json:"used"`
	VMID      Int    `json:"vmid"`
	CTime     Int    `json:"ctime"`
	Notes     string `json:"notes"`
	Subtype   string `json:"subtype"`
	Protected Bool   `json:"protected"`
}

// StorageContent lists a storage's volumes on a node, optionally of one
// content type and one guest.
func (c *Client) StorageContent(ctx context.Context, node, storage, content string, vmid int) ([]ContentItem, error) {
	if err := checkNode(node); err != nil {
		return nil, err
	}
	if !storageIDRE.MatchString(storage) {
		return nil, invalidf("invalid storage name %q", storage)
	}
	q := map[string][]string{}
	if content != "" {
		q["content"] = []string{content}
	}
	if vmid > 0 {
		q["vmid"] = []string{strconv.Itoa(vmid)}
	}
	var out []ContentItem
	err := c.get(ctx, apiPath("nodes", node, "storage", storage, "content"), q, &out)
	return out, err
}

var storageIDRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9\-_.]*[a-zA-Z0-9]$`)

// Appliance is an entry of GET /nodes/{node}/aplinfo: a container template
// pveam can download.
type Appliance struct {
	Template string `json:"template"`
	Package  string `json:"package"`
	Version  string `json:"version"`
	OS       string `json:"os"`
	Section  string `json:"section"`
	Headline string `json:"headline"`
}

// Appliances lists the templates available for download.
func (c *Client) Appliances(ctx context.Context, node string) ([]Appliance, error) {
	return nodeRead[[]Appliance](ctx, c, node, "aplinfo")
}
