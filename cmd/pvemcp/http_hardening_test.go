package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	goruntime "runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/pvemcp/pvemcp/internal/simtest"
)

const initBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`

// rssMiB is this process's resident set size.
func rssMiB(t *testing.T) float64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status: RSS bounds are checked on Linux")
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	t.Skip("no VmRSS")
	return 0
}

// settledRSS collects garbage and returns memory to the OS first, so what
// is measured is what is still held.
func settledRSS(t *testing.T) float64 {
	goruntime.GC()
	debug.FreeOSMemory()
	return rssMiB(t)
}

// zeroReader streams n bytes without holding them.
type zeroReader struct{ n int64 }

func (z *zeroReader) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > z.n {
		p = p[:z.n]
	}
	clear(p)
	z.n -= int64(len(p))
	return len(p), nil
}

func postMCP(t *testing.T, url string, body io.Reader, length int64, headers map[string]string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", url, body)
	req.ContentLength = length
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1 // the server closed the connection mid-upload
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestHTTPTokenMinimumLength: a shared token shorter than 16 characters is
// refused, whichever way it is given.
func TestHTTPTokenMinimumLength(t *testing.T) {
	err := serveHTTP(context.Background(), nil, httpOptions{addr: "127.0.0.1:0", token: "short-token"}, zerolog.Nop())
	if err == nil || !strings.Contains(err.Error(), "at least 16 characters") || strings.Contains(err.Error(), "short-token") {
		t.Fatalf("short token: %v", err)
	}
	f := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(f, []byte("  0123456789abcdef-long-enough\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	a := &app{log: zerolog.New(&logs)}
	tok, err := httpToken(&serveFlags{httpTokenFile: f}, "", a)
	if err != nil || tok != "0123456789abcdef-long-enough" || logs.Len() != 0 {
		t.Fatalf("token file: %q %v %s", tok, err, logs.String())
	}
	tok, err = httpToken(&serveFlags{httpToken: "flag-token-0123456789"}, "", a)
	if err != nil || tok != "flag-token-0123456789" || !strings.Contains(logs.String(), "process list") || strings.Contains(logs.String(), tok) {
		t.Fatalf("flag token: %q %v %s", tok, err, logs.String())
	}
	if _, err := httpToken(&serveFlags{httpToken: "a", httpTokenFile: f}, "", a); err == nil {
		t.Fatal("two token sources accepted")
	}
	clearEnv(t)
	code, _, errs := runCLI(t, "", "serve", "--demo", "--http", "127.0.0.1:0", "--http-token", "tiny")
	if code == 0 || !strings.Contains(errs, "at least 16 characters") || strings.Contains(errs, "tiny") {
		t.Fatalf("serve with a short token: %d %s", code, errs)
	}
}

// TestHTTPBodyCapAndAuthFirst: bodies beyond 1 MB get 413, unauthenticated
// ones 401 without being read; five 200 MB bodies (authenticated or not)
// leave RSS within 40 MiB of where it started.
func TestHTTPBodyCapAndAuthFirst(t *testing.T) {
	sim := simtest.Demo(t)
	const tok = "body-cap-token-0123456789"
	base := startHTTP(t, demoMCPServer(t, sim), httpOptions{token: tok})
	auth := map[string]string{"Authorization": "Bearer " + tok}
	big := bytes.Repeat([]byte(" "), 2<<20)
	if got := postMCP(t, base+"/mcp", bytes.NewReader(big), -1, auth); got != 413 {
		t.Fatalf("2 MB chunked body: %d, want 413", got)
	}
	if got := postMCP(t, base+"/mcp", strings.NewReader(initBody), int64(len(initBody)), auth); got != 200 {
		t.Fatalf("small body: %d", got)
	}
	before := settledRSS(t)
	var wg sync.WaitGroup
	codes := make([]int, 10)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := auth
			if i%2 == 1 {
				h = nil
			}
			const size = 200 << 20
			codes[i] = postMCP(t, base+"/mcp", &zeroReader{n: size}, size, h)
		}()
	}
	wg.Wait()
	after := settledRSS(t)
	for i, c := range codes {
		want := 413
		if i%2 == 1 {
			want = 401
		}
		if c != want && c != -1 {
			t.Errorf("200 MB body %d: %d, want %d", i, c, want)
		}
	}
	t.Logf("RSS %.1f MiB -> %.1f MiB after ten 200 MB bodies", before, after)
	if after-before > 40 {
		t.Fatalf("RSS grew by %.1f MiB", after-before)
	}
}

// TestHTTPSlowBodyTimesOut: a client that sends headers and then trickles
// (or stops sending) its body is cut off after the body timeout.
func TestHTTPSlowBodyTimesOut(t *testing.T) {
	sim := simtest.Demo(t)
	base := startHTTP(t, demoMCPServer(t, sim), httpOptions{bodyTimeout: 300 * time.Millisecond})
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: %d\r\n\r\n%s", len(initBody), initBody[:10])
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout || time.Since(start) > 5*time.Second {
		t.Fatalf("stalled body: %d after %s", resp.StatusCode, time.Since(start))
	}
}

// TestHTTPSessionAndStreamCaps: a flood of initialize calls stops at the
// session cap (503, named) and keeps RSS bounded; session-less GET streams
// stop at the stream cap; ending a session frees its place.
func TestHTTPSessionAndStreamCaps(t *testing.T) {
	sim := simtest.Demo(t)
	base := startHTTP(t, demoMCPServer(t, sim), httpOptions{maxSessions: 200, maxStreams: 20})
	before := settledRSS(t)
	var ok, refused int
	var last string
	for i := 0; i < 3000; i++ {
		req, _ := http.NewRequest("POST", base+"/mcp", strings.NewReader(initBody))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case 200:
			ok++
			last = resp.Header.Get("Mcp-Session-Id")
		case 503:
			refused++
			if !strings.Contains(string(b), "maximum of 200 sessions") {
				t.Fatalf("503 without the reason: %s", b)
			}
		default:
			t.Fatalf("initialize %d: %d %s", i, resp.StatusCode, b)
		}
	}
	after := settledRSS(t)
	t.Logf("%d sessions, %d refused; RSS %.1f MiB -> %.1f MiB", ok, refused, before, after)
	if ok != 200 || refused != 2800 {
		t.Fatalf("%d sessions admitted, %d refused", ok, refused)
	}
	if after-before > 60 {
		t.Fatalf("RSS grew by %.1f MiB for 3,000 initialize calls", after-before)
	}
	// Ending a session makes room for one more.
	req, _ := http.NewRequest("DELETE", base+"/mcp", nil)
	req.Header.Set("Mcp-Session-Id", last)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := postMCP(t, base+"/mcp", strings.NewReader(initBody), int64(len(initBody)), nil); got != 200 {
		t.Fatalf("initialize after a DELETE: %d", got)
	}

	// Streams: GET with a live session id; beyond the cap 503.
	base2 := startHTTP(t, demoMCPServer(t, sim), httpOptions{maxStreams: 20})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	streams, capped := 0, 0
	for i := 0; i < 40; i++ {
		req, _ := http.NewRequestWithContext(ctx, "GET", base2+"/mcp", nil)
		req.Header.Set("Accept", "text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == 503 {
			capped++
			resp.Body.Close()
			continue
		}
		streams++
		defer resp.Body.Close()
	}
	if streams != 20 || capped != 20 {
		t.Fatalf("%d streams open, %d refused; want 20 and 20", streams, capped)
	}
}
