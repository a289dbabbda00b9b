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
// sent from outside proxmox/write*.go, or when a function there can send
// without a guard.Approval that authorized the call first. See checkFiles
// for the rules. write*.go may also hold plain GET reads that planning needs.

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

// paramIndex is the position of the parameter named name in fd, or -1.
func paramIndex(fd *ast.FuncDecl, name string) int {
	i := 0
	for _, field := range fd.Type.Params.List {
		if len(field.Names) == 0 {
			i++
			continue
		}
		for _, n := range field.Names {
			if n.Name == name {
				return i
			}
			i++
		}
	}
	return -1
}

func paramCount(fd *ast.FuncDecl) int {
	n := 0
	for _, field := range fd.Type.Params.List {
		n += max(1, len(field.Names))
	}
	return n
}

// funcKey identifies a function by name and arity: enough to tell
// Client.do (5 parameters) from flightGroup.do (3) in one package.
func funcKey(name string, arity int) string { return name + "/" + strconv.Itoa(arity) }

type srcFile struct {
	rel  string
	fset *token.FileSet
	f    *ast.File
}

type funcInfo struct {
	file *srcFile
	fd   *ast.FuncDecl
	key  string
}

func parseSource(rel string, src []byte) (*srcFile, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, rel, src, 0)
	if err != nil {
		return nil, err
	}
	return &srcFile{rel: rel, fset: fset, f: f}, nil
}

func inProxmoxPkg(rel string) bool {
	return strings.HasPrefix(rel, "proxmox/") && !strings.Contains(rel[len("proxmox/"):], "/")
}

func (s *srcFile) at(n ast.Node, msg string) violation {
	return violation{s.rel, s.fset.Position(n.Pos()).String() + ": " + msg}
}

// requestMethod is the method argument of http.NewRequest[WithContext].
func requestMethod(call *ast.CallExpr) ast.Expr {
	i := 0
	if calledName(call) == "NewRequestWithContext" {
		i = 1
	}
	if len(call.Args) > i {
		return call.Args[i]
	}
	return nil
}

// checkFiles applies the gate rules to a set of parsed files.
//
// Outside package proxmox: no non-GET request, no http.Post, no
// http.Request literal, no go-proxmox client. Inside it, a data-flow check:
// a "transport" is a function that hands one of its parameters as the
// method to http.NewRequest, directly or through another transport. A call
// of a transport with anything but the constant GET that is not itself such
// a hand-over is an entry point that can mutate: every entry point must be
// in write*.go, in a function that takes a guard.Approval and calls its
// Authorize before. No transport may be exported.
func checkFiles(files []*srcFile) (out []violation, entryPoints []string) {
	var funcs []funcInfo
	for _, s := range files {
		httpName := importName(s.f, "net/http")
		if gp := importName(s.f, goProxmoxImport); gp != "" {
			// go-proxmox types may decode answers, but a go-proxmox client
			// would send its own requests past the gate.
			ast.Inspect(s.f, func(n ast.Node) bool {
				if e, ok := n.(ast.Expr); ok && isPkgSel(e, gp, "NewClient", "Client") {
					out = append(out, s.at(n, "uses a go-proxmox client, whose requests bypass the approval gate; use package proxmox"))
				}
				return true
			})
		}
		inPkg := inProxmoxPkg(s.rel)
		allowed := !inPkg && nonProxmoxHTTP[s.rel] != ""
		ast.Inspect(s.f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CompositeLit:
				if isPkgSel(n.Type, httpName, "Request") && !allowed {
					out = append(out, s.at(n, "builds an http.Request literal; use http.NewRequestWithContext so the gate test sees the method"))
				}
			case *ast.CallExpr:
				if inPkg || allowed {
					return true
				}
				switch {
				case isPkgSel(n.Fun, httpName, "NewRequest", "NewRequestWithContext"):
					if m := requestMethod(n); m != nil && !isGET(m, httpName) {
						out = append(out, s.at(n, "builds a non-GET HTTP request outside proxmox/write*.go"))
					}
				case isPkgSel(n.Fun, httpName, "Post", "PostForm"):
					out = append(out, s.at(n, "sends an HTTP POST outside proxmox/write*.go"))
				}
			}
			return true
		})
		if !inPkg {
			continue
		}
		for _, d := range s.f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Body != nil {
				funcs = append(funcs, funcInfo{file: s, fd: fd, key: funcKey(fd.Name.Name, paramCount(fd))})
			}
		}
	}

	// Transports built directly on http.NewRequest.
	transports := map[string]int{}
	for _, fi := range funcs {
		httpName := importName(fi.file.f, "net/http")
		ast.Inspect(fi.fd.Body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || !isPkgSel(call.Fun, httpName, "NewRequest", "NewRequestWithContext") {
				return true
			}
			m := requestMethod(call)
			if m == nil || isGET(m, httpName) {
				return true
			}
			if id, ok := m.(*ast.Ident); ok && paramIndex(fi.fd, id.Name) >= 0 {
				transports[fi.key] = paramIndex(fi.fd, id.Name)
			} else {
				out = append(out, fi.file.at(call, "builds a request whose method is neither GET nor a parameter of "+fi.fd.Name.Name))
			}
			return true
		})
	}
	// Close over hand-overs, then collect the entry points.
	type entry struct {
		fi   funcInfo
		call *ast.CallExpr
	}
	var entries []entry
	for changed := true; changed; {
		changed = false
		entries = entries[:0]
		for _, fi := range funcs {
			httpName := importName(fi.file.f, "net/http")
			ast.Inspect(fi.fd.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				idx, ok := transports[funcKey(calledName(call), len(call.Args))]
				if !ok || idx >= len(call.Args) || isGET(call.Args[idx], httpName) {
					return true
				}
				if id, ok := call.Args[idx].(*ast.Ident); ok && paramIndex(fi.fd, id.Name) >= 0 {
					if _, known := transports[fi.key]; !known {
						transports[fi.key] = paramIndex(fi.fd, id.Name)
						changed = true
					}
					return true
				}
				entries = append(entries, entry{fi, call})
				return true
			})
		}
	}
	for _, fi := range funcs {
		if _, ok := transports[fi.key]; ok && fi.fd.Name.IsExported() {
			out = append(out, fi.file.at(fi.fd, "exported "+fi.fd.Name.Name+" passes a caller-chosen HTTP method to Proxmox; mutating calls go through write*.go with a guard.Approval"))
		}
	}
	for _, e := range entries {
		fi, name := e.fi, e.fi.fd.Name.Name
		entryPoints = append(entryPoints, fi.file.rel+":"+name)
		if !strings.HasPrefix(filepath.Base(fi.file.rel), "write") {
			out = append(out, fi.file.at(e.call, name+" can send a non-GET request outside proxmox/write*.go"))
			continue
		}
		approval := approvalParam(fi.fd, importName(fi.file.f, "github.com/pvemcp/pvemcp/guard"))
		if approval == "" {
			out = append(out, fi.file.at(e.call, name+" sends without a guard.Approval parameter"))
			continue
		}
		authorized := false
		ast.Inspect(fi.fd.Body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || call.Pos() >= e.call.Pos() || calledName(call) != "Authorize" {
				return true
			}
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == approval {
					authorized = true
				}
			}
			return true
		})
		if !authorized {
			out = append(out, fi.file.at(e.call, name+" sends before "+approval+".Authorize(call)"))
		}
	}
	return out, entryPoints
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
	var files []*srcFile
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
		s, err := parseSource(rel, src)
		if err != nil {
			// Another package mid-edit may not parse; the compiler reports that.
			t.Logf("skipping %s: %v", rel, err)
			return nil
		}
		files = append(files, s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("only %d Go files scanned; the walk is broken", len(files))
	}
	vs, entries := checkFiles(files)
	for _, v := range vs {
		t.Errorf("%s", v.msg)
	}
	// The analysis must see the real transport: the one way to mutate is
	// Send in write.go.
	if strings.Join(entries, ",") != "proxmox/write.go:Send" {
		t.Errorf("mutating entry points %v, want exactly proxmox/write.go:Send", entries)
	}
}

