package tools

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/pvemcp/pvemcp/analyze"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/toolkit"
)

func init() {
	toolkit.Register(toolkit.New(toolkit.Meta{
		Name:  "node_logs",
		Title: "Node logs",
		Description: "Syslog/journal of one node or all nodes between two times, by service, with a case-insensitive regular " +
			"expression filter; error and warning lines are counted and listed first, then the most recent lines (capped); " +
			"optionally the cluster log (task starts and ends of every node).",
		Toolset: toolkit.ToolsetDiagnostics,
		Hints:   &toolkit.ReadHints,
		Needs:   []toolkit.Need{{Priv: "Sys.Syslog", Path: "/nodes"}, {Priv: "Sys.Audit", Path: "/nodes"}},
	}, nodeLogs))
}

// NodeLogsArgs selects the lines.
type NodeLogsArgs struct {
	Node       string `json:"node,omitempty" pve:"node" description:"only this node (default: every online node)"`
	Since      string `json:"since,omitempty" description:"RFC 3339 start (default: hours before now)"`
	Until      string `json:"until,omitempty" description:"RFC 3339 end (default: now)"`
	Hours      int    `json:"hours,omitempty" minimum:"1" maximum:"720" default:"24" description:"window length when since is not given"`
	Service    string `json:"service,omitempty" pattern:"^[A-Za-z0-9@._-]{1,128}$" description:"only this systemd unit, e.g. pveproxy, pvescheduler, corosync, zfs-zed"`
	Grep       string `json:"grep,omitempty" maxLength:"200" description:"keep only lines matching this regular expression (case-insensitive), e.g. 'vm 104|qmeventd'"`
	Limit      int    `json:"limit,omitempty" minimum:"1" maximum:"500" default:"50" description:"maximum lines returned in total (problem lines and recent lines each)"`
	ClusterLog bool   `json:"cluster_log,omitempty" description:"also read the cluster log (/cluster/log)"`
}

// Validate checks the times and the expression.
func (a NodeLogsArgs) Validate() error {
	for k, v := range map[string]string{"since": a.Since, "until": a.Until} {
		if v != "" {
			if _, err := time.Parse(time.RFC3339, v); err != nil {
				return fmt.Errorf("%s: not an RFC 3339 time (e.g. 2026-02-23T01:00:00Z): %q", k, v)
			}
		}
	}
	if a.Grep != "" {
		if _, err := regexp.Compile("(?i)" + a.Grep); err != nil {
			return fmt.Errorf("grep: invalid regular expression: %v", err)
		}
	}
	return nil
}

// NodeLogsResult holds the lines, problems first.
type NodeLogsResult struct {
	Since      string        `json:"since"`
	Until      string        `json:"until"`
	Problems   []LogLine     `json:"problems" description:"error and warning lines of all nodes, newest first (capped by limit)"`
	Nodes      []NodeLogInfo `json:"nodes"`
	ClusterLog []ClusterLog  `json:"cluster_log,omitempty"`
	Note       string        `json:"note,omitempty"`
}

// LogLine is one classified line.
type LogLine struct {
	Node  string `json:"node"`
	Level string `json:"level,omitempty" description:"error or warning, judged from the text (the API gives no priority)"`
	Line  string `json:"line" description:"as the node logged it (node local time)"`
}

// NodeLogInfo counts one node's lines in the window.
type NodeLogInfo struct {
	Node      string   `json:"node"`
	Timezone  string   `json:"timezone,omitempty"`
	Total     int      `json:"total_lines" description:"lines in the window (and service), before grep"`
	Scanned   int      `json:"scanned" description:"lines read and filtered (the newest ones when the window holds more than the scan cap)"`
	Matched   int      `json:"matched"`
	Errors    int      `json:"errors"`
	Warnings  int      `json:"warnings"`
	Recent    []string `json:"recent,omitempty" description:"the most recent matching lines, oldest first"`
	Truncated bool     `json:"truncated,omitempty" description:"more lines than shown"`
}

// ClusterLog is a cluster log entry.
type ClusterLog struct {
	Time  string `json:"time"`
	Node  string `json:"node"`
	User  string `json:"user,omitempty"`
	Tag   string `json:"tag"`
	Level string `json:"level,omitempty"`
	Msg   string `json:"msg"`
}

// logScanCap bounds the lines read per node: the newest ones are scanned.
const logScanCap = 5000

type nodeLogRead struct {
	info  NodeLogInfo
	lines []string // matched, oldest first
}

