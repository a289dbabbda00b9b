package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runSimCmd runs `pvemcp sim ARGS...` to completion and returns its output.
func runSimCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd := newSimCmd()
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// TestSimControlCommands starts `pvemcp sim --control`, then drives it with
// the control-plane commands the way an eval's setup and verify scripts do.
func TestSimControlCommands(t *testing.T) {
	for _, k := range []string{envControlURL, envControlSecret, envFingerprint} {
		t.Setenv(k, "")
	}
	if _, err := runSimCmd(t, "journal"); err == nil || !strings.Contains(err.Error(), envControlSecret) {
		t.Fatalf("journal without a control plane: %v", err)
	}

	pr, pw := io.Pipe()
	cmd := newSimCmd()
	cmd.SetOut(pw)
	cmd.SetErr(io.Discard)
	cmd.SetArgs([]string{"--listen", "127.0.0.1:0", "--control", "127.0.0.1:0", "--auth-fail-delay", "0s", "--task-speed", "0"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx); pw.Close() }()
	defer func() { cancel(); <-done }()
	env := map[string]string{}
	sc := bufio.NewScanner(pr)
	for len(env) < 5 && sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		env[k] = strings.Trim(v, "'") // shell-quoted; none of these values holds a quote
	}
	go io.Copy(io.Discard, pr)
	for _, k := range []string{envControlURL, envControlSecret, envFingerprint} {
		if env[k] == "" {
			t.Fatalf("sim --control printed no %s: %v", k, env)
		}
		t.Setenv(k, env[k])
	}

	must := func(args ...string) string {
		t.Helper()
		out, err := runSimCmd(t, args...)
		if err != nil {
			t.Fatalf("sim %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	must("fault", "set", "pve-node02", "--offline")
	if out := must("fault", "list"); !strings.Contains(out, `"target": "pve-node02"`) || !strings.Contains(out, `"offline": true`) {
		t.Fatalf("fault list: %s", out)
	}
	if _, err := runSimCmd(t, "fault", "set", "pve-node07", "--offline"); err == nil || !strings.Contains(err.Error(), "pve-node07") {
		t.Fatalf("fault on an unknown node: %v", err)
	}
	if _, err := runSimCmd(t, "fault", "set", "pve-node01"); err == nil || !strings.Contains(err.Error(), "no fault given") {
		t.Fatalf("fault without flags: %v", err)
	}
	before := strings.TrimSpace(must("clock"))
	after := strings.TrimSpace(must("clock", "advance", "72h"))
	if after <= before {
		t.Fatalf("clock %s -> %s", before, after)
	}
	if out := must("state", "--yaml"); !strings.Contains(out, "name: pve-node02\n      online: false") {
		t.Fatalf("state: %.400s", out)
	}

	// A scene: set up, then verified against what happened.
	dir := t.TempDir()
	scene := filepath.Join(dir, "scene.yaml")
	os.WriteFile(scene, []byte("setup:\n  reset: \"\"\n  faults:\n    - {target: pve-node03, offline: true}\nverify:\n  max_writes: 0\n  nodes:\n    - {name: pve-node03, online: false}\n    - {name: pve-node02, online: true}\n"), 0o600)
	must("scene", "setup", scene)
	if out := must("scene", "verify", scene); !strings.Contains(out, "verify passed") {
		t.Fatalf("scene verify: %s", out)
	}
	must("fault", "clear")
	if _, err := runSimCmd(t, "scene", "verify", scene); err == nil || !strings.Contains(err.Error(), "node pve-node03: online=true, want false") {
		t.Fatalf("scene verify after clearing the fault: %v", err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("verify:\n  max_write: 0\n"), 0o600)
	if _, err := runSimCmd(t, "scene", "verify", bad); err == nil || !strings.Contains(err.Error(), "max_write") {
		t.Fatalf("scene with a misspelt key: %v", err)
	}

	wc := filepath.Join(dir, "confirmed.yaml")
	os.WriteFile(wc, []byte("verify:\n  writes_confirmed: true\n"), 0o600)
	if _, err := runSimCmd(t, "scene", "verify", wc); err == nil || !strings.Contains(err.Error(), "--audit") {
		t.Fatalf("writes_confirmed without --audit: %v", err)
	}
	audit := filepath.Join(dir, "audit.jsonl")
	os.WriteFile(audit, nil, 0o600)
	if out := must("scene", "verify", "--audit", audit, wc); !strings.Contains(out, "verify passed") {
		t.Fatalf("no writes, empty audit log: %s", out)
	}

	must("snapshot", "s1")
	must("reset", "s1")
	if _, err := runSimCmd(t, "reset", "s2"); err == nil || !strings.Contains(err.Error(), `"s2"`) {
		t.Fatalf("reset to an unknown snapshot: %v", err)
	}
	must("reset")
	out := must("journal")
	if !strings.Contains(out, `"calls": []`) || strings.Contains(out, env[envControlSecret]) {
		t.Fatalf("journal after reset: %.300s", out)
	}
	t.Setenv(envControlSecret, "not-the-secret")
	if _, err := runSimCmd(t, "journal"); err == nil || !strings.Contains(err.Error(), "secret") {
		t.Fatalf("journal with a wrong secret: %v", err)
	}
}