// TestGateCheckerCatchesViolations proves the checker can fail.
func TestGateCheckerCatchesViolations(t *testing.T) {
	transport := `package proxmox
import "net/http"
func (c *Client) attempt(ctx context.Context, method, pq string) answer {
	req, _ := http.NewRequestWithContext(ctx, method, pq, nil)
	_ = req
	return answer{}
}
func (c *Client) send(ctx context.Context, method, pq string, body []byte) answer { return c.attempt(ctx, method, pq) }
func (c *Client) get(ctx context.Context, pq string) answer { return c.send(ctx, http.MethodGet, pq, nil) }
func (c *Client) do(ctx context.Context, method, path string, params url.Values, out any) error {
	c.send(ctx, method, path, nil)
	return nil
}`
	write := `package proxmox
import "github.com/pvemcp/pvemcp/guard"
func (c *Client) Send(ctx context.Context, a guard.Approval, call guard.Call) error {
	if err := a.Authorize(call); err != nil { return err }
	return c.do(ctx, call.Method, call.Path, nil, nil)
}`
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
		{"tools/bad.go", `package tools
import "net/http"
var r = &http.Request{Method: "DELETE"}`, "http.Request literal"},
		{"cmd/x/bad.go", `package main
import px "github.com/luthermonson/go-proxmox"
var c = px.NewClient("https://pve:8006/api2/json")`, "go-proxmox client"},
		{"proxmox/cluster.go", `package proxmox
func (c *Client) startGuest(ctx context.Context) error { return c.do(ctx, "POST", "/x", nil, nil) }`,
			"outside proxmox/write*.go"},
		{"proxmox/cluster.go", `package proxmox
func (c *Client) sneaky(ctx context.Context) answer { return c.send(ctx, "PUT", "/x", nil) }`,
			"outside proxmox/write*.go"},
		{"proxmox/cluster.go", `package proxmox
func (c *Client) Request(ctx context.Context, method, path string) error { return c.do(ctx, method, path, nil, nil) }`,
			"exported Request passes a caller-chosen HTTP method"},
		{"proxmox/cluster.go", `package proxmox
import "net/http"
func (c *Client) other(ctx context.Context, r request) { http.NewRequestWithContext(ctx, r.Method, "u", nil) }`,
			"neither GET nor a parameter"},
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
	parse := func(rel, src string) *srcFile {
		s, err := parseSource(rel, []byte(src))
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		return s
	}
	base := []*srcFile{parse("proxmox/request.go", transport), parse("proxmox/write.go", write)}
	if vs, entries := checkFiles(base); len(vs) != 0 || len(entries) != 1 {
		t.Fatalf("checker refuses the correct pattern: %v (entry points %v)", vs, entries)
	}
	for _, tc := range cases {
		vs, _ := checkFiles(append(append([]*srcFile(nil), base...), parse(tc.rel, tc.src)))
		found := false
		for _, v := range vs {
			found = found || strings.Contains(v.msg, tc.want)
		}
		if !found {
			t.Errorf("checker missed %q in %s: %v", tc.want, tc.rel, vs)
		}
	}
}
