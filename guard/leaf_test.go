package guard

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// guard stays a leaf: proxmox imports it for Approval and tools for plans,
// so importing either would be a cycle (and would let guard send requests).
func TestGuardImportsNothingFromPvemcp(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	n := 0
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, e.Name(), nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		n++
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, "github.com/pvemcp/pvemcp") || p == "net/http" {
				t.Errorf("%s imports %s", e.Name(), p)
			}
		}
	}
	if n == 0 {
		t.Fatal("no source files found")
	}
}
