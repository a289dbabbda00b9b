package pvesim

import (
	"fmt"
	"regexp"
	"strings"
)

// Checks of what Proxmox would never show: names it refuses, and more
// used than there is. A scenario that breaks one is refused with
// file:line: reason instead of being served as if it were real.

var (
	// tagRe is PVE::JSONSchema's $PVE_TAG_RE.
	tagRe = regexp.MustCompile(`(?i)^[a-z0-9_][a-z0-9_\-+.]*$`)
	// snapNameRe is pve-configid (the snapname format), at most 40 characters.
	snapNameRe = regexp.MustCompile(`(?i)^[a-z][a-z0-9_-]+$`)
)

func gib(b int64) string { return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30)) }

func (sc *scenario) checkPlausible() error {
	for i, n := range sc.Nodes {
		if n.RootFS.Size > 0 && n.RootFS.Used > n.RootFS.Size {
			return sc.errAt(fmt.Sprintf("node %s: rootfs used %s is more than its size %s", n.Name, gib(int64(n.RootFS.Used)), gib(int64(n.RootFS.Size))), "nodes", i, "rootfs")
		}
		if n.SwapUsed > n.Swap {
			return sc.errAt(fmt.Sprintf("node %s: swap_used %s is more than swap %s", n.Name, gib(int64(n.SwapUsed)), gib(int64(n.Swap))), "nodes", i, "swap_used")
		}
		for j, z := range n.ZFS {
			if z.ExtraAlloc > z.Size {
				return sc.errAt(fmt.Sprintf("zpool %s on %s: extra_alloc %s is more than its size %s", z.Name, n.Name, gib(int64(z.ExtraAlloc)), gib(int64(z.Size))), "nodes", i, "zfs", j, "extra_alloc")
			}
			// Everything the storages on the pool hold must fit in it.
			used := int64(z.ExtraAlloc)
			for _, s := range sc.Storages {
				if s.Pool == "" || strings.SplitN(s.Pool, "/", 2)[0] != z.Name || !storageOnNode(s, n.Name) {
					continue
				}
				u := int64(s.Used)
				if pn, ok := s.PerNode[n.Name]; ok && pn.Used > 0 {
					u = int64(pn.Used)
				}
				used += u
			}
			if z.Size > 0 && used > int64(z.Size) {
				return sc.errAt(fmt.Sprintf("zpool %s on %s: its storages and extra_alloc use %s, more than its size %s", z.Name, n.Name, gib(used), gib(int64(z.Size))), "nodes", i, "zfs", j, "size")
			}
		}
	}
	for i, s := range sc.Storages {
		if s.Size > 0 && s.Used > s.Size {
			return sc.errAt(fmt.Sprintf("storage %s: used %s is more than its size %s", s.ID, gib(int64(s.Used)), gib(int64(s.Size))), "storages", i, "used")
		}
		for node, pn := range s.PerNode {
			size := pn.Size
			if size == 0 {
				size = s.Size
			}
			if size > 0 && pn.Used > size {
				return sc.errAt(fmt.Sprintf("storage %s on %s: used %s is more than its size %s", s.ID, node, gib(int64(pn.Used)), gib(int64(size))), "storages", i, "per_node", node)
			}
		}
	}
	for i, g := range sc.Guests {
		if g.Name != "" && !dnsNameRe.MatchString(g.Name) {
			return sc.errAt(fmt.Sprintf("guest %d: name %q is not a DNS name (Proxmox accepts letters, digits, '-' and '.')", g.VMID, g.Name), "guests", i, "name")
		}
		for j, t := range g.Tags {
			if !tagRe.MatchString(t) {
				return sc.errAt(fmt.Sprintf("guest %d: invalid tag %q (letters, digits, _ - + . and not starting with - + .)", g.VMID, t), "guests", i, "tags", j)
			}
		}
		seen := map[string]bool{}
		for j, s := range g.Snapshots {
			switch {
			case !snapNameRe.MatchString(s.Name) || len(s.Name) > 40:
				return sc.errAt(fmt.Sprintf("guest %d: invalid snapshot name %q (a letter, then letters, digits, _ or -; at most 40)", g.VMID, s.Name), "guests", i, "snapshots", j, "name")
			case s.Name == "current" || strings.EqualFold(s.Name, "pending"):
				return sc.errAt(fmt.Sprintf("guest %d: snapshot name %q is reserved", g.VMID, s.Name), "guests", i, "snapshots", j, "name")
			case seen[s.Name]:
				return sc.errAt(fmt.Sprintf("guest %d: duplicate snapshot %q", g.VMID, s.Name), "guests", i, "snapshots", j, "name")
			}
			seen[s.Name] = true
		}
		// A disk cannot be larger than the ZFS pool its storage lives on.
		for k, d := range g.Disks {
			m := allocRe.FindStringSubmatch(d)
			if m == nil {
				continue
			}
			sz := parseSize(m[2])
			if !strings.ContainsAny(m[2], "KMGT") {
				sz = parseSize(m[2] + "G")
			}
			for _, s := range sc.Storages {
				if s.ID != m[1] || s.Pool == "" {
					continue
				}
				host := g.Node
				if s.Shared && s.PoolNode != "" {
					host = s.PoolNode
				}
				for _, n := range sc.Nodes {
					if n.Name != host {
						continue
					}
					for _, z := range n.ZFS {
						if z.Name == strings.SplitN(s.Pool, "/", 2)[0] && z.Size > 0 && sz > int64(z.Size) {
							return sc.errAt(fmt.Sprintf("guest %d: disk %s of %s is larger than ZFS pool %s on %s (%s)", g.VMID, k, gib(sz), z.Name, host, gib(int64(z.Size))), "guests", i, "disks", k)
						}
					}
				}
			}
		}
	}
	return nil
}

// storageOnNode reports whether a scenario storage lives on a node: a
// local storage on every node it is available on, a shared one on the node
// holding its pool.
func storageOnNode(s scStorage, node string) bool {
	if s.Shared {
		return s.PoolNode == node
	}
	if len(s.Nodes) == 0 {
		return true
	}
	for _, n := range s.Nodes {
		if n == node {
			return true
		}
	}
	return false
}
