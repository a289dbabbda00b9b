package pvesim

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Scenario keys for what an operator diagnoses with: node services,
// pending updates, subscription, certificate, time, DNS and log lines (per
// node), replication jobs, a Ceph cluster and the firewall (top level).
// They are inlined into scNode and scenario so the YAML stays flat.

type scNodeDiag struct {
	Services     map[string]string `yaml:"services"`       // service -> running (default), dead, failed, disabled
	Updates      []scUpdate        `yaml:"updates"`        // pending updates (apt list of the last refresh)
	Subscription string            `yaml:"subscription"`   // status; default active with a level, else notfound
	CertValidFor duration          `yaml:"cert_valid_for"` // remaining validity of pve-ssl.pem (default 330d)
	Timezone     string            `yaml:"timezone"`
	DNS          *scDNS            `yaml:"dns"`
	Logs         []scLogLine       `yaml:"logs"`
	Tasks        []scTask          `yaml:"tasks"` // past tasks besides the backup history
}

// scTask is a finished task: type (qmstart, vzdump, ...), guest id, user,
// when, how long, and its exit status (default OK).
type scTask struct {
	Ago      duration `yaml:"ago"`
	Type     string   `yaml:"type"`
	ID       string   `yaml:"id"`
	User     string   `yaml:"user"`
	Duration duration `yaml:"duration"`
	Status   string   `yaml:"status"`
	Log      []string `yaml:"log"`
}

type scUpdate struct {
	Package  string `yaml:"package"`
	Old      string `yaml:"old"`
	New      string `yaml:"new"`
	Origin   string `yaml:"origin"`
	Section  string `yaml:"section"`
	Priority string `yaml:"priority"`
	Title    string `yaml:"title"`
}

type scDNS struct {
	Search  string   `yaml:"search"`
	Servers []string `yaml:"servers"`
}

// scLogLine is one journal entry: when (ago), which unit and process, the
// text; priority err/warning/info (default info).
type scLogLine struct {
	Ago      duration `yaml:"ago"`
	Ident    string   `yaml:"ident"`
	Unit     string   `yaml:"unit"`
	PID      int      `yaml:"pid"`
	Priority string   `yaml:"priority"`
	Text     string   `yaml:"text"`
}

type scDiag struct {
	Replication []scReplication `yaml:"replication"`
	Ceph        *scCeph         `yaml:"ceph"`
	Firewall    *scFirewall     `yaml:"firewall"`
}

type scReplication struct {
	Guest       int      `yaml:"guest"`
	JobNum      int      `yaml:"jobnum"`
	Target      string   `yaml:"target"`
	Schedule    string   `yaml:"schedule"`
	Rate        float64  `yaml:"rate"`
	Comment     string   `yaml:"comment"`
	Disable     bool     `yaml:"disable"`
	LastSyncAgo duration `yaml:"last_sync_ago"`
	Duration    float64  `yaml:"duration_s"`
	FailCount   int      `yaml:"fail_count"`
	Error       string   `yaml:"error"`
}

type scCeph struct {
	Health string         `yaml:"health"` // HEALTH_OK, HEALTH_WARN, HEALTH_ERR
	Checks []scCephCheck  `yaml:"checks"`
	OSDs   []scCephOSD    `yaml:"osds"`
	Pools  []scCephPool   `yaml:"pools"`
	PGs    map[string]int `yaml:"pgs"` // state -> count, e.g. active+clean: 128
}

type scCephCheck struct {
	Code     string `yaml:"code"`
	Severity string `yaml:"severity"`
	Summary  string `yaml:"summary"`
	Count    int    `yaml:"count"`
}

type scCephOSD struct {
	ID    int    `yaml:"id"`
	Node  string `yaml:"node"`
	Size  size   `yaml:"size"`
	Used  size   `yaml:"used"`
	Down  bool   `yaml:"down"`
	Out   bool   `yaml:"out"`
	Class string `yaml:"class"`
}

type scCephPool struct {
	Name    string `yaml:"name"`
	Size    int    `yaml:"size"`
	MinSize int    `yaml:"min_size"`
	PGs     int    `yaml:"pgs"`
	Used    size   `yaml:"used"`
}

type scFirewall struct {
	Enable    bool                `yaml:"enable"`
	PolicyIn  string              `yaml:"policy_in"`
	PolicyOut string              `yaml:"policy_out"`
	Rules     []scFWRule          `yaml:"rules"`
	Aliases   []scFWAlias         `yaml:"aliases"`
	IPSets    []scFWIPSet         `yaml:"ipsets"`
	Groups    []scFWGroup         `yaml:"groups"`
	Nodes     map[string]scFWHost `yaml:"nodes"`
	Guests    map[int]scFWGuest   `yaml:"guests"`
}

