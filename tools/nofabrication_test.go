package tools

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pvemcp/pvemcp/guard"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
	"github.com/pvemcp/pvemcp/toolkit"
)

// The anti-fabrication test: every registered tool is called on clusters
// unlike the demo (a node offline, quorum lost, a FAULTED ZFS pool) and its
// result is walked. A figure about something Proxmox gave no figure for —
// the usage of an offline node, of a guest whose node is down (its status
// is "unknown"), of a storage on a FAULTED pool — fails the test, as does a
// guest of an offline node called "stopped", a cluster label other than
// the cluster's real name, or a lost quorum nobody mentions.

// usageWord marks a field that states use (not configuration) of the object
// it belongs to: such a field of an object Proxmox gave no use for is made up.
var usageWord = regexp.MustCompile(`(^|_)(used|usage|pct|load|loadavg|uptime|free|avail|available|netin|netout|diskread|diskwrite|running|stopped|iowait|swap|arc|cpu_avg|cpu_p95|mem_avg|mem_p95)(_|$)`)

func isUsageField(k string) bool {
	return k == "cpu" || k == "mem" || k == "disk" || usageWord.MatchString(k)
}

// fabScenario is a cluster state and what Proxmox cannot tell about it.
type fabScenario struct {
	name     string
	offline  []string // nodes made offline
	quorum   bool     // quorum lost: the result must say so (cluster_overview, capacity_report)
	deadStor []string // "node/storage" on a FAULTED pool
}

