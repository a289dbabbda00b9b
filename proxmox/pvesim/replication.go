package pvesim

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

func init() { routeSetups = append(routeSetups, (*Sim).registerReplication) }

// Storage replication (pve-manager PVE::API2::ReplicationConfig and
// PVE::API2::Replication): the job configuration and each node's view of
// the jobs of its guests with their state (pvesr status).
func (s *Sim) registerReplication() {
	jobID := pStr("id").fmt("pve-replication-job-id").re(`^[1-9][0-9]{2,8}-\d{1,9}$`)
	s.route("GET", "/cluster/replication", permNone(), nil, s.getReplicationConfig)
	s.route("GET", "/cluster/replication/{id}", permNone(), []param{jobID}, s.getReplicationJob)
	s.route("GET", "/nodes/{node}/replication", permNone(), []param{pNode(), pVMID().opt().named("guest")}, s.getNodeReplication)
	s.route("GET", "/nodes/{node}/replication/{id}", permNone(), []param{pNode(), jobID}, dirIndex("name", "log", "schedule_now", "status"))
	s.route("GET", "/nodes/{node}/replication/{id}/status", permNone(), []param{pNode(), jobID}, s.getReplicationStatus)
}

func (j *replJob) config() map[string]any {
	e := map[string]any{"id": j.id(), "type": "local", "guest": j.Guest, "jobnum": j.JobNum, "target": j.Target, "schedule": j.Schedule, "source": j.source}
	if j.Rate > 0 {
		e["rate"] = j.Rate
	}
	if j.Comment != "" {
		e["comment"] = j.Comment
	}
	if j.Disable {
		e["disable"] = 1
	}
	return e
}

// replJobs lists the jobs of guests the caller may audit, by id.
func (s *Sim) replJobs(c *reqCtx) []*replJob {
	var out []*replJob
	for _, j := range s.st.diag.replication {
		if c.Can(vmPath(j.Guest), "VM.Audit") {
			out = append(out, j)
		}
	}
	sort.Slice(out, func(i, k int) bool { return out[i].id() < out[k].id() })
	return out
}

func (s *Sim) getReplicationConfig(c *reqCtx) (any, error) {
	out := []map[string]any{}
	for _, j := range s.replJobs(c) {
		out = append(out, j.config())
	}
	return out, nil
}

func (s *Sim) findReplJob(c *reqCtx) (*replJob, error) {
	for _, j := range s.st.diag.replication {
		if j.id() == c.Str("id") {
			if err := c.Check(vmPath(j.Guest), "VM.Audit"); err != nil {
				return nil, err
			}
			return j, nil
		}
	}
	return nil, err500("replication job '%s' does not exist", c.Str("id"))
}

func (s *Sim) getReplicationJob(c *reqCtx) (any, error) {
	j, err := s.findReplJob(c)
	if err != nil {
		return nil, err
	}
	e := j.config()
	e["digest"] = sha1hex("replication")
	return e, nil
}

// status is a job's state as pvesr keeps it: last sync and try, the
// duration of the last run, failures (each retry backs off: 5, 10, 15 min,
// then 30) and the last error.
func (s *Sim) replStatus(j *replJob) map[string]any {
	e := j.config()
	g := s.st.guest(j.Guest)
	if g != nil {
		e["vmtype"] = g.Type
		e["source"] = g.Node
	}
	now := s.now()
	every := replEvery(j.Schedule)
	e["fail_count"] = j.FailCount
	if !j.lastSync.IsZero() {
		e["last_sync"] = j.lastSync.Unix()
		e["duration"] = j.Duration
	} else {
		e["last_sync"] = 0
	}
	if !j.lastTry.IsZero() {
		e["last_try"] = j.lastTry.Unix()
	}
	next := j.lastTry
	if next.IsZero() {
		next = now
	}
	if j.FailCount > 0 {
		e["error"] = j.Error
		backoff := time.Duration(min(j.FailCount, 3)*5) * time.Minute
		if j.FailCount > 3 {
			backoff = 30 * time.Minute
		}
		next = next.Add(backoff)
	} else {
		next = next.Add(every)
	}
	for next.Before(now) && j.FailCount == 0 {
		next = next.Add(every)
	}
	if !j.Disable {
		e["next_sync"] = next.Unix()
	}
	return e
}

func (s *Sim) getNodeReplication(c *reqCtx) (any, error) {
	out := []map[string]any{}
	for _, j := range s.replJobs(c) {
		g := s.st.guest(j.Guest)
		if g == nil || g.Node != c.Node {
			continue
		}
		if c.Has("guest") && c.Int("guest") != j.Guest {
			continue
		}
		out = append(out, s.replStatus(j))
	}
	return out, nil
}

func (s *Sim) getReplicationStatus(c *reqCtx) (any, error) {
	j, err := s.findReplJob(c)
	if err != nil {
		return nil, err
	}
	if g := s.st.guest(j.Guest); g == nil || g.Node != c.Node {
		return nil, err500("replication job '%s' does not exist on node '%s'", j.id(), c.Node)
	}
	return s.replStatus(j), nil
}

// replicatedTo reports whether an enabled job copies guest vmid's volumes
// to node: what lets HA recover a guest whose disks are on node-local
// storage (the replicated volumes are there); without one the start on the
// new node fails.
func (st *state) replicatedTo(vmid int, node string) bool {
	if st.diag == nil {
		return false
	}
	for _, j := range st.diag.replication {
		if j.Guest == vmid && j.Target == node && !j.Disable {
			return true
		}
	}
	return false
}

// checkReplication refuses what pvesr would: a job id used twice, a target
// that is the guest's own node, and a guest with a local disk on storage
// that cannot replicate (only ZFS can: "missing replicate feature on
// volume").
func (sc *scenario) checkReplication() error {
	guests := map[int]scGuest{}
	for _, g := range sc.Guests {
		guests[g.VMID] = g
	}
	stor := map[string]scStorage{}
	for _, s := range sc.Storages {
		stor[s.ID] = s
	}
	ids := map[string]bool{}
	for i, j := range sc.Replication {
		g, ok := guests[j.Guest]
		if !ok {
			continue // named by the diagnostics check
		}
		id := fmt.Sprintf("%d-%d", j.Guest, j.JobNum)
		if ids[id] {
			return sc.errAt(fmt.Sprintf("replication: job %s twice (give the guest's second job jobnum: 1)", id), "replication", i, "jobnum")
		}
		ids[id] = true
		if j.Target == g.Node {
			return sc.errAt(fmt.Sprintf("replication of guest %d: target %s is the node it runs on", j.Guest, j.Target), "replication", i, "target")
		}
		for _, k := range sortedKeys(g.Disks) {
			st, _, _ := strings.Cut(g.Disks[k], ":")
			s, ok := stor[st]
			if !ok || s.Shared {
				continue
			}
			if s.Type != "zfspool" {
				return sc.errAt(fmt.Sprintf("replication of guest %d: missing replicate feature on volume of %s (%s storage %s; only ZFS replicates)", j.Guest, k, s.Type, s.ID), "replication", i, "guest")
			}
		}
	}
	return nil
}
