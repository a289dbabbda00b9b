package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/rs/zerolog"

	"github.com/pvemcp/pvemcp/config"
	"github.com/pvemcp/pvemcp/internal/simtest"
	"github.com/pvemcp/pvemcp/mcpserver"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
	"github.com/pvemcp/pvemcp/toolkit"
)

// clearEnv removes every configuration variable for the test.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{config.EnvEndpoint, config.EnvToken, config.EnvInsecure, config.EnvCAFile,
		config.EnvFingerprint, config.EnvHTTPToken, config.EnvClusterName, config.EnvTimeout} {
		t.Setenv(k, "")
		t.Setenv(k+"_FILE", "")
	}
	t.Setenv(EnvAuditLog, filepath.Join(t.TempDir(), "audit.jsonl"))
	t.Setenv(config.EnvPlanStore, "")
	t.Setenv("XDG_STATE_HOME", t.TempDir())
}

func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestWithoutConfigurationSaysWhatToSet(t *testing.T) {
	clearEnv(t)
	for _, args := range [][]string{{"call", "list_guests"}, {"serve"}} {
		code, out, errs := runCLI(t, "", args...)
		if code != 1 || out != "" {
			t.Errorf("%v: exit %d, stdout %q", args, code, out)
		}
		for _, w := range []string{"PROXMOX_VE_ENDPOINT", "PROXMOX_VE_API_TOKEN", "PROXMOX_VE_FINGERPRINT", "PROXMOX_VE_CA_FILE", "PROXMOX_VE_INSECURE=true", "--demo"} {
			if !strings.Contains(errs, w) {
				t.Errorf("%v: message lacks %s: %s", args, w, errs)
			}
		}
	}
	// Partly configured: names exactly what is missing.
	t.Setenv(config.EnvEndpoint, "https://pve1.example:8006")
	code, _, errs := runCLI(t, "", "call", "list_guests")
	if code != 1 || !strings.Contains(errs, "missing PROXMOX_VE_API_TOKEN;") {
		t.Errorf("exit %d: %s", code, errs)
	}
}

