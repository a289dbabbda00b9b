package schemas

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/mcpserver"
	"github.com/pvemcp/pvemcp/toolkit"
	_ "github.com/pvemcp/pvemcp/tools" // registers the tools
)

var update = os.Getenv("UPDATE_SNAPSHOTS") == "1"

func snapshot(t *testing.T, tool *toolkit.Tool) []byte {
	t.Helper()
	b, err := json.MarshalIndent(mcpserver.Tool(tool), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func TestToolSnapshots(t *testing.T) {
	dir := "tools"
	if update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]bool{}
	for _, tool := range toolkit.All() {
		name := tool.Name + ".json"
		want[name] = true
		got := snapshot(t, tool)
		path := filepath.Join(dir, name)
		if update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		old, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: no snapshot (%v); run make snapshots", tool.Name, err)
			continue
		}
		if !bytes.Equal(old, got) {
			t.Errorf("%s: tools/list entry differs from %s; if intended, run make snapshots and review the diff", tool.Name, path)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") && !want[e.Name()] {
			if update {
				_ = os.Remove(filepath.Join(dir, e.Name()))
				continue
			}
			t.Errorf("snapshot %s has no tool; run make snapshots", e.Name())
		}
	}
}

func TestToolInvariants(t *testing.T) {
	all := toolkit.All()
	if len(all) < 3 {
		t.Fatalf("only %d tools registered", len(all))
	}
	for _, tool := range all {
		var m struct {
			Name         string                     `json:"name"`
			Title        string                     `json:"title"`
			Description  string                     `json:"description"`
			InputSchema  map[string]any             `json:"inputSchema"`
			OutputSchema map[string]any             `json:"outputSchema"`
			Annotations  map[string]json.RawMessage `json:"annotations"`
		}
		if err := json.Unmarshal(snapshot(t, tool), &m); err != nil {
			t.Fatal(err)
		}
		if m.Title == "" || m.Description == "" {
			t.Errorf("%s: title or description missing", m.Name)
		}
		hints := map[string]bool{}
		for _, h := range []string{"readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"} {
			raw, ok := m.Annotations[h]
			if !ok {
				t.Errorf("%s: %s not set explicitly", m.Name, h)
				continue
			}
			hints[h] = string(raw) == "true"
		}
		if m.InputSchema["type"] != "object" || m.InputSchema["additionalProperties"] != false {
			t.Errorf("%s: input schema must be a closed object: %v", m.Name, m.InputSchema)
		}
		if m.OutputSchema == nil || m.OutputSchema["type"] != "object" {
			t.Errorf("%s: no output schema", m.Name)
		} else {
			props, _ := m.OutputSchema["properties"].(map[string]any)
			for _, k := range []string{"sources", "fetched_at", "cluster", "errors", "alerts", "unavailable"} {
				if _, ok := props[k]; !ok {
					t.Errorf("%s: output schema lacks envelope field %s", m.Name, k)
				}
			}
		}
		if hints["readOnlyHint"] && hints["destructiveHint"] {
			t.Errorf("%s: read-only and destructive", m.Name)
		}
		if tool.Write() == hints["readOnlyHint"] {
			t.Errorf("%s: Write() disagrees with readOnlyHint", m.Name)
		}
		if !tool.Write() && (hints["destructiveHint"] || !hints["idempotentHint"]) {
			t.Errorf("%s: a read tool must be non-destructive and idempotent", m.Name)
		}
	}
	for _, tool := range toolkit.Select(true, nil) {
		if tool.Write() {
			t.Errorf("--read-only serves write tool %s", tool.Name)
		}
	}
}

// catalogSizes measures the catalog as a client receives it: the result of
// a tools/list request to an MCP server serving srv, and the part of it a
// model reads (names, titles, descriptions, input schemas), both as compact
// JSON.
func catalogSizes(srv *toolkit.Server) (whole, facing, n int, err error) {
	whole, facing, n, _, err = catalogSizesByTool(srv)
	return whole, facing, n, err
}

