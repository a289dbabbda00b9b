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
		env[k] = v
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
