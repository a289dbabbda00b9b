package tools

import (
	"strings"
	"testing"
)

func init() {
	declareArgs("node_logs", testArgs{demo: fixed{`{"hours":300,"cluster_log":true}`}})
}

func hasLine(lines []LogLine, level string, parts ...string) bool {
	for _, l := range lines {
		if level != "" && l.Level != level {
			continue
		}
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l.Line, p)
		}
		if ok {
			return true
		}
	}
	return false
}

// Why did the backup of VM 103 fail? Its error is in pve-node01's syslog.
func TestNodeLogsFailedBackup(t *testing.T) {
	e := newDiagEnv(t)
	var out struct {
		NodeLogsResult
		envelopeOut
	}
	healthCall(t, e, "node_logs", `{"hours":200,"grep":"VM 103","service":"pvescheduler"}`, &out)
	if !hasLine(out.Problems, "error", "pve-node01 pvescheduler[", "ERROR: Backup of VM 103 failed - vzdump: backup size 201 GB exceeds storage limit") {
		t.Errorf("the failed backup of VM 103 is not among the problems: %+v", out.Problems)
	}
	for _, n := range out.Nodes {
		if n.Node == "pve-node01" && (n.Errors != 1 || n.Matched != 1 || n.Total == 0 || n.Timezone != "Europe/Berlin") {
			t.Errorf("pve-node01 counts: %+v", n)
		}
		if n.Node != "pve-node01" && n.Matched != 0 {
			t.Errorf("%s matched %d lines about VM 103", n.Node, n.Matched)
		}
	}
	// The mail about it never left: postfix died on pve-node01.
	out = struct {
		NodeLogsResult
		envelopeOut
	}{}
	healthCall(t, e, "node_logs", `{"node":"pve-node01","hours":240,"service":"postfix"}`, &out)
	if !hasLine(out.Problems, "error", "postfix/master[1402]: fatal: bind 0.0.0.0 port 25") {
		t.Errorf("postfix's failure is not in its unit's log: %+v", out.Problems)
	}
}

// Why is rpool on pve-node03 degraded, and why did VM 112 restart? The
// journal holds the read errors and the OOM kill.
func TestNodeLogsDegradedPoolAndOOM(t *testing.T) {
	e := newDiagEnv(t)
	var out struct {
		NodeLogsResult
		envelopeOut
	}
	healthCall(t, e, "node_logs", `{"node":"pve-node03","hours":300,"grep":"S64HNE0R803002|nvme1"}`, &out)
	for _, want := range [][]string{
		{"kernel: zio pool=rpool", "error=5"},
		{"zed[2211]", "vdev_state=FAULTED"},
		{"nvme nvme1: I/O tag", "timeout"},
	} {
		if !hasLine(out.Problems, "", want...) {
			t.Errorf("no problem line with %q: %+v", want, out.Problems)
		}
	}
	if len(out.Nodes) != 1 || out.Nodes[0].Errors < 3 {
		t.Errorf("pve-node03 counts: %+v", out.Nodes)
	}
	// The cluster log shows every node's tasks only with Sys.Syslog on /.
	out = struct {
		NodeLogsResult
		envelopeOut
	}{}
	healthCall(t, newDiagEnv(t, "admin"), "node_logs", `{"node":"pve-node03","hours":72,"grep":"112|Out of memory","cluster_log":true}`, &out)
	if !hasLine(out.Problems, "error", "Out of memory: Killed process 48213 (kvm)") {
		t.Errorf("the OOM kill is not among the problems: %+v", out.Problems)
	}
	recent := strings.Join(out.Nodes[0].Recent, "\n")
	for _, want := range []string{"qmeventd[1066]: Starting cleanup for 112", "starting task UPID:pve-node03:", ":qmstart:112:root@pam:"} {
		if !strings.Contains(recent, want) {
			t.Errorf("recent lines lack %q:\n%s", want, recent)
		}
	}
	found := false
	for _, cl := range out.ClusterLog {
		found = found || (cl.Node == "pve-node03" && strings.Contains(cl.Msg, ":qmstart:112:") && cl.User == "root@pam")
	}
	if !found {
		t.Errorf("the cluster log lacks the qmstart of VM 112: %+v", out.ClusterLog)
	}
}

func TestNodeLogsBadInput(t *testing.T) {
	e := newDiagEnv(t)
	for _, tc := range []struct{ args, names string }{
		{`{"grep":"("}`, "grep"},
		{`{"since":"yesterday"}`, "since"},
		{`{"since":"2026-02-23T10:00:00Z","until":"2026-02-22T10:00:00Z"}`, "since"},
		{`{"node":"../x"}`, "node"},
		{`{"service":"a b"}`, "service"},
		{`{"limit":0}`, "limit"},
	} {
		res, _ := e.call(t, "node_logs", tc.args)
		if !res.IsError || !strings.Contains(res.Text, tc.names) {
			t.Errorf("node_logs %s: want an error naming %s, got %s", tc.args, tc.names, res.Text)
		}
	}
}
