package proxmox

import (
	"context"
	"net/url"
	"sort"
	"strings"
)

// Permissions maps ACL paths to the privileges the token holds there. The
// value is Proxmox's propagate flag: true when the grant also holds below
// the path, false when it holds on that path only. Presence means granted.
type Permissions map[string]map[string]bool

// Has reports whether priv is granted on path. A listed path was evaluated
// by Proxmox and decides alone. A path not listed (e.g. /vms/103 when the
// ACLs are on /vms) is inferred from its closest listed ancestor, counting
// only that ancestor's propagating grants; an ancestor whose grants all have
// propagate 0 had only ACLs ending at itself, so the one above it decides.
// The inference cannot see every ACL combination (e.g. NoAccess below a
// grant): for a decision, read the exact path (Client.Permissions(ctx,
// "/vms/103")) and ask Has on that.
func (p Permissions) Has(path, priv string) bool {
	if privs, ok := p[path]; ok {
		_, granted := privs[priv]
		return granted
	}
	for cur := parentACLPath(path); ; cur = parentACLPath(cur) {
		if privs, ok := p[cur]; ok && anyPropagates(privs) {
			return privs[priv]
		}
		if cur == "/" || cur == "" {
			return false
		}
	}
}

func parentACLPath(path string) string {
	i := strings.LastIndex(path, "/")
	if i <= 0 {
		return "/"
	}
	return path[:i]
}

func anyPropagates(privs map[string]bool) bool {
	for _, prop := range privs {
		if prop {
			return true
		}
	}
	return false
}

// Paths returns the listed ACL paths, sorted.
func (p Permissions) Paths() []string {
	out := make([]string, 0, len(p))
	for k := range p {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Permissions reads GET /access/permissions for the configured token,
// optionally for one ACL path (e.g. "/vms/100"). Any authenticated token may
// call it.
func (c *Client) Permissions(ctx context.Context, path string) (Permissions, error) {
	var q url.Values
	if path != "" {
		if !strings.HasPrefix(path, "/") || strings.Contains(path, "..") {
			return nil, invalidf("invalid ACL path %q", path)
		}
		q = url.Values{"path": {path}}
	}
	var raw map[string]map[string]Bool
	if err := c.get(ctx, "/access/permissions", q, &raw); err != nil {
		return nil, err
	}
	out := make(Permissions, len(raw))
	for p, privs := range raw {
		m := make(map[string]bool, len(privs))
		for k, prop := range privs {
			m[k] = bool(prop)
		}
		out[p] = m
	}
	return out, nil
}
