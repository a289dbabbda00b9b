package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
	"github.com/pvemcp/pvemcp/toolkit"
)

func init() {
	declareArgs("list_guests", testArgs{
		demo:   fixed{`{}`, `{"node":"pve-node01","sort":"mem","desc":true,"limit":2}`},
		broken: fixed{`{}`, `{"node":"pve-node02"}`},
	})
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
			"vcpus": float64(r.MaxCPU), "mem_max_gib": toolkit.Compact(float64(r.MaxMem) / toolkit.BytesPerGiB), "disk_max_gib": toolkit.Compact(float64(r.MaxDisk) / toolkit.BytesPerGiB)}
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
