package proxmox

import (
	"context"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Task is one entry of GET /nodes/{node}/tasks, or the answer of
// .../tasks/{upid}/status. In the list, Status is the exit text ("OK",
// "WARNINGS: 2", the error) and EndTime is 0 while running; in the status
// answer, Status is running|stopped and ExitStatus the exit text.
type Task struct {
	UPID       string `json:"upid"`
	Node       string `json:"node"`
	PID        Int    `json:"pid"`
	StartTime  Int    `json:"starttime"`
	EndTime    Int    `json:"endtime"`
	Type       string `json:"type"`
	ID         string `json:"id"`
	User       string `json:"user"`
	TokenID    string `json:"tokenid"`
	Status     string `json:"status"`
	ExitStatus string `json:"exitstatus"`
}

// TaskFilter narrows a node's task list; zero fields are not sent.
type TaskFilter struct {
	Start      int    // offset
	Limit      int    // Proxmox default 50
	TypeFilter string // exact type, e.g. vzdump, qmstart
	VMID       int
	UserFilter string
	Since      int64 // epoch on starttime
	Until      int64
	Errors     bool     // only failed tasks
	Statuses   []string // ok, warning, error, unknown
	Source     string   // archive (default), active, all
}

var (
	taskTypeRE = regexp.MustCompile(`^[a-zA-Z0-9_\-]{1,64}$`)
	userRE     = regexp.MustCompile(`^[^\x00-\x1f/?#]{1,128}$`)
)

func (f TaskFilter) query() (url.Values, error) {
	q := url.Values{}
	if f.Start > 0 {
		q.Set("start", strconv.Itoa(f.Start))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	if f.TypeFilter != "" {
		if !taskTypeRE.MatchString(f.TypeFilter) {
			return nil, invalidf("invalid task type %q", f.TypeFilter)
		}
		q.Set("typefilter", f.TypeFilter)
	}
	if f.VMID != 0 {
		if !ValidVMID(f.VMID) {
			return nil, invalidf("invalid VMID %d (must be %d..%d)", f.VMID, MinVMID, MaxVMID)
		}
		q.Set("vmid", strconv.Itoa(f.VMID))
	}
	if f.UserFilter != "" {
		if !userRE.MatchString(f.UserFilter) {
			return nil, invalidf("invalid user filter %q", f.UserFilter)
		}
		q.Set("userfilter", f.UserFilter)
	}
	if f.Since > 0 {
		q.Set("since", strconv.FormatInt(f.Since, 10))
	}
	if f.Until > 0 {
		q.Set("until", strconv.FormatInt(f.Until, 10))
	}
	if f.Errors {
		q.Set("errors", "1")
	}
	if len(f.Statuses) > 0 {
		for _, st := range f.Statuses {
			switch st {
			case "ok", "warning", "error", "unknown":
			default:
				return nil, invalidf("invalid task status filter %q (want ok, warning, error or unknown)", st)
			}
		}
		q.Set("statusfilter", strings.Join(f.Statuses, ","))
	}
	switch f.Source {
	case "", "archive":
	case "active", "all":
		q.Set("source", f.Source)
	default:
		return nil, invalidf("invalid task source %q (want archive, active or all)", f.Source)
	}
	return q, nil
}

// Tasks lists a node's tasks, newest first, and Proxmox's total of matching
// tasks (needs Sys.Audit on the node to see other users' tasks).
func (c *Client) Tasks(ctx context.Context, node string, f TaskFilter) ([]Task, int, error) {
	if err := checkNode(node); err != nil {
		return nil, 0, err
	}
	q, err := f.query()
	if err != nil {
		return nil, 0, err
	}
	env, err := c.getEnvelope(ctx, apiPath("nodes", node, "tasks"), q)
	if err != nil {
		return nil, 0, err
	}
	var out []Task
	p := withQuery(apiPath("nodes", node, "tasks"), q)
	if err := decodeInto(env.Data, &out, "GET", p); err != nil {
		return nil, 0, err
	}
	total := len(out)
	if env.Total != nil {
		total = int(*env.Total)
	}
	return out, total, nil
}

// TaskStatus reads GET /nodes/{node}/tasks/{upid}/status once: Status is
// running|stopped, ExitStatus the exit text once stopped. It has no end time
// (the node's task list has it). On error it returns the zero Task.
func (c *Client) TaskStatus(ctx context.Context, upid string) (Task, error) {
	p, err := taskPath(upid, "status")
	if err != nil {
		return Task{}, err
	}
	var t Task
	if err := c.get(ctx, p, nil, &t); err != nil {
		return Task{}, err
	}
	return t, nil
}

// TaskLogLine is one line of a task log: its 1-based number and text.
type TaskLogLine struct {
	N Int    `json:"n"`
	T string `json:"t"`
}

// TaskLog reads lines of a task log from start (0-based) on; limit 0 reads
// everything. It also returns the log's total line count.
func (c *Client) TaskLog(ctx context.Context, upid string, start, limit int) ([]TaskLogLine, int, error) {
	p, err := taskPath(upid, "log")
	if err != nil {
		return nil, 0, err
	}
	if start < 0 || limit < 0 {
		return nil, 0, invalidf("invalid task log range start=%d limit=%d", start, limit)
	}
	return c.taskLog(ctx, p, url.Values{"start": {strconv.Itoa(start)}, "limit": {strconv.Itoa(limit)}})
}

// taskLog reads a task log (p from taskPath) with query q: the lines and the
// log's total line count.
func (c *Client) taskLog(ctx context.Context, p string, q url.Values) ([]TaskLogLine, int, error) {
	env, err := c.getEnvelope(ctx, p, q)
	if err != nil {
		return nil, 0, err
	}
	var out []TaskLogLine
	if err := decodeInto(env.Data, &out, "GET", withQuery(p, q)); err != nil {
		return nil, 0, err
	}
	total := len(out)
	if env.Total != nil {
		total = int(*env.Total)
	}
	return out, total, nil
}

// UPIDNode returns the node a UPID names ("UPID:node:..."), or "".
func UPIDNode(upid string) string {
	parts := strings.Split(upid, ":")
	if len(parts) < 9 || parts[0] != "UPID" || !ValidNode(parts[1]) {
		return ""
	}
	return parts[1]
}

func taskPath(upid string, rest string) (string, error) {
	node := UPIDNode(upid)
	if node == "" {
		return "", invalidf("invalid task id %q", upid)
	}
	return apiPath("nodes", node, "tasks", upid, rest), nil
}

// TaskErrorLines reads a finished task's log and returns the lines that
// explain a failure (ERROR:, TASK ERROR:, "failed", "unable to", "error").
func (c *Client) TaskErrorLines(ctx context.Context, upid string) ([]string, error) {
	p, err := taskPath(upid, "log")
	if err != nil {
		return nil, err
	}
	// limit=0 alone reads the whole log (start defaults to 0).
	lines, _, err := c.taskLog(ctx, p, url.Values{"limit": {"0"}})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range lines {
		low := strings.ToLower(l.T)
		if strings.Contains(low, "error") || strings.Contains(low, "failed") || strings.Contains(low, "unable to") {
			out = append(out, l.T)
		}
	}
	return out, nil
}
