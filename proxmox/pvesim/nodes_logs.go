package pvesim

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

func init() { routeSetups = append(routeSetups, (*Sim).registerLogs) }

// Logs: a node's journal through GET syslog (journalctl -o short, paged,
// with a total) and GET journal (mini-journalreader: cursor lines around the
// entries), and the cluster log (pve-cluster's clusterlog of task events).
func (s *Sim) registerLogs() {
	syslogPerm := permPath("/nodes/{node}", "Sys.Syslog")
	dt := `^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?$`
	s.route("GET", "/nodes/{node}/syslog", syslogPerm, []param{pNode(), pInt("limit").opt().min(0), pInt("start").opt().min(0),
		pStr("service").opt().maxLength(128), pStr("since").opt().re(dt), pStr("until").opt().re(dt)}, s.getSyslog)
	s.route("GET", "/nodes/{node}/journal", syslogPerm, []param{pNode(), pStr("endcursor").opt(), pInt("lastentries").opt().min(0),
		pInt("since").opt().min(0), pStr("startcursor").opt(), pInt("until").opt().min(0)}, s.getJournal)
	s.route("GET", "/cluster/log", permNone(), []param{pInt("max").opt().min(1)}, s.getClusterLog)
}

// journal is a node's whole journal now: the scenario's entries plus what
// the daemons logged about tasks, oldest first.
func (s *Sim) journal(node string) []journalEntry {
	nd := s.st.diag.nodes[node]
	now := s.now()
	var out []journalEntry
	for _, e := range nd.journal {
		if !e.t.After(now) {
			out = append(out, e)
		}
	}
	out = append(out, s.taskJournal(node)...)
	sort.SliceStable(out, func(a, b int) bool { return out[a].t.Before(out[b].t) })
	return out
}

func (s *Sim) nodeLoc(node string) *time.Location {
	if loc, err := time.LoadLocation(s.st.diag.nodes[node].timezone); err == nil {
		return loc
	}
	return time.UTC
}

// short is journalctl's "short" output format (node local time).
func (e journalEntry) short(node string, loc *time.Location) string {
	id := e.ident
	if e.pid > 0 {
		id += "[" + itoa(e.pid) + "]"
	}
	return e.t.In(loc).Format("Jan 02 15:04:05") + " " + node + " " + id + ": " + e.text
}

func (e journalEntry) matchesUnit(svc string) bool {
	if svc == "postfix" {
		svc = "postfix@-" // PVE's alias for the postfix instance unit
	}
	return e.unit == svc || e.unit == svc+".service"
}

func parseLocalTime(v string, loc *time.Location) time.Time {
	for _, f := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(f, v, loc); err == nil {
			return t
		}
	}
	return time.Time{}
}

func (s *Sim) getSyslog(c *reqCtx) (any, error) {
	loc := s.nodeLoc(c.Node)
	var since, until time.Time
	if c.Has("since") {
		since = parseLocalTime(c.Str("since"), loc)
	}
	if c.Has("until") {
		until = parseLocalTime(c.Str("until"), loc)
		if len(c.Str("until")) == 10 {
			until = until.Add(24*time.Hour - time.Nanosecond)
		}
	}
	var lines []string
	for _, e := range s.journal(c.Node) {
		if (!since.IsZero() && e.t.Before(since)) || (!until.IsZero() && e.t.After(until)) {
			continue
		}
		if c.Has("service") && !e.matchesUnit(c.Str("service")) {
			continue
		}
		lines = append(lines, e.short(c.Node, loc))
	}
	start, limit := c.Int("start"), c.Int("limit")
	if !c.Has("limit") || limit == 0 {
		limit = 50
	}
	out := []map[string]any{}
	for i := start; i < len(lines) && i < start+limit; i++ {
		out = append(out, map[string]any{"n": i + 1, "t": lines[i]})
	}
	total := len(lines)
	if total == 0 {
		out = append(out, map[string]any{"n": 1, "t": "no content"})
		total = 1
	}
	c.SetTotal(total)
	return out, nil
}

