package pvesim

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

func init() { routeSetups = append(routeSetups, (*Sim).registerClusterReads) }

func (s *Sim) registerClusterReads() {
	s.route("GET", "/version", permNone(), nil, s.getVersion)
	s.route("GET", "/cluster/status", permPath("/", "Sys.Audit"), nil, s.getClusterStatus)
	s.route("GET", "/cluster/resources", permNone(), []param{pStr("type").opt().enum("vm", "storage", "node", "sdn")}, s.getClusterResources)
	s.route("GET", "/cluster/nextid", permNone(), []param{pVMID().opt()}, s.getNextID)
	s.route("GET", "/cluster/backup", permPath("/", "Sys.Audit"), nil, s.getBackupJobs)
	s.route("GET", "/cluster/backup/{id}", permPath("/", "Sys.Audit"), []param{pStr("id").re(`^\S+$`).maxLength(50)}, s.getBackupJob)
	s.route("GET", "/cluster/backup-info/not-backed-up", permPath("/", "Sys.Audit"), nil, s.getNotBackedUp)
	s.route("GET", "/cluster/ha/status/current", permPath("/", "Sys.Audit"), nil, s.getHAStatus)
	s.route("GET", "/cluster/ha/status/manager_status", permPath("/", "Sys.Audit"), nil, s.getHAManagerStatus)
	s.route("GET", "/cluster/ha/resources", permPath("/", "Sys.Audit"), []param{pStr("type").opt().enum("ct", "vm")}, s.getHAResources)
	s.route("GET", "/cluster/ha/resources/{sid}", permPath("/", "Sys.Audit"), []param{pStr("sid").fmt("pve-ha-resource-or-vm-id")}, s.getHAResource)
	s.route("GET", "/cluster/ha/groups", permPath("/", "Sys.Audit"), nil, s.getHAGroups)
	s.route("GET", "/cluster/ha/groups/{group}", permPath("/", "Sys.Audit"), []param{pStr("group").fmt("pve-configid")}, s.getHAGroup)
	if s.ver >= 9 {
		s.route("GET", "/cluster/ha/rules", permPath("/", "Sys.Audit"), []param{pStr("resource").opt(), pStr("type").opt().enum("node-affinity", "resource-affinity")}, s.getHARules)
		s.route("GET", "/cluster/ha/rules/{rule}", permPath("/", "Sys.Audit"), []param{pStr("rule").fmt("pve-configid")}, s.getHARule)
	}
	s.route("GET", "/access/permissions", permNone(), []param{pStr("path").opt(), pStr("userid").opt().re(`^[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+(?:![A-Za-z][A-Za-z0-9.\-_]+)?$`)}, s.getPermissions)
}

func (s *Sim) versionInfo() (version, release, repoid string) {
	if s.ver == 8 {
		return "8.4.1", "8.4", "2a5fa54a8503f96d"
	}
	return "9.1.6", "9.1", "71482d1833ded40a" // >= 9.1.5: 401s say "Authentication failed!"
}

// versionAtLeast compares a "major.minor[.patch]" version.
func versionAtLeast(v string, major, minor int) bool {
	maj, rest, _ := strings.Cut(v, ".")
	min, _, _ := strings.Cut(rest, ".")
	a, err1 := strconv.Atoi(maj)
	b, err2 := strconv.Atoi(min)
	if err1 != nil || err2 != nil {
		return false
	}
	return a > major || a == major && b >= minor
}

func (s *Sim) getVersion(c *reqCtx) (any, error) {
	v, r, id := s.versionInfo()
	return map[string]any{"version": v, "release": r, "repoid": id}, nil
}

func (s *Sim) onlineCount() int {
	n := 0
	for _, node := range s.st.Nodes {
		if !s.nodeOffline(node.Name) {
			n++
		}
	}
	return n
}

func (s *Sim) quorate() bool { return s.onlineCount()*2 > len(s.st.Nodes) }

