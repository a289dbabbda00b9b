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

	"github.com/pvemcp/pvemcp/tools"
)

var update = os.Getenv("UPDATE_SNAPSHOTS") == "1"

func snapshot(t *testing.T, tool *tools.Tool) []byte {
	t.Helper()
	b, err := json.MarshalIndent(tools.MCPTool(tool), "", "  ")
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
	for _, tool := range tools.All() {
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
	all := tools.All()
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
	for _, tool := range tools.Select(true, nil) {
		if tool.Write() {
			t.Errorf("--read-only serves write tool %s", tool.Name)
		}
	}
}

// catalogSizes measures the catalog as a client receives it: the result of
// a tools/list request to the MCP server with every tool (writes included),
// and the part of it a model reads (names, titles, descriptions, input
// schemas), both as compact JSON.
func catalogSizes() (whole, facing, n int, err error) {
	ms := tools.NewServer(&tools.Env{}, tools.All()).MCPServer("test")
	resp := ms.HandleMessage(context.Background(), json.RawMessage(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	b, err := json.Marshal(resp)
	if err != nil {
		return 0, 0, 0, err
	}
	var msg struct {
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(b, &msg); err != nil {
		return 0, 0, 0, err
	}
	if msg.Result == nil {
		return 0, 0, 0, fmt.Errorf("tools/list failed: %s", msg.Error)
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
		return 0, 0, 0, err
	}
	if list.NextCursor != "" {
		return 0, 0, 0, fmt.Errorf("tools/list is paginated; measure every page")
	}
	for _, t := range list.Tools {
		fb, err := json.Marshal(t)
		if err != nil {
			return 0, 0, 0, err
		}
		facing += len(fb)
	}
	return len(msg.Result), facing, len(list.Tools), nil
}

// DESIGN §10: the whole tools/list catalog stays under 48 KB and the part a
// model reads (names, titles, descriptions, input schemas) under 16 KB
// (about 4,000 tokens).
const (
	catalogBudget = 48 * 1024
	facingBudget  = 16 * 1024
)

func TestCatalogSize(t *testing.T) {
	whole, facing, n, err := catalogSizes()
	if err != nil {
		t.Fatal(err)
	}
	if n != len(tools.All()) {
		t.Fatalf("tools/list returned %d tools, %d registered", n, len(tools.All()))
	}
	t.Logf("tools/list: %d tools, %d bytes (budget %d); model-facing part %d bytes (budget %d)", n, whole, catalogBudget, facing, facingBudget)
	if whole > catalogBudget {
		t.Errorf("tools/list catalog is %d bytes, budget %d (DESIGN §10): output schemas are most of it; see compactOutput in tools/schema.go", whole, catalogBudget)
	}
	if facing > facingBudget {
		t.Errorf("model-facing catalog is %d bytes, budget %d (DESIGN §10): shorten descriptions", facing, facingBudget)
	}
}

// BenchmarkCatalogSize reports the catalog sizes: the whole tools/list
// (budget 48 KB, output schemas included) and its model-facing part
// (budget 16 KB).
func BenchmarkCatalogSize(b *testing.B) {
	var whole, facing int
	var err error
	for i := 0; i < b.N; i++ {
		if whole, facing, _, err = catalogSizes(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(whole), "tools-list-bytes")
	b.ReportMetric(float64(facing), "model-facing-bytes")
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
	want := tools.Markdown(tools.Select(false, nil))
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
