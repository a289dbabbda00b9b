package pvesim

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// HA fencing and recovery (pve-ha-manager HA/Manager.pm). When a node with HA services goes offline, the
// CRM marks its services "fence"; once the node's watchdog has surely fenced it, they go "recovery", the
// CRM steals their config onto the best allowed online node (select_service_node: the highest priority
// of the group / node-affinity rule, then the fewest HA services, then the name) and the LRM there starts
// those that should run. When the node returns, services fail back to it only with failback set (PVE 9
// resource flag; PVE 8 group without nofailback). Non-HA guests stay on the dead node, status unknown.
//
// Delays follow the task speed factor; at 0 the whole sequence completes inside SetFault/ClearFaults.

const (
	durHAFence   = 60 * time.Second // node lost → watchdog fenced (real CRM: ~1-2 min)
	durHARecover = 5 * time.Second  // recovery → config stolen and LRM start on the new node
)

// instant reports whether workers run at speed 0.
func (ts *TaskStore) instant() bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.speed == 0
}

// haStep runs fn after d scaled, or at once (synchronously) at speed 0, so tests see a settled cluster
// when SetFault returns. fn returns the tasks it started; at speed 0 they are awaited too.
func (s *Sim) haStep(d time.Duration, fn func() []string) {
	if s.tasks.instant() {
		for _, upid := range fn() {
			_ = s.tasks.wait(context.Background(), upid)
		}
		return
	}
	s.tasks.after(d, func() { fn() })
}

// nodeFaultChanged is called after a node's Offline flag changed.
func (s *Sim) nodeFaultChanged(node string, offline bool) {
	if offline {
		s.haNodeDown(node)
	} else {
		s.haNodeUp(node)
	}
}

// haActive reports whether the CRM moves a resource on node failure (disabled and ignored ones are left).
func haActive(r *HAResource) bool { return r.State != "disabled" && r.State != "ignored" }

// haNodeDown starts fencing the services of a node that went offline.
func (s *Sim) haNodeDown(node string) {
	var sids []string
	s.withState(func() {
		for _, r := range s.st.HAResources {
			g := s.st.guest(r.VMID())
			if g == nil || g.Node != node || !haActive(r) {
				continue
			}
			r.Recovery = "fence"
			sids = append(sids, r.SID)
		}
	})
	if len(sids) == 0 {
		return
	}
	s.haStep(durHAFence, func() []string {
		s.withState(func() {
			for _, sid := range sids {
				if r := s.st.haResource(sid); r != nil && r.Recovery == "fence" && s.nodeOffline(node) {
					r.Recovery = "recovery"
				}
			}
		})
		s.haStep(durHARecover, func() []string { return s.haRecover(sids) })
		return nil
	})
}

// haRecover moves recovering services to their best online node. Without quorum or without an allowed
// node they stay in "recovery" until a node comes back (haNodeUp retries). It returns the start tasks it
// launched.
func (s *Sim) haRecover(sids []string) []string {
	var upids []string
	s.withState(func() {
		for _, sid := range sids {
			r := s.st.haResource(sid)
			if r == nil || r.Recovery != "recovery" {
				continue
			}
			g := s.st.guest(r.VMID())
			if g == nil || !s.nodeOffline(g.Node) {
				r.Recovery = "" // gone, or its node came back before recovery: the service just continues
				continue
			}
			target := ""
			if s.quorate() {
				target = s.haSelectNode(r, "")
			}
			if target == "" {
				continue
			}
			// The fenced node was reset: whatever ran there is gone.
			from := g.Node
			g.endRun(s.now())
			g.Status, g.Lock = "stopped", ""
			s.moveGuestFiles(g, from, target)
			r.Recovery, r.FromNode = "", from
			if r.State == "started" || r.State == "enabled" {
				upids = append(upids, s.powerTask(target, g.Type, g.VMID, "start", "root@pam", powerOpts{}))
				if len(g.Missing) > 0 {
					// The start fails on every try (max_restart, then max_relocate to nodes that
					// lack the volumes too): the CRM puts the service in "error".
					r.Recovery = "error"
				}
			}
		}
	})
	return upids
}

// haNodeUp ends fencing of a returning node's services, retries stuck recoveries (the node may be the one
// they were waiting for), and fails services back to it when their failback flag allows it and it is
// their preferred node.
func (s *Sim) haNodeUp(node string) {
	var stuck []string
	s.withState(func() {
		for _, r := range s.st.HAResources {
			g := s.st.guest(r.VMID())
			switch {
			case g != nil && g.Node == node && r.Recovery != "":
				r.Recovery = ""
			case r.Recovery == "recovery":
				stuck = append(stuck, r.SID)
			}
		}
	})
	if len(stuck) > 0 {
		s.haStep(durHARecover, func() []string { return s.haRecover(stuck) })
	}
	s.haStep(durHALRM, func() []string {
		var upids []string
		s.withState(func() {
			for _, r := range s.st.HAResources {
				g := s.st.guest(r.VMID())
				if g == nil || !haActive(r) || !s.haFailback(r) || r.Recovery != "" || g.Node == node || g.Lock != "" || s.nodeOffline(g.Node) {
					continue
				}
				if best := s.haSelectNode(r, g.Node); best != node {
					continue
				}
				run := g.IsRunning()
				upids = append(upids, s.migrateTask(g.Node, g.Type, g.VMID, node, "root@pam",
					migrateOpts{online: run && g.Type == "qemu", restart: run && g.Type == "lxc", withLocalDisks: true}))
			}
		})
		return upids
	})
}

