package tools

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/toolkit"
)

// multiToolFiles hold tools that share most of their code.
var multiToolFiles = map[string][]string{
	"create.go":    {"create_vm", "create_container"},
	"tasks.go":     {"list_tasks", "get_task"},
	"snapshots.go": {"list_snapshots", "snapshot_guest"},
	"toolsets.go":  {"list_toolsets", "enable_toolset"},
}

// TestEveryToolHasItsFile: a tool describes itself in one place. A reader
// finds it by its name: tools/NAME.go (or a file named for the few tools
// that share their code) and its tests in tools/NAME_test.go, with at least
// one test that calls it and, if it needs arguments to be called, their
// declaration (declareArgs); its privileges are in its Meta, its tools/list
// entry in schemas/tools/NAME.json and its line in the README's tool list.
// Each problem names the tool.
func TestEveryToolHasItsFile(t *testing.T) {
	shared := map[string]string{}
	for f, names := range multiToolFiles {
		for _, n := range names {
			shared[n] = f
		}
	}
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	list := string(readme)
	if i, j := strings.Index(list, "<!-- tools:begin -->"), strings.Index(list, "<!-- tools:end -->"); i >= 0 && j > i {
		list = list[i:j]
	} else {
		t.Fatal("README.md lacks the tools:begin and tools:end markers")
	}
	for _, tl := range toolkit.All() {
		file := tl.Name + ".go"
		if f, ok := shared[tl.Name]; ok {
			file = f
		}
		if _, err := os.Stat(file); err != nil {
			t.Errorf("tool %s: no file %s", tl.Name, file)
		}
		if tl.Needs == nil {
			t.Errorf("tool %s: no Needs in its Meta (NeedsNothing if it needs no privilege)", tl.Name)
		}
		testFile := tl.Name + "_test.go"
		if tests := testsCalling(t, testFile, tl.Name); len(tests) == 0 {
			t.Errorf("tool %s: %s has no test that calls it (a Test function naming %q)", tl.Name, testFile, tl.Name)
		}
		if a, ok := declaredArgs[tl.Name]; ok && a.file != testFile {
			t.Errorf("tool %s: its arguments are declared in %s, not in %s", tl.Name, a.file, testFile)
		}
		var snap struct {
			Name string `json:"name"`
		}
		b, err := os.ReadFile(filepath.Join("..", "schemas", "tools", tl.Name+".json"))
		if err == nil {
			err = json.Unmarshal(b, &snap)
		}
		if err != nil || snap.Name != tl.Name {
			t.Errorf("tool %s: no snapshot schemas/tools/%s.json (%v); run make snapshots", tl.Name, tl.Name, err)
		}
		if line := markdownLine(tl); !strings.Contains(list, "\n"+line+"\n") {
			t.Errorf("tool %s: the README tool list lacks %q; run make snapshots", tl.Name, line)
		}
	}
}

// markdownLine is the tool's line in the README tool list.
func markdownLine(tl *toolkit.Tool) string {
	for _, l := range strings.Split(toolkit.Markdown([]*toolkit.Tool{tl}), "\n") {
		if strings.HasPrefix(l, "| `"+tl.Name+"` |") {
			return l
		}
	}
	return "| `" + tl.Name + "` |"
}

// testsCalling returns the Test functions of file whose body names the tool
// (a string literal equal to its name: e.call(t, "zfs_health", ...)).
func testsCalling(t *testing.T, file, tool string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		if !os.IsNotExist(err) {
			t.Errorf("%s: %v", file, err)
		}
		return nil
	}
	var out []string
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Recv != nil || fd.Body == nil || !strings.HasPrefix(fd.Name.Name, "Test") {
			continue
		}
		calls := false
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			if bl, ok := n.(*ast.BasicLit); ok && bl.Kind == token.STRING {
				if s, err := strconv.Unquote(bl.Value); err == nil && s == tool {
					calls = true
				}
			}
			return !calls
		})
		if calls {
			out = append(out, fd.Name.Name)
		}
	}
	return out
}
