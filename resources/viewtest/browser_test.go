package viewtest

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pvemcp/pvemcp/internal/simtest"
	"github.com/pvemcp/pvemcp/mcpserver"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
	"github.com/pvemcp/pvemcp/resources"
	"github.com/pvemcp/pvemcp/toolkit"
	_ "github.com/pvemcp/pvemcp/tools" // registers the tools
)

//go:embed testdata/host.html
var hostPage string

// viewCSP is the policy the spec has hosts apply to a view that declares no
// external origin (pvemcp's views declare none): no network at all.
const viewCSP = "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"media-src 'self' data:; connect-src 'none'; frame-src 'none'; object-src 'none'; base-uri 'self'"

// chromium returns the browser to drive. Without one the test is skipped,
// except in CI (CI=true), where a missing browser fails it.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found: CI installs the Debian package chromium (.ci/run)")
	}
	t.Skip("chromium not found (apt-get install chromium); the views are not rendered")
	return ""
}

// viewCase is one render: a tool's real result handed to its view.
type viewCase struct {
	id       string
	view     string // view name (ui://pvemcp/<view>)
	tool     string
	args     map[string]any
	theme    string
	timeZone string
	width    int
	check    func(q *frameQuery, res map[string]any)
	interact func(q *frameQuery, f *fixture)
}

// fixture: the demo cluster behind pvemcp's MCP server, an MCP Apps client
// of it, the host page's origin and the views' (sandbox) origin.
type fixture struct {
	t       *testing.T
	sim     *pvesim.Sim
	mc      *client.Client
	host    *httptest.Server
	sandbox *httptest.Server
	views   map[string]string // name -> document as read through MCP
	mu      sync.Mutex
	pages   map[string][]byte // case id -> host page
	served  []string          // requests the two servers received
	rpc     []string          // tools/call the host proxied
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	sim := simtest.Demo(t)
	ms := mcpserver.New(toolkit.NewServer(&toolkit.Env{Client: simtest.Proxmox(t, sim, "operator")}, toolkit.Select(true, nil)), "test").MCP()
	caps := mcp.ClientCapabilities{Extensions: map[string]any{resources.AppsExtension: map[string]any{"mimeTypes": []string{resources.ViewMIMEType}}}}
	c := simtest.InProcess(t, ms, simtest.MCP{Name: "viewtest", Capabilities: caps})
	mc, ctx := c.Client, context.Background()
	if _, ok := c.Init.Capabilities.Extensions[resources.AppsExtension]; !ok {
		t.Fatalf("server does not declare %s to a client that advertises it", resources.AppsExtension)
	}
	f := &fixture{t: t, sim: sim, mc: mc, views: map[string]string{}, pages: map[string][]byte{}}

	// Like a host: the view of a tool is the resource its _meta.ui names.
	tl, err := mc.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range tl.Tools {
		if tool.Meta == nil {
			continue
		}
		ui, _ := tool.Meta.AdditionalFields["ui"].(map[string]any)
		uri, _ := ui["resourceUri"].(string)
		if uri == "" {
			continue
		}
		req := mcp.ReadResourceRequest{}
		req.Params.URI = uri
		rr, err := mc.ReadResource(ctx, req)
		if err != nil {
			t.Fatalf("read %s: %v", uri, err)
		}
		tc, ok := rr.Contents[0].(mcp.TextResourceContents)
		if !ok || tc.MIMEType != resources.ViewMIMEType {
			t.Fatalf("read %s: %#v", uri, rr.Contents[0])
		}
		f.views[strings.TrimPrefix(uri, "ui://pvemcp/")] = tc.Text
	}

	f.sandbox = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.record("sandbox " + r.URL.Path)
		doc, ok := f.views[strings.TrimPrefix(r.URL.Path, "/view/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Security-Policy", viewCSP)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(doc))
	}))
	t.Cleanup(f.sandbox.Close)
	f.host = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.record("host " + r.URL.Path)
		if r.URL.Path == "/rpc" {
			f.proxy(w, r)
			return
		}
		f.mu.Lock()
		page, ok := f.pages[strings.TrimPrefix(r.URL.Path, "/host/")]
		f.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	}))
	t.Cleanup(f.host.Close)
	return f
}