func (s *Sim) getClusterStatus(c *reqCtx) (any, error) {
	out := []map[string]any{{
		"type": "cluster", "id": "cluster", "name": s.st.Name, "nodes": len(s.st.Nodes),
		"version": s.st.ConfigVersion, "quorate": b2i(s.quorate()),
	}}
	for _, n := range s.st.Nodes {
		out = append(out, map[string]any{
			"type": "node", "id": "node/" + n.Name, "name": n.Name, "nodeid": n.ID, "ip": n.IP,
			"local": b2i(n.Name == c.Local), "online": b2i(!s.nodeOffline(n.Name)), "level": n.Level,
		})
	}
	return out, nil
}

// guestResource is a guest's /cluster/resources entry (PVE2Tools extract_vm_stats).
func (s *Sim) guestResource(g *Guest, now time.Time, ha map[string]*HAResource) obj {
	typ := g.Type
	e := make(obj, 0, 24)
	e = e.set("id", typ+"/"+itoa(g.VMID)).set("type", typ).set("vmid", g.VMID).set("node", g.Node).set("name", g.Name()).
		set("template", b2i(g.Template())).set("maxcpu", g.Cores()).set("maxmem", g.MemBytes()).set("maxdisk", g.BootDiskSize())
	if t := g.Conf.Get("tags"); t != "" {
		e = e.set("tags", t)
	}
	if g.Lock != "" {
		e = e.set("lock", g.Lock)
	}
	if g.Pool != "" {
		e = e.set("pool", g.Pool)
	}
	if r := ha[haSID(g)]; r != nil {
		e = e.set("hastate", s.haServiceState(r, g))
	}
	if s.nodeOffline(g.Node) {
		return e.set("status", "unknown")
	}
	u := s.guestUsageAt(g, now)
	ni, no, dr, dw := s.guestCounters(g, now)
	e = e.set("status", guestStatusWord(g)).set("cpu", u.CPU).set("mem", u.Mem).set("disk", u.Disk).
		set("netin", ni).set("netout", no).set("diskread", dr).set("diskwrite", dw).set("uptime", s.uptime(g, now))
	if s.ver >= 9 {
		e = e.set("memhost", u.MemHost)
	}
	return e
}

// guestStatusWord is the vmstatus "status": paused VMs report "running".
func guestStatusWord(g *Guest) string {
	if g.IsRunning() {
		return "running"
	}
	return "stopped"
}

func (s *Sim) uptime(g *Guest, now time.Time) int64 {
	if !g.IsRunning() || g.StartedAt.IsZero() {
		return 0
	}
	return int64(now.Sub(g.StartedAt).Seconds())
}

func (s *Sim) nodeStats(n *Node, now time.Time, guests []*Guest) map[string]any {
	e := map[string]any{"maxcpu": n.CPUs, "maxmem": n.MemTotal, "maxdisk": n.RootTotal}
	if s.nodeOffline(n.Name) {
		return e
	}
	u := s.nodeUsageAt(n, now, guests)
	e["cpu"] = u.CPU
	e["mem"] = u.MemUsed
	e["disk"] = n.RootUsed
	e["uptime"] = int64(now.Sub(n.BootTime).Seconds())
	return e
}

func nodeStatusWord(off bool) string {
	if off {
		return "offline"
	}
	return "online"
}

func (s *Sim) storageResources(c *reqCtx, now time.Time) []map[string]any {
	var out []map[string]any
	for _, n := range s.st.Nodes {
		for _, cfg := range s.st.Storages {
			si := s.st.storageOn(n.Name, cfg.ID)
			if si == nil || !(c.Can("/storage/"+cfg.ID, "Datastore.Audit") || c.Can("/storage/"+cfg.ID, "Datastore.AllocateSpace")) {
				continue
			}
			e := map[string]any{
				"id": "storage/" + n.Name + "/" + cfg.ID, "type": "storage", "storage": cfg.ID, "node": n.Name,
				"plugintype": cfg.Type, "shared": b2i(cfg.Shared), "content": cfg.contentString(),
			}
			if s.nodeOffline(n.Name) || s.storageDown(si, n.Name) {
				e["status"] = "unknown"
			} else {
				e["status"] = "available"
				e["disk"] = s.instUsedAt(si, now)
				e["maxdisk"] = s.instTotal(si, now)
			}
			out = append(out, e)
		}
	}
	return out
}

