package main

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pvemcp/pvemcp/internal/simtest"
	"github.com/pvemcp/pvemcp/mcpserver"
	"github.com/pvemcp/pvemcp/toolkit"
)

// Over HTTP with 2025-11-25 sessions, a toolset one session enables shows in
// that session's tools/list only: two conversations behind the same bearer
// token do not share their enabled toolsets.
func TestHTTPEnabledToolsetsPerSession(t *testing.T) {
	sim := simtest.Demo(t)
	c := simtest.Proxmox(t, sim, "auditor")
	ts, start, err := servedTools("--toolsets", []string{"inventory"}, true, true)
	if err != nil {
		t.Fatal(err)
	}
	ms := mcpserver.New(toolkit.NewServer(&toolkit.Env{Client: c}, ts).StartWith(start), "test")
	base := startHTTP(t, ms, httpOptions{token: "s3cret-token-for-toolsets"})
	ctx := context.Background()
	session := func() (*client.Client, chan string) {
		notes := make(chan string, 16)
		cl := simtest.HTTP(t, base+"/mcp", simtest.MCP{Version: "2025-11-25", Token: "s3cret-token-for-toolsets",
			OnNotification: func(n mcp.JSONRPCNotification) { notes <- n.Method }})
		return cl.Client, notes
	}
	names := func(cl *client.Client) []string {
		lt, err := cl.ListTools(ctx, mcp.ListToolsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range lt.Tools {
			out = append(out, x.Name)
		}
		return out
	}
	a, aNotes := session()
	b, bNotes := session()
	before := names(b)
	if slices.Contains(before, "capacity_report") || !slices.Contains(before, "enable_toolset") {
		t.Fatalf("start tools/list: %v", before)
	}
	req := mcp.CallToolRequest{}
	req.Params.Name = "enable_toolset"
	req.Params.Arguments = map[string]any{"toolset": "capacity"}
	if res, err := a.CallTool(ctx, req); err != nil || res.IsError {
		t.Fatalf("enable_toolset: %+v %v", res, err)
	}
	select {
	case got := <-aNotes:
		if got != mcp.MethodNotificationToolsListChanged {
			t.Errorf("session A got %q, want tools/list_changed", got)
		}
	case <-time.After(10 * time.Second):
		t.Error("session A got no tools/list_changed")
	}
	if !slices.Contains(names(a), "capacity_report") {
		t.Errorf("session A does not list capacity_report after enabling capacity: %v", names(a))
	}
	if after := names(b); !slices.Equal(before, after) {
		t.Errorf("session B's tools/list changed: %v -> %v", before, after)
	}
	select {
	case n := <-bNotes:
		t.Errorf("session B was notified: %s", n)
	default:
	}
}

// --dynamic-toolsets=false serves exactly the named toolsets, without the
// discovery tools; confirm_plan comes with a write toolset.
func TestServedToolsFixed(t *testing.T) {
	ts, _, err := servedTools("--toolsets", []string{"inventory", "write"}, false, false)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, x := range ts {
		names = append(names, x.Name)
	}
	for _, want := range []string{"list_guests", "guest_power", "confirm_plan"} {
		if !slices.Contains(names, want) {
			t.Errorf("fixed inventory,write lacks %s: %v", want, names)
		}
	}
	for _, gone := range []string{"enable_toolset", "list_toolsets", "get_metrics"} {
		if slices.Contains(names, gone) {
			t.Errorf("fixed inventory,write serves %s: %v", gone, names)
		}
	}
	if _, _, err := servedTools("--toolsets", []string{"write"}, true, false); err == nil {
		t.Error("fixed write under --read-only: no error")
	}
}

// Over HTTP a request can name its toolsets (X-MCP-Toolsets): in the
// stateless era that is how a client gets another tool list; a bad name is
// a 400 naming it.
func TestHTTPToolsetsHeader(t *testing.T) {
	sim := simtest.Demo(t)
	c := simtest.Proxmox(t, sim, "auditor")
	ts, start, err := servedTools("--toolsets", nil, true, true)
	if err != nil {
		t.Fatal(err)
	}
	base := startHTTP(t, mcpserver.New(toolkit.NewServer(&toolkit.Env{Client: c}, ts).StartWith(start), "test"), httpOptions{})
	ctx := context.Background()
	for _, version := range []string{"2025-11-25", mcp.ProtocolVersion20260728} {
		t.Run(version, func(t *testing.T) {
			cl := simtest.HTTP(t, base+"/mcp", simtest.MCP{Version: version, Headers: map[string]string{toolsetsHeader: " inventory, capacity"}})
			lt, err := cl.ListTools(ctx, mcp.ListToolsRequest{})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, x := range lt.Tools {
				names = append(names, x.Name)
			}
			slices.Sort(names)
			want := []string{"capacity_report", "cluster_overview", "enable_toolset", "get_guest", "list_guests", "list_toolsets"}
			if !slices.Equal(names, want) {
				t.Errorf("tools/list with %s = %v, want %v", toolsetsHeader, names, want)
			}
		})
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	req.Header.Set(toolsetsHeader, "inventory,nope")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `X-MCP-Toolsets: unknown toolset "nope"`) {
		t.Errorf("bad header: %d %s", res.StatusCode, body)
	}
}