func TestNoInventedFigures(t *testing.T) {
	// The demo with pve-node03's rpool FAULTED instead of DEGRADED: its
	// local-zfs storage cannot be activated.
	demo, err := os.ReadFile(filepath.Join("..", "examples", "scenarios", "demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const degraded = "        health: DEGRADED\n"
	if !strings.Contains(string(demo), degraded) {
		t.Fatal("demo scenario changed: no DEGRADED pool to fault")
	}
	scen := filepath.Join(t.TempDir(), "faulted.yaml")
	if err := os.WriteFile(scen, []byte(strings.Replace(string(demo), degraded, "        health: FAULTED\n", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, sc := range []fabScenario{
		{name: "offline node", offline: []string{"pve-node02"}, deadStor: []string{"pve-node03/local-zfs"}},
		{name: "lost quorum", offline: []string{"pve-node02", "pve-node03"}, quorum: true},
	} {
		t.Run(sc.name, func(t *testing.T) { runFabScenario(t, scen, sc) })
	}
}

func runFabScenario(t *testing.T, scenario string, sc fabScenario) {
	e := simEnv(t, pvesim.Options{Scenario: scenario, Listen: "127.0.0.1:0"}, nil)
	al, err := guard.OpenAuditLog(filepath.Join(t.TempDir(), "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { al.Close() })
	gate := toolkit.NewGate(guard.NewStore(guard.WithAudit(al)), guard.ApprovalNonce, guard.Protection{})
	gate.TaskPoll = 2 * time.Millisecond
	e.srv = toolkit.NewServer(&toolkit.Env{Client: e.client, Gate: gate}, toolkit.All())
	for _, n := range sc.offline {
		e.sim.SetFault(n, pvesim.Fault{Offline: true})
	}
	// The guests Proxmox now lists as "unknown": those still on an offline
	// node (HA may have recovered others elsewhere).
	res, err := e.client.Resources(context.Background(), "vm")
	if err != nil {
		t.Fatal(err)
	}
	unknown := map[float64]bool{}
	for _, r := range res {
		if r.Status == "unknown" {
			unknown[float64(r.VMID)] = true
		}
	}
	if len(unknown) == 0 {
		t.Fatal("no guest left on the offline nodes: the scenario tests nothing")
	}
	w := fabWalker{sc: sc, unknown: unknown, offline: map[string]bool{}, dead: map[string]bool{}}
	for _, n := range sc.offline {
		w.offline[n] = true
	}
	for _, d := range sc.deadStor {
		w.dead[d] = true
	}
	served := e.srv.Tools()
	if len(served) != len(toolkit.All()) {
		t.Fatalf("%d tools served, %d registered", len(served), len(toolkit.All()))
	}
	// Each tool with the arguments it declares for a cluster in trouble
	// (toolargs_test.go); write tools only plan (nothing runs without
	// confirm_plan, which comes last).
	call := func(tool, args string) map[string]any {
		t.Helper()
		r, m := e.call(t, tool, args)
		if r.IsError {
			t.Fatalf("%s %s: %s", tool, args, r.Text)
		}
		return m
	}
	for _, tool := range inCallOrder(served) {
		name := tool.Name
		_, declared := declaredArgs[name]
		for _, args := range brokenArgs(name).sets(t, call) {
			r, m := e.call(t, name, args)
			if r.IsError {
				if strings.HasPrefix(r.Text, "invalid arguments") {
					if !declared {
						t.Error(needsArgs(name, r.Text))
					} else {
						t.Errorf("%s %s: %s", name, args, r.Text)
					}
				}
				// A refusal is not a figure; it must still name a cause.
				if strings.TrimSpace(r.Text) == "" {
					t.Errorf("%s %s: empty error", name, args)
				}
				continue
			}
			validateOutput(t, e.srv.Tool(name), r.Structured)
			if src, _ := m["sources"].([]any); len(src) > 0 && m["cluster"] != e.sim.ClusterName() {
				got := m["cluster"]
				t.Errorf("%s: envelope cluster %v, want the cluster's name %q", name, got, e.sim.ClusterName())
			}
			for _, p := range w.walk(m, name, false) {
				t.Errorf("%s %s: %s", name, args, p)
			}
			if sc.quorum && (name == "cluster_overview" || name == "capacity_report") && !hasQuorumAlert(m) {
				t.Errorf("%s: quorum is lost and no alert says so: %v", name, m["alerts"])
			}
		}
	}
}

func hasQuorumAlert(m map[string]any) bool {
	alerts, _ := m["alerts"].([]any)
	for _, a := range alerts {
		if am, _ := a.(map[string]any); am["metric"] == "quorum" && am["severity"] == "critical" {
			return true
		}
	}
	return false
}

type fabWalker struct {
	sc      fabScenario
	offline map[string]bool
	unknown map[float64]bool
	dead    map[string]bool
}

// walk returns the made-up figures below v. blind is set inside an object
// about something Proxmox gives no use figures for.
func (w fabWalker) walk(v any, path string, blind bool) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		x = expandCompact(x)
		why := ""
		node, _ := x["node"].(string)
		vmid, isGuest := x["vmid"].(float64)
		stor, _ := x["storage"].(string)
		switch {
		case isGuest && w.unknown[vmid] && !strings.Contains(path, ".moves"):
			why = fmt.Sprintf("guest %d, whose node is offline", int(vmid))
			if s, _ := x["status"].(string); s == "stopped" || s == "running" {
				out = append(out, fmt.Sprintf("%s: guest %d is %q but its node is offline (Proxmox: unknown)", path, int(vmid), s))
			}
		case !isGuest && w.offline[node]:
			why = "node " + node + ", which is offline"
		case !isGuest && stor != "" && w.dead[node+"/"+stor]:
			why = "storage " + node + "/" + stor + ", whose ZFS pool is FAULTED"
		}
		if why != "" {
			blind = true
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if path == "" && (k == "sources" || k == "fetched_at" || k == "alerts" || k == "errors" || k == "unavailable") {
				continue
			}
			// A replication job's target is configuration, not a plan.
			if n, isStr := x[k].(string); isStr && w.offline[n] && (k == "to" || k == "target" || k == "target_node") && !strings.HasPrefix(path, "replication_status.jobs") {
				out = append(out, fmt.Sprintf("%s.%s = %s: a plan onto a node that is offline", path, k, n))
			}
			if f, isNum := x[k].(float64); isNum && blind && isUsageField(k) {
				out = append(out, fmt.Sprintf("%s.%s = %v: a use figure for %s", path, k, f, orWhy(why, "an object Proxmox gives no use for")))
				continue
			}
			out = append(out, w.walk(x[k], path+"."+k, blind)...)
		}
	case []any:
		for i, e := range x {
			out = append(out, w.walk(e, fmt.Sprintf("%s[%d]", path, i), blind)...)
		}
	}
	return out
}

func orWhy(why, def string) string {
	if why != "" {
		return why
	}
	return def
}

// expandCompact turns a compact table ("columns" and rows of values, as
// list_guests returns) into objects, so that its rows are walked too.
func expandCompact(m map[string]any) map[string]any {
	cols, ok := m["columns"].([]any)
	if !ok {
		return m
	}
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
		rows, ok := v.([]any)
		if !ok || k == "columns" || len(rows) == 0 {
			continue
		}
		var objs []any
		for _, r := range rows {
			vals, ok := r.([]any)
			if !ok || len(vals) != len(cols) {
				objs = nil
				break
			}
			o := map[string]any{}
			for i, c := range cols {
				if name, ok := c.(string); ok && vals[i] != nil {
					o[name] = vals[i]
				}
			}
			objs = append(objs, o)
		}
		if objs != nil {
			out[k] = objs
		}
	}
	return out
}
