package pvesim

import (
	"fmt"
	"math"
	"sort"
)

func init() { routeSetups = append(routeSetups, (*Sim).registerCeph) }

// Ceph reads (pve-manager PVE::API2::Ceph*). Without a Ceph cluster in the
// scenario they fail as PVE::Ceph::Tools::check_ceph_inited does on a node
// where Ceph was never installed.
func (s *Sim) registerCeph() {
	audit := permAny("/", "Sys.Audit", "Datastore.Audit")
	s.route("GET", "/cluster/ceph", permNone(), nil, dirIndex("name", "flags", "metadata", "status"))
	s.route("GET", "/cluster/ceph/status", audit, nil, s.cephStatusHandler)
	s.route("GET", "/nodes/{node}/ceph", audit, []param{pNode()}, dirIndex("name", "cfg", "cmd-safety", "crush", "fs", "init", "log", "mds", "mgr",
		"mon", "osd", "pool", "restart", "rules", "start", "status", "stop"))
	s.route("GET", "/nodes/{node}/ceph/status", audit, []param{pNode()}, s.cephStatusHandler)
	s.route("GET", "/nodes/{node}/ceph/osd", audit, []param{pNode()}, s.getCephOSD)
	s.route("GET", "/nodes/{node}/ceph/pool", audit, []param{pNode()}, s.getCephPools)
}

func (s *Sim) cephInited() error {
	if s.st.diag.ceph == nil {
		return err500("binary not installed: /usr/bin/ceph-mon")
	}
	return nil
}

func (s *Sim) cephStatusHandler(c *reqCtx) (any, error) {
	if err := s.cephInited(); err != nil {
		return nil, err
	}
	return s.cephStatus(), nil
}

func (s *Sim) cephTotals() (total, used int64) {
	for _, o := range s.st.diag.ceph.OSDs {
		total += int64(o.Size)
		used += int64(o.Used)
	}
	return
}

// cephStatus is `ceph status --format json` as the API passes it through.
func (s *Sim) cephStatus() map[string]any {
	cp := s.st.diag.ceph
	checks := map[string]any{}
	for _, ck := range cp.Checks {
		checks[ck.Code] = map[string]any{"severity": ck.Severity, "summary": map[string]any{"message": ck.Summary, "count": ck.Count}, "muted": false}
	}
	up, in := 0, 0
	for _, o := range cp.OSDs {
		if !o.Down {
			up++
		}
		if !o.Out {
			in++
		}
	}
	var byState []map[string]any
	pgs := 0
	for _, st := range sortedKeys(cp.PGs) {
		byState = append(byState, map[string]any{"state_name": st, "count": cp.PGs[st]})
		pgs += cp.PGs[st]
	}
	total, used := s.cephTotals()
	var data int64
	for _, p := range cp.Pools {
		data += int64(p.Used)
	}
	var mons []string
	for _, n := range s.st.Nodes {
		if len(mons) < 3 {
			mons = append(mons, n.Name)
		}
	}
	fsid := pseudoUUID("ceph:" + s.st.Name)
	return map[string]any{
		"fsid":           fsid,
		"health":         map[string]any{"status": cp.Health, "checks": checks, "mutes": []any{}},
		"election_epoch": 42, "quorum": []int{0, 1, 2}[:len(mons)], "quorum_names": mons, "quorum_age": int(s.now().Sub(s.st.T0).Seconds()) + 86400*12,
		"monmap": map[string]any{"epoch": 3, "min_mon_release_name": "squid", "num_mons": len(mons)},
		"osdmap": map[string]any{"epoch": 812, "num_osds": len(cp.OSDs), "num_up_osds": up, "osd_up_since": s.st.T0.Add(-12 * 86400e9).Unix(),
			"num_in_osds": in, "osd_in_since": s.st.T0.Add(-30 * 86400e9).Unix(), "num_remapped_pgs": 0},
		"pgmap": map[string]any{"pgs_by_state": byState, "num_pgs": pgs, "num_pools": len(cp.Pools), "num_objects": data / (4 << 20),
			"data_bytes": data, "bytes_used": used, "bytes_avail": total - used, "bytes_total": total},
		"fsmap":      map[string]any{"epoch": 1, "by_rank": []any{}, "up:standby": 0},
		"mgrmap":     map[string]any{"available": true, "num_standbys": max(len(mons)-1, 0), "modules": []string{"iostat", "nfs", "restful"}},
		"servicemap": map[string]any{"epoch": 1, "modified": s.st.T0.Format("2006-01-02T15:04:05.000000-0700"), "services": map[string]any{}},
	}
}