func nodeLogs(ctx context.Context, args NodeLogsArgs) (NodeLogsResult, error) {
	c, err := toolkit.Client(ctx)
	if err != nil {
		return NodeLogsResult{}, err
	}
	limit := args.Limit
	if limit == 0 {
		limit = 50
	}
	now := toolkit.EnvFrom(ctx).Time()
	until := now
	if args.Until != "" {
		until, _ = time.Parse(time.RFC3339, args.Until)
	}
	hours := args.Hours
	if hours == 0 {
		hours = 24
	}
	since := until.Add(-time.Duration(hours) * time.Hour)
	if args.Since != "" {
		since, _ = time.Parse(time.RFC3339, args.Since)
	}
	if !since.Before(until) {
		return NodeLogsResult{}, fmt.Errorf("since (%s) must be before until (%s)", since.Format(time.RFC3339), until.Format(time.RFC3339))
	}
	var grep *regexp.Regexp
	if args.Grep != "" {
		grep = regexp.MustCompile("(?i)" + args.Grep)
	}
	nodes, err := onlineNodes(ctx, c, args.Node, "logs")
	if err != nil {
		return NodeLogsResult{}, err
	}
	res := proxmox.ForEachNode(ctx, c, nodes, func(ctx context.Context, n string) (*nodeLogRead, error) {
		return readNodeLog(ctx, c, n, since, until, args.Service, grep)
	})
	out := NodeLogsResult{Since: since.UTC().Format(time.RFC3339), Until: until.UTC().Format(time.RFC3339), Problems: []LogLine{}, Nodes: []NodeLogInfo{}}
	per := limit
	if len(nodes) > 1 {
		per = max(1, limit/len(nodes))
	}
	for _, r := range res {
		if r.Err != nil {
			toolkit.AddErr(ctx, r.Node, r.Err)
			continue
		}
		nl := r.Value
		for i := len(nl.lines) - 1; i >= 0; i-- {
			if lv := analyze.LogLevel(nl.lines[i]); lv != "" {
				out.Problems = append(out.Problems, LogLine{Node: r.Node, Level: lv, Line: nl.lines[i]})
			}
		}
		if len(nl.lines) > per {
			nl.info.Truncated = true
			nl.lines = nl.lines[len(nl.lines)-per:]
		}
		nl.info.Recent = nl.lines
		out.Nodes = append(out.Nodes, nl.info)
	}
	// Newest first across nodes: lines carry node-local "Mon DD HH:MM:SS"
	// stamps, so keep each node's order and interleave errors before warnings.
	sort.SliceStable(out.Problems, func(i, j int) bool {
		return out.Problems[i].Level == "error" && out.Problems[j].Level != "error"
	})
	if len(out.Problems) > limit {
		out.Note = fmt.Sprintf("%d problem lines, the first %d shown (errors first, newest first per node); narrow with node, service, grep or the time window", len(out.Problems), limit)
		out.Problems = out.Problems[:limit]
	}
	if args.ClusterLog {
		out.ClusterLog = readClusterLog(ctx, c, limit, since, until, grep)
	}
	return out, nil
}

func readNodeLog(ctx context.Context, c *proxmox.Client, node string, since, until time.Time, service string, grep *regexp.Regexp) (*nodeLogRead, error) {
	// syslog takes node-local times: learn the node's offset first.
	nt, err := c.Time(ctx, node)
	off := time.Duration(0)
	info := NodeLogInfo{Node: node}
	if err != nil {
		toolkit.AddUnavailable(ctx, node+" time zone", "GET /nodes/"+node+"/time failed, the window is taken as UTC: "+err.Error())
	} else {
		off = time.Duration(int64(nt.LocalTime)-int64(nt.Time)) * time.Second
		info.Timezone = nt.Timezone
	}
	local := func(t time.Time) string { return t.UTC().Add(off).Format("2006-01-02 15:04:05") }
	q := proxmox.SyslogQuery{Since: local(since), Until: local(until), Service: service, Limit: logScanCap}
	lines, total, err := c.Syslog(ctx, node, q)
	if err != nil {
		return nil, err
	}
	if total > logScanCap {
		q.Start = total - logScanCap
		if lines, total, err = c.Syslog(ctx, node, q); err != nil {
			return nil, err
		}
	}
	info.Total = total
	if total == 1 && len(lines) == 1 && lines[0].T == "no content" {
		info.Total, lines = 0, nil
	}
	info.Scanned = len(lines)
	out := &nodeLogRead{}
	for _, l := range lines {
		if grep != nil && !grep.MatchString(l.T) {
			continue
		}
		out.lines = append(out.lines, l.T)
		switch analyze.LogLevel(l.T) {
		case "error":
			info.Errors++
		case "warning":
			info.Warnings++
		}
	}
	info.Matched = len(out.lines)
	out.info = info
	return out, nil
}

func readClusterLog(ctx context.Context, c *proxmox.Client, limit int, since, until time.Time, grep *regexp.Regexp) []ClusterLog {
	entries, err := c.ClusterLog(ctx, 1000)
	if err != nil {
		toolkit.AddErr(ctx, "", err)
		return nil
	}
	out := []ClusterLog{}
	for _, e := range entries {
		t := time.Unix(int64(e.Time), 0)
		if t.Before(since) || t.After(until) {
			continue
		}
		if grep != nil && !grep.MatchString(e.Msg) && !grep.MatchString(e.Node) {
			continue
		}
		lv := analyze.LogLevel(e.Msg)
		out = append(out, ClusterLog{Time: t.UTC().Format(time.RFC3339), Node: e.Node, User: e.User, Tag: e.Tag, Level: lv, Msg: strings.TrimSpace(e.Msg)})
		if len(out) >= limit {
			break
		}
	}
	return out
}
