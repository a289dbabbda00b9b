package tools

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pvemcp/pvemcp/mcpserver"
	"github.com/pvemcp/pvemcp/resources"
)

// rpcConn speaks newline-delimited JSON-RPC to a stdio MCP server.
type rpcConn struct {
	t     *testing.T
	w     io.Writer
	lines chan string
	seen  []string // notification methods received so far
}

func newStdioConn(t *testing.T, ms *mcpserver.Server) *rpcConn {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	go func() { _ = ms.ServeStdio(ctx, inR, outW, nil) }()
	c := &rpcConn{t: t, w: inW, lines: make(chan string, 64)}
	go func() {
		sc := bufio.NewScanner(outR)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	t.Cleanup(func() { cancel(); inW.Close(); outW.Close() })
	return c
}

// call sends a request and returns its result, recording the notifications
// that arrive before it.
func (c *rpcConn) call(id int, method string, params any) json.RawMessage {
	c.t.Helper()
	res, errRaw := c.try(id, method, params)
	if errRaw != nil {
		c.t.Fatalf("%s: error %s", method, errRaw)
	}
	return res
}

// try is call that also returns a JSON-RPC error.
func (c *rpcConn) try(id int, method string, params any) (json.RawMessage, json.RawMessage) {
	c.t.Helper()
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	if _, err := c.w.Write(append(b, '\n')); err != nil {
		c.t.Fatal(err)
	}
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-c.lines:
			if !ok {
				c.t.Fatalf("%s: server closed", method)
			}
			var m struct {
				ID     *int            `json:"id"`
				Method string          `json:"method"`
				Result json.RawMessage `json:"result"`
				Error  json.RawMessage `json:"error"`
			}
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				c.t.Fatalf("%s: bad line %q", method, line)
			}
			if m.ID == nil {
				c.seen = append(c.seen, m.Method)
				continue
			}
			if *m.ID != id {
				continue
			}
			return m.Result, m.Error
		case <-timeout:
			c.t.Fatalf("%s: no answer", method)
		}
	}
}

func (c *rpcConn) notify(method string) {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": method})
	if _, err := c.w.Write(append(b, '\n')); err != nil {
		c.t.Fatal(err)
	}
}