type scFWRule struct {
	Type    string `yaml:"type"` // in, out, forward, group
	Action  string `yaml:"action"`
	Macro   string `yaml:"macro"`
	Proto   string `yaml:"proto"`
	Source  string `yaml:"source"`
	Dest    string `yaml:"dest"`
	DPort   string `yaml:"dport"`
	SPort   string `yaml:"sport"`
	Iface   string `yaml:"iface"`
	Log     string `yaml:"log"`
	Comment string `yaml:"comment"`
	Disable bool   `yaml:"disable"`
}

type scFWAlias struct {
	Name    string `yaml:"name"`
	CIDR    string `yaml:"cidr"`
	Comment string `yaml:"comment"`
}

type scFWIPSet struct {
	Name    string   `yaml:"name"`
	CIDRs   []string `yaml:"cidrs"`
	Comment string   `yaml:"comment"`
}

type scFWGroup struct {
	Name    string     `yaml:"name"`
	Comment string     `yaml:"comment"`
	Rules   []scFWRule `yaml:"rules"`
}

type scFWHost struct {
	Enable *bool      `yaml:"enable"`
	Rules  []scFWRule `yaml:"rules"`
}

type scFWGuest struct {
	Enable    bool        `yaml:"enable"`
	PolicyIn  string      `yaml:"policy_in"`
	PolicyOut string      `yaml:"policy_out"`
	Rules     []scFWRule  `yaml:"rules"`
	Aliases   []scFWAlias `yaml:"aliases"`
	IPSets    []scFWIPSet `yaml:"ipsets"`
}

// diagState is the live model of those keys (Sim.mu guards it).
type diagState struct {
	nodes        map[string]*nodeDiag
	replication  []*replJob
	ceph         *scCeph
	fw           *scFirewall
	certValidFor map[string]time.Duration
}

type nodeDiag struct {
	services     map[string]string
	updates      []scUpdate
	subscription string
	timezone     string
	dns          scDNS
	journal      []journalEntry // oldest first
}

type journalEntry struct {
	t        time.Time
	ident    string
	unit     string
	pid      int
	priority string
	text     string
}

type replJob struct {
	scReplication
	source   string
	lastSync time.Time // zero: never synced
	lastTry  time.Time
}

func (j *replJob) id() string { return fmt.Sprintf("%d-%d", j.Guest, j.JobNum) }

var (
	reFWAction = regexp.MustCompile(`^(ACCEPT|DROP|REJECT|[A-Za-z][A-Za-z0-9\-_]+)$`)
	reReplSch  = regexp.MustCompile(`^\*/(\d+)$`)
	reTaskType = regexp.MustCompile(`^[a-z][a-z0-9]*$`)
)

