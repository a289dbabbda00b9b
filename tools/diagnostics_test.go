package tools

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/pvemcp/pvemcp/internal/simtest"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
)

// The questions of issue "Diagnostics", answered from the demo's own data.

// newDiagEnv serves the diagnostics and storage tools on the shared demo
// simulator with the given token (operator by default).
func newDiagEnv(t testing.TB, token ...string) *testEnv {
	t.Helper()
	sim := simtest.Demo(t)
	who := "operator"
	if len(token) > 0 {
		who = token[0]
	}
	c := simtest.Proxmox(t, sim, who)
	logs := &syncBuffer{}
	env := &Env{Client: c, Log: zerolog.New(logs).Level(zerolog.DebugLevel)}
	return &testEnv{sim: sim, client: c, srv: NewServer(env, Select(true, []string{ToolsetDiagnostics, ToolsetStorage})), logs: logs}
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

// Are my nodes up to date? When does the node certificate expire? Which
// service is down?
func TestNodeHealthDemo(t *testing.T) {
	e := newDiagEnv(t, "admin")
	var out struct {
		NodeHealthResult
		envelopeOut
	}
	healthCall(t, e, "node_health", `{}`, &out)
	if len(out.Nodes) != 3 {
		t.Fatalf("nodes: %+v", out.Nodes)
	}
	by := map[string]NodeHealth{}
	for _, n := range out.Nodes {
		by[n.Node] = n
	}
	n1, n2, n3 := by["pve-node01"], by["pve-node02"], by["pve-node03"]
	if n1.Updates == nil || n1.Updates.Pending == nil || *n1.Updates.Pending != 4 || n1.Updates.PVEPending != 2 {
		t.Errorf("pve-node01 updates: %+v", n1.Updates)
	}
	if n3.Updates == nil || n3.Updates.Pending == nil || *n3.Updates.Pending != 0 || n3.Updates.Note == "" {
		t.Errorf("pve-node03 updates (never refreshed): %+v", n3.Updates)
	}
	var mgr *PackageVer
	for i, p := range n1.Updates.PVEVersions {
		if p.Package == "pve-manager" {
			mgr = &n1.Updates.PVEVersions[i]
		}
	}
	if mgr == nil || mgr.Version != "9.1.6" || mgr.Candidate != "9.1.7" {
		t.Errorf("pve-manager on pve-node01: %+v", mgr)
	}
	if n1.Services == nil || len(n1.Services.NotRunning) != 1 || n1.Services.NotRunning[0].Service != "postfix" || n1.Services.NotRunning[0].ActiveState != "failed" {
		t.Errorf("pve-node01 services: %+v", n1.Services)
	}
	if a := out.alert("pve-node01/postfix", "service_state"); a == nil || a.Severity != SeverityWarning {
		t.Errorf("no warning for postfix: %+v", out.Alerts)
	}
	var ssl *CertExpiry
	for i, c := range n2.Certificates {
		if c.File == "pve-ssl.pem" {
			ssl = &n2.Certificates[i]
		}
	}
	if ssl == nil || ssl.DaysLeft < 20 || ssl.DaysLeft > 21 {
		t.Errorf("pve-node02 pve-ssl.pem: %+v", n2.Certificates)
	}
	if a := out.alert("pve-node02/pve-ssl.pem", "cert_days_left"); a == nil || a.Severity != SeverityWarning || a.Threshold != 30 {
		t.Errorf("no certificate alert for pve-node02: %+v", out.Alerts)
	}
	if out.alert("pve-node01/pve-ssl.pem", "") != nil {
		t.Error("pve-node01's certificate (330 days) alerted")
	}
	if n1.Subscription == nil || n1.Subscription.Status != "notfound" {
		t.Errorf("subscription: %+v", n1.Subscription)
	}
	if n1.Time == nil || n1.Time.Timezone != "Europe/Berlin" || n1.DNS == nil || len(n1.DNS.Servers) != 2 || n1.Network == nil || len(n1.Network.Bridges) != 1 {
		t.Errorf("time/dns/network: %+v %+v %+v", n1.Time, n1.DNS, n1.Network)
	}
	secu := false
	for _, u := range out.Unavailable {
		secu = secu || u.What == "security updates"
	}
	if !secu {
		t.Errorf("security updates not reported unavailable: %+v", out.Unavailable)
	}

	// The operator token lacks Sys.Modify: the full list is refused, named
	// once, and the PVE packages still show from apt/versions.
	op := newDiagEnv(t)
	var o2 struct {
		NodeHealthResult
		envelopeOut
	}
	healthCall(t, op, "node_health", `{"node":"pve-node01","sections":["updates"]}`, &o2)
	if len(o2.Errors) != 1 || !strings.Contains(o2.Errors[0].Message, "Sys.Modify") {
		t.Errorf("errors: %+v", o2.Errors)
	}
	if u := o2.Nodes[0].Updates; u == nil || u.Pending != nil || u.PVEPending != 2 || !strings.Contains(u.Note, "Sys.Modify") {
		t.Errorf("updates with the operator token: %+v", u)
	}
	if o2.Nodes[0].Services != nil {
		t.Error("services read though not asked for")
	}
	res, _ := op.call(t, "node_health", `{"sections":["nope"]}`)
	if !res.IsError || !strings.Contains(res.Text, "sections") {
		t.Errorf("bad section: %s", res.Text)
	}
}

// Is replication failing?
func TestReplicationStatusDemo(t *testing.T) {
	e := newDiagEnv(t)
	var out struct {
		ReplicationResult
		envelopeOut
	}
	healthCall(t, e, "replication_status", `{}`, &out)
	if out.Counts.Jobs != 6 || out.Counts.Failing != 1 || out.Counts.OK != 5 || len(out.Jobs) != 6 {
		t.Fatalf("counts %+v jobs %+v", out.Counts, out.Jobs)
	}
	f := out.Jobs[0]
	if f.ID != "104-0" || f.State != "failing" || f.FailCount != 4 || f.Source != "pve-node03" || f.Target != "pve-node02" ||
		!strings.Contains(f.Error, "failed: exit code 255") || f.LastSyncAge < 139 || f.LastSyncAge > 141 {
		t.Errorf("failing job: %+v", f)
	}
	if a := out.alert("replication/104-0", "fail_count"); a == nil || a.Severity != SeverityCritical {
		t.Errorf("no critical alert for 104-0: %+v", out.Alerts)
	}
	var ok ReplJob
	for _, j := range out.Jobs {
		if j.ID == "102-0" {
			ok = j
		}
	}
	if ok.ID != "102-0" || ok.State != "ok" || ok.Guest != "db-postgres-01" || ok.NextSync == "" || ok.Target != "pve-node01" {
		t.Errorf("ok job: %+v", ok)
	}
	out.Jobs = nil
	healthCall(t, e, "replication_status", `{"failed":true}`, &out)
	if len(out.Jobs) != 1 || out.Jobs[0].ID != "104-0" {
		t.Errorf("failed only: %+v", out.Jobs)
	}
	out.Jobs = nil
	healthCall(t, e, "replication_status", `{"vmid":102}`, &out)
	if len(out.Jobs) != 2 || out.Jobs[0].ID != "102-0" || out.Jobs[1].ID != "102-1" {
		t.Errorf("vmid 102: %+v", out.Jobs)
	}
}

// Is Ceph healthy? On the demo there is no Ceph; on a generated cluster
// with Ceph one OSD is down.
func TestCephHealth(t *testing.T) {
	e := newDiagEnv(t)
	var out struct {
		CephResult
		envelopeOut
	}
	healthCall(t, e, "ceph_health", `{}`, &out)
	if out.Installed || len(out.Unavailable) != 1 || !strings.Contains(out.Unavailable[0].Why, "binary not installed: /usr/bin/ceph-mon") {
		t.Errorf("demo: %+v", out)
	}
	g := simEnv(t, pvesim.Options{Generate: "nodes=4,guests=20,ceph=1", Listen: "127.0.0.1:0"}, []string{ToolsetDiagnostics})
	var c struct {
		CephResult
		envelopeOut
	}
	healthCall(t, g, "ceph_health", `{}`, &c)
	if !c.Installed || c.Health != "HEALTH_WARN" || c.OSDs == nil || c.OSDs.Total != 12 || c.OSDs.Up != 11 || c.OSDs.In != 11 ||
		len(c.OSDs.Problems) != 1 || c.OSDs.Problems[0].Name != "osd.11" || c.OSDs.Problems[0].Host != "pve04" {
		t.Errorf("ceph: %+v osds %+v", c.CephResult, c.OSDs)
	}
	codes := map[string]bool{}
	for _, ck := range c.Checks {
		codes[ck.Code] = ck.Message != ""
	}
	if !codes["OSD_DOWN"] || !codes["PG_DEGRADED"] || c.alert("ceph", "OSD_DOWN") == nil {
		t.Errorf("checks %+v alerts %+v", c.Checks, c.Alerts)
	}
	if len(c.Pools) != 2 || c.Usage == nil || c.Usage.UsedPct <= 0 || c.PGs == nil || c.PGs.ByState["active+undersized+degraded"] == 0 {
		t.Errorf("pools %+v usage %+v pgs %+v", c.Pools, c.Usage, c.PGs)
	}
}

// Is port 22 open to VM 101?
func TestFirewallPortQuestion(t *testing.T) {
	e := newDiagEnv(t)
	check := func(args, verdict string, from ...string) *FWGuestOut {
		t.Helper()
		var out struct {
			FirewallResult
			envelopeOut
		}
		healthCall(t, e, "firewall_status", args, &out)
		if len(out.Guests) != 1 || out.Guests[0].Port == nil {
			t.Fatalf("%s: guests %+v", args, out.Guests)
		}
		g := out.Guests[0]
		if g.Port.Verdict != verdict || strings.Join(g.Port.From, ",") != strings.Join(from, ",") {
			t.Errorf("%s: %+v", args, g.Port)
		}
		if !out.Cluster.Enabled || out.Cluster.PolicyIn != "DROP" || len(out.IPSets) != 1 || strings.Join(out.IPSets[0].CIDRs, ",") != "10.10.30.0/24,10.10.10.5" {
			t.Errorf("datacenter %+v ipsets %+v", out.Cluster, out.IPSets)
		}
		return &g
	}
	g := check(`{"vmid":101,"port":22}`, "restricted", "+admins")
	if strings.Join(g.NICs, ",") != "net0" || len(g.Port.Rules) != 2 || !strings.Contains(g.Port.Reason, "only from +admins") {
		t.Errorf("VM 101 port 22: %+v", g)
	}
	check(`{"vmid":101,"port":443}`, "open")
	check(`{"vmid":101,"port":3306}`, "closed")
	check(`{"vmid":102,"port":5432}`, "restricted", "app-server")
	check(`{"vmid":112,"port":22}`, "unfiltered")           // firewall option off
	check(`{"vmid":104,"port":22}`, "unfiltered")           // no firewall config, no NIC flag
	check(`{"vmid":200,"port":53,"proto":"udp"}`, "closed") // DROP policy
	res, _ := e.call(t, "firewall_status", `{"vmid":999999}`)
	if !res.IsError || !strings.Contains(res.Text, "999999") {
		t.Errorf("unknown guest: %s", res.Text)
	}
}

// Which ISOs and templates can I install from?
func TestStorageContentDemo(t *testing.T) {
	e := newDiagEnv(t)
	var out struct {
		StorageContentResult
		envelopeOut
	}
	healthCall(t, e, "storage_content", `{"content":"iso"}`, &out)
	isos := map[string]bool{}
	for _, v := range out.Volumes {
		isos[v.VolID] = true
		if v.Content != "iso" {
			t.Errorf("non-ISO listed: %+v", v)
		}
	}
	if !isos["local:iso/ubuntu-22.04.4-live-server-amd64.iso"] || !isos["local:iso/virtio-win-0.1.262.iso"] || out.Total != len(out.Volumes) {
		t.Errorf("ISOs: %+v", out.Volumes)
	}
	out.Volumes = nil
	healthCall(t, e, "storage_content", `{"content":"vztmpl","node":"pve-node01","available_templates":true}`, &out)
	tmpl := map[string]bool{}
	for _, v := range out.Volumes {
		tmpl[v.VolID] = v.Node == "pve-node01"
	}
	if !tmpl["local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"] || !tmpl["local:vztmpl/ubuntu-22.04-standard_22.04-1_amd64.tar.zst"] {
		t.Errorf("templates on pve-node01: %+v", out.Volumes)
	}
	avail := map[string]bool{}
	for _, a := range out.Templates {
		avail[a.Template] = a.OS != ""
	}
	if !avail["debian-13-standard_13.1-2_amd64.tar.zst"] || len(out.Templates) < 5 {
		t.Errorf("available templates: %+v", out.Templates)
	}
	// Backups of VM 103 on the shared storages are listed once.
	out.Volumes = nil
	healthCall(t, e, "storage_content", `{"content":"backup","vmid":103,"limit":150}`, &out)
	seen := map[string]bool{}
	for _, v := range out.Volumes {
		if v.VMID != 103 || v.Node != "" || seen[v.VolID] {
			t.Errorf("backup entry: %+v", v)
		}
		seen[v.VolID] = true
	}
	if out.Total == 0 || out.ByContent["backup"] != out.Total {
		t.Errorf("backups of 103: total %d by %+v", out.Total, out.ByContent)
	}
	res, _ := e.call(t, "storage_content", `{"storage":"no-such"}`)
	if !res.IsError || !strings.Contains(res.Text, "no-such") {
		t.Errorf("unknown storage: %s", res.Text)
	}
}

// TestDiagnosticsSizeGenerated: every diagnostics tool's default answer on
// the 64-node / 10,000-guest generator (with Ceph) stays within 48 KB.
func TestDiagnosticsSizeGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("generator cluster")
	}
	e := simEnv(t, pvesim.Options{Generate: "nodes=64,guests=10000,ceph=1", Listen: "127.0.0.1:0"}, []string{ToolsetDiagnostics, ToolsetStorage})
	for _, tc := range []struct{ tool, args string }{
		{"node_logs", `{}`},
		{"node_logs", `{"cluster_log":true,"limit":500}`},
		{"node_health", `{}`},
		{"replication_status", `{}`},
		{"ceph_health", `{}`},
		{"firewall_status", `{}`},
		{"firewall_status", `{"port":22}`},
		{"storage_content", `{}`},
		{"storage_content", `{"limit":150,"available_templates":true}`},
	} {
		res, err := e.srv.Call(context.Background(), tc.tool, json.RawMessage(tc.args))
		if err != nil || res.IsError {
			t.Errorf("%s %s: %v %s", tc.tool, tc.args, err, res.Text)
			continue
		}
		t.Logf("%s %s: %d bytes", tc.tool, tc.args, len(res.Text))
		if len(res.Text) > 48<<10 {
			t.Errorf("%s %s: %d bytes, budget %d", tc.tool, tc.args, len(res.Text), 48<<10)
		}
	}
}