// haFailback is the resource's failback flag (PVE 9), or its PVE 8 group's "not nofailback".
func (s *Sim) haFailback(r *HAResource) bool {
	if s.ver >= 9 {
		return r.Failback
	}
	if g := s.st.haGroup(r.Group); g != nil {
		return !g.NoFailback
	}
	return true
}

// haNodePrefs is a resource's node preference: the PVE 9 node-affinity rule naming it, or its PVE 8 group.
// Nodes without ":prio" have priority 0.
func (s *Sim) haNodePrefs(r *HAResource) (prio map[string]int, strict bool) {
	spec := ""
	if s.ver >= 9 {
		for _, rule := range s.st.HARules {
			if rule.Type == "node-affinity" && !rule.Disable && contains(rule.Resources, r.SID) {
				spec, strict = rule.Nodes, rule.Strict
				break
			}
		}
	} else if g := s.st.haGroup(r.Group); g != nil {
		spec, strict = g.Nodes, g.Restricted
	}
	if spec == "" {
		return nil, false
	}
	prio = map[string]int{}
	for _, part := range splitList(spec) {
		n, p, _ := strings.Cut(part, ":")
		prio[n], _ = strconv.Atoi(p)
	}
	return prio, strict
}

// haSelectNode is select_service_node: among online nodes, those of the highest preference priority (any
// online node when the preference is not strict and none of its nodes is up), then the one with the
// fewest HA services, keeping current when it ties for best. "" = no node possible. Caller holds s.mu.
func (s *Sim) haSelectNode(r *HAResource, current string) string {
	prio, strict := s.haNodePrefs(r)
	var online []string
	for _, n := range s.st.Nodes {
		if !s.nodeOffline(n.Name) {
			online = append(online, n.Name)
		}
	}
	cands := online
	if prio != nil {
		best, found := 0, false
		for _, n := range online {
			if p, ok := prio[n]; ok && (!found || p > best) {
				best, found = p, true
			}
		}
		cands = nil
		if found {
			for _, n := range online {
				if p, ok := prio[n]; ok && p == best {
					cands = append(cands, n)
				}
			}
		} else if !strict {
			cands = online
		}
	}
	if len(cands) == 0 {
		return ""
	}
	if contains(cands, current) {
		return current
	}
	load := map[string]int{}
	for _, x := range s.st.HAResources {
		if g := s.st.guest(x.VMID()); g != nil && x != r {
			load[g.Node]++
		}
	}
	sort.Slice(cands, func(i, j int) bool {
		if load[cands[i]] != load[cands[j]] {
			return load[cands[i]] < load[cands[j]]
		}
		return cands[i] < cands[j]
	})
	return cands[0]
}

// moveGuestFiles is the CRM's steal_service: the config moves to the target node. A volume on a local
// storage is there only when a replication job copies the guest to that node (pvesr; the usual setup for
// HA on local ZFS): then the replica takes its place. Otherwise the volume stays on the dead node and the
// guest's config names a volume the target does not have (Guest.Missing): starting it fails. Shared
// volumes need nothing. Caller holds s.mu.
func (s *Sim) moveGuestFiles(g *Guest, from, to string) {
	replicated := s.st.replicatedTo(g.VMID, to)
	for _, d := range g.Disks() {
		if d.Storage == "" {
			continue
		}
		src, dst := s.st.storageOn(from, d.Storage), s.st.storageOn(to, d.Storage)
		if src == nil || src == dst {
			continue
		}
		if dst == nil || !replicated {
			g.Missing = append(g.Missing, d.VolID)
			continue
		}
		for i, v := range src.Volumes {
			if v.VolID == d.VolID {
				src.Volumes = append(src.Volumes[:i], src.Volumes[i+1:]...)
				dst.Volumes = append(dst.Volumes, v)
				break
			}
		}
	}
	g.Node = to
}

// missingVolumeError is what activating a volume that is not on the node gives, by storage type.
func (s *Sim) missingVolumeError(volid string) string {
	sid, name, _ := strings.Cut(volid, ":")
	for _, c := range s.st.Storages {
		if c.ID != sid {
			continue
		}
		switch c.Type {
		case "zfspool":
			return fmt.Sprintf("zfs error: cannot open '%s/%s': dataset does not exist", c.Pool, name)
		case "lvmthin", "lvm":
			return fmt.Sprintf("no such logical volume %s/%s", c.Pool, name)
		}
	}
	return fmt.Sprintf("volume '%s' does not exist", volid)
}
