package tools

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/pvemcp/pvemcp/internal/simtest"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
)

// Tests of the health and monitoring tools against the demo simulator.

var healthToolsets = []string{ToolsetMetrics, ToolsetStorage, ToolsetHA, ToolsetBackup, ToolsetTasks, ToolsetCapacity}

func newHealthEnv(t testing.TB, token ...string) *testEnv {
	t.Helper()
	sim := simtest.Demo(t)
	who := "operator"
	if len(token) > 0 {
		who = token[0]
	}
	c := simtest.Proxmox(t, sim, who)
	logs := &syncBuffer{}
	env := &Env{Client: c, Log: zerolog.New(logs).Level(zerolog.DebugLevel)}
	return &testEnv{sim: sim, client: c, srv: NewServer(env, Select(true, healthToolsets)), logs: logs}
}

// healthCall runs a tool, fails on a tool error, checks the envelope and the
// output schema, and decodes the result into out.
func healthCall(t *testing.T, e *testEnv, tool, args string, out any) map[string]any {
	t.Helper()
	res, m := e.call(t, tool, args)
	if res.IsError {
		t.Fatalf("%s %s: tool error: %s", tool, args, res.Text)
	}
	validateOutput(t, e.srv.byName[tool], res.Structured)
	if src, _ := m["sources"].([]any); len(src) == 0 {
		t.Errorf("%s: no sources", tool)
	}
	for _, k := range []string{"alerts", "errors", "unavailable"} {
		if v, ok := m[k]; ok && len(v.([]any)) == 0 {
			t.Errorf("%s: empty %s not omitted", tool, k)
		}
	}
	if out != nil {
		if err := json.Unmarshal(res.Structured, out); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

type envelopeOut struct {
	Alerts      []Alert       `json:"alerts"`
	Errors      []ErrorEntry  `json:"errors"`
	Unavailable []Unavailable `json:"unavailable"`
}

func (e envelopeOut) alert(subject, metric string) *Alert {
	for i, a := range e.Alerts {
		if a.Subject == subject && (metric == "" || a.Metric == metric) {
			return &e.Alerts[i]
		}
	}
	return nil
}

func (e envelopeOut) errorFor(node string) bool {
	for _, x := range e.Errors {
		if x.Node == node {
			return true
		}
	}
	return false
}

// TestHealthToolsSize is the token budget: every health tool's default demo
// result stays under 8 KB of text.
func TestHealthToolsSize(t *testing.T) {
	e := newHealthEnv(t)
	for _, tc := range []struct{ tool, args string }{
		{"zfs_health", `{}`},
		{"storage_status", `{}`},
		{"backup_status", `{}`},
		{"ha_status", `{}`},
		{"capacity_report", `{}`},
		{"list_tasks", `{}`},
		{"get_metrics", `{"node":"pve-node03"}`},
		{"get_metrics", `{"vmid":103}`},
		{"get_metrics", `{"storage":"local-zfs","node":"pve-node03","timeframe":"month"}`},
	} {
		t0 := time.Now()
		res, _ := e.call(t, tc.tool, tc.args)
		if res.IsError {
			t.Errorf("%s: %s", tc.tool, res.Text)
			continue
		}
		t.Logf("%s %s: %d bytes %v", tc.tool, tc.args, len(res.Text), time.Since(t0))
		if len(res.Text) > 8192 {
			t.Errorf("%s %s: %d bytes of text, budget 8192", tc.tool, tc.args, len(res.Text))
		}
	}
}

func TestZFSHealthDemo(t *testing.T) {
	e := newHealthEnv(t)
	var out struct {
		ZFSResult
		envelopeOut
	}
	healthCall(t, e, "zfs_health", `{}`, &out)
	if len(out.Pools) < 4 || out.Counts.Pools != len(out.Pools) {
		t.Fatalf("pools %+v", out.Pools)
	}
	p := out.Pools[0]
	if p.Node != "pve-node03" || p.Pool != "rpool" || p.State != "DEGRADED" || p.Severity != "critical" {
		t.Fatalf("worst pool first: %+v", p)
	}
	if p.FragPct != 31 || p.Scrub == nil || p.Scrub.Kind != "scrub" || p.Scrub.Errors != 3 || len(p.Vdevs) == 0 {
		t.Errorf("pool figures: %+v scrub %+v", p, p.Scrub)
	}
	var faulted *ZFSMember
	for i, m := range p.Problems {
		if m.State == "FAULTED" {
			faulted = &p.Problems[i]
		}
	}
	if faulted == nil || faulted.Read != 47 || faulted.DevPath != "/dev/nvme1n1" {
		t.Errorf("faulted member: %+v", p.Problems)
	}
	failed := false
	for _, d := range p.Disks {
		if d.DevPath == "/dev/nvme1n1" && d.Health == "FAILED" && d.Severity == "critical" && d.WearoutRemainingPct != nil {
			failed = true
		}
	}
	if !failed {
		t.Errorf("member disk SMART: %+v", p.Disks)
	}
	if !strings.Contains(strings.Join(p.Guidance, " "), "`zpool status -v rpool` on pve-node03") {
		t.Errorf("guidance %v", p.Guidance)
	}
	a := out.alert("pve-node03/rpool", "")
	if a == nil || a.Severity != SeverityCritical || !strings.Contains(a.Message, "DEGRADED") {
		t.Errorf("alert %+v in %+v", a, out.Alerts)
	}
	for _, q := range out.Pools[1:] {
		if q.State != "ONLINE" || len(q.Vdevs) != 0 {
			t.Errorf("healthy pool %s/%s: state %s, vdevs shown %d", q.Node, q.Pool, q.State, len(q.Vdevs))
		}
	}
	// all vdevs on request, one pool only
	var one ZFSResult
	healthCall(t, e, "zfs_health", `{"node":"pve-node01","pool":"rpool","vdevs":"all"}`, &one)
	if len(one.Pools) != 1 || len(one.Pools[0].Vdevs) == 0 || len(one.Pools[0].Disks) != 2 {
		t.Errorf("node01 rpool: %+v", one.Pools)
	}
}

func TestHealthToolsNodeOffline(t *testing.T) {
	e := newHealthEnv(t)
	defer e.sim.ClearFaults()
	e.sim.SetFault("pve-node02", pvesim.Fault{Offline: true})
	for _, tc := range []struct{ tool, args string }{
		{"zfs_health", `{}`},
		{"storage_status", `{}`},
		{"backup_status", `{}`},
	} {
		var out envelopeOut
		healthCall(t, e, tc.tool, tc.args, &out)
		if !out.errorFor("pve-node02") {
			t.Errorf("%s: no error naming pve-node02: %+v", tc.tool, out.Errors)
		}
		res, _ := e.call(t, tc.tool, tc.args)
		if !strings.Contains(res.Text, "pve-node01") || !strings.Contains(res.Text, "pve-node03") {
			t.Errorf("%s: online nodes missing from the partial result", tc.tool)
		}
	}
	var z ZFSResult
	healthCall(t, e, "zfs_health", `{}`, &z)
	for _, p := range z.Pools {
		if p.Node == "pve-node02" {
			t.Errorf("offline node's pool reported: %+v", p)
		}
	}
}

func TestBackupStatusDemo(t *testing.T) {
	e := newHealthEnv(t)
	var out struct {
		BackupResult
		envelopeOut
	}
	healthCall(t, e, "backup_status", `{}`, &out)
	if len(out.Jobs) != 3 || out.Window.Days != 7 || out.Runs.Total == 0 || out.Window.LogsRead == 0 {
		t.Fatalf("jobs %d window %+v runs %+v", len(out.Jobs), out.Window, out.Runs)
	}
	var f *BackupFailure
	for i := range out.Failures {
		if out.Failures[i].VMID == 103 {
			f = &out.Failures[i]
		}
	}
	const exact = "vzdump: backup size 201 GB exceeds storage limit"
	if f == nil || f.Job != "backup-02" || f.Reason != exact || len(f.ErrorLines) == 0 || !strings.Contains(f.ErrorLines[0], exact) {
		t.Fatalf("VM 103 failure: %+v (all: %+v)", f, out.Failures)
	}
	if f.Name != "docker-host-01" {
		t.Errorf("failure name %q", f.Name)
	}
	a := out.alert("vm/103", "backup")
	if a == nil || !strings.Contains(a.Message, exact) {
		t.Errorf("alert for VM 103: %+v", out.Alerts)
	}
	if len(out.Uncovered) != 1 || out.Uncovered[0].VMID != 105 {
		t.Errorf("not backed up: %+v", out.Uncovered)
	}
	for _, j := range out.Jobs {
		if j.Runs == 0 || j.LastRun == nil || j.NextRun == "" || j.Selection == "" {
			t.Errorf("job %+v", j)
		}
	}
	// Weekly job's containers are not stale five days after their run.
	for _, s := range out.Stale {
		if s.VMID >= 200 && s.VMID < 300 {
			t.Errorf("weekly-backed container reported stale: %+v", s)
		}
	}
	var one struct {
		BackupResult
		envelopeOut
	}
	healthCall(t, e, "backup_status", `{"job":"backup-03","days":14,"node":"pve-node02"}`, &one)
	if len(one.Jobs) != 1 || one.Jobs[0].ID != "backup-03" || one.Jobs[0].Runs != 2 || one.Window.Days != 14 ||
		one.Runs.Total != 2 || len(one.Manual) != 0 || len(one.Failures) != 0 {
		t.Errorf("backup-03 on pve-node02 over 14 days: jobs %+v runs %+v manual %d", one.Jobs, one.Runs, len(one.Manual))
	}
	if len(one.Unavailable) == 0 {
		t.Error("node filter not stated as unavailable runs")
	}
	if res, _ := e.call(t, "backup_status", `{"job":"nope"}`); !res.IsError {
		t.Error("unknown job accepted")
	}
	// Reading every log gives the same failure and more logs.
	var all BackupResult
	healthCall(t, e, "backup_status", `{"logs":"all"}`, &all)
	if all.Window.LogsRead <= out.Window.LogsRead || all.Runs.Total != out.Runs.Total || len(all.Failures) != len(out.Failures) {
		t.Errorf("logs=all: read %d (auto %d), runs %d/%d, failures %d/%d", all.Window.LogsRead, out.Window.LogsRead,
			all.Runs.Total, out.Runs.Total, len(all.Failures), len(out.Failures))
	}
}

func TestHAStatusDemo(t *testing.T) {
	e := newHealthEnv(t)
	var out struct {
		HAResult
		envelopeOut
	}
	m := healthCall(t, e, "ha_status", `{}`, &out)
	if out.Quorum == nil || !out.Quorum.Quorate || out.Quorum.NodesOnline != 3 || out.Quorum.NodesTotal != 3 || len(out.Members) != 3 {
		t.Fatalf("quorum %+v members %+v", out.Quorum, out.Members)
	}
	if out.Manager == nil || out.Manager.Master == "" || out.Manager.State != "active" || len(out.LRMs) != 3 {
		t.Errorf("manager %+v lrms %+v", out.Manager, out.LRMs)
	}
	want := map[string]string{"vm:100": "pve-node01", "vm:101": "pve-node01", "vm:102": "pve-node02", "ct:200": "pve-node01"}
	if len(out.Resources) != len(want) || out.Counts.Total != 4 || out.Counts.Started != 4 || out.Counts.Fenced != 0 || out.Counts.Error != 0 {
		t.Fatalf("resources %+v counts %+v", out.Resources, out.Counts)
	}
	for _, r := range out.Resources {
		if want[r.SID] != r.Node || r.State != "started" || r.MaxRestart == nil || r.MaxRelocate == nil || len(r.Rules) == 0 || r.Name == "" {
			t.Errorf("resource %+v", r)
		}
	}
	if len(out.Rules) == 0 {
		t.Error("PVE 9 rules missing")
	}
	found := false
	for _, u := range out.Unavailable {
		if strings.Contains(u.What, "corosync") {
			found = true
		}
	}
	if !found {
		t.Errorf("corosync link health not listed as unavailable: %v", m["unavailable"])
	}
	// Only the state asked for.
	var st HAResult
	healthCall(t, e, "ha_status", `{"state":"error"}`, &st)
	if len(st.Resources) != 0 || st.Counts.Total != 0 {
		t.Errorf("state filter: %+v", st.Resources)
	}
}

func TestStorageForecastMatchesScenario(t *testing.T) {
	e := newHealthEnv(t)
	var out struct {
		StorageResult
		envelopeOut
	}
	healthCall(t, e, "storage_status", `{"node":"pve-node03"}`, &out)
	var zfs *StorageInfo
	for i, s := range out.Storages {
		if s.Storage == "local-zfs" {
			zfs = &out.Storages[i]
		}
		if s.Shared && len(s.Nodes) == 0 {
			t.Errorf("shared storage without nodes: %+v", s)
		}
	}
	if zfs == nil || zfs.Forecast == nil {
		t.Fatalf("local-zfs on pve-node03: %+v", out.Storages)
	}
	f := zfs.Forecast
	if f.Window != "month" || f.Points < 100 || f.WindowDays < 20 || f.DaysToThreshold <= 0 {
		t.Fatalf("forecast %+v", f)
	}
	// The scenario's truth: the storage grows 1.2 GB (decimal) per day.
	rows, err := e.client.StorageRRD(t.Context(), "pve-node03", "local-zfs", "month", "AVERAGE")
	if err != nil {
		t.Fatal(err)
	}
	last := rows[len(rows)-1]
	truth := (0.9*last.Values["total"] - last.Values["used"]) / 1.2e9
	d := (f.DaysToThreshold - truth) / truth
	t.Logf("local-zfs forecast %.1f days over %d points, truth %.1f days (%+.2f%%)", f.DaysToThreshold, f.Points, truth, 100*d)
	if d > 0.05 || d < -0.05 {
		t.Errorf("forecast %.1f days, truth %.1f days (%.1f%% off)", f.DaysToThreshold, truth, 100*d)
	}
	if g := f.GrowthGiBPerDay; g < 1.05 || g > 1.2 {
		t.Errorf("growth %.2f GiB/day, want ~1.12 (1.2 GB)", g)
	}
	// Flat storages say why there is no forecast.
	for _, s := range out.Storages {
		if s.Storage == "local" && (s.Forecast == nil || s.Forecast.None == "" || s.Forecast.DaysToThreshold != 0) {
			t.Errorf("flat storage forecast: %+v", s.Forecast)
		}
	}
	var none StorageResult
	healthCall(t, e, "storage_status", `{"forecast":"none","storage":"local-zfs"}`, &none)
	if len(none.Storages) != 3 || none.Storages[0].Forecast != nil {
		t.Errorf("local-zfs on 3 nodes without forecast: %+v", none.Storages)
	}
}

func TestFitStorageReasons(t *testing.T) {
	mk := func(slope float64) []proxmox.RRDRow {
		var rows []proxmox.RRDRow
		for i := range 48 {
			rows = append(rows, proxmox.RRDRow{Time: int64(i) * 3600, Values: map[string]float64{"total": 1000e9, "used": 500e9 + slope*float64(i)}})
		}
		return rows
	}
	if f, _ := fitStorage(mk(0), "week", 90); f.None == "" || f.DaysToThreshold != 0 {
		t.Errorf("flat: %+v", f)
	}
	if f, _ := fitStorage(mk(-1e9), "week", 90); !strings.Contains(f.None, "shrinking") {
		t.Errorf("shrinking: %+v", f)
	}
	// 1 GB per hour from 500 GB: 900 GB in 400 h minus the 47 h already elapsed.
	if f, _ := fitStorage(mk(1e9), "week", 90); f.DaysToThreshold < 14.6 || f.DaysToThreshold > 14.8 || f.Points != 48 {
		t.Errorf("growing: %+v", f)
	}
}

func TestGetMetrics(t *testing.T) {
	e := newHealthEnv(t)
	var node struct {
		MetricsResult
		envelopeOut
	}
	healthCall(t, e, "get_metrics", `{"node":"pve-node03","timeframe":"hour","points":10}`, &node)
	if node.Target.Kind != "node" || node.Samples < 50 || len(node.Points) > 10 || len(node.Points) < 5 || node.StepS != 60 {
		t.Fatalf("node metrics: kind %s samples %d points %d step %d", node.Target.Kind, node.Samples, len(node.Points), node.StepS)
	}
	mem, ok := node.Stats["mem_pct"]
	if !ok || mem.Min > mem.Avg || mem.Avg > mem.Max || mem.P95 > mem.Max || mem.Count != node.Samples {
		t.Errorf("mem_pct stats %+v", mem)
	}
	if mem.Last < 85 || node.alert("pve-node03", "mem_pct") == nil {
		t.Errorf("pve-node03 RAM should be over 85%%: %+v alerts %+v", mem, node.Alerts)
	}
	for _, p := range node.Points {
		if p["time"] == 0 || p["cpu_pct"] < 0 || p["cpu_pct"] > 100 {
			t.Errorf("point %v", p)
		}
	}
	var g MetricsResult
	healthCall(t, e, "get_metrics", `{"vmid":200,"timeframe":"day","cf":"MAX","fields":["mem_used_gib","cpu_pct"]}`, &g)
	if g.Target.Kind != "lxc" || g.Target.Node != "pve-node01" || len(g.Stats) != 2 || len(g.Points) != 24 || g.Downsampling == "" {
		t.Errorf("guest metrics: %+v stats %v points %d", g.Target, g.Stats, len(g.Points))
	}
	var s MetricsResult
	healthCall(t, e, "get_metrics", `{"storage":"nfs-backup","timeframe":"week"}`, &s)
	if s.Target.Kind != "storage" || s.Target.Node == "" || s.Stats["used_pct"].Count == 0 {
		t.Errorf("storage metrics %+v %v", s.Target, s.Stats)
	}
	for _, bad := range []string{`{}`, `{"vmid":100,"storage":"local"}`, `{"node":"pve-node01","fields":["bogus"]}`, `{"node":"pve-node01","timeframe":"decade"}`} {
		res, _ := e.call(t, "get_metrics", bad)
		if !res.IsError {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestTasksDemo(t *testing.T) {
	e := newHealthEnv(t)
	var list struct {
		ListTasksResult
		envelopeOut
	}
	healthCall(t, e, "list_tasks", `{"type":"vzdump","limit":100,"since_hours":168}`, &list)
	if list.Returned != len(list.Tasks) || list.Total < list.Returned || list.Returned < 40 {
		t.Fatalf("returned %d total %d", list.Returned, list.Total)
	}
	for i := 1; i < len(list.Tasks); i++ {
		if list.Tasks[i].Start > list.Tasks[i-1].Start {
			t.Fatal("not newest first")
		}
	}
	var failed *TaskInfo
	for i, tk := range list.Tasks {
		if tk.Status == "job errors" {
			failed = &list.Tasks[i]
		}
	}
	if failed == nil || failed.Node != "pve-node01" || list.alert("pve-node01:vzdump", "task_status") == nil {
		t.Fatalf("the failed backup-02 run: %+v", failed)
	}
	var errs ListTasksResult
	healthCall(t, e, "list_tasks", `{"status":"error","node":"pve-node01"}`, &errs)
	if len(errs.Tasks) == 0 {
		t.Fatal("no failed task with status=error")
	}
	for _, tk := range errs.Tasks {
		if tk.Status == "OK" {
			t.Errorf("status=error returned %+v", tk)
		}
	}
	var one struct {
		GetTaskResult
		envelopeOut
	}
	healthCall(t, e, "get_task", `{"upid":"`+failed.UPID+`","lines":5}`, &one)
	if one.State != "stopped" || one.OK || one.ExitStatus != "job errors" || len(one.Tail) != 5 || one.LogLines <= 5 {
		t.Fatalf("get_task: %+v", one.GetTaskResult)
	}
	if one.Task.End == "" || one.Task.DurationS <= 0 || one.Task.End != failed.End {
		t.Errorf("end time / duration: %+v (list: %+v)", one.Task, failed)
	}
	if one.Tail[4] != "TASK ERROR: job errors" || one.TailFrom != one.LogLines-4 {
		t.Errorf("tail %v from %d", one.Tail, one.TailFrom)
	}
	const exact = "ERROR: Backup of VM 103 failed - vzdump: backup size 201 GB exceeds storage limit"
	if len(one.ErrorLines) == 0 || one.ErrorLines[0].Text != exact {
		t.Errorf("error lines %+v", one.ErrorLines)
	}
	b := one.Backup
	if b == nil || b.Status != "failed" || len(b.Guests) < 2 {
		t.Fatalf("backup %+v", b)
	}
	for _, g := range b.Guests {
		if (g.VMID == 103) != (g.Status == "failed") {
			t.Errorf("guest %+v", g)
		}
	}
	res, _ := e.call(t, "get_task", `{"upid":"UPID:../../x:0:0:0:a:b:c:"}`)
	if !res.IsError {
		t.Error("bad UPID accepted")
	}
}

func TestListTasksNodeOffline(t *testing.T) {
	e := newHealthEnv(t)
	defer e.sim.ClearFaults()
	e.sim.SetFault("pve-node03", pvesim.Fault{Offline: true})
	var out struct {
		ListTasksResult
		envelopeOut
	}
	healthCall(t, e, "list_tasks", `{"limit":50}`, &out)
	if !out.errorFor("pve-node03") || len(out.Tasks) == 0 {
		t.Fatalf("errors %+v tasks %d", out.Errors, len(out.Tasks))
	}
	for _, tk := range out.Tasks {
		if tk.Node == "pve-node03" {
			t.Errorf("task of the offline node: %+v", tk)
		}
	}
	// Single-target reads of the offline node fail whole, in plain words.
	res, _ := e.call(t, "get_metrics", `{"node":"pve-node03","timeframe":"hour"}`)
	if !res.IsError || !strings.Contains(res.Text, "pve-node03") {
		t.Errorf("get_metrics of the offline node: %s", res.Text)
	}
	var ha struct {
		HAResult
		envelopeOut
	}
	healthCall(t, e, "ha_status", `{}`, &ha)
	if ha.Quorum == nil || ha.Quorum.NodesOnline != 2 || ha.alert("pve-node03", "status") == nil {
		t.Errorf("HA with node03 offline: quorum %+v alerts %+v", ha.Quorum, ha.Alerts)
	}
}

// TestGetTaskUnknownLogLines feeds get_task a vzdump log with lines no parser
// has seen (from a fake Proxmox): they are kept verbatim, never dropped or
// read as outcomes.
func TestGetTaskUnknownLogLines(t *testing.T) {
	const upid = "UPID:pve1:000B4F01:0062A100:68A5C0A0:vzdump::root@pam:"
	log := []string{
		"INFO: starting new backup job: vzdump 100 101 --storage pbs1 --mode snapshot",
		"INFO: Starting Backup of VM 100 (qemu)",
		"INFO: Backup started at 2026-11-20 01:00:02",
		"INFO: VM Name: web",
		"QUANTUM: flux capacitor recalibrated (100 VM)",
		"INFO: Finished Backup of VM 100 (00:01:10)",
		"INFO: Backup finished at 2026-11-20 01:01:12",
		"INFO: Starting Backup of VM 101 (qemu)",
		"ERROR: Backup of VM 101 failed - lost contact with the datastore",
		"INFO: Failed at 2026-11-20 01:01:40",
		"~~~ an unknown future line ~~~",
		"TASK ERROR: job errors",
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/status"):
			fmt.Fprintf(w, `{"data":{"upid":%q,"node":"pve1","type":"vzdump","id":"","user":"root@pam","starttime":1763600402,"status":"stopped","exitstatus":"job errors"}}`, upid)
		case strings.HasSuffix(r.URL.Path, "/log"):
			var rows []string
			for i, l := range log {
				b, _ := json.Marshal(l)
				rows = append(rows, fmt.Sprintf(`{"n":%d,"t":%s}`, i+1, b))
			}
			fmt.Fprintf(w, `{"data":[%s],"total":%d}`, strings.Join(rows, ","), len(log))
		default:
			http.Error(w, "no", http.StatusNotImplemented)
		}
	}))
	defer srv.Close()
	c, err := proxmox.New(proxmox.Options{Endpoints: []string{srv.URL}, Token: "root@pam!test=00000000-0000-0000-0000-000000000000",
		Fingerprint: proxmox.FingerprintOf(srv.Certificate().Raw, false)})
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(&Env{Client: c, Log: zerolog.Nop()}, Select(true, healthToolsets))
	res, err := s.Call(t.Context(), "get_task", json.RawMessage(`{"upid":"`+upid+`"}`))
	if err != nil || res.IsError {
		t.Fatalf("%v %+v", err, res)
	}
	var out GetTaskResult
	if err := json.Unmarshal(res.Structured, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Tail) != len(log) || out.Backup == nil {
		t.Fatalf("tail %d backup %+v", len(out.Tail), out.Backup)
	}
	kept := map[string]bool{}
	for _, u := range out.Backup.Unparsed {
		kept[u.Text] = true
	}
	for _, want := range []string{log[4], log[10]} {
		if !kept[want] {
			t.Errorf("unknown line %q not kept: %+v", want, out.Backup.Unparsed)
		}
	}
	if len(out.Backup.Guests) != 2 || out.Backup.Guests[0].Status != "ok" || out.Backup.Guests[1].Status != "failed" ||
		out.Backup.Guests[1].Reason != "lost contact with the datastore" {
		t.Errorf("guests %+v", out.Backup.Guests)
	}
}

// validMoves checks every suggested move against the thresholds and the
// demo's HA rules, and that no template or excluded target appears.
func validMoves(t *testing.T, out CapacityResult, noTarget ...string) {
	t.Helper()
	for _, m := range out.Moves {
		if m.ToAfter.MemUsedPct > 85 || m.ToAfter.CPUUsedPct > 90 {
			t.Errorf("move %d pushes %s over a threshold: %+v", m.Step, m.To, m.ToAfter)
		}
		if m.FromAfter.MemUsedPct > m.FromBefore.MemUsedPct {
			t.Errorf("move %d does not relieve %s: %+v -> %+v", m.Step, m.From, m.FromBefore, m.FromAfter)
		}
		for _, n := range noTarget {
			if m.To == n {
				t.Errorf("move %d targets %s", m.Step, n)
			}
		}
		for _, g := range m.Guests {
			if g.VMID == 9000 {
				t.Errorf("template moved: %+v", m)
			}
			// Demo HA rules: vm:102 prefers pve-node02 then pve-node03; the
			// ha-group1 members prefer pve-node01 then pve-node02.
			if g.VMID == 102 && m.To != "pve-node03" || (g.VMID == 100 || g.VMID == 101 || g.VMID == 200) && m.To != "pve-node02" {
				t.Errorf("move %d breaks the HA rules: %+v to %s", m.Step, g, m.To)
			}
		}
	}
	if len(out.Moves) == 0 && len(out.NoMoveReasons) == 0 {
		t.Error("no moves and no reason why")
	}
}

func TestCapacityReportDemo(t *testing.T) {
	e := newHealthEnv(t)
	var out struct {
		CapacityResult
		envelopeOut
	}
	healthCall(t, e, "capacity_report", `{}`, &out)
	if len(out.Nodes) != 3 || out.PeakBefore.MemNode != "pve-node03" || out.PeakBefore.MemPct < 85 {
		t.Fatalf("nodes %d peak %+v", len(out.Nodes), out.PeakBefore)
	}
	if a := out.alert("pve-node03", "mem_pct"); a == nil {
		t.Errorf("pve-node03 memory pressure not named: %+v", out.Alerts)
	}
	n3 := out.Nodes[2]
	if n3.Node != "pve-node03" || n3.CPUCores == 0 || n3.CPUThreads < n3.CPUCores || n3.VCPUsRunning == nil || *n3.VCPUsRunning == 0 || n3.MemAllocRunGiB == nil || *n3.MemAllocRunGiB == 0 || len(n3.Storages) == 0 {
		t.Errorf("node03 %+v", n3)
	}
	if out.OverTotal == 0 || len(out.OverProvisioned) == 0 || out.OverProvisioned[0].Samples == 0 || out.FindingsBasis == "" {
		t.Errorf("over-provisioned %d %+v", out.OverTotal, out.OverProvisioned)
	}
	validMoves(t, out.CapacityResult)
	// Every guest of pve-node03 has local disks: either a move or the reason.
	if len(out.Moves) == 0 && len(out.Blocked) == 0 {
		t.Errorf("no move and nothing blocked: %+v", out.NoMoveReasons)
	}

	var local CapacityResult
	healthCall(t, e, "capacity_report", `{"allow_local_disk_moves":true,"window":"none","guests":true}`, &local)
	if len(local.Guests) < 10 || local.Guests[0].MemAllocGiB == 0 || local.Guests[0].Samples != 0 {
		t.Errorf("guest list without history: %+v", local.Guests)
	}
	if len(local.Moves) == 0 || local.Moves[0].From != "pve-node03" || local.PeakAfter.MemPct >= local.PeakBefore.MemPct {
		t.Fatalf("local-disk moves: %+v peak %+v -> %+v %v", local.Moves, local.PeakBefore, local.PeakAfter, local.NoMoveReasons)
	}
	validMoves(t, local)
	if local.Moves[0].CostGiB == 0 || local.Apply == "" {
		t.Errorf("move cost / apply hint missing: %+v", local.Moves[0])
	}

	var ex CapacityResult
	healthCall(t, e, "capacity_report", `{"allow_local_disk_moves":true,"exclude_nodes":["pve-node02"],"max_moves":1,"window":"none"}`, &ex)
	if len(ex.Moves) > 1 {
		t.Errorf("max_moves 1: %d moves", len(ex.Moves))
	}
	validMoves(t, ex, "pve-node02")

	var ev CapacityResult
	healthCall(t, e, "capacity_report", `{"evacuate_node":"pve-node02","allow_local_disk_moves":true,"window":"none"}`, &ev)
	validMoves(t, ev, "pve-node02")
	left := map[int]bool{}
	for _, r := range []int{102, 110, 202, 203} { // pve-node02's guests in the demo
		left[r] = true
	}
	for _, m := range ev.Moves {
		for _, g := range m.Guests {
			if m.From == "pve-node02" {
				delete(left, g.VMID)
			}
		}
	}
	for _, b := range ev.Blocked {
		delete(left, b.VMID)
	}
	if len(left) > 0 {
		t.Errorf("guests neither moved off pve-node02 nor explained: %v (moves %+v, blocked %+v)", left, ev.Moves, ev.Blocked)
	}
	for _, bad := range []string{`{"evacuate_node":"pve-node02","exclude_nodes":["pve-node02"]}`, `{"exclude_nodes":["bad name"]}`, `{"evacuate_node":"pve-node09"}`} {
		if res, _ := e.call(t, "capacity_report", bad); !res.IsError {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestCapacityReportNodeOffline(t *testing.T) {
	e := newHealthEnv(t)
	defer e.sim.ClearFaults()
	e.sim.SetFault("pve-node01", pvesim.Fault{Offline: true})
	var out struct {
		CapacityResult
		envelopeOut
	}
	healthCall(t, e, "capacity_report", `{"allow_local_disk_moves":true,"window":"none"}`, &out)
	if !out.errorFor("pve-node01") {
		t.Errorf("no error naming pve-node01: %+v", out.Errors)
	}
	validMoves(t, out.CapacityResult, "pve-node01")
	for _, m := range out.Moves {
		if m.From == "pve-node01" {
			t.Errorf("guest moved off an offline node: %+v", m)
		}
	}
}

// BenchmarkCapacityReport32x1000 is the whole capacity_report call (reads,
// planning, output) on a generated 32-node, 1,000-guest cluster without RRD
// history (DESIGN §10: a plan for 1,000 guests on 32 nodes under 1 s).
func BenchmarkCapacityReport32x1000(b *testing.B) {
	e := generatedEnv(b, "nodes=32,guests=1000")
	args := json.RawMessage(`{"window":"none","allow_local_disk_moves":true}`)
	for b.Loop() {
		res, err := e.srv.Call(b.Context(), "capacity_report", args)
		if err != nil || res.IsError {
			b.Fatal(err, res.Text)
		}
	}
}

// BenchmarkCapacityReport32x1000History adds a week of RRD for every running
// guest (one call each).
func BenchmarkCapacityReport32x1000History(b *testing.B) {
	e := generatedEnv(b, "nodes=32,guests=1000")
	for b.Loop() {
		res, err := e.srv.Call(b.Context(), "capacity_report", json.RawMessage(`{}`))
		if err != nil || res.IsError {
			b.Fatal(err, res.Text)
		}
	}
}

// TestHAStatusPVE8 reads groups instead of rules on a PVE 8 cluster.
func TestHAStatusPVE8(t *testing.T) {
	e := simEnv(t, pvesim.Options{PVEVersion: 8}, healthToolsets)
	var out struct {
		HAResult
		envelopeOut
	}
	healthCall(t, e, "ha_status", `{}`, &out)
	if len(out.Groups) != 2 || len(out.Rules) != 0 || len(out.Errors) != 0 {
		t.Fatalf("groups %+v rules %+v errors %+v", out.Groups, out.Rules, out.Errors)
	}
	for _, r := range out.Resources {
		if r.Group == "" {
			t.Errorf("PVE 8 resource without its group: %+v", r)
		}
	}
	var capOut CapacityResult
	healthCall(t, e, "capacity_report", `{"window":"none","allow_local_disk_moves":true}`, &capOut)
	validMoves(t, capOut)
}

// TestHealthToolsAuditorNoSecrets runs every health tool with the read-only
// auditor token: results (or plain errors) never carry the token secret,
// nor do the logs.
func TestHealthToolsAuditorNoSecrets(t *testing.T) {
	e := newHealthEnv(t, "auditor")
	_, secret, err := proxmox.ParseToken(e.sim.Token("auditor"))
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, c := range []struct{ tool, args string }{
		{"zfs_health", `{}`}, {"storage_status", `{"forecast":"none"}`}, {"ha_status", `{}`}, {"backup_status", `{}`},
		{"list_tasks", `{}`}, {"get_metrics", `{"node":"pve-node01","timeframe":"hour"}`}, {"capacity_report", `{"window":"none"}`},
		{"get_task", `{"upid":"UPID:pve-node01:00000001:00000002:00000003:vzdump::root@pam:"}`},
	} {
		res, _ := e.call(t, c.tool, c.args)
		if res.IsError && (res.Text == "" || strings.Contains(res.Text, "panic") || strings.Contains(res.Text, "internal error")) {
			t.Errorf("%s: %s", c.tool, res.Text)
		}
		texts = append(texts, res.Text)
	}
	texts = append(texts, e.logs.String())
	for _, s := range texts {
		if strings.Contains(s, secret) {
			t.Fatalf("token secret leaked: %.200s", s)
		}
	}
}

// TestStorageForecastFastGrowth runs the demo with pve-node03's local-zfs
// growing 40 GB a day: the forecast keeps within 5% of the truth and raises
// an alert, since the threshold is then weeks away.
func TestStorageForecastFastGrowth(t *testing.T) {
	demo, err := os.ReadFile("../proxmox/pvesim/scenarios/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const from = "pve-node03: {used: 2.785TB, growth_per_day: 1.2GB}"
	if !strings.Contains(string(demo), from) {
		t.Skip("demo scenario changed: no growth line for pve-node03's local-zfs")
	}
	path := filepath.Join(t.TempDir(), "fast.yaml")
	fast := strings.Replace(string(demo), from, "pve-node03: {used: 2.785TB, growth_per_day: 20GB}", 1)
	if err := os.WriteFile(path, []byte(fast), 0o600); err != nil {
		t.Fatal(err)
	}
	e := simEnv(t, pvesim.Options{Scenario: path}, healthToolsets)
	var out struct {
		StorageResult
		envelopeOut
	}
	healthCall(t, e, "storage_status", `{"node":"pve-node03","storage":"local-zfs"}`, &out)
	if len(out.Storages) != 1 || out.Storages[0].Forecast == nil || out.Storages[0].Forecast.DaysToThreshold == 0 {
		t.Fatalf("storages %+v", out.Storages)
	}
	rows, err := e.client.StorageRRD(t.Context(), "pve-node03", "local-zfs", "month", "")
	if err != nil {
		t.Fatal(err)
	}
	last := rows[len(rows)-1]
	truth := (0.9*last.Values["total"] - last.Values["used"]) / 20e9
	got := out.Storages[0].Forecast.DaysToThreshold
	if d := (got - truth) / truth; d > 0.05 || d < -0.05 {
		t.Errorf("forecast %.1f days, truth %.1f days", got, truth)
	}
	a := out.alert("pve-node03/local-zfs", "days_to_storage_threshold")
	if a == nil || a.Value != got || !strings.Contains(a.Message, "90%") {
		t.Errorf("no forecast alert (%.1f days): %+v", got, out.Alerts)
	}
}
