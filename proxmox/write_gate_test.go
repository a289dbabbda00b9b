package proxmox

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The approval gate by construction: these tests read the module's Go
// sources and fail when a request with a method other than GET could be
// built outside proxmox/write*.go, or when a function there can send without
// a guard.Approval that authorizes the call first. The rules, together:
//   - outside package proxmox nobody builds a non-GET request or a
//     go-proxmox client;
//   - inside it only Client.send builds requests, only Client.do passes
//     send a method other than GET, and only write*.go calls do;
//   - every function in write*.go that calls do takes a guard.Approval and
//     calls its Authorize(call) first.
// So every exported method that can mutate takes an Approval; write*.go
// may also hold plain GET reads that planning needs.

// nonProxmoxHTTP lists files outside package proxmox allowed to build non-GET
// HTTP requests, with the reason (they never talk to Proxmox).
var nonProxmoxHTTP = map[string]string{}

const goProxmoxImport = "github.com/luthermonson/go-proxmox"

type violation struct{ file, msg string }

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

// importName is the local name of an import path in f, or "".
func importName(f *ast.File, path string) string {
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		if p != path {
			continue
		}
		if imp.Name != nil {
			return imp.Name.Name
		}
		return path[strings.LastIndex(path, "/")+1:]
	}
	return ""
}

func isPkgSel(e ast.Expr, pkg string, names ...string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || pkg == "" {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	if !ok || id.Name != pkg {
		return false
	}
	for _, n := range names {
		if sel.Sel.Name == n {
			return true
		}
	}
	return false
}

// isGET reports whether e is the constant GET method.
func isGET(e ast.Expr, httpName string) bool {
	if lit, ok := e.(*ast.BasicLit); ok {
		return lit.Value == `"GET"`
	}
	return isPkgSel(e, httpName, "MethodGet")
}

// calledName is the selector or function name of a call ("do" for c.do(...)).
func calledName(call *ast.CallExpr) string {
	switch fn := call.Fun.(type) {
	case *ast.SelectorExpr:
		return fn.Sel.Name
	case *ast.Ident:
		return fn.Name
	}
	return ""
}

// isClientDo matches Client.do(ctx, method, path, params, out): the only
// helper that sends any method.
func isClientDo(call *ast.CallExpr) bool {
	return calledName(call) == "do" && len(call.Args) == 5
}

// checkSource applies the gate rules to one file. rel is its slash path
// from the module root.
func checkSource(rel string, src []byte) ([]violation, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, rel, src, 0)
	if err != nil {
		return nil, err
	}
	var out []violation
	add := func(n ast.Node, format string) {
		out = append(out, violation{rel, fset.Position(n.Pos()).String() + ": " + format})
	}
	inProxmox := strings.HasPrefix(rel, "proxmox/") && !strings.Contains(rel[len("proxmox/"):], "/")
	isWrite := inProxmox && strings.HasPrefix(filepath.Base(rel), "write")
	httpName := importName(f, "net/http")

	// go-proxmox types may decode answers, but a go-proxmox client would
	// send its own requests (including mutating ones) past the gate.
	if gp := importName(f, goProxmoxImport); gp != "" {
		ast.Inspect(f, func(n ast.Node) bool {
			if e, ok := n.(ast.Expr); ok && isPkgSel(e, gp, "NewClient", "Client") {
				add(n, "uses a go-proxmox client, whose requests bypass the approval gate; use package proxmox")
			}
			return true
		})
	}

	for _, decl := range f.Decls {
		fd, ok := decl.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		fname := fd.Name.Name
		approval := approvalParam(fd, importName(f, "github.com/pvemcp/pvemcp/guard"))
		authorizedAt := token.NoPos
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			switch {
			case isPkgSel(call.Fun, httpName, "NewRequest", "NewRequestWithContext"):
				if len(call.Args) < 2 {
					break
				}
				method := call.Args[0]
				if calledName(call) == "NewRequestWithContext" {
					method = call.Args[1]
				}
				// Inside package proxmox only the transport (send) builds
				// requests; its callers are checked below.
				if inProxmox {
					if fname != "send" {
						add(call, "builds an HTTP request outside Client.send")
					}
				} else if !isGET(method, httpName) && nonProxmoxHTTP[rel] == "" {
					add(call, "builds a non-GET HTTP request outside proxmox/write*.go")
				}
			case isPkgSel(call.Fun, httpName, "Post", "PostForm"):
				if nonProxmoxHTTP[rel] == "" {
					add(call, "sends an HTTP POST outside proxmox/write*.go")
				}
			case inProxmox && calledName(call) == "send" && len(call.Args) == 4:
				if fname != "do" && !isGET(call.Args[1], httpName) {
					add(call, "calls Client.send with a method other than GET outside Client.do")
				}
			case inProxmox && isClientDo(call):
				if !isWrite {
					add(call, "calls Client.do (any method) outside proxmox/write*.go")
				} else if approval == "" {
					add(call, fname+" sends without a guard.Approval parameter")
				} else if authorizedAt == token.NoPos || authorizedAt > call.Pos() {
					add(call, fname+" sends before "+approval+".Authorize(call)")
				}
			case approval != "" && calledName(call) == "Authorize":
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
					if id, ok := sel.X.(*ast.Ident); ok && id.Name == approval && authorizedAt == token.NoPos {
						authorizedAt = call.Pos()
					}
				}
			}
			return true
		})
	}
	return out, nil
}

