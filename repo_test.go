package pvemcp_test

import (
	"bytes"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoReferenceOutsideRepository: the repository is self-contained. No
// file reads or names the sibling folder its first CI had next to it (a
// fresh clone has none), so the official API schema and every other input
// of the tests live inside the repository.
func TestNoReferenceOutsideRepository(t *testing.T) {
	banned := [][]byte{[]byte(".." + "/shared"), []byte(`..\` + "shared")}
	files := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", ".cache", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil // symlinks (the local cache) are not part of the repository
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		if strings.HasSuffix(path, ".gz") || bytes.IndexByte(b, 0) >= 0 {
			return nil // binary
		}
		for _, s := range banned {
			if i := bytes.Index(b, s); i >= 0 {
				line := bytes.Count(b[:i], []byte("\n")) + 1
				t.Errorf("%s:%d refers to %q, a folder outside the repository", path, line, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("only %d files walked: not run from the repository root?", files)
	}
}

// TestGoProxmoxOnlyInTests: go-proxmox is the simulator's independent test
// oracle (a widely used client must decode what the simulator sends), not
// part of the binary: package proxmox decodes every endpoint itself.
func TestGoProxmoxOnlyInTests(t *testing.T) {
	const gp = `"github.com/luthermonson/go-proxmox"`
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", ".cache", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, im := range f.Imports {
			if im.Path.Value == gp {
				t.Errorf("%s imports go-proxmox outside a test", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
