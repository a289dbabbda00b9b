package tools

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/pvemcp/pvemcp/internal/simtest"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
	"github.com/pvemcp/pvemcp/toolkit"
)

// Partial results when one *online* node's endpoint fails: the tools that
// fan out over nodes must name the failure under "errors", keep every other
// node's data exactly as it is without the fault, and show no figure for the
// part that failed. (An offline node is caught earlier, from
// /cluster/resources; these faults hit nodes the cluster reports online.)

// faultKinds are the ways an online node's endpoint misbehaves.
var faultKinds = []struct {
	name  string
	fault pvesim.Fault
}{
	{"error status", pvesim.Fault{ErrorRate: 1}},
	{"malformed JSON", pvesim.Fault{MalformedJSON: true}},
	{"hang", pvesim.Fault{Hang: true}},
	{"html page", pvesim.Fault{HTMLPage: true}},
}

// partialTimeout bounds each API call so a hanging endpoint fails the call
// (the default is 15 s). Healthy calls to the loopback simulator take
// milliseconds, but a month of RRD rows under -race on a loaded two-core
// machine, with other packages' tests running beside, took more than 10 s:
// 20 s leaves room (the hang cases wait it out, two at a time).
const partialTimeout = 20 * time.Second

func newPartialEnv(t *testing.T) *testEnv {
	t.Helper()
	sim := simtest.Demo(t)
	c, err := proxmox.New(proxmox.Options{
		Name: sim.ClusterName(), Endpoints: []string{sim.URL()}, Token: sim.Token("operator"), Fingerprint: sim.Fingerprint(),
		Timeout: partialTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	env := &toolkit.Env{Client: c, Log: zerolog.New(logs).Level(zerolog.DebugLevel)}
	return &testEnv{sim: sim, client: c, srv: toolkit.NewServer(env, toolkit.Select(true, healthToolsets)), logs: logs}
}

// byNode groups a result's items (JSON text) by the node they belong to.
type byNode map[string][]string

func (b byNode) add(node string, v any) {
	j, _ := json.Marshal(v)
	b[node] = append(b[node], string(j))
}

func (b byNode) sorted() byNode {
	for _, v := range b {
		sort.Strings(v)
	}
	return b
}

type partialCase struct {
	tool, args string
	endpoint   string // path below /api2/json, %s = the failing node
	// items groups the result by node; extra checks what only this tool has.
	items func(t *testing.T, m map[string]any) byNode
	extra func(t *testing.T, base, got map[string]any, failed string)
}

func list(m map[string]any, key string) []map[string]any {
	raw, _ := m[key].([]any)
	out := make([]map[string]any, 0, len(raw))
	for _, x := range raw {
		out = append(out, x.(map[string]any))
	}
	return out
}

func num(m map[string]any, path ...string) float64 {
	var cur any = m
	for _, k := range path {
		cur = cur.(map[string]any)[k]
	}
	f, _ := cur.(float64)
	return f
}

var partialCases = []partialCase{
	{
		tool: "storage_status", args: `{}`, endpoint: "/nodes/%s/storage",
		items: func(t *testing.T, m map[string]any) byNode {
			b := byNode{}
			for _, s := range list(m, "storages") {
				node := s["node"].(string)
				if s["shared"] == true {
					// Listed once for every node that sees it: compared
					// without the node list, which the failure shortens.
					delete(s, "nodes")
					node = "shared"
				}
				b.add(node, s)
			}
			return b
		},
		extra: func(t *testing.T, base, got map[string]any, failed string) {
			for _, s := range list(got, "storages") {
				nodes, _ := s["nodes"].([]any)
				for _, n := range nodes {
					if n == failed {
						t.Errorf("shared storage %v claims to be seen by the failed node %s", s["storage"], failed)
					}
				}
			}
		},
	},
	{
		tool: "zfs_health", args: `{}`, endpoint: "/nodes/%s/disks/zfs",
		items: func(t *testing.T, m map[string]any) byNode {
			b := byNode{}
			for _, p := range list(m, "pools") {
				b.add(p["node"].(string), p)
			}
			return b
		},
		extra: func(t *testing.T, base, got map[string]any, failed string) {
			lost := 0.0
			for _, p := range list(base, "pools") {
				if p["node"] == failed {
					lost++
				}
			}
			if lost == 0 {
				t.Fatalf("the failing node %s has no pool without the fault: the case tests nothing", failed)
			}
			if num(got, "counts", "pools") != num(base, "counts", "pools")-lost {
				t.Errorf("pool count %v, want %v", num(got, "counts", "pools"), num(base, "counts", "pools")-lost)
			}
		},
	},
	{
		tool: "list_tasks", args: `{"limit":200}`, endpoint: "/nodes/%s/tasks",
		items: func(t *testing.T, m map[string]any) byNode {
			if num(m, "total") > 200 {
				t.Fatalf("%v tasks: more than one page, the comparison would be unsound", num(m, "total"))
			}
			b := byNode{}
			for _, x := range list(m, "tasks") {
				b.add(x["node"].(string), x)
			}
			return b
		},
		extra: func(t *testing.T, base, got map[string]any, failed string) {
			lost := 0.0
			for _, x := range list(base, "tasks") {
				if x["node"] == failed {
					lost++
				}
			}
			if num(got, "total") != num(base, "total")-lost {
				t.Errorf("total %v, want %v (the failed node's tasks are not counted)", num(got, "total"), num(base, "total")-lost)
			}
		},
	},
	{
		tool: "capacity_report", args: `{"window":"none"}`, endpoint: "/nodes/%s/status",
		items: func(t *testing.T, m map[string]any) byNode {
			b := byNode{}
			for _, n := range list(m, "nodes") {
				if _, ok := n["cpu_cores"]; !ok {
					continue // no physical core count: nothing read from its status
				}
				b.add(n["node"].(string), map[string]any{"cpu_cores": n["cpu_cores"]})
			}
			return b
		},
		extra: func(t *testing.T, base, got map[string]any, failed string) {
			found := false
			for _, u := range list(got, "unavailable") {
				if u["what"] == "physical cores of "+failed {
					found = true
				}
			}
			if !found {
				t.Errorf("the failed node's core count is not named unavailable: %v", got["unavailable"])
			}
		},
	},
	{
		tool: "backup_status", args: `{"days":14}`, endpoint: "/nodes/%s/tasks",
		items: func(t *testing.T, m map[string]any) byNode {
			b := byNode{}
			for _, key := range []string{"failures", "problem_runs", "manual_runs"} {
				for _, x := range list(m, key) {
					node, _ := x["node"].(string)
					b.add(node, map[string]any{key: x})
				}
			}
			return b
		},
		extra: func(t *testing.T, base, got map[string]any, failed string) {
			if num(got, "runs", "total") >= num(base, "runs", "total") {
				t.Errorf("runs %v with %s's task list failing, %v without: its runs are still counted",
					num(got, "runs", "total"), failed, num(base, "runs", "total"))
			}
		},
	},
}

func TestFanOutToolsPartialOnOnlineNodeFailure(t *testing.T) {
	const failed = "pve-node02"
	for _, tc := range partialCases {
		t.Run(tc.tool, func(t *testing.T) {
			t.Parallel() // a simulator of its own; the hang cases mostly wait
			e := newPartialEnv(t)
			base := partialCall(t, e, tc.tool, tc.args)
			if len(list(base, "errors")) != 0 {
				t.Fatalf("errors without a fault: %v", base["errors"])
			}
			want := tc.items(t, base).sorted()
			if len(want[failed]) == 0 && tc.tool != "backup_status" {
				t.Fatalf("%s has nothing from %s without the fault: the case tests nothing", tc.tool, failed)
			}
			for _, fk := range faultKinds {
				t.Run(fk.name, func(t *testing.T) {
					e.sim.SetFault("*/"+strings.TrimPrefix(fmt.Sprintf(tc.endpoint, failed), "/"), fk.fault)
					defer e.sim.ClearFaults()
					got := partialCall(t, e, tc.tool, tc.args)
					named := false
					for _, er := range list(got, "errors") {
						if er["node"] == failed {
							named = true
						} else {
							t.Errorf("error for a healthy part: %v", er)
						}
					}
					if !named {
						t.Errorf("the failure of %s is not named under errors: %v", failed, got["errors"])
					}
					have := tc.items(t, got).sorted()
					if len(have[failed]) != 0 {
						t.Errorf("figures for the failed part are present: %v", have[failed])
					}
					for node, items := range want {
						if node == failed {
							continue
						}
						if strings.Join(have[node], "\n") != strings.Join(items, "\n") {
							t.Errorf("%s's data differs from the run without the fault:\n got %v\nwant %v", node, have[node], items)
						}
					}
					if tc.extra != nil {
						tc.extra(t, base, got, failed)
					}
				})
			}
		})
	}
}

// partialCall runs a tool, which must succeed (a partial result is a
// result), checks its output schema and decodes it.
func partialCall(t *testing.T, e *testEnv, tool, args string) map[string]any {
	t.Helper()
	res, m := e.call(t, tool, args)
	if res.IsError {
		t.Fatalf("%s %s: tool error: %s", tool, args, res.Text)
	}
	validateOutput(t, e.srv.Tool(tool), res.Structured)
	return m
}

// TestStorageForecastPartialOnRRDFailure: one storage's RRD failing on an
// online node names the failure, leaves that storage's usage (read fine)
// but gives it no forecast, and leaves every other forecast as it was.
func TestStorageForecastPartialOnRRDFailure(t *testing.T) {
	t.Parallel()
	const node, storage = "pve-node02", "local-zfs"
	e := newPartialEnv(t)
	base := partialCall(t, e, "storage_status", `{}`)
	key := func(s map[string]any) string { return fmt.Sprint(s["node"], "/", s["storage"]) }
	want := map[string]string{}
	for _, s := range list(base, "storages") {
		j, _ := json.Marshal(s)
		want[key(s)] = string(j)
	}
	if !strings.Contains(want[node+"/"+storage], `"forecast"`) {
		t.Fatalf("%s/%s has no forecast without the fault: the case tests nothing", node, storage)
	}
	for _, fk := range faultKinds {
		t.Run(fk.name, func(t *testing.T) {
			e.sim.SetFault("*/nodes/"+node+"/storage/"+storage+"/rrddata", fk.fault)
			defer e.sim.ClearFaults()
			got := partialCall(t, e, "storage_status", `{}`)
			errs := list(got, "errors")
			if len(errs) != 1 || errs[0]["node"] != node {
				t.Errorf("errors %v, want one naming %s", errs, node)
			}
			named := false
			for _, u := range list(got, "unavailable") {
				named = named || u["what"] == "forecast of "+node+"/"+storage
			}
			if !named {
				t.Errorf("the missing forecast is not named unavailable: %v", got["unavailable"])
			}
			seen := 0
			for _, s := range list(got, "storages") {
				k := key(s)
				if k == node+"/"+storage {
					seen++
					if _, ok := s["forecast"]; ok {
						t.Errorf("a forecast for the storage whose history failed: %v", s["forecast"])
					}
					if s["used_gib"] == nil || s["total_gib"] == nil {
						t.Errorf("its usage, read fine, is missing: %v", s)
					}
					continue
				}
				j, _ := json.Marshal(s)
				if string(j) != want[k] {
					t.Errorf("%s changed:\n got %s\nwant %s", k, j, want[k])
				}
			}
			if seen != 1 || len(list(got, "storages")) != len(want) {
				t.Errorf("%d storages (want %d), %s listed %d times", len(list(got, "storages")), len(want), storage, seen)
			}
		})
	}
}