// catalogSizesByTool is catalogSizes with each tool's model-facing bytes.
func catalogSizesByTool(srv *toolkit.Server) (whole, facing, n int, byTool map[string]int, err error) {
	ms := mcpserver.New(srv, "test").MCP()
	ctx := context.Background()
	init := ms.HandleMessage(ctx, json.RawMessage(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`))
	if _, err := json.Marshal(init); err != nil {
		return 0, 0, 0, nil, err
	}
	resp := ms.HandleMessage(ctx, json.RawMessage(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	b, err := json.Marshal(resp)
	if err != nil {
		return 0, 0, 0, nil, err
	}
	var msg struct {
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(b, &msg); err != nil {
		return 0, 0, 0, nil, err
	}
	if msg.Result == nil {
		return 0, 0, 0, nil, fmt.Errorf("tools/list failed: %s", msg.Error)
	}
	var list struct {
		Tools []struct {
			Name        string          `json:"name"`
			Title       string          `json:"title"`
			Description string          `json:"description"`
			InputSchema json.RawMessage `json:"inputSchema"`
		} `json:"tools"`
		NextCursor string `json:"nextCursor"`
	}
	if err := json.Unmarshal(msg.Result, &list); err != nil {
		return 0, 0, 0, nil, err
	}
	if list.NextCursor != "" {
		return 0, 0, 0, nil, fmt.Errorf("tools/list is paginated; measure every page")
	}
	byTool = map[string]int{}
	for _, t := range list.Tools {
		fb, err := json.Marshal(t)
		if err != nil {
			return 0, 0, 0, nil, err
		}
		facing += len(fb)
		byTool[t.Name] = len(fb)
	}
	return len(msg.Result), facing, len(list.Tools), byTool, nil
}

// defaultServer serves what `pvemcp serve` serves without --toolsets, with
// writes enabled: the default toolsets at first, every tool on request.
func defaultServer() *toolkit.Server {
	return toolkit.NewServer(&toolkit.Env{}, toolkit.Select(false, nil)).StartWith(toolkit.DefaultToolsets)
}

// DESIGN §10: the part of the default catalog a model reads (names, titles,
// descriptions, input schemas) stays under 16 KB (about 4,000 tokens),
// whatever the number of tools in the other toolsets. Output schemas are
// for clients and carry every type; they have no byte budget.
const facingBudget = 16 * 1024

func TestCatalogSize(t *testing.T) {
	whole, facing, n, byTool, err := catalogSizesByTool(defaultServer())
	if err != nil {
		t.Fatal(err)
	}
	perSet := map[string]int{}
	for _, tl := range toolkit.All() {
		perSet[tl.Toolset] += byTool[tl.Name]
	}
	for _, name := range toolkit.ToolsetNames() {
		if perSet[name] > 0 {
			t.Logf("default catalog, model-facing bytes of toolset %s: %d", name, perSet[name])
		}
	}
	if want := len(defaultServer().StartTools()); n != want {
		t.Fatalf("tools/list returned %d tools, the default toolsets have %d", n, want)
	}
	fwhole, ffacing, fn, err := catalogSizes(toolkit.NewServer(&toolkit.Env{}, toolkit.Select(false, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if fn != len(toolkit.All()) {
		t.Fatalf("full tools/list returned %d tools, %d registered", fn, len(toolkit.All()))
	}
	t.Logf("default catalog: %d tools, tools/list %d bytes, model-facing part %d bytes (budget %d)", n, whole, facing, facingBudget)
	t.Logf("full catalog (every toolset): %d tools, tools/list %d bytes, model-facing part %d bytes", fn, fwhole, ffacing)
	if facing > facingBudget {
		t.Errorf("default model-facing catalog is %d bytes, budget %d (DESIGN §10): shorten descriptions or move a toolset out of DefaultToolsets", facing, facingBudget)
	}
}

// BenchmarkCatalogSize reports the catalog sizes: the default catalog's
// whole tools/list and its model-facing part (budget 16 KB), and the same
// for every toolset.
func BenchmarkCatalogSize(b *testing.B) {
	var whole, facing, fwhole, ffacing int
	var err error
	for i := 0; i < b.N; i++ {
		if whole, facing, _, err = catalogSizes(defaultServer()); err != nil {
			b.Fatal(err)
		}
		if fwhole, ffacing, _, err = catalogSizes(toolkit.NewServer(&toolkit.Env{}, toolkit.Select(false, nil))); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(whole), "default-tools-list-bytes")
	b.ReportMetric(float64(facing), "default-model-facing-bytes")
	b.ReportMetric(float64(fwhole), "full-tools-list-bytes")
	b.ReportMetric(float64(ffacing), "full-model-facing-bytes")
}

const (
	beginMarker = "<!-- tools:begin -->\n"
	endMarker   = "<!-- tools:end -->"
)

// The README's tool list is `pvemcp tools --markdown`.
func TestReadmeToolList(t *testing.T) {
	path := filepath.Join("..", "README.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i, j := strings.Index(s, beginMarker), strings.Index(s, endMarker)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the %q ... %q markers", strings.TrimSpace(beginMarker), endMarker)
	}
	want := toolkit.Markdown(toolkit.Select(false, nil))
	got := s[i+len(beginMarker) : j]
	if got == want {
		return
	}
	if update {
		s = s[:i+len(beginMarker)] + want + s[j:]
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README tool list is stale; run make snapshots (or pvemcp tools --markdown)\n--- README\n%s--- generated\n%s", got, want)
}
