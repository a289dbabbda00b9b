package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Whole-process load shapes against `pvemcp serve --http` on loopback (run
// with -benchtime=1x; each starts its own server so its peak RSS is its
// own): large bodies, a session flood, slow bodies, session-less GET
// streams, and 200 concurrent list_guests on a 10,000-guest cluster.

const loadToken = "load-bench-token-0123456789abcdef"

type serverProc struct {
	cmd  *exec.Cmd
	base string
}

// startServeHTTP runs `pvemcp serve --http 127.0.0.1:0` for the simulator
// env, with extra environment, and returns the process and its base URL.
func startServeHTTP(b *testing.B, simEnv []string, extra ...string) *serverProc {
	b.Helper()
	cmd := exec.Command(pvemcpBinary(b), "--log-level", "info", "serve", "--http", "127.0.0.1:0")
	cmd.Env = append(append(processEnv(b, simEnv), "PVEMCP_HTTP_TOKEN="+loadToken, "PVEMCP_AUDIT_LOG="+b.TempDir()+"/audit.jsonl"), extra...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		var line struct {
			URL string `json:"url"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && strings.HasSuffix(line.URL, "/mcp") {
			go func() { _, _ = io.Copy(io.Discard, stderr) }()
			return &serverProc{cmd: cmd, base: strings.TrimSuffix(line.URL, "/mcp")}
		}
	}
	b.Fatal("pvemcp serve --http printed no URL")
	return nil
}

// memMiB reads VmRSS and VmHWM (peak) of the server process.
func (p *serverProc) memMiB(b *testing.B) (rss, peak float64) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		b.Skip("no /proc: process memory is measured on Linux")
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			peak = kb / 1024
		}
	}
	return rss, peak
}

func loadClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns}}
}

func mcpPost(c *http.Client, url, session string, body io.Reader, length int64, auth bool) (int, string, []byte) {
	req, _ := http.NewRequest("POST", url, body)
	req.ContentLength = length
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if auth {
		req.Header.Set("Authorization", "Bearer "+loadToken)
	}
	if session != "" {
		req.Header.Set("Mcp-Session-Id", session)
		req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	}
	resp, err := c.Do(req)
	if err != nil {
		return -1, "", nil
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Mcp-Session-Id"), out
}

func statusCounts(codes []int) string {
	m := map[int]int{}
	for _, c := range codes {
		m[c]++
	}
	var parts []string
	for _, k := range []int{-1, 200, 400, 401, 408, 413, 500, 503} {
		if m[k] > 0 {
			name := strconv.Itoa(k)
			if k == -1 {
				name = "closed"
			}
			parts = append(parts, fmt.Sprintf("%s×%d", name, m[k]))
		}
	}
	return strings.Join(parts, " ")
}

// BenchmarkLoadLargeBodies: five 200 MB bodies with the token and five
// without, at once.
func BenchmarkLoadLargeBodies(b *testing.B) {
	srv := startServeHTTP(b, startSimProcess(b))
	for i := 0; i < b.N; i++ {
		codes := make([]int, 10)
		var wg sync.WaitGroup
		for j := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				const size = 200 << 20
				codes[j], _, _ = mcpPost(loadClient(1), srv.base+"/mcp", "", &zeroReader{n: size}, size, j < 5)
			}()
		}
		wg.Wait()
		b.Logf("ten 200 MB bodies: %s", statusCounts(codes))
	}
	rss, peak := srv.memMiB(b)
	b.ReportMetric(peak, "peak-rss-MiB")
	b.ReportMetric(rss, "rss-after-MiB")
}

const loadInit = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"load","version":"1"}}}`

// BenchmarkLoadSessionFlood: 50,000 initialize calls from 16 workers.
func BenchmarkLoadSessionFlood(b *testing.B) {
	srv := startServeHTTP(b, startSimProcess(b))
	for i := 0; i < b.N; i++ {
		var ok, refused, other atomic.Int64
		var next atomic.Int64
		var wg sync.WaitGroup
		c := loadClient(16)
		for w := 0; w < 16; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= 50000 {
					switch code, _, _ := mcpPost(c, srv.base+"/mcp", "", strings.NewReader(loadInit), int64(len(loadInit)), true); code {
					case 200:
						ok.Add(1)
					case 503:
						refused.Add(1)
					default:
						other.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		b.Logf("50,000 initialize: %d sessions, %d refused (503), %d other", ok.Load(), refused.Load(), other.Load())
	}
	rss, peak := srv.memMiB(b)
	b.ReportMetric(peak, "peak-rss-MiB")
	b.ReportMetric(rss, "rss-after-MiB")
}

// BenchmarkLoadSlowBodies: 1,000 connections send their headers and ten
// bytes of a body, then stall; reports how long the server keeps them.
func BenchmarkLoadSlowBodies(b *testing.B) {
	srv := startServeHTTP(b, startSimProcess(b))
	addr := strings.TrimPrefix(srv.base, "http://")
	for i := 0; i < b.N; i++ {
		conns := make([]net.Conn, 0, 1000)
		for j := 0; j < 1000; j++ {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			fmt.Fprintf(conn, "POST /mcp HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
				addr, loadToken, len(loadInit), loadInit[:10])
			conns = append(conns, conn)
		}
		start := time.Now()
		var closed atomic.Int64
		var last atomic.Int64
		var wg sync.WaitGroup
		for _, conn := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				_ = conn.SetReadDeadline(time.Now().Add(60 * time.Second))
				resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
				if err == nil {
					resp.Body.Close()
				}
				if err == nil || !isTimeout(err) {
					closed.Add(1)
					last.Store(int64(time.Since(start)))
				}
			}()
		}
		wg.Wait()
		b.Logf("1,000 stalled bodies: %d answered or closed by the server, the last after %s", closed.Load(), time.Duration(last.Load()).Round(100*time.Millisecond))
		b.ReportMetric(time.Duration(last.Load()).Seconds(), "held-s")
	}
	rss, peak := srv.memMiB(b)
	b.ReportMetric(peak, "peak-rss-MiB")
	b.ReportMetric(rss, "rss-after-MiB")
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// BenchmarkLoadGetStreams: 3,000 session-less GET streams held open.
func BenchmarkLoadGetStreams(b *testing.B) {
	srv := startServeHTTP(b, startSimProcess(b))
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		c := loadClient(3000)
		var open, refused, other int
		var bodies []io.Closer
		for j := 0; j < 3000; j++ {
			req, _ := http.NewRequestWithContext(ctx, "GET", srv.base+"/mcp", nil)
			req.Header.Set("Accept", "text/event-stream")
			req.Header.Set("Authorization", "Bearer "+loadToken)
			resp, err := c.Do(req)
			switch {
			case err != nil:
				other++
			case resp.StatusCode == 200:
				open++
				bodies = append(bodies, resp.Body)
			case resp.StatusCode == 503:
				refused++
				resp.Body.Close()
			default:
				other++
				resp.Body.Close()
			}
		}
		rss, peak := srv.memMiB(b)
		b.Logf("3,000 GET streams: %d open, %d refused (503), %d other; RSS %.1f MiB (peak %.1f) while open", open, refused, other, rss, peak)
		b.ReportMetric(peak, "peak-rss-MiB")
		for _, body := range bodies {
			body.Close()
		}
		cancel()
	}
}

// BenchmarkLoadListGuests200: 200 clients, each with its own session, call
// list_guests at once on a 64-node, 10,000-guest cluster.
func BenchmarkLoadListGuests200(b *testing.B) {
	srv := startServeHTTP(b, startSimProcess(b, "--generate", "nodes=64,guests=10000"))
	url := srv.base + "/mcp"
	c := loadClient(200)
	sessions := make([]string, 200)
	for j := range sessions {
		code, sid, body := mcpPost(c, url, "", strings.NewReader(loadInit), int64(len(loadInit)), true)
		if code != 200 || sid == "" {
			b.Fatalf("initialize: %d %s", code, body)
		}
		sessions[j] = sid
		note := `{"jsonrpc":"2.0","method":"notifications/initialized"}`
		mcpPost(c, url, sid, strings.NewReader(note), int64(len(note)), true)
	}
	call := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_guests","arguments":{}}}`
	for i := 0; i < b.N; i++ {
		var ok, busy, failed atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for _, sid := range sessions {
			wg.Add(1)
			go func() {
				defer wg.Done()
				code, _, body := mcpPost(c, url, sid, strings.NewReader(call), int64(len(call)), true)
				switch {
				case code == 200 && bytes.Contains(body, []byte(`"result"`)) && !bytes.Contains(body, []byte(`"isError":true`)):
					ok.Add(1)
				case bytes.Contains(body, []byte("server busy")):
					busy.Add(1)
				default:
					if failed.Add(1) == 1 {
						b.Logf("a failed call: %d %.300s", code, body)
					}
				}
			}()
		}
		wg.Wait()
		b.Logf("200 concurrent list_guests: %d answered, %d busy, %d failed in %s", ok.Load(), busy.Load(), failed.Load(), time.Since(start).Round(time.Millisecond))
	}
	rss, peak := srv.memMiB(b)
	b.ReportMetric(peak, "peak-rss-MiB")
	b.ReportMetric(rss, "rss-after-MiB")
}
