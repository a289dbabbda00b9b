package pvesim

import (
	"sort"
	"strconv"
	"time"
)

// haManagerTimestamp is when the CRM last wrote its status: a few seconds
// ago on a quorate cluster; without quorum it cannot write, so the last
// write is old (the simulator does not record when quorum was lost and
// uses five minutes, as for a dead node's LRM).
func (s *Sim) haManagerTimestamp(now time.Time) int64 {
	if !s.quorate() {
		return now.Add(-5 * time.Minute).Unix()
	}
	return now.Add(-3 * time.Second).Unix()
}

// getHAManagerStatus is GET /cluster/ha/status/manager_status
// (PVE::API2::HA::Status::manager_status): the CRM's manager_status file,
// the quorum as the answering node sees it, and every node's lrm_status.
func (s *Sim) getHAManagerStatus(c *reqCtx) (any, error) {
	now := s.now()
	quorum := map[string]any{"node": c.Local, "quorate": b2i(s.quorate())}
	if len(s.st.HAResources) == 0 {
		// No HA configured: the manager_status file does not exist.
		return map[string]any{"manager_status": map[string]any{}, "quorum": quorum}, nil
	}
	nodeStatus := map[string]any{}
	lrm := map[string]any{}
	names := s.Nodes()
	sort.Strings(names)
	active := map[string]bool{}
	for _, r := range s.st.HAResources {
		if g := s.st.guest(r.VMID()); g != nil {
			active[g.Node] = true
		}
	}
	for _, n := range names {
		st := "online"
		lts := now.Add(-time.Duration(1+s.st.node(n).ID) * time.Second).Unix()
		if s.nodeOffline(n) {
			st = "unknown"
			for _, r := range s.st.HAResources {
				if g := s.st.guest(r.VMID()); g != nil && g.Node == n && s.haServiceState(r, g) == "fence" {
					st = "fence"
				}
			}
		}
		if s.nodeOffline(n) || !s.quorate() {
			lts = now.Add(-5 * time.Minute).Unix()
		}
		nodeStatus[n] = st
		mode, state := "active", "wait_for_agent_lock"
		if active[n] {
			state = "active"
		}
		lrm[n] = map[string]any{"mode": mode, "state": state, "timestamp": lts, "results": map[string]any{}}
	}
	svc := map[string]any{}
	for i, r := range s.st.HAResources {
		g := s.st.guest(r.VMID())
		e := map[string]any{"state": s.haServiceState(r, g), "uid": "simuid" + strconv.Itoa(1000+i)}
		if g != nil {
			e["node"] = g.Node
			if g.IsRunning() && !s.nodeOffline(g.Node) {
				e["running"] = 1
			}
		}
		svc[r.SID] = e
	}
	ms := map[string]any{"master_node": s.haMaster(), "node_status": nodeStatus, "service_status": svc,
		"timestamp": s.haManagerTimestamp(now)}
	return map[string]any{"manager_status": ms, "quorum": quorum, "lrm_status": lrm}, nil
}
