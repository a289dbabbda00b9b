package tools

import (
	"os"
	"testing"
)

// multiToolFiles hold tools that share most of their code.
var multiToolFiles = map[string][]string{
	"create.go":    {"create_vm", "create_container"},
	"tasks.go":     {"list_tasks", "get_task"},
	"snapshots.go": {"list_snapshots", "snapshot_guest"},
	"toolsets.go":  {"list_toolsets", "enable_toolset"},
}

// TestEveryToolHasItsFile: a reader finds a tool by its name: tools/NAME.go,
// or a file named for the few tools that share their code.
func TestEveryToolHasItsFile(t *testing.T) {
	shared := map[string]string{}
	for f, names := range multiToolFiles {
		for _, n := range names {
			shared[n] = f
		}
	}
	for _, tl := range All() {
		file := tl.Name + ".go"
		if f, ok := shared[tl.Name]; ok {
			file = f
		}
		if _, err := os.Stat(file); err != nil {
			t.Errorf("tool %s: no file %s", tl.Name, file)
		}
	}
}