func TestVersionAndTools(t *testing.T) {
	clearEnv(t)
	code, out, _ := runCLI(t, "", "version")
	if code != 0 || !strings.HasPrefix(out, "pvemcp ") {
		t.Errorf("version: %d %q", code, out)
	}
	code, out, _ = runCLI(t, "", "tools", "--markdown")
	if code != 0 || out != toolkit.Markdown(toolkit.Select(false, nil)) {
		t.Errorf("tools --markdown: %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "", "tools", "--demo", "--read-only")
	if code != 0 || !strings.Contains(out, "list_guests") || strings.Contains(out, "write") {
		t.Errorf("tools --read-only: %d\n%s", code, out)
	}
	code, _, errs := runCLI(t, "", "serve", "--demo", "--toolsets", "inventory,nope")
	if code != 1 || !strings.Contains(errs, `unknown toolset "nope"`) {
		t.Errorf("bad toolset: %d %s", code, errs)
	}
	// --toolsets write with --read-only serves nothing: refused, naming why.
	code, _, errs = runCLI(t, "", "serve", "--demo", "--read-only", "--toolsets", "write")
	if code != 1 || !strings.Contains(errs, "--toolsets write serves no tool: --read-only removes their write tools") {
		t.Errorf("--toolsets write --read-only: %d %s", code, errs)
	}
	t.Setenv(config.EnvToolsets, "inventory,nope")
	code, _, errs = runCLI(t, "", "serve", "--demo")
	if code != 1 || !strings.Contains(errs, `toolsets (PVEMCP_TOOLSETS or config file): unknown toolset "nope"`) {
		t.Errorf("PVEMCP_TOOLSETS with a bad name: %d %s", code, errs)
	}
	t.Setenv(config.EnvToolsets, "")
	code, out, _ = runCLI(t, "", "serve", "--help")
	for _, ts := range toolkit.ToolsetCatalog() {
		if code != 0 || !strings.Contains(out, "  "+ts.Name) || !strings.Contains(out, ts.Description) {
			t.Errorf("serve --help lacks toolset %s: %d\n%s", ts.Name, code, out)
		}
	}
	code, out, _ = runCLI(t, "", "tools")
	if code != 0 || !strings.Contains(out, "inventory (default): "+toolkit.ToolsetDescription("inventory")) || !strings.Contains(out, "discovery (always)") {
		t.Errorf("tools: %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "", "tools", "--toolsets", "inventory")
	if code != 0 || !strings.Contains(out, "list_guests") || !strings.Contains(out, "enable_toolset") || strings.Contains(out, "get_metrics") || strings.Contains(out, "confirm_plan") {
		t.Errorf("tools --toolsets inventory: %d\n%s", code, out)
	}
	code, _, errs = runCLI(t, "", "tools", "--toolsets", "nope")
	if code != 1 || !strings.Contains(errs, `unknown toolset "nope"`) {
		t.Errorf("tools --toolsets nope: %d %s", code, errs)
	}
	code, _, errs = runCLI(t, "", "--log-level", "loud", "version")
	if code != 1 || !strings.Contains(errs, "--log-level") {
		t.Errorf("bad log level: %d %s", code, errs)
	}
}

func TestCallDemo(t *testing.T) {
	clearEnv(t)
	code, out, errs := runCLI(t, "", "--log-level", "warn", "call", "--demo", "list_guests", `{"node":"pve-node01","type":"qemu","status":"running"}`)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	if m["cluster"] != "tli-prod-cluster" || m["totals"] == nil {
		t.Errorf("result %v", m)
	}
	// A tool error exits 1 with the message on stderr, before any simulator starts.
	code, out, errs = runCLI(t, "", "call", "--demo", "get_guest", `{"vmid":-1}`)
	if code != 1 || out != "" || !strings.Contains(errs, `argument "vmid"`) {
		t.Errorf("tool error: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	code, _, errs = runCLI(t, "", "call", "--demo", "no_such_tool")
	if code != 1 || !strings.Contains(errs, "unknown tool") || !strings.Contains(errs, "list_guests") {
		t.Errorf("unknown tool: exit %d, %q", code, errs)
	}
}

// The stdio server answers on stdout with JSON-RPC only; logs stay on stderr.
func TestStdioDemo(t *testing.T) {
	clearEnv(t)
	in := strings.Join([]string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"cluster_overview","arguments":{}}}`,
		`{"jsonrpc":"2.0","id":4,"method":"prompts/get","params":{"name":"guest_report","arguments":{"vmid":"100"}}}`,
	}, "\n") + "\n"
	pr, pw := io.Pipe()
	var out, errb syncBuf
	done := make(chan int)
	go func() { done <- run([]string{"--log-level", "debug", "serve", "--demo"}, pr, &out, &errb) }()
	_, _ = pw.Write([]byte(in))
	// Wait for the three answers, then close stdin to end the session.
	for !strings.Contains(out.String(), `"id":3`) || !strings.Contains(out.String(), `"id":4`) {
		select {
		case code := <-done:
			t.Fatalf("server exited early (%d): %s", code, errb.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	pw.Close()
	if code := <-done; code != 0 {
		t.Errorf("exit %d: %s", code, errb.String())
	}
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	ids := map[float64]map[string]any{}
	for sc.Scan() {
		var msg map[string]any
		if err := json.Unmarshal(sc.Bytes(), &msg); err != nil || msg["jsonrpc"] != "2.0" {
			t.Fatalf("stdout line is not JSON-RPC: %q", sc.Text())
		}
		if id, ok := msg["id"].(float64); ok {
			ids[id] = msg
		}
	}
	if ids[1]["result"] == nil || ids[2]["result"] == nil || ids[3]["result"] == nil || ids[4]["result"] == nil {
		t.Fatalf("answers: %v", ids)
	}
	res := ids[3]["result"].(map[string]any)
	if res["isError"] == true || res["structuredContent"] == nil {
		t.Errorf("tools/call: %v", res)
	}
	if !strings.Contains(errb.String(), "demo simulator started") {
		t.Errorf("expected logs on stderr, got %q", errb.String())
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// demoMCPServer serves the read tools of sim's cluster as its auditor.
func demoMCPServer(t *testing.T, sim *pvesim.Sim) *mcpserver.Server {
	t.Helper()
	return mcpserver.New(toolkit.NewServer(&toolkit.Env{Client: simtest.Proxmox(t, sim, "auditor")}, toolkit.Select(true, nil)), "test")
}

// startHTTP serves ms over HTTP on a loopback port until the test ends.
func startHTTP(t *testing.T, ms *mcpserver.Server, o httpOptions) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	o.ready = func(a string) { addrc <- a }
	if o.addr == "" {
		o.addr = "127.0.0.1:0"
	}
	errc := make(chan error, 1)
	go func() { errc <- serveHTTP(ctx, ms, o, zerolog.Nop()) }()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-errc:
		t.Fatalf("serveHTTP: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("graceful shutdown: %v", err)
		}
	})
	return "http://" + addr
}

func TestHTTPBothEras(t *testing.T) {
	sim := simtest.Demo(t)
	base := startHTTP(t, demoMCPServer(t, sim), httpOptions{token: "s3cret-token-0123456789"})
	for _, version := range []string{"2025-11-25", mcp.ProtocolVersion20260728} {
		t.Run(version, func(t *testing.T) {
			c := simtest.HTTP(t, base+"/mcp", simtest.MCP{Version: version, Token: "s3cret-token-0123456789"})
			ctx := context.Background()
			if c.Init.ProtocolVersion != version {
				t.Errorf("negotiated %s, want %s", c.Init.ProtocolVersion, version)
			}
			lt, err := c.ListTools(ctx, mcp.ListToolsRequest{})
			if err != nil || len(lt.Tools) < 3 {
				t.Fatalf("tools/list: %v %v", lt, err)
			}
			req := mcp.CallToolRequest{}
			req.Params.Name = "list_guests"
			req.Params.Arguments = map[string]any{"type": "lxc"}
			res, err := c.CallTool(ctx, req)
			if err != nil || res.IsError {
				t.Fatalf("tools/call: %+v %v", res, err)
			}
			if res.StructuredContent == nil && len(res.RawStructuredContent) == 0 {
				t.Error("no structured content")
			}
		})
	}
}

func TestHTTPGuards(t *testing.T) {
	sim := simtest.Demo(t)
	ms := demoMCPServer(t, sim)
	base := startHTTP(t, ms, httpOptions{token: "tok-0123456789abcdef"})
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`
	post := func(headers map[string]string) int {
		req, _ := http.NewRequest("POST", base+"/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post(nil); got != 401 {
		t.Errorf("no token: %d, want 401", got)
	}
	if got := post(map[string]string{"Authorization": "Bearer wrong"}); got != 401 {
		t.Errorf("wrong token: %d, want 401", got)
	}
	if got := post(map[string]string{"Authorization": "Bearer tok-0123456789abcdef", "Origin": "https://evil.example"}); got != 403 {
		t.Errorf("foreign origin: %d, want 403", got)
	}
	if got := post(map[string]string{"Authorization": "Bearer tok-0123456789abcdef", "Origin": "http://localhost:6274"}); got != 200 {
		t.Errorf("loopback origin: %d, want 200", got)
	}
	if got := post(map[string]string{"Authorization": "Bearer tok-0123456789abcdef"}); got != 200 {
		t.Errorf("good request: %d, want 200", got)
	}
	resp, err := http.Get(base + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()

	// Beyond loopback a token is mandatory.
	err = serveHTTP(context.Background(), ms, httpOptions{addr: "0.0.0.0:0"}, zerolog.Nop())
	if err == nil || !strings.Contains(err.Error(), "PVEMCP_HTTP_TOKEN") {
		t.Errorf("public without token: %v", err)
	}
}

func TestMain(m *testing.M) {
	if os.Getenv(envRunAsPvemcp) == "1" {
		// A child process of a test that needs a real pvemcp process.
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	// Keep the audit log of tests out of the user's state directory.
	dir, err := os.MkdirTemp("", "pvemcp-test")
	if err == nil {
		os.Setenv(EnvAuditLog, filepath.Join(dir, "audit.jsonl"))
		// And the CLI's plan store.
		os.Setenv(config.EnvPlanStore, "file:"+filepath.Join(dir, "plans.json"))
	}
	code := m.Run()
	if dir != "" {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}