func (s *Sim) getClusterResources(c *reqCtx) (any, error) {
	now := s.now()
	typ := c.Str("type")
	out := []any{}
	byNode := s.st.guestsByNode()
	if typ == "" || typ == "vm" {
		ha := s.st.haIndex()
		for _, g := range s.st.sortedGuests() {
			if c.Can(vmPath(g.VMID), "VM.Audit") {
				out = append(out, s.guestResource(g, now, ha))
			}
		}
	}
	if typ == "" || typ == "node" {
		haNodes := len(s.st.HAResources) > 0
		for _, n := range s.st.Nodes {
			off := s.nodeOffline(n.Name)
			e := map[string]any{"id": "node/" + n.Name, "type": "node", "node": n.Name, "status": nodeStatusWord(off), "level": n.Level, "cgroup-mode": 2}
			if c.Can("/nodes/"+n.Name, "Sys.Audit") {
				for k, v := range s.nodeStats(n, now, byNode[n.Name]) {
					e[k] = v
				}
			}
			if haNodes {
				if off {
					e["hastate"] = "unknown"
				} else {
					e["hastate"] = "online"
				}
			}
			out = append(out, e)
		}
	}
	if typ == "" || typ == "storage" {
		for _, e := range s.storageResources(c, now) {
			out = append(out, e)
		}
	}
	if typ == "" {
		for _, p := range s.st.Pools {
			if !c.Can("/pool/"+p.ID, "Pool.Audit") {
				continue
			}
			e := map[string]any{"id": "/pool/" + p.ID, "type": "pool", "pool": p.ID}
			var cpu float64
			var maxcpu int
			var mem, maxmem, up int64
			for _, id := range p.VMs {
				g := s.st.guest(id)
				if g == nil || !s.runningAt(g, now) {
					continue
				}
				u := s.guestUsageAt(g, now)
				cpu += u.CPU * float64(g.Cores())
				maxcpu += g.Cores()
				mem += u.Mem
				maxmem += g.MemBytes()
				if ut := s.uptime(g, now); ut > up {
					up = ut
				}
			}
			if maxcpu > 0 {
				e["cpu"], e["maxcpu"], e["mem"], e["maxmem"], e["uptime"] = cpu/float64(maxcpu), maxcpu, mem, maxmem, up
			}
			out = append(out, e)
		}
	}
	if typ == "" || typ == "sdn" {
		for _, n := range s.st.Nodes {
			if !c.Can("/sdn/zones/localnetwork", "SDN.Audit") {
				break
			}
			st := "ok"
			if s.nodeOffline(n.Name) {
				st = "unknown"
			}
			if s.ver >= 9 && typ == "" {
				out = append(out, map[string]any{"id": "network/" + n.Name + "/zone/localnetwork", "type": "network", "network-type": "zone",
					"network": "localnetwork", "node": n.Name, "status": st, "zone-type": "simple"})
			} else {
				out = append(out, map[string]any{"id": "sdn/" + n.Name + "/localnetwork", "type": "sdn", "sdn": "localnetwork", "node": n.Name, "status": st})
			}
		}
	}
	return out, nil
}

func (s *Sim) getNextID(c *reqCtx) (any, error) {
	if c.Has("vmid") {
		id := c.Int("vmid")
		if s.st.guest(id) != nil {
			return nil, errParam1("vmid", fmt.Sprintf("VM %d already exists", id))
		}
		return strconv.Itoa(id), nil
	}
	for id := 100; ; id++ {
		if s.st.guest(id) == nil {
			return strconv.Itoa(id), nil
		}
	}
}

