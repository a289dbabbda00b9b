package pvemcp_test

import (
	"bytes"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"strings"
	"testing"
	"testing/fstest"
)

// TestNoReferenceOutsideRepository: the repository is self-contained. No
// file reads or names the sibling folder its first CI had next to it (a
// fresh clone has none), so the official API schema and every other input
// of the tests live inside the repository.
func TestNoReferenceOutsideRepository(t *testing.T) {
	banned := [][]byte{[]byte(".." + "/shared"), []byte(`..\` + "shared")}
	files := 0
	err := walkRepo(os.DirFS("."), func(path string) error {
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
	err := walkRepo(os.DirFS("."), func(path string) error {
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

const (
	mcpSDK       = "github.com/mark3labs/mcp-go"
	mcpServerPkg = "github.com/pvemcp/pvemcp/mcpserver"
	// simtestPkg is test support: it starts MCP clients of a server, as
	// tests do, and no production file may import it.
	simtestPkg = "github.com/pvemcp/pvemcp/internal/simtest"
)

// TestMCPSDKBehindOneDoor: package mcpserver is the only production code
// that imports the MCP SDK (mcp-go), and only cmd/pvemcp imports mcpserver,
// so the tools, the framework they are written against (toolkit) and every
// other package build without the SDK; switching SDKs touches mcpserver
// alone. Tests elsewhere may drive a server as a client does, with the SDK's
// client packages, but reach its server side only through mcpserver; the
// framework's own tests import neither. internal/simtest, the tests' shared
// support, counts as test code, and production code never imports it.
func TestMCPSDKBehindOneDoor(t *testing.T) {
	bad, files, err := sdkDoorViolations(os.DirFS("."))
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("only %d Go files parsed: not run from the repository root?", files)
	}
	for _, b := range bad {
		t.Error(b)
	}
}

// TestSDKDoorCheckerCatchesViolations: the checker above reports each kind
// of import it forbids, and only those.
func TestSDKDoorCheckerCatchesViolations(t *testing.T) {
	file := func(pkg string, imports ...string) *fstest.MapFile {
		src := "package " + pkg + "\n\nimport (\n"
		for _, im := range imports {
			src += "\t_ \"" + im + "\"\n"
		}
		return &fstest.MapFile{Data: []byte(src + ")\n")}
	}
	fsys := fstest.MapFS{
		// allowed
		"mcpserver/server.go":      file("mcpserver", mcpSDK+"/server", mcpSDK+"/mcp"),
		"mcpserver/server_test.go": file("mcpserver", mcpSDK+"/client"),
		"cmd/pvemcp/serve.go":      file("main", mcpServerPkg),
		"tools/confirm_test.go":    file("tools", mcpSDK+"/client", mcpSDK+"/mcp", mcpServerPkg),
		"internal/simtest/mcp.go":  file("simtest", mcpSDK+"/client", mcpSDK+"/server"),
		"tools/list_test.go":       file("tools", simtestPkg),
		// forbidden
		"tools/confirm_plan.go":     file("tools", mcpSDK+"/mcp"),
		"tools/nodes.go":            file("tools", mcpServerPkg),
		"toolkit/peer_test.go":      file("toolkit", mcpSDK+"/client"),
		"toolkit/server_test.go":    file("toolkit", mcpServerPkg),
		"resources/views_test.go":   file("resources_test", mcpSDK+"/server"),
		"cmd/pvemcp/http.go":        file("main", mcpSDK+"/server"),
		"internal/x/mcpserver/a.go": file("a", mcpSDK),
		"tools/zfs_health.go":       file("tools", simtestPkg),
	}
	bad, files, err := sdkDoorViolations(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if files != len(fsys) {
		t.Errorf("parsed %d files, want %d", files, len(fsys))
	}
	want := []string{"cmd/pvemcp/http.go", "internal/x/mcpserver/a.go", "resources/views_test.go",
		"toolkit/peer_test.go", "toolkit/server_test.go", "tools/confirm_plan.go", "tools/nodes.go", "tools/zfs_health.go"}
	var got []string
	for _, b := range bad {
		got = append(got, strings.Fields(b)[0])
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("violations:\n%s\nwant one for each of %v", strings.Join(bad, "\n"), want)
	}
}

// sdkDoorViolations lists the imports TestMCPSDKBehindOneDoor forbids in
// fsys, one line each starting with the file's path, in path order.
func sdkDoorViolations(fsys fs.FS) (bad []string, files int, err error) {
	fset := token.NewFileSet()
	err = walkRepo(fsys, func(p string) error {
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		src, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, p, src, parser.ImportsOnly)
		if err != nil {
			return err
		}
		files++
		dir := path.Dir(p)
		test := strings.HasSuffix(p, "_test.go") || dir == "internal/simtest"
		for _, im := range f.Imports {
			ip := strings.Trim(im.Path.Value, `"`)
			sdk := ip == mcpSDK || strings.HasPrefix(ip, mcpSDK+"/")
			switch {
			case sdk && (dir == "mcpserver" || dir == "internal/simtest"):
			case ip == simtestPkg && !test:
				bad = append(bad, p+" imports internal/simtest: test support is never part of the binary")
			case sdk && !test:
				bad = append(bad, p+" imports "+ip+": only package mcpserver may import the MCP SDK")
			case (sdk || ip == mcpServerPkg) && dir == "toolkit":
				bad = append(bad, p+" imports "+ip+": the tool framework and its tests know no MCP SDK")
			case sdk && (ip == mcpSDK+"/server" || strings.HasPrefix(ip, mcpSDK+"/server/")):
				bad = append(bad, p+" imports "+ip+": tests reach the SDK's server side through mcpserver")
			case ip == mcpServerPkg && !test && dir != "cmd/pvemcp":
				bad = append(bad, p+" imports mcpserver: only cmd/pvemcp serves MCP")
			}
		}
		return nil
	})
	return bad, files, err
}

// walkRepo calls fn with the path of every regular file of the repository
// in fsys: not under .git, the ignored .cache or node_modules, and not a
// symlink (the local cache is one).
func walkRepo(fsys fs.FS, fn func(path string) error) error {
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", ".cache", "node_modules":
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return fn(p)
	})
}
