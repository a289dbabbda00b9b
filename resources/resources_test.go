package resources_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pvemcp/pvemcp/internal/simtest"
	"github.com/pvemcp/pvemcp/mcpserver"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
	"github.com/pvemcp/pvemcp/resources"
	"github.com/pvemcp/pvemcp/toolkit"
	_ "github.com/pvemcp/pvemcp/tools" // registers the tools
)

func TestArgsValidation(t *testing.T) {
	tpl := map[string]resources.Resource{}
	for _, r := range resources.Templates() {
		tpl[r.Tool] = r
	}
	bad := []struct {
		tool, param string
		params      map[string]string
	}{
		{"get_guest", "vmid", map[string]string{"vmid": ""}},
		{"get_guest", "vmid", map[string]string{"vmid": "abc"}},
		{"get_guest", "vmid", map[string]string{"vmid": "99"}},
		{"get_guest", "vmid", map[string]string{"vmid": "1000000000"}},
		{"get_guest", "vmid", map[string]string{"vmid": "100/../../access"}},
		{"storage_status", "node", map[string]string{"node": "../../access"}},
		{"storage_status", "node", map[string]string{"node": strings.Repeat("a", 64)}},
		{"get_task", "node", map[string]string{"node": "-x", "upid": "UPID:x:00000001:00000001:00000001:vzdump::root@pam:"}},
		{"get_task", "upid", map[string]string{"node": "pve-node01", "upid": "not-a-upid"}},
		{"get_task", "upid", map[string]string{"node": "pve-node01", "upid": "UPID:pve-node02:00000001:00000001:00000001:vzdump::root@pam:"}},
	}
	for _, b := range bad {
		_, err := tpl[b.tool].Args(b.params)
		if err == nil || !strings.Contains(err.Error(), `URI parameter "`+b.param+`"`) {
			t.Errorf("%s %v: %v, want an error naming %q", b.tool, b.params, err, b.param)
		}
	}
	got, err := tpl["get_guest"].Args(map[string]string{"vmid": "100"})
	if err != nil || string(got) != `{"vmid":100}` {
		t.Errorf("vmid 100: %s %v", got, err)
	}
}

// fixedNow makes the simulator's usage model and the envelope's fetched_at
// deterministic, so a resource and its tool can be compared exactly.
var fixedNow = func() time.Time { return time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC) }

type world struct {
	sim *pvesim.Sim
	srv *toolkit.Server
}

func newWorld(t *testing.T, toolsets []string) *world {
	t.Helper()
	sim := simtest.Start(t, pvesim.Options{Scenario: "demo", Now: fixedNow})
	c := simtest.Proxmox(t, sim, "operator")
	return &world{sim: sim, srv: toolkit.NewServer(&toolkit.Env{Client: c, Now: fixedNow}, toolkit.Select(true, toolsets))}
}

// connect returns an initialized client of ms over the given transport.
func connect(t *testing.T, ms *mcpserver.Server, via, version string) *client.Client {
	t.Helper()
	o := simtest.MCP{Version: version}
	var c *simtest.Client
	switch via {
	case "inprocess":
		c = simtest.InProcess(t, ms.MCP(), o)
	case "stdio":
		c = simtest.Stdio(t, ms.MCP(), o)
	case "http":
		hs := httptest.NewServer(ms.HTTPHandler(mcpserver.HTTPOptions{}))
		t.Cleanup(hs.Close)
		c = simtest.HTTP(t, hs.URL+"/mcp", o)
	default:
		t.Fatalf("no transport %q", via)
	}
	if c.Init.ProtocolVersion != version {
		t.Fatalf("negotiated %s, want %s", c.Init.ProtocolVersion, version)
	}
	if c.Init.Capabilities.Resources == nil {
		t.Error("no resources capability")
	}
	return c.Client
}

func read(t *testing.T, c *client.Client, uri string) (string, error) {
	t.Helper()
	req := mcp.ReadResourceRequest{}
	req.Params.URI = uri
	res, err := c.ReadResource(context.Background(), req)
	if err != nil {
		return "", err
	}
	if len(res.Contents) != 1 {
		t.Fatalf("%s: %d contents", uri, len(res.Contents))
	}
	tc, ok := res.Contents[0].(mcp.TextResourceContents)
	if !ok {
		t.Fatalf("%s: contents %T", uri, res.Contents[0])
	}
	if tc.URI != uri || tc.MIMEType != "application/json" {
		t.Errorf("%s: uri %q mimeType %q", uri, tc.URI, tc.MIMEType)
	}
	return tc.Text, nil
}

// split returns a result's text without its sources, and the sources as a
// sorted list without timings: fan-out records calls in completion order and
// timings, the only things that differ between two identical reads.
func split(t *testing.T, text string) (data, sources string) {
	t.Helper()
	i := strings.LastIndex(text, `,"sources":[`)
	if i < 0 || !strings.HasSuffix(text, "]}") {
		t.Fatalf("no sources at the end: %s", text)
	}
	var calls []map[string]any
	if err := json.Unmarshal([]byte(text[i+len(`,"sources":`):len(text)-1]), &calls); err != nil {
		t.Fatal(err)
	}
	var list []string
	for _, c := range calls {
		list = append(list, fmt.Sprint(c["method"], " ", c["path"], " ", c["status"]))
	}
	sort.Strings(list)
	return text[:i] + "}", strings.Join(list, "\n")
}