func (s *Sim) backupJobJSON(j *BackupJob, now time.Time) map[string]any {
	e := map[string]any{"id": j.ID, "type": "vzdump", "schedule": j.Schedule, "enabled": b2i(j.Enabled), "storage": j.Storage, "mode": j.Mode}
	if j.All {
		e["all"] = 1
		if len(j.Exclude) > 0 {
			e["exclude"] = joinInts(j.Exclude)
		}
	} else if j.Pool != "" {
		e["pool"] = j.Pool
	} else {
		e["vmid"] = joinInts(j.VMIDs)
	}
	for k, v := range map[string]string{"node": j.Node, "compress": j.Compress, "mailnotification": j.MailNotification, "notes-template": j.NotesTemplate, "comment": j.Comment} {
		if v != "" {
			e[k] = v
		}
	}
	if len(j.Prune) > 0 {
		e["prune-backups"] = j.Prune
	}
	if j.RepeatMissed {
		e["repeat-missed"] = 1
	}
	if sc, err := parseSchedule(j.Schedule); err == nil && j.Enabled {
		e["next-run"] = sc.next(now).Unix()
	}
	return e
}

func joinInts(l []int) string {
	parts := make([]string, len(l))
	for i, v := range l {
		parts[i] = itoa(v)
	}
	return strings.Join(parts, ",")
}

func (s *Sim) getBackupJobs(c *reqCtx) (any, error) {
	out := []map[string]any{}
	for _, j := range s.st.BackupJobs {
		out = append(out, s.backupJobJSON(j, s.now()))
	}
	return out, nil
}

func (s *Sim) getBackupJob(c *reqCtx) (any, error) {
	for _, j := range s.st.BackupJobs {
		if j.ID == c.Str("id") {
			return s.backupJobJSON(j, s.now()), nil
		}
	}
	return nil, err500("job '%s' does not exist", c.Str("id"))
}

func (s *Sim) getNotBackedUp(c *reqCtx) (any, error) {
	covered := map[int]bool{}
	for _, j := range s.st.BackupJobs {
		for _, gs := range s.st.jobGuests(j) {
			for _, g := range gs {
				covered[g.VMID] = true
			}
		}
	}
	out := []map[string]any{}
	for _, g := range s.st.sortedGuests() {
		if !covered[g.VMID] {
			out = append(out, map[string]any{"vmid": g.VMID, "name": g.Name(), "type": g.Type})
		}
	}
	return out, nil
}

// haServiceState is the CRM's view of a resource: the request applied to
// the guest's actual state.
func (s *Sim) haServiceState(r *HAResource, g *Guest) string {
	if r.Recovery != "" {
		return r.Recovery // fence / recovery, see ha_recovery.go
	}
	if g != nil && s.nodeOffline(g.Node) {
		return "fence"
	}
	switch r.State {
	case "started", "enabled":
		if g != nil && g.IsRunning() {
			return "started"
		}
		return "starting"
	case "stopped":
		if g != nil && g.IsRunning() {
			return "stopping"
		}
		return "stopped"
	case "disabled":
		return "disabled"
	case "ignored":
		return "ignored"
	}
	return r.State
}

func haTime(t time.Time) string { return t.UTC().Format("Mon Jan _2 15:04:05 2006") }

