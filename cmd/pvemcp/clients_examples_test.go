package main

import (
	"bufio"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestClientExamplesRun: every file of examples/clients defines the one
// server the README describes, with the binary at /usr/local/bin/pvemcp (the
// path the README says to replace), no placeholder to fill in, and a
// command that really serves MCP (run with the built binary in its place).
func TestClientExamplesRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	bin := pvemcpBinary(t)
	root := filepath.Join("..", "..", "examples", "clients")
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		files++
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(strings.ToUpper(string(b)), "REPLACE") {
			t.Errorf("%s: a placeholder to fill in", path)
		}
		var doc map[string]map[string]struct {
			Command string            `json:"command"`
			Args    []string          `json:"args"`
			Env     map[string]string `json:"env"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Errorf("%s: %v", path, err)
			return nil
		}
		servers := doc["mcpServers"]
		if servers == nil {
			servers = doc["servers"] // VS Code
		}
		if len(servers) != 1 {
			t.Errorf("%s: %d servers, want the one pvemcp server", path, len(servers))
		}
		for name, s := range servers {
			if name != "pvemcp" || s.Command != "/usr/local/bin/pvemcp" {
				t.Errorf("%s: server %q runs %q, want pvemcp running /usr/local/bin/pvemcp", path, name, s.Command)
				continue
			}
			if !mcpAnswers(t, bin, s.Args) {
				t.Errorf("%s: pvemcp %s does not answer initialize", path, strings.Join(s.Args, " "))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 4 {
		t.Fatalf("only %d client examples", files)
	}
}

// mcpAnswers starts the server over stdio and sends initialize.
func mcpAnswers(t *testing.T, bin string, args []string) bool {
	cmd := exec.Command(bin, args...)
	home := t.TempDir()
	cmd.Env = []string{"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, "cfg"), "PVEMCP_AUDIT_LOG=" + filepath.Join(home, "audit.jsonl")}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	_, _ = in.Write([]byte(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}` + "\n"))
	got := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		if sc.Scan() {
			got <- sc.Text()
		}
		close(got)
	}()
	select {
	case line := <-got:
		_ = in.Close()
		return strings.Contains(line, `"serverInfo"`) && strings.Contains(line, `"id":1`)
	case <-time.After(30 * time.Second):
		return false
	}
}