// getCephOSD is the CRUSH tree with the OSDs of every host.
func (s *Sim) getCephOSD(c *reqCtx) (any, error) {
	if err := s.cephInited(); err != nil {
		return nil, err
	}
	cp := s.st.diag.ceph
	var hosts []any
	for hi, n := range s.st.Nodes {
		var osds []any
		for _, o := range cp.OSDs {
			if o.Node != n.Name {
				continue
			}
			status := "up"
			if o.Down {
				status = "down"
			}
			class := o.Class
			if class == "" {
				class = "ssd"
			}
			pct := 0.0
			if o.Size > 0 {
				pct = math.Round(float64(o.Used)/float64(o.Size)*1e4) / 100
			}
			osds = append(osds, map[string]any{"id": o.ID, "name": "osd." + itoa(o.ID), "type": "osd", "host": n.Name, "status": status,
				"in": b2i(!o.Out), "leaf": 1, "device_class": class, "crush_weight": math.Round(float64(o.Size)/(1<<40)*1e5) / 1e5,
				"reweight": 1, "percent_used": pct, "total_space": int64(o.Size), "bytes_used": int64(o.Used), "osdtype": "bluestore",
				"blfsdev": "/dev/nvme2n1", "version": "19.2.3", "commit_latency_ms": 1, "apply_latency_ms": 1})
		}
		if len(osds) == 0 {
			continue
		}
		hosts = append(hosts, map[string]any{"id": -(hi + 2), "name": n.Name, "type": "host", "children": osds})
	}
	return map[string]any{
		"root":  map[string]any{"leaf": 0, "children": []any{map[string]any{"id": -1, "name": "default", "type": "root", "children": hosts}}},
		"flags": "sortbitwise,recovery_deletes,purged_snapdirs,pglog_hardlimit",
	}, nil
}

func (s *Sim) getCephPools(c *reqCtx) (any, error) {
	if err := s.cephInited(); err != nil {
		return nil, err
	}
	cp := s.st.diag.ceph
	total, used := s.cephTotals()
	out := []map[string]any{}
	pools := append([]scCephPool(nil), cp.Pools...)
	sort.SliceStable(pools, func(i, j int) bool { return pools[i].Name < pools[j].Name })
	for i, p := range pools {
		size, minSize := max(p.Size, 1), max(p.MinSize, 1)
		if p.Size == 0 {
			size, minSize = 3, 2
		}
		avail := float64(total-used) / float64(size)
		pct := 0.0
		if u := float64(p.Used); u+avail > 0 {
			pct = u / (u + avail)
		}
		pgs := p.PGs
		if pgs == 0 {
			pgs = 32
		}
		app := "rbd"
		if p.Name == ".mgr" {
			app = "mgr"
		}
		out = append(out, map[string]any{"pool": i + 1, "pool_name": p.Name, "size": size, "min_size": minSize, "pg_num": pgs, "pg_num_min": 0,
			"pg_num_final": pgs, "pg_autoscale_mode": "on", "crush_rule": 0, "crush_rule_name": "replicated_rule", "type": "replicated",
			"bytes_used": int64(p.Used) * int64(size), "percent_used": pct, "application_metadata": map[string]any{app: map[string]any{}}})
	}
	return out, nil
}

// generateCeph is the Ceph cluster of the generator's ceph=1: three OSDs
// per node, an RBD pool and .mgr, one OSD down and out (HEALTH_WARN with
// the checks Ceph raises for it).
func generateCeph(nodes []scNode, seed int64) *scCeph {
	c := &scCeph{Health: "HEALTH_OK", PGs: map[string]int{}}
	var total size
	for i, n := range nodes {
		for k := 0; k < 3; k++ {
			id := i*3 + k
			sz := size(3840755982336)
			used := size(float64(sz) * (0.35 + 0.2*unit(hash64(seed, "osd", int64(id)))))
			c.OSDs = append(c.OSDs, scCephOSD{ID: id, Node: n.Name, Size: sz, Used: used, Class: "nvme"})
			total += sz
		}
	}
	pgs := 128
	if len(c.OSDs) > 24 {
		pgs = 2048
	}
	c.Pools = []scCephPool{{Name: ".mgr", Size: 3, MinSize: 2, PGs: 1, Used: 50 << 20}, {Name: "ceph-vm", Size: 3, MinSize: 2, PGs: pgs, Used: total / 8}}
	c.PGs["active+clean"] = pgs + 1
	if len(c.OSDs) > 3 {
		last := len(c.OSDs) - 1
		c.OSDs[last].Down, c.OSDs[last].Out = true, true
		c.Health = "HEALTH_WARN"
		degraded := max(pgs/len(c.OSDs)*3, 1)
		c.PGs["active+clean"] -= degraded
		c.PGs["active+undersized+degraded"] = degraded
		c.Checks = []scCephCheck{
			{Code: "OSD_DOWN", Severity: "HEALTH_WARN", Summary: "1 osds down", Count: 1},
			{Code: "PG_DEGRADED", Severity: "HEALTH_WARN", Summary: fmt.Sprintf("Degraded data redundancy: %d pgs undersized", degraded), Count: degraded},
		}
	}
	return c
}
