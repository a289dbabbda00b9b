package schemas

import (
	"bytes"
	"encoding/json"
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

func catalogSizes() (whole, facing, n int) {
	all := tools.All()
	list := make([]any, len(all))
	for i, tool := range all {
		list[i] = tools.MCPTool(tool)
		b, _ := json.Marshal(map[string]any{"name": tool.Name, "title": tool.Title, "description": tool.Description, "inputSchema": json.RawMessage(tool.InputSchema)})
		facing += len(b)
	}
	b, _ := json.Marshal(map[string]any{"tools": list})
	return len(b), facing, len(all)
}

// The part of the catalog a model reads (names, titles, descriptions, input
// schemas) stays under DESIGN §10's 16 KB (about 4,000 tokens).
func TestCatalogSize(t *testing.T) {
	whole, facing, n := catalogSizes()
	t.Logf("tools/list: %d tools, %d bytes (target 48 KB); model-facing part %d bytes (budget 16 KB)", n, whole, facing)
	if facing > 16*1024 {
		t.Errorf("model-facing catalog is %d bytes, budget 16 KB", facing)
	}
}

// BenchmarkCatalogSize reports the catalog sizes: the whole tools/list
// (target 48 KB, output schemas included) and its model-facing part.
func BenchmarkCatalogSize(b *testing.B) {
	var whole, facing int
	for i := 0; i < b.N; i++ {
		whole, facing, _ = catalogSizes()
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