// approvalParam is the name of fd's guard.Approval parameter, or "".
func approvalParam(fd *ast.FuncDecl, guardName string) string {
	if guardName == "" {
		return ""
	}
	for _, field := range fd.Type.Params.List {
		if isPkgSel(field.Type, guardName, "Approval") && len(field.Names) > 0 {
			return field.Names[0].Name
		}
	}
	return ""
}

func TestNoMutatingCallOutsideTheGate(t *testing.T) {
	root := moduleRoot(t)
	var files int
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(path, root+string(filepath.Separator)))
		if d.IsDir() {
			switch {
			case path == root:
			case strings.HasPrefix(d.Name(), "."), d.Name() == "node_modules", d.Name() == "testdata":
				return filepath.SkipDir
			case rel == "proxmox/pvesim":
				// The simulator serves the API; it makes no requests to Proxmox.
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		vs, err := checkSource(rel, src)
		if err != nil {
			// Another package mid-edit may not parse; the compiler reports that.
			t.Logf("skipping %s: %v", rel, err)
			return nil
		}
		for _, v := range vs {
			t.Errorf("%s", v.msg)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 5 {
		t.Fatalf("only %d Go files scanned; the walk is broken", files)
	}
}

// TestGateCheckerCatchesViolations proves the checker above can fail.
func TestGateCheckerCatchesViolations(t *testing.T) {
	cases := []struct {
		rel, src, want string
	}{
		{"tools/bad.go", `package tools
import "net/http"
func f() { http.NewRequest(http.MethodPost, "https://pve:8006/api2/json/nodes/n/qemu/100/status/start", nil) }`,
			"non-GET HTTP request"},
		{"tools/bad.go", `package tools
import "net/http"
func f(m string) { http.NewRequest(m, "u", nil) }`, "non-GET HTTP request"},
		{"tools/bad.go", `package tools
import nh "net/http"
func f() { nh.Post("u", "", nil) }`, "HTTP POST"},
		{"cmd/x/bad.go", `package main
import px "github.com/luthermonson/go-proxmox"
var c = px.NewClient("https://pve:8006/api2/json")`, "go-proxmox client"},
		{"proxmox/cluster.go", `package proxmox
func (c *Client) StartGuest(ctx context.Context) error { return c.do(ctx, "POST", "/x", nil, nil) }`,
			"outside proxmox/write*.go"},
		{"proxmox/cluster.go", `package proxmox
func (c *Client) sneaky(ctx context.Context) answer { return c.send(ctx, "PUT", "/x", nil) }`,
			"method other than GET"},
		{"proxmox/cluster.go", `package proxmox
import "net/http"
func (c *Client) other(ctx context.Context) { http.NewRequestWithContext(ctx, http.MethodGet, "u", nil) }`,
			"outside Client.send"},
		{"proxmox/write_extra.go", `package proxmox
func (c *Client) Reboot(ctx context.Context) error { return c.do(ctx, "POST", "/x", nil, nil) }`,
			"sends without a guard.Approval"},
		{"proxmox/write_extra.go", `package proxmox
import "github.com/pvemcp/pvemcp/guard"
func (c *Client) Reboot(ctx context.Context, a guard.Approval, call guard.Call) error {
	err := c.do(ctx, "POST", "/x", nil, nil)
	a.Authorize(call)
	return err
}`, "sends before a.Authorize"},
	}
	for _, tc := range cases {
		vs, err := checkSource(tc.rel, []byte(tc.src))
		if err != nil {
			t.Fatalf("%s: %v", tc.want, err)
		}
		found := false
		for _, v := range vs {
			found = found || strings.Contains(v.msg, tc.want)
		}
		if !found {
			t.Errorf("checker missed %q in %s: %v", tc.want, tc.rel, vs)
		}
	}
	ok := `package proxmox
import "github.com/pvemcp/pvemcp/guard"
func (c *Client) Send(ctx context.Context, a guard.Approval, call guard.Call) error {
	if err := a.Authorize(call); err != nil { return err }
	return c.do(ctx, call.Method, call.Path, nil, nil)
}`
	if vs, _ := checkSource("proxmox/write.go", []byte(ok)); len(vs) != 0 {
		t.Errorf("checker refuses the correct pattern: %v", vs)
	}
}
