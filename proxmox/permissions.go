package proxmox

import (
	"context"
	"net/url"
	"sort"
	"strings"
)

// Permissions maps ACL paths to the privileges the token holds there.
type Permissions map[string]map[string]bool

// Has reports whether priv is granted on path, looking at the path and its
// parents (Proxmox lists propagated privileges on every evaluated path, but a
// path not listed inherits from the closest listed ancestor).
func (p Permissions) Has(path, priv string) bool {
	for cur := path; ; {
		if privs, ok := p[cur]; ok {
			return privs[priv]
		}
		if cur == "/" || cur == "" {
			return false
		}
		i := strings.LastIndex(cur, "/")
		if i <= 0 {
			cur = "/"
		} else {
			cur = cur[:i]
		}
	}
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
		for k := range privs {
			// The value is the propagate flag; presence means granted.
			m[k] = true
		}
		out[p] = m
	}
	return out, nil
}
