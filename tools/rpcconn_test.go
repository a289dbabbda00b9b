package tools

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/pvemcp/pvemcp/mcpserver"
	"github.com/pvemcp/pvemcp/toolkit"
)

// rpcConn speaks newline-delimited JSON-RPC to a stdio MCP server.
type rpcConn struct {
	t     *testing.T
	w     io.Writer
	lines chan string
	seen  []string // notification methods received so far
}

func newStdioConn(t *testing.T, ms *mcpserver.Server) *rpcConn {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	go func() { _ = ms.ServeStdio(ctx, inR, outW, nil) }()
	c := &rpcConn{t: t, w: inW, lines: make(chan string, 64)}
	go func() {
		sc := bufio.NewScanner(outR)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	t.Cleanup(func() { cancel(); inW.Close(); outW.Close() })
	return c
}

// call sends a request and returns its result, recording the notifications
// that arrive before it.
func (c *rpcConn) call(id int, method string, params any) json.RawMessage {
	c.t.Helper()
	res, errRaw := c.try(id, method, params)
	if errRaw != nil {
		c.t.Fatalf("%s: error %s", method, errRaw)
	}
	return res
}

// try is call that also returns a JSON-RPC error.
func (c *rpcConn) try(id int, method string, params any) (json.RawMessage, json.RawMessage) {
	c.t.Helper()
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	if _, err := c.w.Write(append(b, '\n')); err != nil {
		c.t.Fatal(err)
	}
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-c.lines:
			if !ok {
				c.t.Fatalf("%s: server closed", method)
			}
			var m struct {
				ID     *int            `json:"id"`
				Method string          `json:"method"`
				Result json.RawMessage `json:"result"`
				Error  json.RawMessage `json:"error"`
			}
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				c.t.Fatalf("%s: bad line %q", method, line)
			}
			if m.ID == nil {
				c.seen = append(c.seen, m.Method)
				continue
			}
			if *m.ID != id {
				continue
			}
			return m.Result, m.Error
		case <-timeout:
			c.t.Fatalf("%s: no answer", method)
		}
	}
}

func (c *rpcConn) notify(method string) {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": method})
	if _, err := c.w.Write(append(b, '\n')); err != nil {
		c.t.Fatal(err)
	}
}

func toolNames(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	var r struct {
		Tools []struct {
			Name string `json:"name"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, x := range r.Tools {
		out = append(out, x.Name)
	}
	slices.Sort(out)
	return out
}

func callResult(t *testing.T, raw json.RawMessage) (map[string]any, bool) {
	t.Helper()
	var r struct {
		IsError           bool           `json:"isError"`
		StructuredContent map[string]any `json:"structuredContent"`
		Content           []struct {
			Text string `json:"text"`
		} `json:"content"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	if r.IsError && len(r.Content) > 0 {
		t.Logf("tool error: %s", r.Content[0].Text)
	}
	return r.StructuredContent, r.IsError
}

func dynamicServer(t *testing.T, start ...string) *toolkit.Server {
	e := newTestEnv(t, "operator")
	return toolkit.NewServer(e.srv.Env(), toolkit.Select(false, nil)).StartWith(start)
}