var cursorIdx = regexp.MustCompile(`(?:^|;)i=([0-9a-f]+)(?:;|$)`)

func (s *Sim) cursor(node string, i int, e journalEntry) string {
	boot := sha1hex("boot:" + node)
	return fmt.Sprintf("s=%s;i=%x;b=%s;m=%x;t=%x;x=%s", sha1hex("journal:" + node)[:32], i+1, boot[:32], i*7919, e.t.UnixMicro(), sha1hex(fmt.Sprint(node, i))[:16])
}

func (s *Sim) getJournal(c *reqCtx) (any, error) {
	if c.Has("since") && c.Has("startcursor") {
		return nil, errParam1("since", "conflicts with parameter 'startcursor'")
	}
	if c.Has("until") && c.Has("endcursor") {
		return nil, errParam1("until", "conflicts with parameter 'endcursor'")
	}
	loc := s.nodeLoc(c.Node)
	all := s.journal(c.Node)
	lo, hi := 0, len(all) // [lo, hi)
	if c.Has("since") {
		t := time.Unix(c.Int64("since"), 0)
		for lo < hi && all[lo].t.Before(t) {
			lo++
		}
	}
	if c.Has("until") {
		t := time.Unix(c.Int64("until"), 0)
		for hi > lo && all[hi-1].t.After(t) {
			hi--
		}
	}
	if m := cursorIdx.FindStringSubmatch(c.Str("startcursor")); m != nil {
		n, _ := strconv.ParseInt(m[1], 16, 64)
		lo = max(lo, int(n)) // after the given entry
	}
	if m := cursorIdx.FindStringSubmatch(c.Str("endcursor")); m != nil {
		n, _ := strconv.ParseInt(m[1], 16, 64)
		hi = min(hi, int(n)-1) // before the given entry
	}
	ranged := c.Has("since") || c.Has("until") || c.Has("startcursor") || c.Has("endcursor")
	if n := c.Int("lastentries"); c.Has("lastentries") && n > 0 && hi-lo > n {
		lo = hi - n
	} else if !ranged && hi-lo > 50 {
		lo = hi - 50
	}
	out := []string{}
	if lo >= hi {
		return out, nil
	}
	out = append(out, s.cursor(c.Node, lo, all[lo]))
	for i := lo; i < hi; i++ {
		out = append(out, all[i].short(c.Node, loc))
	}
	out = append(out, s.cursor(c.Node, hi-1, all[hi-1]))
	return out, nil
}

var syslogPri = map[string]int{"crit": 2, "err": 3, "warning": 4, "notice": 5, "info": 6}

// getClusterLog lists the cluster log, newest first: pvedaemon and
// pvescheduler log every task start and end there. Without Sys.Syslog on /
// a user sees only their own entries.
func (s *Sim) getClusterLog(c *reqCtx) (any, error) {
	limit := 50
	if c.Has("max") {
		limit = c.Int("max")
	}
	all := c.Can("/", "Sys.Syslog")
	var entries []map[string]any
	for _, n := range s.st.Nodes {
		for _, e := range s.taskJournal(n.Name) {
			if !strings.HasPrefix(e.text, "<") {
				continue
			}
			user, msg, _ := strings.Cut(strings.TrimPrefix(e.text, "<"), "> ")
			if !all && user != c.User() {
				continue
			}
			uid := hash64(s.seed, "clog:"+n.Name+e.text, e.t.Unix()) & 0xffffffff
			entries = append(entries, map[string]any{"uid": uid, "time": e.t.Unix(), "pri": syslogPri[e.priority], "tag": e.ident, "pid": e.pid,
				"node": n.Name, "user": user, "msg": msg, "id": fmt.Sprintf("%08x:%08x:%08x", uid, uint32(n.ID), e.t.Unix())})
		}
	}
	sort.SliceStable(entries, func(a, b int) bool { return entries[a]["time"].(int64) > entries[b]["time"].(int64) })
	if len(entries) > limit {
		entries = entries[:limit]
	}
	if entries == nil {
		entries = []map[string]any{}
	}
	return entries, nil
}
