package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSimCommand starts `pvemcp sim`, reads the three environment lines,
// uses them, then stops it through its context (what SIGINT does).
func TestSimCommand(t *testing.T) {
	pr, pw := io.Pipe()
	cmd := newSimCmd()
	cmd.SetOut(pw)
	cmd.SetErr(io.Discard)
	cmd.SetArgs([]string{"--listen", "127.0.0.1:0", "--token", "auditor", "--auth-fail-delay", "0s", "--task-speed", "0", "--now", "2026-02-23T14:30:00Z"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx); pw.Close() }()

	env := map[string]string{}
	sc := bufio.NewScanner(pr)
	for len(env) < 3 && sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		env[k] = unquoteShell(t, v)
	}
	go io.Copy(io.Discard, pr)
	for _, k := range []string{"PROXMOX_VE_ENDPOINT", "PROXMOX_VE_API_TOKEN", "PROXMOX_VE_FINGERPRINT"} {
		if env[k] == "" {
			t.Fatalf("missing %s in %v", k, env)
		}
	}
	if !strings.HasPrefix(env["PROXMOX_VE_API_TOKEN"], "pvemcp@pve!auditor=") || len(env["PROXMOX_VE_FINGERPRINT"]) != 95 {
		t.Errorf("env %v", env)
	}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	req, _ := http.NewRequest("GET", env["PROXMOX_VE_ENDPOINT"]+"/api2/json/cluster/nextid", nil)
	req.Header.Set("Authorization", "PVEAPIToken="+env["PROXMOX_VE_API_TOKEN"])
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != `{"data":"106"}` {
		t.Errorf("nextid %s", b)
	}
	req, _ = http.NewRequest("GET", env["PROXMOX_VE_ENDPOINT"]+"/api2/json/nodes/pve-node01/tasks?limit=1", nil)
	req.Header.Set("Authorization", "PVEAPIToken="+env["PROXMOX_VE_API_TOKEN"])
	res, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), `"starttime":17718`) { // runs of 2026-02-23, from --now
		t.Errorf("--now not applied: %s", b)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("sim exited with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("sim did not stop")
	}
}

// unquoteShell undoes the single quotes pvemcp sim puts around values.
func unquoteShell(t testing.TB, v string) string {
	t.Helper()
	if len(v) < 2 || v[0] != '\'' || v[len(v)-1] != '\'' {
		t.Fatalf("value not single-quoted: %s", v)
	}
	return strings.ReplaceAll(v[1:len(v)-1], `'\''`, "'")
}

// TestSimUnknownTokenAndHelp: an unknown --token is refused before anything
// listens, with the scenario's tokens; without --token a scenario lacking
// "operator" hands out its own; sim --help shows only the simulator's flags.
func TestSimUnknownTokenAndHelp(t *testing.T) {
	clearEnv(t)
	code, out, errs := runCLI(t, "", "sim", "--scenario", "../../examples/scenarios/small.yaml", "--listen", "127.0.0.1:0", "--token", "auditor")
	if code != 1 || !strings.Contains(errs, `no token "auditor" in the scenario; its tokens: root@pam!homelab`) {
		t.Errorf("unknown token: %d %s", code, errs)
	}
	if out != "" || strings.Contains(errs, "listening") {
		t.Errorf("something was served or printed: %q %q", out, errs)
	}

	pr, pw := io.Pipe()
	cmd := newSimCmd()
	cmd.SetOut(pw)
	cmd.SetErr(io.Discard)
	cmd.SetArgs([]string{"--scenario", "../../examples/scenarios/small.yaml", "--listen", "127.0.0.1:0"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx); pw.Close() }()
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if k, v, _ := strings.Cut(sc.Text(), "="); k == "PROXMOX_VE_API_TOKEN" {
			if !strings.HasPrefix(unquoteShell(t, v), "root@pam!homelab=") {
				t.Errorf("default token of small.yaml: %s", v)
			}
			break
		}
	}
	go io.Copy(io.Discard, pr)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("sim: %v", err)
	}

	code, help, _ := runCLI(t, "", "sim", "--help")
	if code != 0 || !strings.Contains(help, "--scenario") || strings.Contains(help, "--endpoint") || strings.Contains(help, "--approval") || strings.Contains(help, "Global Flags") {
		t.Errorf("sim --help:\n%s", help)
	}
}