func toolNames(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	var r struct {
		Tools []struct {
			Name string `json:"name"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, x := range r.Tools {
		out = append(out, x.Name)
	}
	slices.Sort(out)
	return out
}

func callResult(t *testing.T, raw json.RawMessage) (map[string]any, bool) {
	t.Helper()
	var r struct {
		IsError           bool           `json:"isError"`
		StructuredContent map[string]any `json:"structuredContent"`
		Content           []struct {
			Text string `json:"text"`
		} `json:"content"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	if r.IsError && len(r.Content) > 0 {
		t.Logf("tool error: %s", r.Content[0].Text)
	}
	return r.StructuredContent, r.IsError
}

func dynamicServer(t *testing.T, start ...string) *Server {
	e := newTestEnv(t, "operator")
	return NewServer(e.srv.env, Select(false, nil)).StartWith(start)
}

// 2025-11-25 era over stdio: the session starts with its start toolsets;
// enable_toolset adds one, the session is told (tools/list_changed) and its
// next tools/list shows the new tools, which answer.
func TestEnableToolsetSession(t *testing.T) {
	srv := dynamicServer(t, ToolsetInventory)
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
		if e["name"] == ToolsetCapacity {
			found = true
			if e["enabled"] != false || e["description"] != ToolsetDescription(ToolsetCapacity) {
				t.Errorf("capacity entry: %v", e)
			}
		}
		if e["name"] == ToolsetInventory && e["enabled"] != true {
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
	srv := dynamicServer(t, ToolsetInventory)
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

func TestResolveToolsets(t *testing.T) {
	got, err := ResolveToolsets(nil)
	if err != nil || !slices.Equal(got, DefaultToolsets) {
		t.Errorf("default: %v %v", got, err)
	}
	got, err = ResolveToolsets([]string{"diagnostics", "default"})
	if err != nil || !slices.Contains(got, ToolsetDiagnostics) || len(got) != len(DefaultToolsets)+1 {
		t.Errorf("default,diagnostics: %v %v", got, err)
	}
	if got, _ = ResolveToolsets([]string{"all"}); len(got) != len(ToolsetCatalog()) {
		t.Errorf("all: %v", got)
	}
	if _, err = ResolveToolsets([]string{"inventory", "nope"}); err == nil || !strings.Contains(err.Error(), `unknown toolset "nope"`) || !strings.Contains(err.Error(), "diagnostics") {
		t.Errorf("unknown: %v", err)
	}
	for _, tl := range All() {
		if ToolsetDescription(tl.Toolset) == "" {
			t.Errorf("%s: toolset %q is not in the toolset catalog", tl.Name, tl.Toolset)
		}
	}
}

// confirm_plan comes with any write tool, whatever its toolset.
func TestVisibleConfirmPlan(t *testing.T) {
	ts := Select(false, nil)
	if v := Visible(ts, []string{ToolsetInventory}); slices.ContainsFunc(v, func(x *Tool) bool { return x.Name == confirmPlanName }) {
		t.Error("confirm_plan served without a write tool")
	}
	fake := &Tool{Meta: Meta{Name: "fake_write", Toolset: ToolsetSnapshots, Hints: &Hints{}}}
	v := Visible(append(ts, fake), []string{ToolsetSnapshots})
	if !slices.ContainsFunc(v, func(x *Tool) bool { return x.Name == confirmPlanName }) {
		t.Error("a snapshots write tool is served without confirm_plan")
	}
}

// The start toolsets trim the prompts, resources and instructions: nothing
// offered names a tool the server does not list.
func TestStartToolsetsTrimPromptsResourcesInstructions(t *testing.T) {
	ask := func(srv *Server) (instructions string, prompts, res []string) {
		c := newStdioConn(t, mcpserver.New(srv, "test"))
		var init struct {
			Instructions string `json:"instructions"`
		}
		if err := json.Unmarshal(c.call(1, "initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "t", "version": "1"}}), &init); err != nil {
			t.Fatal(err)
		}
		c.notify("notifications/initialized")
		var pl struct {
			Prompts []struct {
				Name string `json:"name"`
			} `json:"prompts"`
		}
		// A server without prompts declares no prompts capability, and
		// mcp-go refuses prompts/list: that is "no prompts".
		if res, errRaw := c.try(2, "prompts/list", map[string]any{}); errRaw == nil {
			_ = json.Unmarshal(res, &pl)
		} else if !strings.Contains(string(errRaw), "prompts not supported") {
			t.Fatalf("prompts/list: %s", errRaw)
		}
		for _, p := range pl.Prompts {
			prompts = append(prompts, p.Name)
		}
		var rl struct {
			Resources []struct {
				URI string `json:"uri"`
			} `json:"resources"`
		}
		if res, errRaw := c.try(3, "resources/list", map[string]any{}); errRaw == nil {
			_ = json.Unmarshal(res, &rl)
		} else if !strings.Contains(string(errRaw), "resources not supported") {
			t.Fatalf("resources/list: %s", errRaw)
		}
		for _, r := range rl.Resources {
			res = append(res, r.URI)
		}
		return init.Instructions, prompts, res
	}
	fullI, fullP, fullR := ask(dynamicServer(t, DefaultToolsets...))
	for _, want := range []string{"cluster_overview", "confirm_plan", "enable_toolset"} {
		if !strings.Contains(fullI, want) {
			t.Errorf("default instructions lack %s:\n%s", want, fullI)
		}
	}
	if len(fullP) < 4 || len(fullR) == 0 {
		t.Fatalf("default server: prompts %v, resources %v", fullP, fullR)
	}
	// Metrics alone: no prompt needs only get_metrics, no inventory
	// resources, no word of the inventory or write tools.
	i, p, r := ask(dynamicServer(t, ToolsetMetrics))
	for _, gone := range []string{"cluster_overview", "list_guests", "get_guest", "confirm_plan"} {
		if strings.Contains(i, gone) {
			t.Errorf("metrics-only instructions mention %s:\n%s", gone, i)
		}
	}
	if len(p) != 0 {
		t.Errorf("metrics-only server offers prompts %v", p)
	}
	if len(r) >= len(fullR) {
		t.Errorf("metrics-only server offers resources %v (default %v)", r, fullR)
	}
	// Capacity alone: only the capacity prompt.
	if _, p, _ := ask(dynamicServer(t, ToolsetCapacity)); !slices.Equal(p, []string{"capacity_review"}) {
		t.Errorf("capacity-only prompts = %v", p)
	}
}

// A prompt names the tools it asks for, so that it is offered only with
// them.
func TestPromptsNameTheirTools(t *testing.T) {
	for _, p := range resources.Prompts() {
		text, err := p.Render(map[string]string{"vmid": "100", "node": "pve-node01"})
		if err != nil {
			t.Fatal(err)
		}
		for _, tl := range All() {
			if strings.Contains(text, tl.Name) != slices.Contains(p.Tools, tl.Name) {
				t.Errorf("prompt %s: text mentions %s: %v, Tools lists it: %v", p.Name, tl.Name, strings.Contains(text, tl.Name), slices.Contains(p.Tools, tl.Name))
			}
		}
	}
}