func (sc *scenario) validateDiag(nodes map[string]bool, vmids map[int]bool) error {
	for i, n := range sc.Nodes {
		for svc, stv := range n.Services {
			if _, ok := serviceDescs[svc]; !ok {
				return sc.errAt(fmt.Sprintf("unknown service %q", svc), "nodes", i, "services")
			}
			switch stv {
			case "running", "dead", "failed", "disabled":
			default:
				return sc.errAt(fmt.Sprintf("service %s: invalid state %q (running, dead, failed, disabled)", svc, stv), "nodes", i, "services")
			}
		}
		switch n.Subscription {
		case "", "new", "notfound", "active", "invalid", "expired", "suspended":
		default:
			return sc.errAt(fmt.Sprintf("invalid subscription status %q", n.Subscription), "nodes", i, "subscription")
		}
		for j, u := range n.Updates {
			if u.Package == "" || u.New == "" {
				return sc.errAt("an update needs package and new", "nodes", i, "updates", j)
			}
		}
		for j, t := range n.Tasks {
			if !reTaskType.MatchString(t.Type) || t.Ago <= 0 {
				return sc.errAt("a task needs a type (e.g. qmstart) and ago", "nodes", i, "tasks", j)
			}
		}
		for j, l := range n.Logs {
			switch l.Priority {
			case "", "err", "warning", "info", "notice", "crit":
			default:
				return sc.errAt(fmt.Sprintf("invalid log priority %q (err, warning, notice, info, crit)", l.Priority), "nodes", i, "logs", j, "priority")
			}
			if l.Ident == "" || l.Text == "" {
				return sc.errAt("a log line needs ident and text", "nodes", i, "logs", j)
			}
		}
	}
	for i, r := range sc.Replication {
		if !vmids[r.Guest] {
			return sc.errAt(fmt.Sprintf("replication: no such guest %d", r.Guest), "replication", i, "guest")
		}
		if !nodes[r.Target] {
			return sc.errAt(fmt.Sprintf("replication: unknown node %q", r.Target), "replication", i, "target")
		}
		if r.Schedule != "" && !reReplSch.MatchString(r.Schedule) {
			return sc.errAt(fmt.Sprintf("replication: unsupported schedule %q (want */N minutes)", r.Schedule), "replication", i, "schedule")
		}
	}
	if c := sc.Ceph; c != nil {
		switch c.Health {
		case "HEALTH_OK", "HEALTH_WARN", "HEALTH_ERR":
		default:
			return sc.errAt(fmt.Sprintf("invalid ceph health %q", c.Health), "ceph", "health")
		}
		for j, o := range c.OSDs {
			if !nodes[o.Node] {
				return sc.errAt(fmt.Sprintf("ceph osd.%d: unknown node %q", o.ID, o.Node), "ceph", "osds", j, "node")
			}
		}
	}
	if fw := sc.Firewall; fw != nil {
		check := func(rules []scFWRule, path ...any) error {
			for j, r := range rules {
				switch r.Type {
				case "in", "out", "forward", "group":
				default:
					return sc.errAt(fmt.Sprintf("firewall rule: invalid type %q (in, out, forward, group)", r.Type), append(path, j, "type")...)
				}
				if !reFWAction.MatchString(r.Action) {
					return sc.errAt(fmt.Sprintf("firewall rule: invalid action %q", r.Action), append(path, j, "action")...)
				}
			}
			return nil
		}
		if err := check(fw.Rules, "firewall", "rules"); err != nil {
			return err
		}
		for n, h := range fw.Nodes {
			if !nodes[n] {
				return sc.errAt(fmt.Sprintf("firewall: unknown node %q", n), "firewall", "nodes")
			}
			if err := check(h.Rules, "firewall", "nodes", n, "rules"); err != nil {
				return err
			}
		}
		for id, g := range fw.Guests {
			if !vmids[id] {
				return sc.errAt(fmt.Sprintf("firewall: no such guest %d", id), "firewall", "guests")
			}
			if err := check(g.Rules, "firewall", "guests"); err != nil {
				return err
			}
		}
	}
	return nil
}

// buildDiag fills st.diag from the scenario; the journal also gets the
// lines the rest of the model implies (boots, scheduled backups and their
// errors, failing replication), so logs explain the cluster's conditions.
func (s *Sim) buildDiag(sc *scenario) {
	st := s.st
	d := &diagState{nodes: map[string]*nodeDiag{}, ceph: sc.Ceph, fw: sc.Firewall, certValidFor: map[string]time.Duration{}}
	t0 := st.T0
	for i, n := range sc.Nodes {
		nd := &nodeDiag{services: n.Services, updates: n.Updates, subscription: n.Subscription, timezone: n.Timezone}
		if nd.timezone == "" {
			nd.timezone = "Europe/Berlin"
		}
		if n.DNS != nil {
			nd.dns = *n.DNS
		} else {
			nd.dns = scDNS{Search: "localdomain", Servers: []string{"1.1.1.1", "9.9.9.9"}}
		}
		node := st.Nodes[i]
		if n.CertValidFor > 0 {
			d.certValidFor[node.Name] = time.Duration(n.CertValidFor)
		}
		nd.journal = append(nd.journal, bootJournal(node, st.Nodes)...)
		for _, l := range n.Logs {
			nd.journal = append(nd.journal, journalEntry{t: t0.Add(-time.Duration(l.Ago)), ident: l.Ident, unit: l.Unit, pid: l.PID,
				priority: l.Priority, text: l.Text})
		}
		d.nodes[node.Name] = nd
		for _, t := range n.Tasks {
			user := t.User
			if user == "" {
				user = "root@pam"
			}
			dur := time.Duration(t.Duration)
			if dur == 0 {
				dur = 2 * time.Second
			}
			status := t.Status
			if status == "" && len(t.Log) == 0 {
				status = "OK"
			}
			start := t0.Add(-time.Duration(t.Ago))
			s.tasks.AddFinished(FinishedTask{Node: node.Name, Type: t.Type, ID: t.ID, User: user, Start: start, End: start.Add(dur), Log: t.Log, Status: status})
		}
	}
	for _, r := range sc.Replication {
		g := st.guest(r.Guest)
		j := &replJob{scReplication: r, source: g.Node}
		if j.Schedule == "" {
			j.Schedule = "*/15"
		}
		every := replEvery(j.Schedule)
		if r.LastSyncAgo > 0 {
			j.lastSync = t0.Add(-time.Duration(r.LastSyncAgo))
		}
		j.lastTry = j.lastSync
		if r.FailCount > 0 {
			j.lastTry = t0.Add(-every / 2)
		}
		d.replication = append(d.replication, j)
		if nd := d.nodes[g.Node]; nd != nil && r.Error != "" {
			for k := 0; k < r.FailCount && k < 5; k++ {
				nd.journal = append(nd.journal, journalEntry{t: j.lastTry.Add(-time.Duration(k) * every), ident: "pvescheduler", unit: "pvescheduler.service",
					pid: 2000 + r.Guest, priority: "err", text: fmt.Sprintf("%s: got unexpected replication job error - %s", j.id(), r.Error)})
			}
		}
	}
	st.diag = d
}