func (s *Sim) getHAStatus(c *reqCtx) (any, error) {
	now := s.now()
	out := []map[string]any{}
	q := map[string]any{"id": "quorum", "type": "quorum", "node": c.Local, "status": "OK", "quorate": b2i(s.quorate())}
	if !s.quorate() {
		q["status"] = fmt.Sprintf("No quorum on node '%s'!", c.Local)
	}
	out = append(out, q)
	if len(s.st.HAResources) == 0 {
		return out, nil
	}
	master := s.haMaster()
	ts := s.haManagerTimestamp(now)
	word := "active"
	if !s.quorate() {
		// Without quorum the CRM cannot write its status: Status.pm calls a
		// timestamp older than 30 s "old timestamp - dead?".
		word = "old timestamp - dead?"
	}
	out = append(out, map[string]any{"id": "master", "type": "master", "node": master,
		"status": fmt.Sprintf("%s (%s, %s)", master, word, haTime(time.Unix(ts, 0))), "timestamp": ts})
	if s.ver >= 9 {
		out = append(out, map[string]any{"id": "fencing", "type": "fencing", "node": master, "status": "armed (CRM watchdog active)", "armed-state": "armed"})
	}
	active := map[string]bool{}
	for _, r := range s.st.HAResources {
		if g := s.st.guest(r.VMID()); g != nil {
			active[g.Node] = true
		}
	}
	names := s.Nodes()
	sort.Strings(names)
	for _, n := range names {
		lts := now.Add(-time.Duration(1+s.st.node(n).ID) * time.Second).Unix()
		var st string
		switch {
		case s.nodeOffline(n) || !s.quorate():
			lts = now.Add(-5 * time.Minute).Unix()
			st = fmt.Sprintf("%s (old timestamp - dead?, %s)", n, haTime(time.Unix(lts, 0)))
		case active[n] && s.ver >= 9:
			st = fmt.Sprintf("%s (active, watchdog active, %s)", n, haTime(time.Unix(lts, 0)))
		case active[n]:
			st = fmt.Sprintf("%s (active, %s)", n, haTime(time.Unix(lts, 0)))
		case s.ver >= 9:
			st = fmt.Sprintf("%s (idle, watchdog standby, %s)", n, haTime(time.Unix(lts, 0)))
		default:
			st = fmt.Sprintf("%s (idle, %s)", n, haTime(time.Unix(lts, 0)))
		}
		out = append(out, map[string]any{"id": "lrm:" + n, "type": "lrm", "node": n, "status": st, "timestamp": lts})
	}
	res := append([]*HAResource(nil), s.st.HAResources...)
	sort.Slice(res, func(i, j int) bool { return res[i].SID < res[j].SID })
	for _, r := range res {
		g := s.st.guest(r.VMID())
		node := ""
		if g != nil {
			node = g.Node
		}
		state := s.haServiceState(r, g)
		e := map[string]any{"id": "service:" + r.SID, "type": "service", "sid": r.SID, "node": node, "crm_state": state, "state": state,
			"request_state": r.State, "status": fmt.Sprintf("%s (%s, %s)", r.SID, node, state), "max_restart": r.MaxRestart, "max_relocate": r.MaxRelocate}
		if s.ver >= 9 {
			e["failback"] = b2i(r.Failback)
		}
		if r.Comment != "" {
			e["comment"] = r.Comment
		}
		out = append(out, e)
	}
	return out, nil
}

// haMaster is the configured CRM master, or the first online node if it is down.
func (s *Sim) haMaster() string {
	m := s.haMasterName
	if m == "" || s.nodeOffline(m) || s.st.node(m) == nil {
		for _, n := range s.st.Nodes {
			if !s.nodeOffline(n.Name) {
				return n.Name
			}
		}
	}
	return m
}

func (s *Sim) haResourceJSON(r *HAResource) map[string]any {
	e := map[string]any{"sid": r.SID, "type": r.Type, "state": r.State, "max_restart": r.MaxRestart, "max_relocate": r.MaxRelocate,
		"digest": s.haDigest()}
	if s.ver >= 9 {
		e["failback"] = b2i(r.Failback)
	} else if r.Group != "" {
		e["group"] = r.Group
	}
	if r.Comment != "" {
		e["comment"] = r.Comment
	}
	return e
}

// haDigest is the digest of resources.cfg (all entries).
func (s *Sim) haDigest() string {
	var b strings.Builder
	for _, r := range s.st.HAResources {
		fmt.Fprintf(&b, "%s: %s\n\tstate %s\n\tgroup %s\n\tmax_restart %d\n\tmax_relocate %d\n", r.Type, r.SID, r.State, r.Group, r.MaxRestart, r.MaxRelocate)
	}
	return sha1hex(b.String())
}