func (f *fixture) record(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.served = append(f.served, s)
}

// proxy forwards a view's tools/call, relayed by the host page, to the MCP
// server, as a host does.
func (f *fixture) proxy(w http.ResponseWriter, r *http.Request) {
	var p struct {
		Name      string         `json:"name"`
		Arguments map[string]any `json:"arguments"`
	}
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b, _ := json.Marshal(p.Arguments)
	f.mu.Lock()
	f.rpc = append(f.rpc, p.Name+" "+string(b))
	f.mu.Unlock()
	res, err := f.call(p.Name, p.Arguments)
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"result": res})
}

func (f *fixture) call(name string, args map[string]any) (*mcp.CallToolResult, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	return f.mc.CallTool(context.Background(), req)
}

// page prepares the host page of a case with the tool's result, read now.
func (f *fixture) page(c viewCase) (map[string]any, string) {
	f.t.Helper()
	res, err := f.call(c.tool, c.args)
	if err != nil || res.IsError {
		f.t.Fatalf("%s: %v %v", c.tool, err, res)
	}
	raw, err := json.Marshal(res)
	if err != nil {
		f.t.Fatal(err)
	}
	spec, err := json.Marshal(map[string]any{
		"tool": c.tool, "args": c.args, "result": json.RawMessage(raw), "theme": c.theme, "timeZone": c.timeZone,
		"width": c.width, "viewURL": f.sandbox.URL + "/view/" + c.view,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	spec = bytes.ReplaceAll(spec, []byte("</"), []byte(`<\/`))
	f.mu.Lock()
	f.pages[c.id] = []byte(strings.Replace(hostPage, "/*CASE*/null", string(spec), 1))
	f.mu.Unlock()
	var structured map[string]any
	b, _ := json.Marshal(res.StructuredContent)
	_ = json.Unmarshal(b, &structured)
	return structured, f.host.URL + "/host/" + c.id
}

// frameQuery runs DOM queries inside the view's iframe.
type frameQuery struct {
	t     *testing.T
	ctx   context.Context
	frame *chromedp.Node
	id    string
}

// run runs an action and fails the test on an error.
func run[T any](q *frameQuery, what string, a chromedp.Action[T]) T {
	q.t.Helper()
	v, err := chromedp.Run(q.ctx, a)
	if err != nil {
		q.t.Fatalf("%s: %s: %v", q.id, what, err)
	}
	return v
}

func (q *frameQuery) in() chromedp.QueryOption { return chromedp.FromNode(q.frame) }

func (q *frameQuery) text(sel string) string {
	q.t.Helper()
	return run(q, "text of "+sel, chromedp.Text(chromedp.CSS(sel), q.in()))
}

// texts is the text of every node sel matches. The view may redraw between
// finding the nodes and reading them (their ids are then gone), so a read
// that loses a node starts again, a few times.
func (q *frameQuery) texts(sel string) []string {
	q.t.Helper()
	var err error
	for range 5 {
		nodes, nerr := chromedp.Run(q.ctx, chromedp.Nodes(chromedp.CSSAll(sel), q.in()))
		if err = nerr; err != nil {
			break
		}
		var out []string
		for _, n := range nodes {
			var text string
			if text, err = chromedp.Run(q.ctx, chromedp.TextContent(chromedp.NodeIDs{n.NodeID})); err != nil {
				break
			}
			out = append(out, text)
		}
		if err == nil {
			return out
		}
		time.Sleep(100 * time.Millisecond)
	}
	q.t.Fatalf("%s: text of %s: %v", q.id, sel, err)
	return nil
}

func (q *frameQuery) attr(sel, name string) string {
	q.t.Helper()
	return run(q, "attribute "+name+" of "+sel, chromedp.AttributeValue(chromedp.CSS(sel), name, q.in())).Value
}

func (q *frameQuery) count(sel string) int {
	q.t.Helper()
	return len(run(q, "count "+sel, chromedp.Nodes(chromedp.CSSAll(sel), chromedp.AtLeast(0), q.in())))
}

func (q *frameQuery) has(sel, why string) {
	q.t.Helper()
	if q.count(sel) == 0 {
		q.t.Errorf("%s: nothing matches %s (%s)", q.id, sel, why)
	}
}

func (q *frameQuery) style(sel, prop string) string {
	q.t.Helper()
	for _, p := range run(q, "style of "+sel, chromedp.ComputedStyle(chromedp.CSS(sel), q.in())) {
		if p.Name == prop {
			return p.Value
		}
	}
	return ""
}

// hostState is what the host page recorded.
type hostState struct {
	Log    []string `json:"log"`
	Sizes  []struct{ Width, Height float64 }
	Calls  []map[string]any `json:"calls"`
	Errors []string         `json:"errors"`
}

func dashboardsDir(t *testing.T) string {
	if d := os.Getenv("DASHBOARDS_DIR"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

func num(v any) float64 { f, _ := v.(float64); return f }

// TestViewsInBrowser renders every view in headless Chromium from the demo
// cluster's real results, light and dark and at a narrow width.
func TestViewsInBrowser(t *testing.T) {
	path := chromium(t)
	f := newFixture(t)
	if len(f.views) != len(resources.Views()) {
		t.Fatalf("%d views named by tools, want %d", len(f.views), len(resources.Views()))
	}
	out := dashboardsDir(t)

	checks := map[string]func(q *frameQuery, res map[string]any){
		"overview": checkOverview, "metrics": checkMetrics, "storage": checkStorage,
		"backups": checkBackups, "capacity": checkCapacity, "zfs": checkZFS,
	}
	type base struct {
		view, tool string
		args       map[string]any
	}
	bases := []base{
		{"overview", "cluster_overview", map[string]any{}},
		{"metrics", "get_metrics", map[string]any{"node": "pve-node03"}},
		{"storage", "storage_status", map[string]any{}},
		{"backups", "backup_status", map[string]any{}},
		{"capacity", "capacity_report", map[string]any{"allow_local_disk_moves": true}},
		{"zfs", "zfs_health", map[string]any{}},
	}
	var cases []viewCase
	for _, b := range bases {
		for _, v := range []struct {
			theme, tz string
			width     int
		}{{"light", "Europe/Berlin", 760}, {"dark", "America/New_York", 760}, {"light", "Asia/Tokyo", 360}} {
			c := viewCase{id: fmt.Sprintf("%s-%s-%d", b.view, v.theme, v.width), view: b.view, tool: b.tool, args: b.args,
				theme: v.theme, timeZone: v.tz, width: v.width, check: checks[b.view]}
			switch {
			case v.width > 400 && v.theme == "light" && b.view == "metrics":
				c.interact = changeRange
			case v.width > 400 && v.theme == "light" && b.view == "overview":
				c.interact = refresh
			case v.theme == "dark" && b.view == "overview":
				c.interact = switchTheme
			}
			cases = append(cases, c)
		}
	}

	browser := startBrowser(t, path)
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) { render(t, browser, f, c, out) })
	}
}

// startBrowser starts headless Chromium for the test, with a fresh profile
// and nothing that would reach the network on its own.
func startBrowser(t *testing.T, path string) context.Context {
	t.Helper()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(840, 900),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		// Keep the sandboxed iframe in the page's process so its DOM and
		// its requests are seen from the page (what is tested does not
		// change).
		chromedp.Flag("disable-features", "IsolateSandboxedIframes"),
		// Nothing but loopback resolves: a request that slipped out would
		// fail, and is caught as a request either way.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"))
	browser, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	return browser
}

func render(t *testing.T, browser context.Context, f *fixture, c viewCase, out string) {
	res, url := f.page(c)
	ctx, cancel := chromedp.NewContext(browser)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	defer cancelT()

	w := watchTab(t, ctx)
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("load: %v", err)
	}
	q := &frameQuery{t: t, ctx: ctx, id: c.id}
	run(q, "result handed over", chromedp.Poll[bool](`window.__host && window.__host.results > 0`, chromedp.WithPollingTimeout(20*time.Second)))
	frames := run(q, "iframe", chromedp.Nodes(chromedp.CSS("iframe")))
	q.frame = frames[0]
	run(q, "render", chromedp.WaitReady(chromedp.CSS(`#app[data-rendered]`), q.in()))
	// The host sizes the iframe from the view's size-changed notifications.
	run(q, "size", chromedp.Poll[bool](`(() => { const h = window.__host, s = h.sizes[h.sizes.length - 1];
		return !!s && s.height > 150 && document.querySelector("iframe").style.height === s.height + "px"; })()`,
		chromedp.WithPollingTimeout(10*time.Second)))
	time.Sleep(200 * time.Millisecond) // let a last resize land
	st := run(q, "host state", chromedp.Evaluate[hostState](`window.__host`))

	// Handshake: the view initializes first, then says initialized; the
	// host sent nothing before (it answers only after).
	if len(st.Log) < 2 || st.Log[0] != "ui/initialize" || st.Log[1] != "ui/notifications/initialized" {
		t.Errorf("handshake: view sent %v, want ui/initialize then ui/notifications/initialized", st.Log)
	}
	if len(st.Errors) > 0 {
		t.Errorf("host saw: %v", st.Errors)
	}
	last := st.Sizes[len(st.Sizes)-1]
	if last.Width > float64(c.width) {
		t.Errorf("view is %v px wide in a %d px container (content overflows)", last.Width, c.width)
	}
	// Theme: the host's colour variables, resolved for the host's theme.
	wantBG := map[string]string{"light": "rgb(255, 255, 255)", "dark": "rgb(48, 48, 46)"}[c.theme]
	if bg := q.style("body", "background-color"); bg != wantBG {
		t.Errorf("%s theme: body background %s, want %s", c.theme, bg, wantBG)
	}
	// Time zone: the host's, named in the footer.
	if s := q.text("#sources summary"); !strings.Contains(s, c.timeZone) {
		t.Errorf("footer %q does not name the host's time zone %s", s, c.timeZone)
	}
	// Every figure's source: the footer lists the result's API calls.
	if n, want := q.count("#sources li"), len(res["sources"].([]any)); n != want {
		t.Errorf("footer lists %d API calls, the result has %d", n, want)
	}
	c.check(q, res)

	shot := func(name string) {
		png := run(q, "screenshot", chromedp.Screenshot(chromedp.CSS("iframe")))
		if err := os.WriteFile(filepath.Join(out, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	shot(c.id)
	if c.interact != nil {
		c.interact(q, f)
	}

	for _, p := range w.problemList() {
		t.Errorf("browser reported: %s", p)
	}
	for _, l := range w.leaks(ctx, f, url, c.view) {
		t.Errorf("unexpected request: %s", l)
	}
}

// tabWatch records what a tab reports: every request, with its frame, and
// every console error or warning, uncaught exception and browser log error
// (a Content Security Policy violation is one).
type tabWatch struct {
	mu       sync.Mutex
	requests []string
	problems []string
}

func watchTab(t *testing.T, ctx context.Context) *tabWatch {
	t.Helper()
	w := &tabWatch{}
	err := chromedp.Listen(ctx, func(ev any) {
		w.mu.Lock()
		defer w.mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			w.requests = append(w.requests, string(e.FrameID)+" "+e.Request.URL)
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning || e.Type == runtime.ConsoleAPICalledTypeAssert {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				w.problems = append(w.problems, "console."+string(e.Type)+": "+strings.Join(parts, " "))
			}
		case *runtime.EventExceptionThrown:
			d := e.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			w.problems = append(w.problems, "exception: "+msg)
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError || e.Entry.Level == cdplog.EntryLevelWarning {
				w.problems = append(w.problems, "log "+string(e.Entry.Source)+": "+e.Entry.Text+" "+e.Entry.URL)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *tabWatch) problemList() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.problems)
}

// leaks lists the requests beyond the host's own (its page and its
// tools/call relay, from the top frame) and the view's document (from the
// view's frame).
func (w *tabWatch) leaks(ctx context.Context, f *fixture, page, view string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	top := string(chromedp.FromContext(ctx).Target.TargetID)
	var out []string
	for _, r := range w.requests {
		frame, u, _ := strings.Cut(r, " ")
		switch {
		case u == page && frame == top:
		case u == f.host.URL+"/rpc" && frame == top:
		case u == f.sandbox.URL+"/view/"+view && frame != top:
		case strings.HasPrefix(u, "data:"):
		default:
			where := "the view"
			if frame == top {
				where = "the host page"
			}
			out = append(out, u+" from "+where)
		}
	}
	return out
}

// With a node down, a view draws what the others returned and names the
// failure (partial beats wrong).
func TestViewsShowPartialResults(t *testing.T) {
	path := chromium(t)
	f := newFixture(t)
	f.sim.SetFault("pve-node02", pvesim.Fault{Offline: true})
	browser := startBrowser(t, path)
	out := dashboardsDir(t)
	partial := func(q *frameQuery, res map[string]any) {
		if s := q.text("#errors"); !strings.Contains(s, "pve-node02") {
			q.t.Errorf("failure not named: %q", s)
		}
		if q.count(`[data-node="pve-node03"]`) == 0 {
			q.t.Errorf("pve-node03's part not drawn")
		}
	}
	for _, c := range []viewCase{
		{id: "zfs-partial-light-760", view: "zfs", tool: "zfs_health", args: map[string]any{}},
		{id: "storage-partial-light-760", view: "storage", tool: "storage_status", args: map[string]any{}},
	} {
		c.theme, c.timeZone, c.width, c.check = "light", "UTC", 760, partial
		t.Run(c.id, func(t *testing.T) { render(t, browser, f, c, out) })
	}
}

// The checks above can fail: a view that logs an error, loads a script
// from a CDN and navigates away is caught on all three counts.
func TestBrowserChecksCatchMisbehavingView(t *testing.T) {
	path := chromium(t)
	f := newFixture(t)
	f.views["bad"] = `<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><script>
window.parent.postMessage({jsonrpc: "2.0", id: 1, method: "ui/initialize", params: {protocolVersion: "2026-01-26", appInfo: {name: "bad", version: "1"}, appCapabilities: {}}}, "*");
window.addEventListener("message", (ev) => {
  if (ev.data.id !== 1) return;
  window.parent.postMessage({jsonrpc: "2.0", method: "ui/notifications/initialized", params: {}}, "*");
  console.error("boom");
  const s = document.createElement("script"); s.src = "https://cdn.example.com/chart.js"; document.head.append(s);
  setTimeout(() => { location.href = "` + f.host.URL + `/leak"; }, 50);
});
</script></body></html>`
	browser := startBrowser(t, path)
	c := viewCase{id: "bad", view: "bad", tool: "cluster_overview", args: map[string]any{}, theme: "light", timeZone: "UTC", width: 400}
	_, url := f.page(c)
	ctx, cancel := chromedp.NewContext(browser)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 30*time.Second)
	defer cancelT()
	w := watchTab(t, ctx)
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	var leaks, problems []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		leaks, problems = w.leaks(ctx, f, url, c.view), w.problemList()
		if slices.ContainsFunc(leaks, func(l string) bool { return strings.Contains(l, "/leak") }) && len(problems) >= 2 {
			break
		}
	}
	t.Logf("caught: %q; requests: %q", problems, leaks)
	joined := strings.Join(problems, "\n")
	if !strings.Contains(joined, "boom") {
		t.Errorf("console.error not caught: %v", problems)
	}
	if !strings.Contains(joined, "Content Security Policy") || !strings.Contains(joined, "cdn.example.com") {
		t.Errorf("blocked CDN script not reported: %v", problems)
	}
	if !slices.ContainsFunc(leaks, func(l string) bool { return strings.Contains(l, "/leak from the view") }) {
		t.Errorf("navigation away not caught as a request: %v", leaks)
	}
}

func checkOverview(q *frameQuery, res map[string]any) {
	for _, n := range res["nodes"].([]any) {
		n := n.(map[string]any)
		name := n["node"].(string)
		sel := `.node[data-node="` + name + `"]`
		if !strings.Contains(q.text(sel+" h3"), name) {
			q.t.Errorf("node %s not drawn", name)
		}
		ram := sel + ` .meter[data-metric="mem_pct"]`
		if got := q.attr(ram, "data-value"); got != strconv.FormatFloat(num(n["mem_pct"]), 'f', -1, 64) {
			q.t.Errorf("%s RAM drawn as %s, result has %v", name, got, n["mem_pct"])
		}
		if got := q.attr(ram, "data-threshold"); got != "85" {
			q.t.Errorf("%s RAM threshold line at %q, want 85", name, got)
		}
		q.has(ram+` .threshold[style*="left:85%"]`, "85 % line drawn")
		over := q.attr(ram, "data-over") == "true"
		if over != (num(n["mem_pct"]) >= 85) {
			q.t.Errorf("%s RAM %v drawn over=%v", name, n["mem_pct"], over)
		}
	}
	if q.attr(`.node[data-node="pve-node03"] .meter[data-metric="mem_pct"]`, "data-over") != "true" {
		q.t.Errorf("pve-node03's RAM is not drawn above the 85 %% line")
	}
	q.has(`#alerts li[data-subject="pve-node03"][data-metric="mem_pct"]`, "the RAM alert")
	if s := q.text("#quorum"); !strings.Contains(s, "quorate") {
		q.t.Errorf("quorum: %q", s)
	}
}

func checkMetrics(q *frameQuery, res map[string]any) {
	stats := res["stats"].(map[string]any)
	for f := range stats {
		q.has(`.series[data-field="`+f+`"] svg.chart path.line`, "chart of "+f)
	}
	q.has(`.series[data-field="mem_pct"] line.thr[data-threshold="85"]`, "85 % line on the RAM chart")
	// pve-node03's RAM runs above the line: the newest point is over 85.
	pts := res["points"].([]any)
	if lastMem := num(pts[len(pts)-1].(map[string]any)["mem_pct"]); lastMem < 85 {
		q.t.Errorf("demo: pve-node03 RAM %v, expected above 85", lastMem)
	}
	// Time axis in the host's time zone (en-GB, 24 h).
	tz := q.text("#sources summary")
	zone := tz[strings.LastIndex(tz, "(")+1 : strings.LastIndex(tz, ")")]
	loc, err := time.LoadLocation(zone)
	if err != nil {
		q.t.Fatal(err)
	}
	first := int64(num(pts[0].(map[string]any)["time"]))
	want := time.Unix(first, 0).In(loc).Format("15:04")
	labels := q.texts(`.series[data-field="cpu_pct"] svg text`)
	if !slices.Contains(labels, want) {
		q.t.Errorf("time axis %v lacks the first point's time %s in %s", labels, want, zone)
	}
	if s := q.attr(`button[data-timeframe="day"]`, "aria-pressed"); s != "true" {
		q.t.Errorf("day range not marked: %q", s)
	}
}

// changeRange clicks "week": the view asks the host to call get_metrics
// again, with its target and the new range, and draws the answer.
func changeRange(q *frameQuery, f *fixture) {
	run(q, "click week", chromedp.Click(chromedp.CSS(`button[data-timeframe="week"]`), q.in()))
	run(q, "redrawn", chromedp.WaitReady(chromedp.CSS(`button[data-timeframe="week"][aria-pressed="true"]`), q.in()))
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slices.Contains(f.rpc, `get_metrics {"node":"pve-node03","timeframe":"week"}`) {
		q.t.Errorf("host relayed %v, want get_metrics for pve-node03 over a week", f.rpc)
	}
	if s := q.text(`#app p.muted`); !strings.Contains(s, "Last week") {
		q.t.Errorf("after the change: %q", s)
	}
}

// refresh clicks "Refresh": the view asks the host to call its tool again
// with the same arguments and draws the new result.
func refresh(q *frameQuery, f *fixture) {
	before := q.attr("#app", "data-rendered")
	run(q, "click refresh", chromedp.Click(chromedp.CSS("#refresh"), q.in()))
	run(q, "redrawn", chromedp.WaitReady(chromedp.CSS(`#app:not([data-rendered="`+before+`"])`), q.in()))
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slices.Contains(f.rpc, "cluster_overview {}") {
		q.t.Errorf("host relayed %v, want cluster_overview with the same arguments", f.rpc)
	}
}

// switchTheme: the host turns light; the view follows without a reload.
func switchTheme(q *frameQuery, _ *fixture) {
	run(q, "host-context-changed", chromedp.Evaluate[bool](`document.querySelector("iframe").contentWindow.postMessage(
		{jsonrpc: "2.0", method: "ui/notifications/host-context-changed", params: {theme: "light"}}, "*") === undefined`))
	deadline := time.Now().Add(5 * time.Second)
	for q.style("body", "background-color") != "rgb(255, 255, 255)" {
		if time.Now().After(deadline) {
			q.t.Errorf("after host-context-changed to light, body background is %s", q.style("body", "background-color"))
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func checkStorage(q *frameQuery, res map[string]any) {
	thr := num(res["threshold_pct"])
	for _, s := range res["storages"].([]any) {
		s := s.(map[string]any)
		sel := `.card[data-storage="` + s["storage"].(string) + `"][data-node="` + s["node"].(string) + `"]`
		if got := q.attr(sel+` .meter`, "data-threshold"); got != strconv.FormatFloat(thr, 'f', -1, 64) {
			q.t.Errorf("%s: threshold line at %q, want %v", sel, got, thr)
		}
		if fc, _ := s["forecast"].(map[string]any); fc != nil && fc["threshold_date"] != nil {
			date := fc["threshold_date"].(string)
			q.has(sel+` svg.projection[data-threshold-date="`+date+`"] circle.mark`, "forecast date marked")
			if txt := q.text(sel + ` .forecast-date`); !strings.Contains(txt, date) {
				q.t.Errorf("%s: forecast %q lacks %s", sel, txt, date)
			}
		}
	}
}

func checkBackups(q *frameQuery, res map[string]any) {
	var found bool
	for _, f := range res["failures"].([]any) {
		f := f.(map[string]any)
		if num(f["vmid"]) != 103 {
			continue
		}
		found = true
		txt := q.text(`.failure[data-vmid="103"]`)
		for _, l := range f["error_lines"].([]any) {
			if !strings.Contains(txt, l.(string)) {
				q.t.Errorf("VM 103's failure lacks its error line %q: %q", l, txt)
			}
		}
		q.has(`#calendar .day.failed[data-job="`+f["job"].(string)+`"]`, "the failed day in the calendar")
	}
	if !found {
		q.t.Errorf("demo: no failed backup of VM 103 in the result")
	}
	for _, j := range res["jobs"].([]any) {
		if id := j.(map[string]any)["id"].(string); !strings.Contains(q.text("#jobs"), id) {
			q.t.Errorf("job %s not listed", id)
		}
	}
	q.has(`#not-backed-up li[data-vmid="105"]`, "VM 105 without a job")
}

func checkCapacity(q *frameQuery, res map[string]any) {
	q.has(`.node[data-node="pve-node03"] .meter[data-metric="mem_pct"][data-over="true"]`, "pve-node03 RAM above 85 %")
	moves := res["moves"].([]any)
	if len(moves) == 0 {
		q.t.Fatalf("demo: no move proposed with local-disk moves allowed")
	}
	for _, m := range moves {
		m := m.(map[string]any)
		txt := q.text(`#moves li[data-step="` + strconv.Itoa(int(num(m["step"]))) + `"]`)
		for _, want := range []string{m["from"].(string), m["to"].(string)} {
			if !strings.Contains(txt, want) {
				q.t.Errorf("move %v: row %q lacks %s", m["step"], txt, want)
			}
		}
	}
}

func checkZFS(q *frameQuery, res map[string]any) {
	q.has(`.pool[data-node="pve-node03"][data-pool="rpool"][data-state="DEGRADED"]`, "rpool DEGRADED")
	if s := q.text(`.pool[data-pool="rpool"] .badge.state`); s != "DEGRADED" {
		q.t.Errorf("rpool badge %q", s)
	}
	if n, want := q.count(".pool"), len(res["pools"].([]any)); n != want {
		q.t.Errorf("%d pools drawn, result has %d", n, want)
	}
}