// replEvery is the interval of a "*/N" schedule.
func replEvery(sch string) time.Duration {
	if m := reReplSch.FindStringSubmatch(sch); m != nil {
		return time.Duration(atoiDef(m[1], 15)) * time.Minute
	}
	return 15 * time.Minute
}

// bootJournal is what every PVE node logs at boot, so a journal never
// starts empty.
func bootJournal(n *Node, all []*Node) []journalEntry {
	b := n.BootTime
	ids := make([]string, len(all))
	for i, m := range all {
		ids[i] = itoa(m.ID)
	}
	l := []journalEntry{
		{t: b, ident: "kernel", text: "Linux version 6.17.2-1-pve (build@proxmox) #1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1"},
		{t: b.Add(9 * time.Second), ident: "systemd", pid: 1, text: "Started pve-cluster.service - The Proxmox VE cluster filesystem."},
		{t: b.Add(10 * time.Second), ident: "corosync", unit: "corosync.service", pid: 1180, text: "[QUORUM] Members[" + itoa(len(all)) + "]: " + strings.Join(ids, " ")},
		{t: b.Add(12 * time.Second), ident: "pvedaemon", unit: "pvedaemon.service", pid: 1290, text: "starting server"},
		{t: b.Add(13 * time.Second), ident: "pveproxy", unit: "pveproxy.service", pid: 1301, text: "starting server"},
		{t: b.Add(14 * time.Second), ident: "pve-ha-lrm", unit: "pve-ha-lrm.service", pid: 1320, text: "status change startup => wait_for_agent_lock"},
	}
	for i := range l {
		if l[i].priority == "" {
			l[i].priority = "info"
		}
	}
	return l
}

// taskJournal is what the daemons log about a node's tasks: start, the
// error lines of a vzdump run (vzdump logs through its parent's syslog
// ident) and the end with the status. pvescheduler runs the backup jobs,
// pvedaemon everything started through the API.
func (s *Sim) taskJournal(node string) []journalEntry {
	var out []journalEntry
	active, archive := s.tasks.nodeTasks(node)
	for _, tv := range append(archive, active...) {
		ident, pid := "pvedaemon", 1290+int(tv.PID%7)
		if tv.Type == "vzdump" && tv.User == "root@pam" {
			ident, pid = "pvescheduler", int(tv.PID)
		}
		unit := ident + ".service"
		out = append(out, journalEntry{t: time.Unix(tv.StartTime, 0), ident: ident, unit: unit, pid: pid, priority: "info",
			text: "<" + tv.User + "> starting task " + tv.UPID})
		if tv.Running {
			continue
		}
		end := time.Unix(tv.End, 0)
		if tv.Type == "vzdump" {
			lines, _ := s.tasks.logLines(tv.UPID)
			for _, ln := range lines {
				if strings.HasPrefix(ln, "ERROR: ") {
					out = append(out, journalEntry{t: end, ident: ident, unit: unit, pid: pid, priority: "err", text: ln})
				}
			}
		}
		pri := "info"
		switch {
		case strings.HasPrefix(tv.Status, "WARNINGS"):
			pri = "warning"
		case tv.Status != "OK":
			pri = "err"
		}
		out = append(out, journalEntry{t: end, ident: ident, unit: unit, pid: pid, priority: pri, text: "<" + tv.User + "> end task " + tv.UPID + " " + tv.Status})
	}
	return out
}
