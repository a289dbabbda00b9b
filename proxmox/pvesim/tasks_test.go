package pvesim

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Helpers shared by the task and write tests.

// wsim is a running demo simulator with an HTTP client.
type wsim struct {
	t      *testing.T
	s      *Sim
	client *http.Client
}

func newWSim(t *testing.T) *wsim {
	t.Helper()
	return newWSimOpts(t, Options{Scenario: "demo"})
}

func newWSimOpts(t *testing.T, opts Options) *wsim {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := Start(ctx, opts)
	if err != nil {
		cancel()
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		s.Close()
	})
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	t.Cleanup(tr.CloseIdleConnections)
	return &wsim{t: t, s: s, client: &http.Client{Transport: tr, Timeout: 20 * time.Second}}
}

// resp is one API answer.
type resp struct {
	Status int
	Reason string // the status line's reason phrase
	Data   json.RawMessage
	Total  *int
	Errors map[string]string
	Msg    string
}

// call sends an API request with a scenario token ("operator", "auditor", "admin", ...).
func (w *wsim) call(token, method, path string, params url.Values) resp {
	w.t.Helper()
	r, err := w.try(token, method, path, params)
	if err != nil {
		w.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// try is call without failing the test, for use from other goroutines.
func (w *wsim) try(token, method, path string, params url.Values) (resp, error) {
	u := w.s.URL() + "/api2/json" + path
	var body io.Reader
	if params != nil && method != http.MethodGet {
		body = strings.NewReader(params.Encode())
	} else if params != nil {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return resp{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		tok := w.s.Token(token)
		if tok == "" {
			return resp{}, fmt.Errorf("no token %q in the scenario", token)
		}
		req.Header.Set("Authorization", "PVEAPIToken="+tok)
	}
	res, err := w.client.Do(req)
	if err != nil {
		return resp{}, err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := resp{Status: res.StatusCode, Reason: strings.TrimPrefix(res.Status, strconv.Itoa(res.StatusCode)+" ")}
	var env struct {
		Data    json.RawMessage   `json:"data"`
		Total   *int              `json:"total"`
		Errors  map[string]string `json:"errors"`
		Message string            `json:"message"`
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &env); err != nil {
			return out, fmt.Errorf("bad JSON %q: %v", raw, err)
		}
	}
	out.Data, out.Total, out.Errors, out.Msg = env.Data, env.Total, env.Errors, env.Message
	return out, nil
}

// ok calls and fails the test unless the answer is 200; it decodes data into v when v is not nil.
func (w *wsim) ok(token, method, path string, params url.Values, v any) {
	w.t.Helper()
	r := w.call(token, method, path, params)
	if r.Status != 200 {
		w.t.Fatalf("%s %s: %d %s %v", method, path, r.Status, r.Reason, r.Errors)
	}
	if v != nil {
		if err := json.Unmarshal(r.Data, v); err != nil {
			w.t.Fatalf("%s %s: decode %s: %v", method, path, r.Data, err)
		}
	}
}

// upid calls a write and returns the UPID it answers.
func (w *wsim) upid(token, method, path string, params url.Values) string {
	w.t.Helper()
	var u string
	w.ok(token, method, path, params, &u)
	if !strings.HasPrefix(u, "UPID:") {
		w.t.Fatalf("%s %s: not a UPID: %q", method, path, u)
	}
	return u
}

// wait waits for a task and returns its exit status.
func (w *wsim) wait(upid string) string {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := w.s.WaitTask(ctx, upid); err != nil {
		w.t.Fatalf("WaitTask %s: %v", upid, err)
	}
	v, ok := w.s.tasks.get(upid)
	if !ok {
		w.t.Fatalf("task %s vanished", upid)
	}
	return v.Status
}

// logOf returns a task's log lines through the API.
func (w *wsim) logOf(node, upid string) []string {
	w.t.Helper()
	var lines []struct {
		N int    `json:"n"`
		T string `json:"t"`
	}
	w.ok("admin", "GET", "/nodes/"+node+"/tasks/"+upid+"/log", url.Values{"limit": {"0"}}, &lines)
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.T
	}
	return out
}

// guest returns a copy of a guest's model fields under the lock.
func (w *wsim) guest(vmid int) (g Guest, ok bool) {
	w.s.mu.RLock()
	defer w.s.mu.RUnlock()
	p := w.s.st.guest(vmid)
	if p == nil {
		return Guest{}, false
	}
	cp := *p
	cp.Conf = p.Conf.Clone()
	if p.Pending != nil {
		cp.Pending = p.Pending.Clone()
	}
	cp.PendingDel = map[string]bool{}
	for k, v := range p.PendingDel {
		cp.PendingDel[k] = v
	}
	return cp, true
}

func (w *wsim) expectErr(r resp, status int, reason string) {
	w.t.Helper()
	if r.Status != status || r.Reason != reason {
		w.t.Fatalf("want %d %q, got %d %q (errors %v)", status, reason, r.Status, r.Reason, r.Errors)
	}
}

func TestUPIDFormatAndDecode(t *testing.T) {
	u := encodeUPID(upidInfo{Node: "pve-node01", PID: 0x1BF3, PStart: 0x296B59, StartTime: 0x5E7E0B69, Type: "qmcreate", ID: "789", User: "pvemcp@pve!operator"})
	if u != "UPID:pve-node01:00001BF3:00296B59:5E7E0B69:qmcreate:789:pvemcp@pve!operator:" {
		t.Fatalf("encode: %s", u)
	}
	d, ok := decodeUPID(u)
	if !ok || d.Node != "pve-node01" || d.PID != 0x1BF3 || d.StartTime != 0x5E7E0B69 || d.User != "pvemcp@pve!operator" {
		t.Fatalf("decode: %+v %v", d, ok)
	}
	// A 9-digit pstart (uptime > 497 days) still decodes; a missing trailing colon does not.
	if _, ok := decodeUPID("UPID:pve:00001BF3:100296B59:5E7E0B69:qmstart:100:root@pam:"); !ok {
		t.Fatal("9-digit pstart refused")
	}
	for _, bad := range []string{"UPID:pve:1BF3:00296B59:5E7E0B69:qmstart:100:root@pam:", "UPID:pve:00001BF3:00296B59:5E7E0B69:qmstart:100:root@pam", "garbage"} {
		if _, ok := decodeUPID(bad); ok {
			t.Fatalf("accepted %q", bad)
		}
	}
}

func TestStatusNormalization(t *testing.T) {
	cases := map[string]string{"OK": "ok", "WARNINGS: 2": "warning", "job errors": "error", "unexpected status": "unknown", "": "unknown"}
	for in, want := range cases {
		if got := normalizeStatusType(in); got != want {
			t.Errorf("%q: got %s want %s", in, got, want)
		}
	}
	lines := map[string]string{"TASK OK": "OK", "TASK ERROR: VM 100 already running": "VM 100 already running", "TASK WARNINGS: 3": "WARNINGS: 3", "something": "unexpected status"}
	for in, want := range lines {
		if got := statusFromLastLine(in); got != want {
			t.Errorf("%q: got %q want %q", in, got, want)
		}
	}
}

func TestTaskStoreLifecycle(t *testing.T) {
	now := time.Unix(1760000000, 0)
	ts := newTaskStore(func() time.Time { return now }, 0)
	defer ts.close()
	release := make(chan struct{})
	upid := ts.start("pve-node01", "qmstart", "100", "pvemcp@pve!operator", func(w *worker) error {
		w.Log("first line")
		<-release
		w.Warn("something odd")
		return nil
	})
	v, _ := ts.get(upid)
	if !v.Running || v.Status != "" {
		t.Fatalf("want running, got %+v", v)
	}
	// The log grows while the task runs; the final line comes only at the end.
	waitUntil(t, func() bool { l, _ := ts.logLines(upid); return len(l) == 1 })
	if l, _ := ts.logLines(upid); l[0] != "first line" {
		t.Fatalf("running log %q", l)
	}
	active, archive := ts.nodeTasks("pve-node01")
	if len(active) != 1 || len(archive) != 0 {
		t.Fatalf("active %d archive %d", len(active), len(archive))
	}
	close(release)
	if err := ts.wait(context.Background(), upid); err != nil {
		t.Fatal(err)
	}
	v, _ = ts.get(upid)
	if v.Running || v.Status != "WARNINGS: 1" || v.End < v.StartTime {
		t.Fatalf("want stopped with warnings, got %+v", v)
	}
	lines, _ := ts.logLines(upid)
	if strings.Join(lines, "|") != "first line|WARN: something odd|TASK WARNINGS: 1" {
		t.Fatalf("log: %q", lines)
	}
	// A task stopped while it sleeps dies with "received interrupt".
	ts.setSpeed(1)
	long := ts.start("pve-node01", "qmshutdown", "100", "root@pam", func(w *worker) error { return w.Sleep(time.Hour) })
	ts.stop(long)
	if err := ts.wait(context.Background(), long); err != nil {
		t.Fatal(err)
	}
	if v, _ := ts.get(long); v.Status != "received interrupt" {
		t.Fatalf("stopped task status %q", v.Status)
	}
	// History: the status comes from the last line, or the final line from the status.
	h1 := ts.AddFinished(FinishedTask{Node: "pve-node02", Type: "vzdump", User: "root@pam", Start: now.Add(-time.Hour), End: now.Add(-50 * time.Minute), Log: []string{"INFO: x", "TASK ERROR: job errors"}})
	h2 := ts.AddFinished(FinishedTask{Node: "pve-node02", Type: "vzdump", ID: "101", Start: now.Add(-2 * time.Hour), End: now.Add(-110 * time.Minute), Log: []string{"INFO: y"}, Status: "WARNINGS: 1"})
	if v, _ := ts.get(h1); v.Status != "job errors" {
		t.Fatalf("h1 %q", v.Status)
	}
	if l, _ := ts.logLines(h2); l[len(l)-1] != "TASK WARNINGS: 1" {
		t.Fatalf("h2 log %q", l)
	}
	_, archive = ts.nodeTasks("pve-node02")
	if len(archive) != 2 || archive[0].UPID != h1 {
		t.Fatalf("archive order: %+v", archive)
	}
}

// TestTaskEndpoints covers list filters, total, status, log paging and permissions over HTTP.
func TestTaskEndpoints(t *testing.T) {
	w := newWSim(t)
	node := "pve-node01"
	// A finished task of the operator and a running one.
	w.s.SetTaskSpeed(1)
	up := w.upid("operator", "POST", "/nodes/"+node+"/qemu/100/status/reboot", nil)

	var st map[string]any
	w.ok("operator", "GET", "/nodes/"+node+"/tasks/"+up+"/status", nil, &st)
	if st["status"] != "running" || st["user"] != "pvemcp@pve" || st["tokenid"] != "operator" || st["id"] != "100" {
		t.Fatalf("running status: %v", st)
	}
	if _, has := st["exitstatus"]; has {
		t.Fatal("exitstatus while running")
	}
	if _, has := st["endtime"]; has {
		t.Fatal("status has endtime")
	}
	// A running task without output yet has the "no content" placeholder line.
	r0 := w.call("operator", "GET", "/nodes/"+node+"/tasks/"+up+"/log", nil)
	if string(r0.Data) != `[{"n":1,"t":"no content"}]` || *r0.Total != 1 {
		t.Fatalf("empty log: %s total %v", r0.Data, r0.Total)
	}
	// %-escaped UPIDs work too.
	w.ok("operator", "GET", "/nodes/"+node+"/tasks/"+strings.ReplaceAll(up, ":", "%3A")+"/status", nil, nil)

	// Active list shows it as RUNNING; the archive does not have it yet.
	var list []map[string]any
	r := w.call("operator", "GET", "/nodes/"+node+"/tasks", url.Values{"source": {"active"}})
	json.Unmarshal(r.Data, &list)
	if len(list) != 1 || list[0]["status"] != "RUNNING" || r.Total == nil || *r.Total != 1 {
		t.Fatalf("active list: %v total %v", list, r.Total)
	}
	// The owner stops it through the API.
	var null any = "x"
	w.ok("operator", "DELETE", "/nodes/"+node+"/tasks/"+up, nil, &null)
	if null != nil {
		t.Fatalf("DELETE answered %v", null)
	}
	if got := w.wait(up); got != "received interrupt" {
		t.Fatalf("stopped reboot: %q", got)
	}
	w.s.SetTaskSpeed(0)
	w.wait(w.upid("operator", "POST", "/nodes/"+node+"/qemu/100/status/reboot", nil))

	w.ok("operator", "GET", "/nodes/"+node+"/tasks/"+up+"/status", nil, &st)
	if st["status"] != "stopped" || st["exitstatus"] != "received interrupt" {
		t.Fatalf("stopped status: %v", st)
	}

	// The operator (Sys.Audit on /) sees the history too; filters narrow it; total counts all matches.
	r = w.call("operator", "GET", "/nodes/"+node+"/tasks", url.Values{"typefilter": {"qmreboot"}})
	list = nil
	json.Unmarshal(r.Data, &list)
	if len(list) != 2 || *r.Total != 2 || list[0]["status"] != "OK" {
		t.Fatalf("typefilter: %v total %d", list, *r.Total)
	}
	r = w.call("operator", "GET", "/nodes/"+node+"/tasks", url.Values{"typefilter": {"qmreboot"}, "errors": {"1"}})
	list = nil
	json.Unmarshal(r.Data, &list)
	if len(list) != 1 || list[0]["status"] != "received interrupt" {
		t.Fatalf("errors=1: %v", list)
	}
	r = w.call("operator", "GET", "/nodes/"+node+"/tasks", url.Values{"limit": {"1"}, "start": {"1"}})
	list = nil
	json.Unmarshal(r.Data, &list)
	all := *r.Total
	if len(list) != 1 || all < 3 {
		t.Fatalf("paging: %d items, total %d", len(list), all)
	}
	// since/until select on the start time.
	v, _ := w.s.tasks.get(up)
	r = w.call("operator", "GET", "/nodes/"+node+"/tasks", url.Values{"since": {strconv.FormatInt(v.StartTime, 10)}, "until": {strconv.FormatInt(v.StartTime, 10)}, "typefilter": {"qmreboot"}})
	list = nil
	json.Unmarshal(r.Data, &list)
	if len(list) < 1 {
		t.Fatalf("since/until: %v", list)
	}
	for _, it := range list {
		if int64(it["starttime"].(float64)) != v.StartTime {
			t.Fatalf("since/until let through %v", it)
		}
	}
	r = w.call("operator", "GET", "/nodes/"+node+"/tasks", url.Values{"until": {"1000"}})
	if *r.Total != 0 {
		t.Fatalf("until=1000: total %d", *r.Total)
	}
	r = w.call("operator", "GET", "/nodes/"+node+"/tasks", url.Values{"vmid": {"100"}, "userfilter": {"PVEMCP@pve"}})
	list = nil
	json.Unmarshal(r.Data, &list)
	if len(list) != 2 {
		t.Fatalf("vmid+userfilter: %v", list)
	}
	// The token id is not part of what userfilter sees in the archive.
	if r := w.call("operator", "GET", "/nodes/"+node+"/tasks", url.Values{"userfilter": {"operator"}}); *r.Total != 0 {
		t.Fatalf("userfilter on the token id matched %d", *r.Total)
	}
	for _, it := range list {
		if it["tokenid"] != "operator" || it["user"] != "pvemcp@pve" {
			t.Fatalf("token split: %v", it)
		}
	}
	r = w.call("operator", "GET", "/nodes/"+node+"/tasks", url.Values{"statusfilter": {"warning"}, "typefilter": {"vzdump"}})
	list = nil
	json.Unmarshal(r.Data, &list)
	for _, it := range list {
		if !strings.HasPrefix(it["status"].(string), "WARNINGS: ") {
			t.Fatalf("statusfilter=warning: %v", it)
		}
	}
	w.expectErr(w.call("operator", "GET", "/nodes/"+node+"/tasks", url.Values{"statusfilter": {"bogus"}}), 400, "Parameter verification failed.")

	// Log paging: start/limit, limit=0 means all, total is the line count.
	lines := w.logOf(node, up)
	if len(lines) == 0 || lines[len(lines)-1] != "TASK ERROR: received interrupt" {
		t.Fatalf("log: %q", lines)
	}
	r = w.call("operator", "GET", "/nodes/"+node+"/tasks/"+up+"/log", url.Values{"start": {"0"}, "limit": {"1"}})
	var page []map[string]any
	json.Unmarshal(r.Data, &page)
	if len(page) != 1 || page[0]["n"].(float64) != 1 || *r.Total != len(lines) {
		t.Fatalf("log page: %v total %v", page, r.Total)
	}

	// download=1 streams the log as a text attachment; it refuses start/limit.
	req, _ := http.NewRequest("GET", w.s.URL()+"/api2/json/nodes/"+node+"/tasks/"+up+"/log?download=1", nil)
	req.Header.Set("Authorization", "PVEAPIToken="+w.s.Token("operator"))
	dl, err := w.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(dl.Body)
	dl.Body.Close()
	if dl.StatusCode != 200 || !strings.HasPrefix(dl.Header.Get("Content-Type"), "text/plain") ||
		!strings.Contains(dl.Header.Get("Content-Disposition"), `filename="task-pve-node01-qmreboot-`) ||
		!strings.HasSuffix(string(body), "TASK ERROR: received interrupt\n") {
		t.Fatalf("download: %d %v %q", dl.StatusCode, dl.Header, body)
	}
	w.expectErr(w.call("operator", "GET", "/nodes/"+node+"/tasks/"+up+"/log", url.Values{"download": {"1"}, "limit": {"5"}}), 500, "'download' cannot be used together with 'start' or 'limit' parameters")

	// Bad and unknown UPIDs.
	r = w.call("operator", "GET", "/nodes/"+node+"/tasks/UPID:nope/status", nil)
	w.expectErr(r, 400, "Parameter verification failed.")
	if r.Errors["upid"] != "unable to parse worker upid" {
		t.Fatalf("errors: %v", r.Errors)
	}
	ghost := "UPID:pve-node01:00001234:00001234:5E7E0B69:qmstart:100:root@pam:"
	r = w.call("operator", "GET", "/nodes/"+node+"/tasks/"+ghost+"/status", nil)
	if r.Status != 400 || r.Errors["upid"] != "no such task" {
		t.Fatalf("ghost: %d %v", r.Status, r.Errors)
	}
	// A task lives on its node only.
	r = w.call("operator", "GET", "/nodes/pve-node02/tasks/"+up+"/status", nil)
	if r.Status != 400 || r.Errors["upid"] != "no such task" {
		t.Fatalf("other node: %d %v", r.Status, r.Errors)
	}

	// Permissions: a token without Sys.Audit on the node sees only its own tasks.
	r = w.call("prod-operator", "GET", "/nodes/"+node+"/tasks", nil)
	list = nil
	json.Unmarshal(r.Data, &list)
	if r.Status != 200 || len(list) != 0 || *r.Total != 0 {
		t.Fatalf("prod-operator list: %d %v", r.Status, list)
	}
	w.expectErr(w.call("prod-operator", "GET", "/nodes/"+node+"/tasks/"+up+"/status", nil), 403, "Permission check failed (/nodes/pve-node01, Sys.Audit)")
	w.expectErr(w.call("prod-operator", "GET", "/nodes/"+node+"/tasks/"+up+"/log", nil), 403, "Permission check failed (/nodes/pve-node01, Sys.Audit)")
	w.expectErr(w.call("operator", "DELETE", "/nodes/"+node+"/tasks/"+lastArchived(t, w, node, "vzdump"), nil), 403, "Permission check failed (/nodes/pve-node01, Sys.Modify)")

	// The cluster list: Sys.Audit on / sees all, with saved flags.
	var cl []map[string]any
	w.ok("auditor", "GET", "/cluster/tasks", nil, &cl)
	if len(cl) == 0 {
		t.Fatal("empty cluster task list")
	}
	for _, it := range cl {
		if it["saved"] != "1" && it["saved"] != "0" {
			t.Fatalf("saved: %v", it)
		}
		if _, has := it["pstart"]; has {
			t.Fatalf("cluster task has pstart: %v", it)
		}
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

func lastArchived(t *testing.T, w *wsim, node, typ string) string {
	t.Helper()
	_, archive := w.s.tasks.nodeTasks(node)
	for _, v := range archive {
		if v.Type == typ {
			return v.UPID
		}
	}
	t.Fatalf("no %s task on %s", typ, node)
	return ""
}

func TestTaskStoreClosed(t *testing.T) {
	ts := newTaskStore(time.Now, 0)
	ts.close()
	ran := false
	up := ts.start("pve-node01", "qmstart", "100", "root@pam", func(w *worker) error { ran = true; return nil })
	if err := ts.wait(context.Background(), up); err != nil {
		t.Fatal(err)
	}
	if v, _ := ts.get(up); ran || v.Running || v.Status != "received interrupt" {
		t.Fatalf("task after close: ran=%v %+v", ran, v)
	}
	ts.after(0, func() { t.Error("after ran on a closed store") })
}
