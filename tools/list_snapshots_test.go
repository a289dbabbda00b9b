package tools

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestListSnapshotsTree(t *testing.T) {
	w := newWriteEnv(t, "operator")
	out, errText := w.call("s1", "list_snapshots", map[string]any{"vmid": 102})
	if errText != "" {
		t.Fatal(errText)
	}
	g := out["guests"].([]any)[0].(map[string]any)
	if g["rollback_latest_only"] != true || g["current_parent"] != "pre-vacuum-tuning" {
		t.Fatalf("102: %v", g)
	}
	path := fmt.Sprint(g["path_to_current"])
	if path != "[before-pg16 after-pg16 pre-vacuum-tuning]" || !strings.Contains(g["tree"].(string), "- current") {
		t.Fatalf("path %s tree %q", path, g["tree"])
	}
	all, _ := w.call("s1", "list_snapshots", map[string]any{})
	if n := all["total_snapshots"].(float64); n < 6 {
		t.Fatalf("demo snapshots %v", n)
	}
	for _, x := range all["guests"].([]any) {
		g := x.(map[string]any)
		if g["vmid"].(float64) == 101 {
			s := g["snapshots"].([]any)[0].(map[string]any)
			if s["vmstate"] != true {
				t.Fatalf("101 snapshot without RAM: %v", s)
			}
		}
	}
	validateOutput(t, toolByName(t, "list_snapshots"), json.RawMessage(mustJSON(t, out)))
}
