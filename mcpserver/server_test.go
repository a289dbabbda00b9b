package mcpserver

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/toolkit"
	_ "github.com/pvemcp/pvemcp/tools" // registers the tools
)

// listTools sends tools/list to the MCP server built for s.
func listTools(t *testing.T, s *toolkit.Server) []map[string]any {
	t.Helper()
	resp := New(s, "test").MCP().HandleMessage(context.Background(), json.RawMessage(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	b, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	var msg struct {
		Result struct {
			Tools []map[string]any `json:"tools"`
		} `json:"result"`
	}
	if err := json.Unmarshal(b, &msg); err != nil {
		t.Fatal(err)
	}
	if len(msg.Result.Tools) == 0 {
		t.Fatalf("tools/list: %s", b)
	}
	return msg.Result.Tools
}

// With several clusters every served input schema names the "cluster"
// argument: the schemas are closed, so a client that validates its
// arguments would otherwise refuse to send it.
func TestToolsListOffersClusterArgument(t *testing.T) {
	noClient := func(string) (*proxmox.Client, error) { return nil, nil }
	multi := toolkit.NewServer(&toolkit.Env{ClusterNames: []string{"prod", "lab"}, Cluster: noClient}, toolkit.All())
	for _, tl := range listTools(t, multi) {
		props, _ := tl["inputSchema"].(map[string]any)["properties"].(map[string]any)
		c, _ := props["cluster"].(map[string]any)
		if c == nil {
			t.Errorf("%s: no cluster argument with two clusters", tl["name"])
			continue
		}
		if enum, _ := c["enum"].([]any); len(enum) != 2 || enum[0] != "prod" || enum[1] != "lab" {
			t.Errorf("%s: cluster enum %v", tl["name"], c["enum"])
		}
	}
	for _, tl := range listTools(t, toolkit.NewServer(&toolkit.Env{}, toolkit.All())) {
		props, _ := tl["inputSchema"].(map[string]any)["properties"].(map[string]any)
		if _, ok := props["cluster"]; ok {
			t.Errorf("%s: cluster argument with one cluster", tl["name"])
		}
	}
}

// The title is sent once (top level); the annotations carry the four hints.
func TestToolsListTitleOnce(t *testing.T) {
	for _, tl := range listTools(t, toolkit.NewServer(&toolkit.Env{}, toolkit.All())) {
		ann, _ := tl["annotations"].(map[string]any)
		if tl["title"] == "" || tl["title"] == nil {
			t.Errorf("%s: no title", tl["name"])
		}
		if _, dup := ann["title"]; dup {
			t.Errorf("%s: title repeated in the annotations", tl["name"])
		}
		for _, h := range []string{"readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"} {
			if _, ok := ann[h].(bool); !ok {
				t.Errorf("%s: %s not set", tl["name"], h)
			}
		}
	}
}
