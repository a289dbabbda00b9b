package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pvemcp/pvemcp/guard"
	"github.com/pvemcp/pvemcp/internal/simtest"
	"github.com/pvemcp/pvemcp/mcpserver"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
	"github.com/pvemcp/pvemcp/toolkit"
)

func sha(tok string) string {
	s := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(s[:])
}

// writeMCPServer serves every tool (writes too) on the demo cluster with an
// audit log at audit.
func writeMCPServer(t *testing.T, sim *pvesim.Sim, audit string) *mcpserver.Server {
	t.Helper()
	c := simtest.Proxmox(t, sim, "operator")
	al, err := guard.OpenAuditLog(audit)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { al.Close() })
	gate := toolkit.NewGate(guard.NewStore(guard.WithAudit(al)), guard.ApprovalNonce, guard.Protection{})
	return mcpserver.New(toolkit.NewServer(&toolkit.Env{Client: c, Gate: gate}, toolkit.Select(false, nil)), "test")
}

func httpClient(t *testing.T, url, token, version string) *client.Client {
	t.Helper()
	return simtest.HTTP(t, url, simtest.MCP{Version: version, Token: token}).Client
}

func callTool(t *testing.T, c *client.Client, name string, args map[string]any) (map[string]any, string) {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = name, args
	res, err := c.CallTool(context.Background(), req)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var text strings.Builder
	for _, ct := range res.Content {
		if tc, ok := ct.(mcp.TextContent); ok {
			text.WriteString(tc.Text)
		}
	}
	if res.IsError {
		return nil, text.String()
	}
	var out map[string]any
	_ = json.Unmarshal([]byte(text.String()), &out)
	return out, ""
}

// TestHTTPNamedPrincipals: a tokens file gives each client its own name and
// role; a read-only client cannot plan, a plan is bound to its principal
// (another read-write client cannot confirm it, nor burn it), and the audit
// names who did what.
func TestHTTPNamedPrincipals(t *testing.T) {
	sim := simtest.Demo(t)
	dir := t.TempDir()
	audit := filepath.Join(dir, "audit.jsonl")
	toks := map[string]string{"alice": "alice-token-0123456789abcdef", "bob": "bob-token-0123456789abcdef", "carol": "carol-token-0123456789abcdef"}
	file := filepath.Join(dir, "tokens.yaml")
	content := "tokens:\n" +
		"  - {name: alice, role: read-write, sha256: " + sha(toks["alice"]) + "}\n" +
		"  - {name: bob, role: read-only, sha256: " + sha(toks["bob"]) + "}\n" +
		"  - {name: carol, role: read-write, sha256: " + sha(toks["carol"]) + "}\n"
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadTokensFile(file); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable tokens file: %v", err)
	}
	if err := os.Chmod(file, 0o600); err != nil {
		t.Fatal(err)
	}
	base := startHTTP(t, writeMCPServer(t, sim, audit), httpOptions{tokensFile: file})
	url := base + "/mcp"
	if got := postMCP(t, url, strings.NewReader(initBody), int64(len(initBody)), map[string]string{"Authorization": "Bearer " + sha(toks["alice"])}); got != 401 {
		t.Fatalf("the hash as token: %d, want 401", got)
	}
	for _, version := range []string{"2025-11-25", mcp.ProtocolVersion20260728} {
		alice := httpClient(t, url, toks["alice"], version)
		bob := httpClient(t, url, toks["bob"], version)
		carol := httpClient(t, url, toks["carol"], version)

		if _, e := callTool(t, bob, "list_guests", map[string]any{}); e != "" {
			t.Fatalf("read-only client cannot read: %s", e)
		}
		if _, e := callTool(t, bob, "guest_power", map[string]any{"vmid": 203, "action": "start"}); !strings.Contains(e, "http:bob has a read-only role") {
			t.Fatalf("read-only client planned: %q", e)
		}
		plan, e := callTool(t, alice, "guest_power", map[string]any{"vmid": 203, "action": "start"})
		if e != "" {
			t.Fatal(e)
		}
		args := map[string]any{"plan_id": plan["plan_id"], "nonce": plan["nonce"]}
		wrong := map[string]any{"plan_id": plan["plan_id"], "nonce": strings.Repeat("0", 32)}
		for i := 0; i < 6; i++ {
			if _, e := callTool(t, carol, "confirm_plan", wrong); !strings.Contains(e, "another") {
				t.Fatalf("foreign wrong nonce: %q", e)
			}
		}
		if _, e := callTool(t, carol, "confirm_plan", args); !strings.Contains(e, "another") {
			t.Fatalf("another principal confirmed: %q", e)
		}
		if _, e := callTool(t, bob, "confirm_plan", args); !strings.Contains(e, "read-only role") {
			t.Fatalf("read-only principal confirmed: %q", e)
		}
		out, e := callTool(t, alice, "confirm_plan", args)
		if e != "" || out["outcome"] != "ok" {
			t.Fatalf("owner could not confirm: %s %v", e, out)
		}
		_, e = callTool(t, alice, "guest_power", map[string]any{"vmid": 203, "action": "shutdown"})
		if e != "" {
			t.Fatal(e)
		}
		// Leave the container stopped again for the next era.
		plan, _ = callTool(t, alice, "guest_power", map[string]any{"vmid": 203, "action": "stop"})
		if out, e := callTool(t, alice, "confirm_plan", map[string]any{"plan_id": plan["plan_id"], "nonce": plan["nonce"]}); e != "" || out["outcome"] != "ok" {
			t.Fatalf("stop: %s %v", e, out)
		}
	}
	b, err := os.ReadFile(audit)
	if err != nil {
		t.Fatal(err)
	}
	var confirms, refusals int
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var ev guard.Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Event == guard.EventConfirm && strings.HasPrefix(ev.Caller, "principal:http:alice") {
			confirms++
		}
		if ev.Event == guard.EventRefusal && strings.HasPrefix(ev.Caller, "principal:http:carol") {
			refusals++
		}
	}
	if confirms != 4 || refusals != 14 {
		t.Fatalf("audit: %d confirms by alice, %d refusals of carol\n%s", confirms, refusals, b)
	}
}

// TestHTTPTokenCommand: the printed entry authenticates the printed token
// with the given name and role.
func TestHTTPTokenCommand(t *testing.T) {
	code, out, errs := runCLI(t, "", "http-token", "--name", "ci-bot", "--role", "read-write")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(out, "\n")
	tok := strings.TrimSpace(lines[1])
	file := filepath.Join(t.TempDir(), "tokens.yaml")
	if err := os.WriteFile(file, []byte("tokens:\n"+lines[3]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := loadTokensFile(file)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := http.NewRequest("POST", "http://127.0.0.1/mcp", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	who, err := a.authenticate(r)
	if err != nil || who.Name != "http:ci-bot" || who.ReadOnly {
		t.Fatalf("%+v %v", who, err)
	}
	if code, _, _ := runCLI(t, "", "http-token", "--name", "x y"); code == 0 {
		t.Fatal("bad name accepted")
	}
}
