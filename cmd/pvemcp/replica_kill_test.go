package main

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pvemcp/pvemcp/config"
	"github.com/pvemcp/pvemcp/internal/redistest"
	"github.com/pvemcp/pvemcp/internal/simtest"
)

// envRunAsPvemcp makes the test binary run as pvemcp (see TestMain).
const envRunAsPvemcp = "PVEMCP_TEST_RUN_AS_PVEMCP"

// startServeProcess runs `pvemcp serve --http 127.0.0.1:0` as a child
// process (this test binary) and returns it with its base URL.
func startServeProcess(t *testing.T, env []string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "--log-level", "info", "serve", "--http", "127.0.0.1:0")
	cmd.Env = append(append(os.Environ(), envRunAsPvemcp+"=1"), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		var line struct {
			URL string `json:"url"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && strings.HasSuffix(line.URL, "/mcp") {
			go func() { _, _ = io.Copy(io.Discard, stderr) }()
			return cmd, strings.TrimSuffix(line.URL, "/mcp")
		}
	}
	t.Fatal("pvemcp serve --http printed no URL")
	return nil, ""
}

// TestReplicaProcessKilledBetweenPlanAndConfirm: two `pvemcp serve --http`
// processes share Redis; the one that made a plan is killed (SIGKILL);
// the other confirms the plan, and the guest changes.
func TestReplicaProcessKilledBetweenPlanAndConfirm(t *testing.T) {
	rs := redistest.Start(t)
	sim := simtest.Demo(t)
	dir := t.TempDir()
	const token = "replica-token-0123456789abcdef"
	env := func(name string) []string {
		return []string{config.EnvEndpoint + "=" + sim.URL(), config.EnvToken + "=" + sim.Token("operator"),
			config.EnvFingerprint + "=" + sim.Fingerprint(), config.EnvHTTPToken + "=" + token,
			config.EnvPlanStore + "=" + rs.URL(), config.EnvApproval + "=nonce",
			EnvAuditLog + "=" + filepath.Join(dir, name+".jsonl"), "XDG_STATE_HOME=" + dir}
	}
	procA, a := startServeProcess(t, env("a"))
	_, b := startServeProcess(t, env("b"))
	ca := httpClient(t, a+"/mcp", token, mcp.ProtocolVersion20260728)
	cb := httpClient(t, b+"/mcp", token, mcp.ProtocolVersion20260728)

	plan, e := callTool(t, ca, "guest_power", map[string]any{"vmid": 203, "action": "start"})
	if e != "" {
		t.Fatal(e)
	}
	if err := procA.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = procA.Wait()
	out, e := callTool(t, cb, "confirm_plan", map[string]any{"plan_id": plan["plan_id"], "nonce": plan["nonce"]})
	if e != "" || out["outcome"] != "ok" {
		t.Fatalf("confirm on B after A was killed: %s %v", e, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		g, e := callTool(t, cb, "get_guest", map[string]any{"vmid": 203})
		raw, _ := json.Marshal(g)
		if e == "" && strings.Contains(string(raw), `"status":"running"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("guest 203 not running: %v %s", g, e)
		}
		time.Sleep(50 * time.Millisecond)
	}
	auditB, _ := os.ReadFile(filepath.Join(dir, "b.jsonl"))
	if !strings.Contains(string(auditB), `"planned_by":"`) {
		t.Fatalf("B's audit lacks the planning replica:\n%s", auditB)
	}
}
