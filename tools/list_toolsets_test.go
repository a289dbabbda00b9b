package tools

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/pvemcp/pvemcp/toolkit"
)

// list_toolsets names every toolset the server has tools of (discovery
// aside), with its catalog description, whether this conversation has it,
// its tools and whether it writes; under --read-only a toolset of write
// tools only is gone.
func TestListToolsets(t *testing.T) {
	e := newTestEnv(t, "operator")
	list := func(srv *toolkit.Server, session string) ListToolsetsResult {
		t.Helper()
		res, err := srv.Call(toolkit.WithCaller(context.Background(), toolkit.Caller{SessionID: session}), "list_toolsets", nil)
		if err != nil || res.IsError {
			t.Fatalf("list_toolsets: %v %+v", err, res)
		}
		validateOutput(t, srv.Tool("list_toolsets"), res.Structured)
		var out ListToolsetsResult
		if err := json.Unmarshal(res.Structured, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	srv := toolkit.NewServer(e.srv.Env(), toolkit.Select(false, nil)).StartWith([]string{toolkit.ToolsetInventory})
	got := list(srv, "s1")
	var names []string
	for _, ts := range got.Toolsets {
		names = append(names, ts.Name)
		if ts.Description == "" || ts.Description != toolkit.ToolsetDescription(ts.Name) {
			t.Errorf("%s: description %q", ts.Name, ts.Description)
		}
		if ts.Enabled != (ts.Name == toolkit.ToolsetInventory) {
			t.Errorf("%s: enabled %v with only inventory started", ts.Name, ts.Enabled)
		}
		var want []string
		writes := false
		for _, tl := range toolkit.All() {
			if tl.Toolset == ts.Name {
				want = append(want, tl.Name)
				writes = writes || tl.Write()
			}
		}
		if !slices.Equal(ts.Tools, want) || ts.Writes != writes {
			t.Errorf("%s: tools %v writes %v, registered %v writes %v", ts.Name, ts.Tools, ts.Writes, want, writes)
		}
	}
	for _, want := range []string{toolkit.ToolsetInventory, toolkit.ToolsetWrite, toolkit.ToolsetDiagnostics} {
		if !slices.Contains(names, want) {
			t.Errorf("toolset %s not listed: %v", want, names)
		}
	}
	if slices.Contains(names, toolkit.ToolsetDiscovery) {
		t.Error("the discovery toolset lists itself")
	}
	// Enabled follows the session.
	if _, err := srv.Call(toolkit.WithCaller(context.Background(), toolkit.Caller{SessionID: "s1"}), "enable_toolset", json.RawMessage(`{"toolset":"diagnostics"}`)); err != nil {
		t.Fatal(err)
	}
	for _, ts := range list(srv, "s1").Toolsets {
		if ts.Name == toolkit.ToolsetDiagnostics && !ts.Enabled {
			t.Error("diagnostics not enabled after enable_toolset")
		}
	}
	for _, ts := range list(srv, "s2").Toolsets {
		if ts.Name == toolkit.ToolsetDiagnostics && ts.Enabled {
			t.Error("another session sees diagnostics enabled")
		}
	}
	// Read-only: the write toolset has no tool left.
	for _, ts := range list(toolkit.NewServer(e.srv.Env(), toolkit.Select(true, nil)).StartWith(toolkit.DefaultToolsets), "s1").Toolsets {
		if ts.Name == toolkit.ToolsetWrite || ts.Writes {
			t.Errorf("read-only server lists %+v", ts)
		}
	}
}
