package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/pvemcp/pvemcp/internal/simtest"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
)

type testEnv struct {
	sim    *pvesim.Sim
	client *proxmox.Client
	srv    *Server
	logs   *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newTestEnv(t testing.TB, token string) *testEnv {
	t.Helper()
	sim := simtest.Demo(t)
	c := simtest.Proxmox(t, sim, token)
	logs := &syncBuffer{}
	env := &Env{Client: c, Log: zerolog.New(logs).Level(zerolog.DebugLevel)}
	return &testEnv{sim: sim, client: c, srv: NewServer(env, Select(true, []string{ToolsetInventory})), logs: logs}
}

// simEnv serves the given toolsets (nil: all) against a simulator of its
// own, started with opts and read with the operator token.
func simEnv(t testing.TB, opts pvesim.Options, toolsets []string) *testEnv {
	t.Helper()
	sim := simtest.Start(t, opts)
	c, err := proxmox.New(proxmox.Options{Endpoints: []string{sim.URL()}, Token: sim.Token("operator"), Fingerprint: sim.Fingerprint()})
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{sim: sim, client: c, srv: NewServer(&Env{Client: c}, Select(true, toolsets)), logs: &syncBuffer{}}
}

func (e *testEnv) call(t testing.TB, name, args string) (*Result, map[string]any) {
	t.Helper()
	res, err := e.srv.Call(context.Background(), name, json.RawMessage(args))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if res.IsError {
		return res, nil
	}
	var m map[string]any
	if err := json.Unmarshal(res.Structured, &m); err != nil {
		t.Fatalf("%s: structured content is not an object: %v", name, err)
	}
	if res.Text != string(res.Structured) {
		t.Errorf("%s: text content differs from structured content", name)
	}
	return res, m
}

func validateOutput(t *testing.T, tool *Tool, structured json.RawMessage) {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(tool.OutputSchema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("out.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("out.json")
	if err != nil {
		t.Fatalf("%s: output schema does not compile: %v", tool.Name, err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(structured))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("%s: result does not match its output schema: %v", tool.Name, err)
	}
}

func TestInventoryToolsOnDemo(t *testing.T) {
	e := newTestEnv(t, "operator")
	cases := []struct{ tool, args string }{
		{"cluster_overview", `{}`},
		{"cluster_overview", `{"node":"pve-node03"}`},
		{"list_guests", `{}`},
		{"list_guests", `{"node":"pve-node01","status":"running","type":"qemu"}`},
		{"list_guests", `{"sort":"mem","desc":true,"limit":3}`},
		{"get_guest", `{"vmid":100}`},
		{"get_guest", `{"vmid":200,"node":"pve-node01","type":"lxc"}`},
		{"get_guest", `{"vmid":203}`},
	}
	for _, tc := range cases {
		t.Run(tc.tool+tc.args, func(t *testing.T) {
			e.sim.ResetRequests()
			res, m := e.call(t, tc.tool, tc.args)
			if res.IsError {
				t.Fatalf("tool error: %s", res.Text)
			}
			assertSourcesServed(t, e, m)
			validateOutput(t, e.srv.byName[tc.tool], res.Structured)
			if m["cluster"] != "tli-prod-cluster" {
				t.Errorf("cluster = %v", m["cluster"])
			}
			if _, ok := m["fetched_at"].(string); !ok {
				t.Error("fetched_at missing")
			}
			if src, _ := m["sources"].([]any); len(src) == 0 {
				t.Error("no sources")
			}
			for _, k := range []string{"alerts", "errors", "unavailable"} {
				if v, ok := m[k]; ok && len(v.([]any)) == 0 {
					t.Errorf("empty %s not omitted", k)
				}
			}
		})
	}
}

// assertSourcesServed checks that every call named in sources is one the
// simulator really answered, with that status, and that no call is missing.
func assertSourcesServed(t *testing.T, e *testEnv, m map[string]any) {
	t.Helper()
	served := map[string]int{}
	for _, r := range e.sim.Requests() {
		p := r.Method + " " + r.Path
		if r.Query != "" {
			p += "?" + r.Query
		}
		served[p] = r.Status
	}
	srcs, _ := m["sources"].([]any)
	named := map[string]bool{}
	for _, x := range srcs {
		s := x.(map[string]any)
		key := s["method"].(string) + " " + s["path"].(string)
		named[key] = true
		st, ok := served[key]
		if !ok {
			t.Errorf("source %s was never served (served: %v)", key, served)
		} else if float64(st) != s["status"].(float64) {
			t.Errorf("source %s has status %v, the simulator answered %d", key, s["status"], st)
		}
	}
	for k := range served {
		if !named[k] {
			t.Errorf("call %s made but not in sources", k)
		}
	}
}

func TestClusterOverviewDemo(t *testing.T) {
	e := newTestEnv(t, "operator")
	res, _ := e.call(t, "cluster_overview", `{}`)
	raw, err := e.client.Resources(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Quorum *Quorum
		Nodes  []NodeSummary
		Guests GuestCounts
		Alerts []Alert
	}
	if err := json.Unmarshal(res.Structured, &out); err != nil {
		t.Fatal(err)
	}
	if out.Quorum == nil || !out.Quorum.Quorate || out.Quorum.NodesTotal != 3 || out.Quorum.NodesOnline != 3 {
		t.Errorf("quorum %+v", out.Quorum)
	}
	if len(out.Nodes) != 3 || out.Nodes[0].Node != "pve-node01" || out.Nodes[2].Node != "pve-node03" {
		t.Fatalf("nodes %+v", out.Nodes)
	}
	for _, n := range out.Nodes {
		if n.Status != "online" || n.MemTotalGiB <= 0 || n.CPUs <= 0 || len(n.Storages) == 0 {
			t.Errorf("node %+v", n)
		}
		// Figures trace to /cluster/resources (the static ones exactly).
		for _, r := range raw {
			switch {
			case r.Type == "node" && r.Node == n.Node:
				if n.MemTotalGiB != GiB(r.MaxMem) || n.CPUs != int(r.MaxCPU) {
					t.Errorf("%s: mem_total_gib %v cpus %d, /cluster/resources gives %v %v", n.Node, n.MemTotalGiB, n.CPUs, GiB(r.MaxMem), r.MaxCPU)
				}
			case r.Type == "storage" && r.Node == n.Node && !bool(r.Shared):
				found := false
				for _, s := range n.Storages {
					if s.Storage == r.Storage && s.TotalGiB != nil && *s.TotalGiB == GiB(r.MaxDisk) {
						found = true
					}
				}
				if !found {
					t.Errorf("%s: storage %s (%v GiB) missing or different", n.Node, r.Storage, GiB(r.MaxDisk))
				}
			}
		}
	}
	if out.Guests.VMs == 0 || out.Guests.CTs == 0 {
		t.Errorf("guests %+v", out.Guests)
	}
	// The demo's pve-node03 runs hot on RAM (product description: 91%).
	found := false
	for _, a := range out.Alerts {
		if a.Subject == "pve-node03" && a.Metric == "mem_pct" {
			found = true
		}
	}
	if !found {
		t.Errorf("no RAM alert for pve-node03: %+v (node03 at %.1f%%)", out.Alerts, out.Nodes[2].MemPct)
	}
}

func rowsOf(t *testing.T, structured json.RawMessage) ([]string, []map[string]any, GuestTotals, map[string]any) {
	t.Helper()
	var out struct {
		Columns []string
		Guests  [][]any
		Totals  GuestTotals
	}
	if err := json.Unmarshal(structured, &out); err != nil {
		t.Fatal(err)
	}
	var all map[string]any
	_ = json.Unmarshal(structured, &all)
	rows := make([]map[string]any, len(out.Guests))
	for i, g := range out.Guests {
		if len(g) != len(out.Columns) {
			t.Fatalf("row %d has %d values for %d columns", i, len(g), len(out.Columns))
		}
		rows[i] = map[string]any{}
		for j, c := range out.Columns {
			rows[i][c] = g[j]
		}
	}
	return out.Columns, rows, out.Totals, all
}

func TestListGuestsFiltersTotalsPaging(t *testing.T) {
	e := newTestEnv(t, "operator")
	res, _ := e.call(t, "list_guests", `{"limit":1000}`)
	_, all, totals, _ := rowsOf(t, res.Structured)
	if totals.Matched != len(all) || totals.Running+totals.Stopped > totals.Matched || totals.Running == 0 {
		t.Fatalf("totals %+v for %d rows", totals, len(all))
	}
	// Paging walks every row exactly once, in the same order.
	var paged []map[string]any
	cursor := ""
	for page := 0; page < 100; page++ {
		args := `{"limit":4}`
		if cursor != "" {
			args = fmt.Sprintf(`{"limit":4,"cursor":%q}`, cursor)
		}
		res, m := e.call(t, "list_guests", args)
		_, rows, tt, _ := rowsOf(t, res.Structured)
		if tt != totals {
			t.Errorf("page %d totals %+v differ from %+v", page, tt, totals)
		}
		paged = append(paged, rows...)
		next, _ := m["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(paged) != len(all) {
		t.Fatalf("paging returned %d rows, want %d", len(paged), len(all))
	}
	for i := range all {
		if paged[i]["vmid"] != all[i]["vmid"] {
			t.Fatalf("row %d: paged vmid %v, want %v", i, paged[i]["vmid"], all[i]["vmid"])
		}
	}
	// Filters.
	res, _ = e.call(t, "list_guests", `{"node":"pve-node01","status":"running","type":"qemu"}`)
	_, rows, tt, _ := rowsOf(t, res.Structured)
	if len(rows) == 0 || tt.Matched != len(rows) || tt.Running != len(rows) {
		t.Errorf("filtered totals %+v for %d rows", tt, len(rows))
	}
	for _, r := range rows {
		if r["node"] != "pve-node01" || r["status"] != "running" || r["type"] != "qemu" {
			t.Errorf("row %v escaped the filter", r)
		}
	}
	// Sort by memory, descending.
	res, _ = e.call(t, "list_guests", `{"sort":"mem","desc":true}`)
	_, rows, _, _ = rowsOf(t, res.Structured)
	for i := 1; i < len(rows); i++ {
		a, _ := rows[i-1]["mem_used_gib"].(float64)
		b, _ := rows[i]["mem_used_gib"].(float64)
		if a < b {
			t.Errorf("not sorted by mem desc at %d: %v < %v", i, a, b)
		}
	}
}

// Every figure of list_guests comes from the /cluster/resources answer named
// in its sources: re-derive each row from a direct read of the same data.
func TestListGuestsFiguresTraceToSources(t *testing.T) {
	e := newTestEnv(t, "operator")
	e.sim.ResetRequests()
	res, m := e.call(t, "list_guests", `{"limit":1000}`)
	srcs := m["sources"].([]any)
	if len(srcs) != 1 {
		t.Fatalf("sources %v", srcs)
	}
	src := srcs[0].(map[string]any)
	if src["method"] != "GET" || src["path"] != "/cluster/resources" || src["status"].(float64) != 200 {
		t.Fatalf("source %v", src)
	}
	// The source is a call the simulator really answered.
	seen := false
	for _, r := range e.sim.Requests() {
		if r.Method == "GET" && r.Path == "/cluster/resources" && r.Status == 200 {
			seen = true
		}
	}
	if !seen {
		t.Fatal("the simulator never answered the call named in sources")
	}
	raw, err := e.client.Resources(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]proxmox.Resource{}
	for _, r := range raw {
		if r.IsGuest() {
			byID[int64(r.VMID)] = r
		}
	}
	_, rows, _, _ := rowsOf(t, res.Structured)
	for _, row := range rows {
		id := int64(row["vmid"].(float64))
		r, ok := byID[id]
		if !ok {
			t.Errorf("vmid %d not in /cluster/resources", id)
			continue
		}
		// Static figures must match exactly; live ones (cpu, mem, uptime)
		// move between two reads, so they must be derived the same way.
		want := map[string]any{"name": r.Name, "node": r.Node, "type": r.Type,
			"vcpus": float64(r.MaxCPU), "mem_max_gib": Compact(float64(r.MaxMem) / gib), "disk_max_gib": Compact(float64(r.MaxDisk) / gib)}
		for k, v := range want {
			if row[k] != v {
				t.Errorf("vmid %d %s = %v, /cluster/resources gives %v", id, k, row[k], v)
			}
		}
		if r.Type == "qemu" && row["disk_used_gib"] != nil {
			t.Errorf("vmid %d: disk_used_gib %v for a VM (Proxmox does not see inside VMs)", id, row["disk_used_gib"])
		}
		if row["status"] == "stopped" && (row["mem_used_gib"].(float64) != 0 || row["uptime_h"].(float64) != 0) {
			t.Errorf("vmid %d: stopped guest with usage %v", id, row)
		}
	}
}

func TestListGuestsNodeOffline(t *testing.T) {
	e := newTestEnv(t, "operator")
	defer e.sim.ClearFaults()
	e.sim.SetFault("pve-node03", pvesim.Fault{Offline: true})
	res, m := e.call(t, "list_guests", `{"limit":1000}`)
	if res.IsError {
		t.Fatalf("whole failure instead of a partial result: %s", res.Text)
	}
	_, rows, totals, _ := rowsOf(t, res.Structured)
	nodes := map[string]int{}
	for _, r := range rows {
		nodes[r["node"].(string)]++
		if r["node"] == "pve-node03" && (r["status"] != "unknown" || r["mem_used_gib"] != nil || r["cpu_pct"] != nil) {
			t.Errorf("offline node's guest shown with live figures: %v", r)
		}
	}
	if nodes["pve-node01"] == 0 || nodes["pve-node02"] == 0 {
		t.Errorf("guests of the online nodes missing: %v", nodes)
	}
	errs, _ := m["errors"].([]any)
	named := false
	for _, x := range errs {
		if e := x.(map[string]any); e["node"] == "pve-node03" && e["kind"] == "node_unreachable" {
			named = true
		}
	}
	if !named {
		t.Errorf("no node_unreachable error entry naming pve-node03: %v", m["errors"])
	}
	if !strings.Contains(res.Text, "pve-node03") || !strings.Contains(res.Text, "partial result") {
		t.Errorf("text does not say the result is partial: %s", res.Text)
	}
	if totals.Running == 0 {
		t.Errorf("totals %+v", totals)
	}
	// The same holds for the overview: node03 reported as not online, with an alert.
	res, _ = e.call(t, "cluster_overview", `{}`)
	if res.IsError || !strings.Contains(res.Text, `"subject":"pve-node03","metric":"status"`) {
		t.Errorf("overview with node03 offline: %s", res.Text)
	}
}

func TestGetGuestDetails(t *testing.T) {
	e := newTestEnv(t, "operator")
	res, _ := e.call(t, "get_guest", `{"vmid":100}`)
	if res.IsError {
		t.Fatal(res.Text)
	}
	var g GetGuestResult
	if err := json.Unmarshal(res.Structured, &g); err != nil {
		t.Fatal(err)
	}
	if g.VMID != 100 || g.Node == "" || g.Type != "qemu" || g.Config == nil || g.ConfigDigest == "" || g.HA == nil {
		t.Errorf("guest %+v", g)
	}
	// Figures trace to the config call: compare with a direct read.
	cfg, err := e.client.GuestConfig(context.Background(), g.Node, proxmox.TypeQemu, 100)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range cfg.Values {
		if g.Config[k] != v {
			t.Errorf("config %s = %q, Proxmox says %q", k, g.Config[k], v)
		}
	}
	if !strings.Contains(res.Text, `"/nodes/`+g.Node+`/qemu/100/config"`) {
		t.Errorf("config call not in sources")
	}
	if strings.Contains(res.Text, "cipassword") && !strings.Contains(res.Text, `"cipassword":"[redacted]"`) {
		t.Errorf("cipassword not redacted")
	}
}

func TestBadArgumentsNeverReachProxmox(t *testing.T) {
	e := newTestEnv(t, "operator")
	cases := []struct{ tool, args, want string }{
		{"get_guest", `{"vmid":"100"}`, `argument "vmid": must be an integer`},
		{"get_guest", `{"vmid":-1}`, `argument "vmid": must be between 100 and 999999999`},
		{"get_guest", `{"vmid":1000000000000}`, `argument "vmid": must be between 100 and 999999999`},
		{"get_guest", `{"vmid":1e12}`, `argument "vmid"`},
		{"get_guest", `{"vmid":100.5}`, `argument "vmid": must be an integer`},
		{"get_guest", `{}`, `argument "vmid": is required`},
		{"get_guest", `{"vmid":100,"node":"../../access"}`, `argument "node": "../../access" is not a valid node name`},
		{"get_guest", `{"vmid":100,"node":"pve-node01/../../access"}`, `argument "node"`},
		{"get_guest", `{"vmid":100,"type":"docker"}`, `argument "type": must be one of qemu, lxc`},
		{"get_guest", `{"vmid":100,"extra":1}`, `argument "extra": unknown argument`},
		{"list_guests", `{"limit":0}`, `argument "limit": must be between 1 and 1000`},
		{"list_guests", `{"node":"%2e%2e"}`, `argument "node"`},
		{"list_guests", `{"status":true}`, `argument "status": must be a string`},
		{"list_guests", `{"cursor":"bogus"}`, `argument "cursor"`},
		{"list_guests", `[1,2]`, `arguments must be a JSON object`},
		{"list_guests", `{"limit":5`, `not valid JSON`},
		{"cluster_overview", `{"node":"a b"}`, `argument "node"`},
	}
	for _, tc := range cases {
		t.Run(tc.tool+tc.args, func(t *testing.T) {
			e.sim.ResetRequests()
			res, _ := e.call(t, tc.tool, tc.args)
			if !res.IsError {
				t.Fatalf("accepted: %s", res.Text)
			}
			if !strings.Contains(res.Text, tc.want) {
				t.Errorf("message %q lacks %q", res.Text, tc.want)
			}
			if n := len(e.sim.Requests()); n != 0 {
				t.Errorf("%d requests reached Proxmox", n)
			}
		})
	}
}

func TestSecretsNeverInResultsOrLogs(t *testing.T) {
	for _, who := range []string{"operator", "auditor"} {
		e := newTestEnv(t, who)
		_, secret, err := proxmox.ParseToken(e.sim.Token(who))
		if err != nil {
			t.Fatal(err)
		}
		var texts []string
		for _, c := range []struct{ tool, args string }{
			{"cluster_overview", `{}`}, {"list_guests", `{}`}, {"get_guest", `{"vmid":100}`},
			{"get_guest", `{"vmid":999}`}, {"get_guest", `{"vmid":"x"}`},
		} {
			res, _ := e.call(t, c.tool, c.args)
			texts = append(texts, res.Text, string(res.Structured))
		}
		texts = append(texts, e.logs.String())
		for _, s := range texts {
			if strings.Contains(s, secret) {
				t.Fatalf("%s token secret leaked: %.200s", who, s)
			}
		}
	}
}

func TestRejectedTokenIsPlainError(t *testing.T) {
	e := newTestEnv(t, "operator")
	c, err := proxmox.New(proxmox.Options{Endpoints: []string{e.sim.URL()}, Token: "pvemcp@pve!operator=wrong-secret", Fingerprint: e.sim.Fingerprint()})
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(&Env{Client: c}, Select(true, nil))
	res, err := srv.Call(context.Background(), "list_guests", nil)
	if err != nil || !res.IsError {
		t.Fatalf("got %+v %v", res, err)
	}
	if !strings.Contains(res.Text, "Proxmox rejected the API token (pvemcp@pve!operator)") || strings.Contains(res.Text, "wrong-secret") {
		t.Errorf("message %q", res.Text)
	}
}

// Simulator faults end in plain messages that name what failed.
func TestFaultsGivePlainErrors(t *testing.T) {
	e := newTestEnv(t, "operator")
	defer e.sim.ClearFaults()
	cases := []struct {
		fault pvesim.Fault
		want  string
	}{
		{pvesim.Fault{HTMLPage: true}, "not a Proxmox API answer (HTML from a proxy?)"},
		{pvesim.Fault{MalformedJSON: true}, "not a Proxmox API answer (malformed JSON)"},
		{pvesim.Fault{RevokedToken: "pvemcp@pve!operator"}, "Proxmox rejected the API token (pvemcp@pve!operator)"},
		{pvesim.Fault{ErrorRate: 1}, "Proxmox answered 500"},
	}
	for _, tc := range cases {
		e.sim.ClearFaults()
		e.sim.SetFault("pve-node01", tc.fault)
		for _, call := range []struct{ tool, args string }{{"list_guests", `{}`}, {"cluster_overview", `{}`}, {"get_guest", `{"vmid":102}`}} {
			res, _ := e.call(t, call.tool, call.args)
			if !res.IsError || !strings.Contains(res.Text, tc.want) || !strings.Contains(res.Text, "(GET /cluster/") {
				t.Errorf("%+v %s: %q lacks %q", tc.fault, call.tool, res.Text, tc.want)
			}
		}
	}
}

func TestInsecureClusterWarnsInEveryResult(t *testing.T) {
	e := newTestEnv(t, "auditor")
	c, err := proxmox.New(proxmox.Options{Endpoints: []string{e.sim.URL()}, Token: e.sim.Token("auditor"), Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(&Env{Client: c}, Select(true, []string{ToolsetInventory}))
	res, err := srv.Call(context.Background(), "list_guests", nil)
	if err != nil || res.IsError || !strings.Contains(res.Text, `"metric":"tls"`) {
		t.Fatalf("no TLS warning: %v %.300s", err, res.Text)
	}
}

func TestSeveralClustersRouteByArgument(t *testing.T) {
	e := newTestEnv(t, "auditor")
	clients := map[string]*proxmox.Client{}
	for _, n := range []string{"prod", "lab"} {
		c, err := proxmox.New(proxmox.Options{Name: n, Endpoints: []string{e.sim.URL()}, Token: e.sim.Token("auditor"), Fingerprint: e.sim.Fingerprint()})
		if err != nil {
			t.Fatal(err)
		}
		clients[n] = c
	}
	env := &Env{Client: clients["prod"], ClusterNames: []string{"prod", "lab"},
		Cluster: func(n string) (*proxmox.Client, error) { return clients[n], nil }}
	srv := NewServer(env, Select(true, []string{ToolsetInventory}))
	tool := srv.byName["list_guests"]
	if in := string(srv.InputSchema(tool)); !strings.Contains(in, `"cluster":{"type":"string","description":"cluster to ask (default prod)","enum":["prod","lab"]}`) {
		t.Errorf("input schema: %s", in)
	}
	if strings.Contains(string(tool.InputSchema), "cluster") {
		t.Error("the snapshot schema changed")
	}
	for args, want := range map[string]string{`{"cluster":"lab","type":"lxc"}`: `"cluster":"lab"`, `{"type":"lxc"}`: `"cluster":"prod"`} {
		res, err := srv.Call(context.Background(), "list_guests", json.RawMessage(args))
		if err != nil || res.IsError || !strings.HasPrefix(res.Text, "{"+want) {
			t.Errorf("%s: %v %.100s", args, err, res.Text)
		}
	}
	e.sim.ResetRequests()
	for _, args := range []string{`{"cluster":"nope"}`, `{"cluster":1}`} {
		res, _ := srv.Call(context.Background(), "list_guests", json.RawMessage(args))
		if !res.IsError || !strings.Contains(res.Text, `argument "cluster"`) {
			t.Errorf("%s: %s", args, res.Text)
		}
	}
	if n := len(e.sim.Requests()); n != 0 {
		t.Errorf("%d requests for invalid cluster arguments", n)
	}
}
