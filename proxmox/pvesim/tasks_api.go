package pvesim

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// The task endpoints of pve-manager's API2/Tasks.pm and Cluster.pm (tasks).

func init() { routeSetups = append(routeSetups, (*Sim).registerTaskRoutes) }

// WaitTask blocks until the task ends (whatever its exit status) or ctx is done. For tests.
func (s *Sim) WaitTask(ctx context.Context, upid string) error { return s.tasks.wait(ctx, upid) }

// SetTaskSpeed changes how long tasks take from now on: 1 realistic, 0 instant, 0.1 ten times faster.
func (s *Sim) SetTaskSpeed(factor float64) { s.tasks.setSpeed(factor) }

func (s *Sim) registerTaskRoutes() {
	pUPID := pStr("upid")
	s.route("GET", "/nodes/{node}/tasks", permNone(), []param{
		pNode(),
		pInt("start").opt().min(0).def("0"),
		pInt("limit").opt().min(0).def("50"),
		pStr("userfilter").opt(),
		pStr("typefilter").opt(),
		pVMID().opt(),
		pBool("errors").opt().def("0"),
		pStr("source").opt().enum("archive", "active", "all").def("archive"),
		pInt("since").opt(),
		pInt("until").opt(),
		pStr("statusfilter").opt().fmt("pve-task-status-type-list"),
	}, s.hNodeTasks)
	s.route("GET", "/nodes/{node}/tasks/{upid}", permNone(), []param{pNode(), pUPID}, s.hTaskIndex)
	s.route("DELETE", "/nodes/{node}/tasks/{upid}", permNone(), []param{pNode(), pUPID}, s.hTaskStop)
	s.route("GET", "/nodes/{node}/tasks/{upid}/status", permNone(), []param{pNode(), pUPID}, s.hTaskStatus)
	s.route("GET", "/nodes/{node}/tasks/{upid}/log", permNone(), []param{
		pNode(), pUPID,
		pInt("start").opt().min(0).def("0"),
		pInt("limit").opt().min(0).def("50"),
		pBool("download").opt(),
	}, s.hTaskLog)
	s.route("GET", "/cluster/tasks", permNone(), nil, s.hClusterTasks)
}

// ownsTask is Tasks.pm's check_task_user: a token sees only its own tasks, a user also its tokens' tasks.
func ownsTask(caller, taskUser string) bool {
	if caller == taskUser {
		return true
	}
	u, tok := splitTokenUser(taskUser)
	return tok != "" && caller == u
}

// taskItem renders a task the way the index lines decode (pid/pstart numbers, id string, token split).
func taskItem(v taskView, splitToken bool) map[string]any {
	m := map[string]any{
		"upid": v.UPID, "node": v.Node, "pid": v.PID, "pstart": v.PStart,
		"starttime": v.StartTime, "type": v.Type, "id": v.ID, "user": v.User,
	}
	if splitToken {
		if u, tok := splitTokenUser(v.User); tok != "" {
			m["user"], m["tokenid"] = u, tok
		}
	}
	if !v.Running {
		m["endtime"] = v.End
		m["status"] = v.Status
	}
	return m
}