func TestResourcesOverMCP(t *testing.T) {
	w := newWorld(t, nil)
	upid := firstTask(t, w.srv)
	ms := mcpserver.New(w.srv, "test")
	reads := map[string]struct{ tool, args string }{
		"pvemcp://cluster/overview":         {"cluster_overview", `{}`},
		"pvemcp://guests/100":               {"get_guest", `{"vmid":100}`},
		"pvemcp://nodes/pve-node01/storage": {"storage_status", `{"node":"pve-node01"}`},
		"pvemcp://tasks/pve-node01/" + upid: {"get_task", `{"upid":"` + upid + `"}`},
		// the same task with the UPID percent-encoded, as a client expanding
		// the template as a simple string would send it
		"pvemcp://tasks/pve-node01/" + strings.NewReplacer(":", "%3A", "@", "%40").Replace(upid): {"get_task", `{"upid":"` + upid + `"}`},
	}
	for _, version := range []string{"2025-11-25", mcp.ProtocolVersion20260728} {
		for _, via := range []string{"inprocess", "stdio", "http"} {
			t.Run(via+"/"+version, func(t *testing.T) {
				c := connect(t, ms, via, version)
				ctx := context.Background()
				lr, err := c.ListResources(ctx, mcp.ListResourcesRequest{})
				if err != nil || len(lr.Resources) != 1 || lr.Resources[0].URI != "pvemcp://cluster/overview" || lr.Resources[0].MIMEType != "application/json" {
					t.Fatalf("resources/list: %+v %v", lr, err)
				}
				lt, err := c.ListResourceTemplates(ctx, mcp.ListResourceTemplatesRequest{})
				if err != nil {
					t.Fatal(err)
				}
				var tpls []string
				for _, rt := range lt.ResourceTemplates {
					tpls = append(tpls, rt.URITemplate.Raw())
					if rt.MIMEType != "application/json" || rt.Title == "" || rt.Description == "" {
						t.Errorf("template %+v", rt)
					}
				}
				if strings.Join(tpls, " ") != "pvemcp://guests/{vmid} pvemcp://nodes/{node}/storage pvemcp://tasks/{node}/{+upid}" {
					t.Errorf("templates %v", tpls)
				}

				for uri, want := range reads {
					before := len(w.sim.Requests())
					text, err := read(t, c, uri)
					if err != nil {
						t.Errorf("%s: %v", uri, err)
						continue
					}
					if len(w.sim.Requests()) == before {
						t.Errorf("%s: read sent no request to Proxmox (cached?)", uri)
					}
					res, err := w.srv.Call(ctx, want.tool, json.RawMessage(want.args))
					if err != nil || res.IsError {
						t.Fatalf("%s: %v %v", want.tool, err, res)
					}
					gotData, gotSources := split(t, text)
					expData, expSources := split(t, res.Text)
					if gotData != expData || gotSources != expSources {
						t.Errorf("%s differs from %s:\n%s\n%s\n%s\n%s", uri, want.tool, gotData, expData, gotSources, expSources)
					}
					if !strings.Contains(text, `"fetched_at":"2026-11-27T10:00:00Z"`) || gotSources == "" {
						t.Errorf("%s: no envelope: %s", uri, text)
					}
				}

				for _, bad := range []struct{ uri, param string }{
					{"pvemcp://guests/abc", "vmid"},
					{"pvemcp://guests/42", "vmid"},
					{"pvemcp://guests/..%2F..%2Faccess", "vmid"},
					{"pvemcp://nodes/-bad-/storage", "node"},
					{"pvemcp://tasks/pve-node02/" + upid, "upid"},
					{"pvemcp://tasks/pve-node01/UPID:pve-node01:bad", "upid"},
				} {
					before := len(w.sim.Requests())
					_, err := read(t, c, bad.uri)
					if err == nil || !strings.Contains(err.Error(), `URI parameter "`+bad.param+`"`) {
						t.Errorf("%s: %v, want an error naming %s", bad.uri, err, bad.param)
					}
					if n := len(w.sim.Requests()); n != before {
						t.Errorf("%s: %d requests sent to Proxmox", bad.uri, n-before)
					}
				}
				// A guest that does not exist is the tool's own error.
				if _, err := read(t, c, "pvemcp://guests/999999"); err == nil || !strings.Contains(err.Error(), "get_guest") {
					t.Errorf("missing guest: %v", err)
				}
				if _, err := read(t, c, "pvemcp://nowhere"); err == nil {
					t.Error("unknown URI read")
				}
			})
		}
	}
}

// A toolset left out takes its resources with it.
func TestResourcesFollowToolsets(t *testing.T) {
	w := newWorld(t, []string{toolkit.ToolsetInventory})
	c := connect(t, mcpserver.New(w.srv, "test"), "inprocess", "2025-11-25")
	lt, err := c.ListResourceTemplates(context.Background(), mcp.ListResourceTemplatesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range lt.ResourceTemplates {
		if raw := rt.URITemplate.Raw(); raw != "pvemcp://guests/{vmid}" {
			t.Errorf("template %s served without its tool", raw)
		}
	}
	if _, err := read(t, c, "pvemcp://nodes/pve-node01/storage"); err == nil {
		t.Error("storage read without storage_status")
	}
}

func firstTask(t *testing.T, srv *toolkit.Server) string {
	t.Helper()
	res, err := srv.Call(context.Background(), "list_tasks", json.RawMessage(`{"node":"pve-node01"}`))
	if err != nil || res.IsError {
		t.Fatalf("list_tasks: %v %+v", err, res)
	}
	var out struct {
		Tasks []struct {
			UPID string `json:"upid"`
		} `json:"tasks"`
	}
	if err := json.Unmarshal(res.Structured, &out); err != nil || len(out.Tasks) == 0 {
		t.Fatalf("no task on pve-node01: %s", res.Text)
	}
	return out.Tasks[0].UPID
}
