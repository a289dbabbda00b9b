package tools

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/mcpserver"
	"github.com/pvemcp/pvemcp/toolkit"
)

func init() {
	declareArgs("enable_toolset", testArgs{demo: fixed{`{"toolset":"inventory"}`}})
}

// 2025-11-25 era over stdio: the session starts with its start toolsets;
// enable_toolset adds one, the session is told (tools/list_changed) and its
// next tools/list shows the new tools, which answer.
func TestEnableToolsetSession(t *testing.T) {
	srv := dynamicServer(t, toolkit.ToolsetInventory)
	c := newStdioConn(t, mcpserver.New(srv, "test"))
	init := c.call(1, "initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "t", "version": "1"}})
	if !strings.Contains(string(init), `"tools":{"listChanged":true}`) {
		t.Errorf("initialize does not declare tools.listChanged: %s", init)
	}
	c.notify("notifications/initialized")
	want := []string{"cluster_overview", "enable_toolset", "get_guest", "list_guests", "list_toolsets"}
	if got := toolNames(t, c.call(2, "tools/list", map[string]any{})); !slices.Equal(got, want) {
		t.Fatalf("start tools/list = %v, want %v", got, want)
	}
	ls, isErr := callResult(t, c.call(3, "tools/call", map[string]any{"name": "list_toolsets", "arguments": map[string]any{}}))
	if isErr {
		t.Fatal("list_toolsets failed")
	}
	found := false
	for _, x := range ls["toolsets"].([]any) {
		e := x.(map[string]any)
		if e["name"] == toolkit.ToolsetCapacity {
			found = true
			if e["enabled"] != false || e["description"] != toolkit.ToolsetDescription(toolkit.ToolsetCapacity) {
				t.Errorf("capacity entry: %v", e)
			}
		}
		if e["name"] == toolkit.ToolsetInventory && e["enabled"] != true {
			t.Errorf("inventory not enabled: %v", e)
		}
	}
	if !found {
		t.Fatalf("list_toolsets lacks capacity: %v", ls)
	}
	c.seen = nil
	en, isErr := callResult(t, c.call(4, "tools/call", map[string]any{"name": "enable_toolset", "arguments": map[string]any{"toolset": "capacity"}}))
	if isErr || en["listed"] != true || en["already_enabled"] != nil {
		t.Fatalf("enable_toolset: %v", en)
	}
	got := toolNames(t, c.call(5, "tools/list", map[string]any{}))
	if !slices.Contains(c.seen, "notifications/tools/list_changed") {
		t.Errorf("no tools/list_changed notification after enable_toolset (saw %v)", c.seen)
	}
	if !slices.Contains(got, "capacity_report") || len(got) != len(want)+1 {
		t.Errorf("tools/list after enabling capacity = %v", got)
	}
	if res, isErr := callResult(t, c.call(6, "tools/call", map[string]any{"name": "capacity_report", "arguments": map[string]any{}})); isErr || res["nodes"] == nil {
		t.Errorf("capacity_report after enabling: %v", res)
	}
	// Enabling again changes nothing and notifies nobody.
	c.seen = nil
	en, _ = callResult(t, c.call(7, "tools/call", map[string]any{"name": "enable_toolset", "arguments": map[string]any{"toolset": "capacity"}}))
	c.call(8, "ping", map[string]any{})
	if en["already_enabled"] != true || slices.Contains(c.seen, "notifications/tools/list_changed") {
		t.Errorf("second enable: %v, notifications %v", en, c.seen)
	}
	// A bad name is refused with the list of toolsets and changes nothing.
	_, isErr = callResult(t, c.call(9, "tools/call", map[string]any{"name": "enable_toolset", "arguments": map[string]any{"toolset": "nope"}}))
	if !isErr {
		t.Error("enable_toolset nope: no error")
	}
	if got2 := toolNames(t, c.call(10, "tools/list", map[string]any{})); !slices.Equal(got, got2) {
		t.Errorf("tools/list changed after a refused enable: %v -> %v", got, got2)
	}
}

// 2026-07-28 era: tools/list is the start set for every request, whatever
// was called before; enable_toolset returns the tools' input schemas and
// they can be called by name.
func TestEnableToolsetStateless(t *testing.T) {
	srv := dynamicServer(t, toolkit.ToolsetInventory)
	ms := mcpserver.New(srv, "test").MCP()
	meta := map[string]any{
		"io.modelcontextprotocol/protocolVersion":    "2026-07-28",
		"io.modelcontextprotocol/clientCapabilities": map[string]any{},
		"io.modelcontextprotocol/clientInfo":         map[string]any{"name": "t", "version": "1"},
	}
	send := func(id int, method string, params map[string]any) json.RawMessage {
		t.Helper()
		params["_meta"] = meta
		b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
		out, err := json.Marshal(ms.HandleMessage(context.Background(), b))
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Result json.RawMessage `json:"result"`
			Error  json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(out, &m); err != nil || m.Error != nil {
			t.Fatalf("%s: %s", method, out)
		}
		return m.Result
	}
	before := toolNames(t, send(1, "tools/list", map[string]any{}))
	en, isErr := callResult(t, send(2, "tools/call", map[string]any{"name": "enable_toolset", "arguments": map[string]any{"toolset": "capacity"}}))
	if isErr || en["listed"] != false {
		t.Fatalf("enable_toolset: %v", en)
	}
	tl := en["tools"].([]any)[0].(map[string]any)
	if tl["name"] != "capacity_report" || tl["input_schema"] == nil {
		t.Errorf("stateless enable_toolset must describe the tools with input schemas: %v", tl)
	}
	if after := toolNames(t, send(3, "tools/list", map[string]any{})); !slices.Equal(before, after) || slices.Contains(after, "capacity_report") {
		t.Errorf("stateless tools/list changed as a side effect: %v -> %v", before, after)
	}
	if res, isErr := callResult(t, send(4, "tools/call", map[string]any{"name": "capacity_report", "arguments": map[string]any{}})); isErr || res["nodes"] == nil {
		t.Errorf("capacity_report by name: %v", res)
	}
}