func (s *Sim) hNodeTasks(c *reqCtx) (any, error) {
	node := c.Node
	user := c.User()
	start, limit := c.Int("start"), c.Int("limit")
	errorsOnly := c.Bool("errors")
	source := c.Str("source")
	statusf := map[string]bool{"ok": true, "warning": true, "error": true, "unknown": true}
	if c.Has("statusfilter") {
		list := splitList(c.Str("statusfilter"))
		for _, v := range list {
			switch strings.ToLower(v) {
			case "ok", "warning", "error", "unknown":
			default:
				return nil, errParam1("statusfilter", fmt.Sprintf("invalid format - invalid status '%s'\n", v))
			}
		}
		if !errorsOnly {
			statusf = map[string]bool{}
			for _, v := range list {
				statusf[strings.ToLower(v)] = true
			}
		}
	}
	if errorsOnly {
		statusf["ok"] = false
	}
	auditor := c.Can("/nodes/"+node, "Sys.Audit")
	userf := strings.ToLower(c.Str("userfilter"))
	var since, until *int64
	if c.Has("since") {
		v := c.Int64("since")
		since = &v
	}
	if c.Has("until") {
		v := c.Int64("until")
		until = &v
	}
	count := 0
	// filtered reports whether the task is left out; it counts matches like Tasks.pm's filter_task.
	// Archived entries are matched after their token id is split off (user "pvemcp@pve"), active ones
	// with the full "user@realm!tokenid", as Tasks.pm does.
	filtered := func(v taskView, status string, split bool) bool {
		u := v.User
		if split {
			u, _ = splitTokenUser(v.User)
		}
		if userf != "" && !strings.Contains(strings.ToLower(u), userf) {
			return true
		}
		if !auditor && !(ownsTask(user, v.User) && (split || user == v.User)) {
			return true
		}
		if c.Has("typefilter") && c.Str("typefilter") != "" && v.Type != c.Str("typefilter") {
			return true
		}
		if c.Has("vmid") && c.Str("vmid") != "" && (v.ID == "" || v.ID != c.Str("vmid")) {
			return true
		}
		if since != nil && v.StartTime < *since {
			return true
		}
		if until != nil && v.StartTime > *until {
			return true
		}
		if !statusf[normalizeStatusType(status)] {
			return true
		}
		count++
		if count-1 < start {
			return true
		}
		return limit <= 0
	}
	active, archive := s.tasks.nodeTasks(node)
	res := []map[string]any{}
	if source == "active" || source == "all" {
		for _, v := range active {
			if filtered(v, "", false) {
				continue
			}
			// Entries of the active file are not token-split and carry their saved flag.
			m := taskItem(v, false)
			m["status"] = "RUNNING"
			m["saved"] = "0"
			res = append(res, m)
			limit--
		}
	}
	if source != "active" {
		for _, v := range archive {
			if filtered(v, v.Status, true) {
				continue
			}
			res = append(res, taskItem(v, true))
			limit--
		}
	}
	c.SetTotal(count)
	return res, nil
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\n' || r == 0 })
}

func (s *Sim) hTaskIndex(c *reqCtx) (any, error) {
	return []map[string]string{{"name": "log"}, {"name": "status"}}, nil
}

// lookupTask decodes the path's UPID and finds it on the path's node, with Tasks.pm's 400s.
func (s *Sim) lookupTask(c *reqCtx) (taskView, error) {
	upid := c.Str("upid")
	if _, ok := decodeUPID(upid); !ok {
		return taskView{}, errParam1("upid", "unable to parse worker upid")
	}
	v, ok := s.tasks.get(upid)
	if !ok || v.Node != c.Node {
		return taskView{}, errParam1("upid", "no such task")
	}
	return v, nil
}

func (s *Sim) hTaskStatus(c *reqCtx) (any, error) {
	v, err := s.lookupTask(c)
	if err != nil {
		return nil, err
	}
	if !ownsTask(c.User(), v.User) {
		if err := c.Check("/nodes/"+c.Node, "Sys.Audit"); err != nil {
			return nil, err
		}
	}
	m := taskItem(v, true)
	delete(m, "endtime")
	delete(m, "status")
	if v.Running {
		m["status"] = "running"
	} else {
		m["status"] = "stopped"
		m["exitstatus"] = v.Status
	}
	return m, nil
}

