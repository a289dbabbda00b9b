package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Whole-process figures (DESIGN §10), run by `make bench`: the binary is
// PVEMCP_BIN when set (make bench sets bin/pvemcp), else built here once
// per run. The simulator always runs as its own process, so neither its
// time nor its memory is counted as pvemcp's.

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

func pvemcpBinary(b testing.TB) string {
	b.Helper()
	binOnce.Do(func() {
		if p := os.Getenv("PVEMCP_BIN"); p != "" {
			binPath, binErr = filepath.Abs(p)
			return
		}
		// One fixed place, replaced atomically: repeated runs leave no copies.
		dir := filepath.Join(os.TempDir(), "pvemcp-bench")
		if binErr = os.MkdirAll(dir, 0o755); binErr != nil {
			return
		}
		tmp := filepath.Join(dir, "pvemcp-"+strconv.Itoa(os.Getpid()))
		out, err := exec.Command("go", "build", "-o", tmp, ".").CombinedOutput()
		if err != nil {
			binErr = &buildError{out: string(out), err: err}
			return
		}
		binPath = filepath.Join(dir, "pvemcp")
		binErr = os.Rename(tmp, binPath)
	})
	if binErr != nil {
		b.Fatal(binErr)
	}
	return binPath
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return "go build: " + e.err.Error() + "\n" + e.out }

// startSimProcess runs `pvemcp sim ARGS` on a free loopback port and returns
// the PROXMOX_VE_* lines it prints; the process is stopped at cleanup.
func startSimProcess(b *testing.B, args ...string) []string {
	b.Helper()
	cmd := exec.Command(pvemcpBinary(b), append([]string{"sim", "--listen", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	var env []string
	sc := bufio.NewScanner(stdout)
	for len(env) < 3 && sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok && strings.HasPrefix(k, "PROXMOX_VE_") {
			env = append(env, k+"="+unquoteShell(b, v))
		}
	}
	if len(env) < 3 {
		b.Fatalf("pvemcp sim printed no endpoint; stderr:\n%s", stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return env
}

// processEnv is the environment of a pvemcp process configured for the
// simulator only (no config file, no keyring of the developer).
func processEnv(b *testing.B, sim []string) []string {
	home := b.TempDir()
	env := []string{"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"), "PATH=" + os.Getenv("PATH")}
	return append(env, sim...)
}

// BenchmarkProcessListGuestsRSS runs `pvemcp call list_guests` against a
// `pvemcp sim --generate nodes=64,guests=10000` process and reports the
// call process's peak RSS (DESIGN §10: under 100 MB) and its wall time.
func BenchmarkProcessListGuestsRSS(b *testing.B) {
	bin := pvemcpBinary(b)
	env := processEnv(b, startSimProcess(b, "--generate", "nodes=64,guests=10000"))
	var peak int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cmd := exec.Command(bin, "--log-level", "error", "call", "list_guests")
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.Discard, &stderr
		if err := cmd.Run(); err != nil {
			b.Fatalf("pvemcp call list_guests: %v\n%s", err, stderr.String())
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			peak = max(peak, ru.Maxrss) // KiB on Linux
		}
	}
	b.ReportMetric(float64(peak)/1024, "peak-rss-MiB")
}

// BenchmarkProcessColdStart spawns `pvemcp serve` (stdio) configured for a
// running `pvemcp sim`, sends initialize, initialized and tools/list at
// once, and reports the time from spawning to the first answer line
// (DESIGN §10: under 50 ms) and to the tools/list answer (the whole
// catalog).
func BenchmarkProcessColdStart(b *testing.B) {
	bin := pvemcpBinary(b)
	env := processEnv(b, startSimProcess(b))
	input := []byte(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}` + "\n" +
		`{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n" +
		`{"jsonrpc":"2.0","id":2,"method":"tools/list"}` + "\n")
	var first, list time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, bin, "--log-level", "error", "serve")
		cmd.Env = env
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		_, _ = stdin.Write(input)
		// mcp-go serves stdio requests concurrently: the answers may come
		// in either order.
		r := bufio.NewReaderSize(stdout, 1<<16)
		for got := 0; got < 2; got++ {
			line, err := r.ReadString('\n')
			var msg struct {
				ID     int             `json:"id"`
				Result json.RawMessage `json:"result"`
			}
			if err != nil || json.Unmarshal([]byte(line), &msg) != nil || len(msg.Result) == 0 {
				b.Fatalf("answer %.200q: %v", line, err)
			}
			if got == 0 {
				first += time.Since(start)
			}
			if msg.ID == 2 {
				list += time.Since(start)
			}
		}
		_ = stdin.Close()
		_, _ = io.Copy(io.Discard, r)
		if err := cmd.Wait(); err != nil {
			b.Fatalf("pvemcp serve: %v", err)
		}
		cancel()
	}
	n := float64(b.N)
	b.ReportMetric(float64(first.Microseconds())/1000/n, "first-answer-ms/op")
	b.ReportMetric(float64(list.Microseconds())/1000/n, "tools-list-ms/op")
}