func (s *Sim) getHAResources(c *reqCtx) (any, error) {
	out := []map[string]any{}
	for _, r := range s.st.HAResources {
		if t := c.Str("type"); t != "" && r.Type != t {
			continue
		}
		out = append(out, s.haResourceJSON(r))
	}
	return out, nil
}

func (s *Sim) getHAResource(c *reqCtx) (any, error) {
	sid := c.Str("sid")
	if !strings.Contains(sid, ":") {
		// a bare vmid means whichever guest type has it
		if g := s.st.guest(atoiDef(sid, 0)); g != nil {
			sid = haSID(g)
		}
	}
	if r := s.st.haResource(sid); r != nil {
		return s.haResourceJSON(r), nil
	}
	return nil, err500("no such resource '%s'", sid)
}

func (s *Sim) haGroupJSON(g *HAGroup) map[string]any {
	e := map[string]any{"group": g.Name, "type": "group", "nodes": g.Nodes, "restricted": b2i(g.Restricted), "nofailback": b2i(g.NoFailback), "digest": s.haDigest()}
	if g.Comment != "" {
		e["comment"] = g.Comment
	}
	return e
}

func (s *Sim) getHAGroups(c *reqCtx) (any, error) {
	if s.ver >= 9 {
		return nil, err500("cannot index groups: ha groups have been migrated to rules")
	}
	out := []map[string]any{}
	for _, g := range s.st.HAGroups {
		out = append(out, s.haGroupJSON(g))
	}
	return out, nil
}

func (s *Sim) getHAGroup(c *reqCtx) (any, error) {
	if s.ver >= 9 {
		return nil, err500("cannot read group: ha groups have been migrated to rules")
	}
	if g := s.st.haGroup(c.Str("group")); g != nil {
		return s.haGroupJSON(g), nil
	}
	return nil, err500("no such ha group '%s'", c.Str("group"))
}

func (s *Sim) haRuleJSON(r *HARule) map[string]any {
	e := map[string]any{"rule": r.ID, "type": r.Type, "resources": strings.Join(r.Resources, ","), "order": r.Order, "digest": s.haDigest()}
	if r.Type == "node-affinity" {
		e["nodes"] = r.Nodes
		if r.Strict {
			e["strict"] = 1
		}
	} else {
		e["affinity"] = r.Affinity
	}
	if r.Disable {
		e["disable"] = 1
	}
	if r.Comment != "" {
		e["comment"] = r.Comment
	}
	return e
}

func (s *Sim) getHARules(c *reqCtx) (any, error) {
	out := []map[string]any{}
	for _, r := range s.st.HARules {
		if t := c.Str("type"); t != "" && r.Type != t {
			continue
		}
		if res := c.Str("resource"); res != "" && !contains(r.Resources, res) {
			continue
		}
		out = append(out, s.haRuleJSON(r))
	}
	return out, nil
}

func (s *Sim) getHARule(c *reqCtx) (any, error) {
	for _, r := range s.st.HARules {
		if r.ID == c.Str("rule") {
			return s.haRuleJSON(r), nil
		}
	}
	return nil, err500("no such ha rule '%s'", c.Str("rule"))
}

func (s *Sim) getPermissions(c *reqCtx) (any, error) {
	target := c.Principal
	if uid := c.Str("userid"); uid != "" && uid != c.Principal.full() {
		u, tok, _ := strings.Cut(uid, "!")
		own := u == c.Principal.UserID && c.Principal.TokenID == ""
		if !own && !c.Can("/access", "Sys.Audit") {
			return nil, errPerm("/access", "Sys.Audit")
		}
		if s.st.Users[u] == nil || (tok != "" && s.st.Tokens[uid] == nil) {
			return nil, err500("no such user/token '%s'", uid)
		}
		target = &principal{UserID: u, TokenID: tok}
	}
	return s.st.permissionsMap(target, c.Str("path")), nil
}