func (s *Sim) hTaskLog(c *reqCtx) (any, error) {
	upid := c.Str("upid")
	info, ok := decodeUPID(upid)
	if !ok {
		return nil, errParam1("upid", "unable to parse worker upid")
	}
	if !ownsTask(c.User(), info.User) {
		if err := c.Check("/nodes/"+c.Node, "Sys.Audit"); err != nil {
			return nil, err
		}
	}
	var lines []string
	v, found := s.tasks.get(upid)
	if c.Bool("download") {
		if c.r.URL.Query().Has("start") || c.r.URL.Query().Has("limit") {
			return nil, err500("'download' cannot be used together with 'start' or 'limit' parameters")
		}
		if !found || v.Node != c.Node {
			return nil, err500("Could not open file '%s' - No such file or directory", taskLogPath(upid, info))
		}
		lines, _ = s.tasks.logLines(upid)
		var b strings.Builder
		for _, l := range lines {
			b.WriteString(l)
			b.WriteByte('\n')
		}
		name := fmt.Sprintf("task-%s-%s-%s.log", v.Node, v.Type, time.Unix(v.StartTime, 0).UTC().Format("2006-01-02T15:04:05Z"))
		return logDownload{name: name, body: []byte(b.String())}, nil
	}
	if found && v.Node == c.Node {
		lines, _ = s.tasks.logLines(upid)
	} else {
		// dump_logfile on a missing file.
		c.SetTotal(1)
		return []map[string]any{{"n": 1, "t": "unable to open file - No such file or directory"}}, nil
	}
	start, limit := c.Int("start"), c.Int("limit")
	all := limit == 0
	out := []map[string]any{}
	count := 0
	for _, l := range lines {
		count++
		if count-1 < start {
			continue
		}
		if !all {
			if limit <= 0 {
				continue
			}
			limit--
		}
		out = append(out, map[string]any{"n": count, "t": l})
	}
	if count == 0 {
		count = 1
		out = append(out, map[string]any{"n": 1, "t": "no content"})
	}
	c.SetTotal(count)
	return out, nil
}

// logDownload is the text/plain attachment of a task log (download=1).
type logDownload struct {
	name string
	body []byte
}

func (d logDownload) rawResponse() (string, string, []byte) {
	return "text/plain", `attachment; filename="` + d.name + `"`, d.body
}

// taskLogPath is where Proxmox keeps a task's log: a subdirectory named after the last hex digit of the
// start time.
func taskLogPath(upid string, info upidInfo) string {
	return fmt.Sprintf("/var/log/pve/tasks/%X/%s", info.StartTime&0xf, upid)
}

func (s *Sim) hTaskStop(c *reqCtx) (any, error) {
	v, err := s.lookupTask(c)
	if err != nil {
		return nil, err
	}
	if !ownsTask(c.User(), v.User) {
		if err := c.Check("/nodes/"+c.Node, "Sys.Modify"); err != nil {
			return nil, err
		}
	}
	s.tasks.stop(v.UPID)
	return nil, nil
}

// maxFinishedBroadcast is RESTEnvironment::active_workers' MAX_FINISHED: each node broadcasts its running
// tasks plus the most recent finished ones, up to this many in all.
const maxFinishedBroadcast = 25

func (s *Sim) hClusterTasks(c *reqCtx) (any, error) {
	all := c.Can("/", "Sys.Audit")
	user := c.User()
	var out []map[string]any
	for _, node := range s.clusterNodeNames() {
		active, archive := s.tasks.nodeTasks(node)
		list := make([]taskView, 0, len(active)+maxFinishedBroadcast)
		list = append(list, active...)
		for _, v := range archive {
			if len(list) >= maxFinishedBroadcast {
				break
			}
			list = append(list, v)
		}
		for _, v := range list {
			m := taskItem(v, true)
			delete(m, "pstart")
			if v.Running {
				m["saved"] = "0"
			} else {
				delete(m, "pid")
				m["saved"] = "1"
			}
			// Cluster.pm compares the split user with the full caller: a token sees none of its tasks
			// without Sys.Audit on /.
			if all || m["user"] == user {
				out = append(out, m)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		return out[i]["starttime"].(int64) > out[j]["starttime"].(int64)
	})
	if out == nil {
		out = []map[string]any{}
	}
	return out, nil
}

// clusterNodeNames lists the nodes whose tasks are known. Caller holds s.mu (read).
func (s *Sim) clusterNodeNames() []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range s.st.Nodes {
		if !seen[n.Name] {
			seen[n.Name] = true
			out = append(out, n.Name)
		}
	}
	for _, n := range s.tasks.nodesWithTasks() {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}
