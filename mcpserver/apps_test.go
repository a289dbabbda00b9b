package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/pvemcp/pvemcp/internal/simtest"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
	"github.com/pvemcp/pvemcp/resources"
	"github.com/pvemcp/pvemcp/toolkit"
)

// appsCaps are the client capabilities of an MCP Apps host.
var appsCaps = `{"extensions":{"` + resources.AppsExtension + `":{"mimeTypes":["` + resources.ViewMIMEType + `"]}}}`

// fixedServer serves the demo cluster at a fixed time, so two reads of a
// tool give the same bytes (but for the API calls' milliseconds).
func fixedServer(t *testing.T) *toolkit.Server {
	t.Helper()
	now := func() time.Time { return time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC) }
	sim := simtest.Start(t, pvesim.Options{Now: now})
	c := simtest.Proxmox(t, sim, "operator")
	return toolkit.NewServer(&toolkit.Env{Client: c, Now: now}, toolkit.Select(true, nil))
}

// rawSession speaks raw JSON-RPC to one MCP server, so answers can be
// compared byte for byte: the 2025-11-25 era over streamable HTTP (the
// capabilities stated once at initialize, kept by the session), the
// 2026-07-28 era with the capabilities in every request's _meta.
type rawSession struct {
	t       *testing.T
	modern  bool
	caps    string
	ms      *server.MCPServer
	url     string
	session string
	id      int
}

func newRawSession(t *testing.T, ms *server.MCPServer, modern bool, caps string) (*rawSession, json.RawMessage) {
	t.Helper()
	r := &rawSession{t: t, modern: modern, caps: caps, ms: ms}
	if modern {
		return r, r.call("server/discover", `{}`)
	}
	hs := httptest.NewServer(server.NewStreamableHTTPServer(ms))
	t.Cleanup(hs.Close)
	r.url = hs.URL + "/mcp"
	res := r.call("initialize", `{"protocolVersion":"2025-11-25","clientInfo":{"name":"raw","version":"1"},"capabilities":`+caps+`}`)
	r.post(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return r, res
}

// call sends a request and returns its result; a JSON-RPC error fails the
// test unless the method is expected to fail (then the error is returned).
func (r *rawSession) call(method, params string) json.RawMessage {
	r.t.Helper()
	res, rpcErr := r.try(method, params)
	if rpcErr != "" {
		r.t.Fatalf("%s: %s", method, rpcErr)
	}
	return res
}

func (r *rawSession) try(method, params string) (json.RawMessage, string) {
	r.t.Helper()
	r.id++
	if r.modern {
		var p map[string]json.RawMessage
		if err := json.Unmarshal([]byte(params), &p); err != nil {
			r.t.Fatal(err)
		}
		p["_meta"] = json.RawMessage(fmt.Sprintf(`{%q:%q,%q:%s,%q:{"name":"raw","version":"1"}}`,
			mcp.MetaKeyProtocolVersion, mcp.LATEST_PROTOCOL_VERSION, mcp.MetaKeyClientCapabilities, r.caps, mcp.MetaKeyClientInfo))
		b, _ := json.Marshal(p)
		params = string(b)
	}
	msg := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":%q,"params":%s}`, r.id, method, params)
	var body []byte
	if r.modern {
		b, err := json.Marshal(r.ms.HandleMessage(context.Background(), json.RawMessage(msg)))
		if err != nil {
			r.t.Fatal(err)
		}
		body = b
	} else {
		body = responseOf(r.post(msg), r.id)
	}
	var resp struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		r.t.Fatalf("%s: %v: %s", method, err, body)
	}
	if resp.Error != nil {
		return nil, resp.Error.Message
	}
	return resp.Result, ""
}

// responseOf picks the JSON-RPC response out of an answer that came as an
// event stream (the server streams when it sends notifications along).
func responseOf(body []byte, id int) []byte {
	if !bytes.HasPrefix(bytes.TrimSpace(body), []byte("event:")) && !bytes.HasPrefix(bytes.TrimSpace(body), []byte("data:")) {
		return body
	}
	for _, line := range strings.Split(string(body), "\n") {
		data, ok := strings.CutPrefix(strings.TrimSpace(line), "data:")
		if !ok {
			continue
		}
		var m struct {
			ID *int `json:"id"`
		}
		if json.Unmarshal([]byte(data), &m) == nil && m.ID != nil && *m.ID == id {
			return []byte(data)
		}
	}
	return body
}

func (r *rawSession) post(msg string) []byte {
	r.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, r.url, strings.NewReader(msg))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if r.session != "" {
		req.Header.Set("Mcp-Session-Id", r.session)
		req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	if id := resp.Header.Get("Mcp-Session-Id"); id != "" {
		r.session = id
	}
	b, _ := io.ReadAll(resp.Body)
	return b
}

// viewToolArgs are arguments for the tools the views draw ({} if none).
var viewToolArgs = map[string]string{"cluster_overview": `{}`, "get_metrics": `{"node":"pve-node03"}`, "storage_status": `{}`,
	"backup_status": `{}`, "capacity_report": `{}`, "zfs_health": `{}`}

var msRE = regexp.MustCompile(`"ms":[0-9.]+`)

// normalResult is a tool result with what varies between two live reads
// taken out: the API calls' milliseconds and the order in which concurrent
// calls returned (sources are sorted). All else is kept byte for byte.
func normalResult(t *testing.T, res json.RawMessage) string {
	t.Helper()
	var r struct {
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
	}
	if err := json.Unmarshal(res, &r); err != nil || len(r.Content) != 1 {
		t.Fatalf("result: %v: %.300s", err, res)
	}
	sortSources := func(b []byte) []byte {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%v: %.300s", err, b)
		}
		var src []json.RawMessage
		_ = json.Unmarshal(m["sources"], &src)
		lines := make([]string, len(src))
		for i, s := range src {
			lines[i] = msRE.ReplaceAllString(string(s), `"ms":0`)
		}
		sort.Strings(lines)
		m["sources"], _ = json.Marshal(lines)
		out, _ := json.Marshal(m)
		return out
	}
	text := sortSources([]byte(r.Content[0].Text))
	var all map[string]json.RawMessage
	_ = json.Unmarshal(res, &all)
	all["content"] = nil
	if sc, ok := all["structuredContent"]; ok {
		all["structuredContent"] = sortSources(sc)
	}
	rest, _ := json.Marshal(all)
	return string(text) + "\n" + string(rest)
}

// A client without the extension sees exactly what it saw before the
// views existed: no extension in the capabilities, tools/list entries byte
// for byte as registered (no _meta), no ui:// resource, no view to read; and
// every client gets the same tool results, with or without the extension.
func TestAppsOnlyForClientsWithExtension(t *testing.T) {
	s := fixedServer(t)
	a := New(s, "test")
	ms := a.MCP()
	results := map[string]map[string]string{} // tool -> "era/ext" -> result
	for _, modern := range []bool{false, true} {
		for _, apps := range []bool{false, true} {
			caps := `{}`
			if apps {
				caps = appsCaps
			}
			name := fmt.Sprintf("modern=%v/apps=%v", modern, apps)
			r, init := newRawSession(t, ms, modern, caps)
			if got := bytes.Contains(init, []byte(resources.AppsExtension)); got != apps {
				t.Errorf("%s: extension in the server capabilities: %v: %s", name, got, init)
			}
			var list struct {
				Tools []json.RawMessage `json:"tools"`
			}
			if err := json.Unmarshal(r.call("tools/list", `{}`), &list); err != nil {
				t.Fatal(err)
			}
			if len(list.Tools) != len(s.Tools()) {
				t.Fatalf("%s: %d tools listed, %d served", name, len(list.Tools), len(s.Tools()))
			}
			for _, raw := range list.Tools {
				var tl struct {
					Name string `json:"name"`
					Meta *struct {
						UI struct {
							ResourceURI string `json:"resourceUri"`
						} `json:"ui"`
						FlatURI string `json:"ui/resourceUri"`
					} `json:"_meta"`
				}
				if err := json.Unmarshal(raw, &tl); err != nil {
					t.Fatal(err)
				}
				mt := Tool(findTool(tl.Name))
				mt.RawInputSchema = s.InputSchema(findTool(tl.Name))
				want, err := json.Marshal(mt)
				if err != nil {
					t.Fatal(err)
				}
				view := viewOf(tl.Name)
				switch {
				case !apps || view == "":
					if !bytes.Equal(raw, want) {
						t.Errorf("%s: %s listed as\n%s\nwant\n%s", name, tl.Name, raw, want)
					}
				case tl.Meta == nil || tl.Meta.UI.ResourceURI != view || tl.Meta.FlatURI != view:
					t.Errorf("%s: %s: _meta.ui.resourceUri missing, want %s: %s", name, tl.Name, view, raw)
				}
			}
			var rl struct {
				Resources []mcp.Resource `json:"resources"`
			}
			if err := json.Unmarshal(r.call("resources/list", `{}`), &rl); err != nil {
				t.Fatal(err)
			}
			views := 0
			for _, res := range rl.Resources {
				if strings.HasPrefix(res.URI, "ui://") {
					views++
					if res.MIMEType != resources.ViewMIMEType {
						t.Errorf("%s: %s has MIME type %q", name, res.URI, res.MIMEType)
					}
				}
			}
			if want := map[bool]int{false: 0, true: len(resources.Views())}[apps]; views != want {
				t.Errorf("%s: %d views listed, want %d", name, views, want)
			}
			for _, v := range resources.Views() {
				res, rpcErr := r.try("resources/read", `{"uri":"`+v.URI+`"}`)
				if !apps {
					if rpcErr == "" || !strings.Contains(rpcErr, resources.AppsExtension) {
						t.Errorf("%s: read %s without the extension: %s %q", name, v.URI, res, rpcErr)
					}
					continue
				}
				var rr struct {
					Contents []struct {
						URI, MIMEType, Text string
					} `json:"contents"`
				}
				if err := json.Unmarshal(res, &rr); err != nil || rpcErr != "" {
					t.Fatalf("%s: read %s: %v %s", name, v.URI, err, rpcErr)
				}
				if len(rr.Contents) != 1 || rr.Contents[0].MIMEType != resources.ViewMIMEType || rr.Contents[0].Text != v.Document(a.viewConfig()) {
					t.Errorf("%s: read %s: not the view document", name, v.URI)
				}
			}
			for _, v := range resources.Views() {
				for _, tool := range v.Tools {
					res := r.call("tools/call", `{"name":"`+tool+`","arguments":`+viewToolArgs[tool]+`}`)
					if results[tool] == nil {
						results[tool] = map[string]string{}
					}
					results[tool][name] = normalResult(t, res)
				}
			}
		}
	}
	for tool, byClient := range results {
		for _, era := range []string{"modern=false", "modern=true"} {
			want, got := byClient[era+"/apps=false"], byClient[era+"/apps=true"]
			if !strings.Contains(want, `"structuredContent"`) {
				t.Errorf("%s: no structured result: %.200s", tool, want)
			}
			if got != want {
				t.Errorf("%s, %s: result with the extension differs from the one without:\n%.3000s\nwant\n%.3000s", tool, era, got, want)
			}
		}
	}
}

// Every view draws served tools, and a tool left out takes its view with it.
func TestViewsFollowServedTools(t *testing.T) {
	for _, v := range resources.Views() {
		for _, tool := range v.Tools {
			if findTool(tool) == nil {
				t.Errorf("%s draws %s, which is not a tool", v.URI, tool)
			}
		}
	}
	s := toolkit.NewServer(&toolkit.Env{}, toolkit.Select(true, []string{toolkit.ToolsetInventory}))
	r, _ := newRawSession(t, New(s, "test").MCP(), true, appsCaps)
	var rl struct {
		Resources []mcp.Resource `json:"resources"`
	}
	if err := json.Unmarshal(r.call("resources/list", `{}`), &rl); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, res := range rl.Resources {
		if strings.HasPrefix(res.URI, "ui://") {
			got = append(got, res.URI)
		}
	}
	if strings.Join(got, ",") != "ui://pvemcp/overview" {
		t.Errorf("inventory toolset: views %v, want only ui://pvemcp/overview", got)
	}
}

// A view draws the thresholds the server is configured with where a result
// names none (an alert carries its own).
func TestViewsCarryConfiguredThresholds(t *testing.T) {
	s := toolkit.NewServer(&toolkit.Env{Thresholds: toolkit.Thresholds{RAMPct: 80, StoragePct: 75}}, toolkit.Select(true, nil))
	r, _ := newRawSession(t, New(s, "test").MCP(), true, appsCaps)
	res := r.call("resources/read", `{"uri":"ui://pvemcp/overview"}`)
	var rr struct {
		Contents []struct{ Text string } `json:"contents"`
	}
	if err := json.Unmarshal(res, &rr); err != nil || len(rr.Contents) != 1 {
		t.Fatalf("read: %v %.200s", err, res)
	}
	want := `const CONFIG = {"thresholds":{"ram_pct":80,"storage_pct":75,"cpu_pct":90,"critical_pct":95}};`
	if !strings.Contains(rr.Contents[0].Text, want) {
		t.Errorf("view lacks %s", want)
	}
}

func findTool(name string) *toolkit.Tool {
	for _, t := range toolkit.All() {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// With toolsets on demand, a tool enabled later names its view too, and the
// views of every servable tool can be read from the start.
func TestViewsWithToolsetsOnDemand(t *testing.T) {
	s := fixedServer(t).StartWith([]string{toolkit.ToolsetInventory})
	r, _ := newRawSession(t, New(s, "test").MCP(), false, appsCaps)
	listed := func() map[string]string {
		var list struct {
			Tools []struct {
				Name string `json:"name"`
				Meta struct {
					UI struct {
						ResourceURI string `json:"resourceUri"`
					} `json:"ui"`
				} `json:"_meta"`
			} `json:"tools"`
		}
		if err := json.Unmarshal(r.call("tools/list", `{}`), &list); err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, tl := range list.Tools {
			out[tl.Name] = tl.Meta.UI.ResourceURI
		}
		return out
	}
	before := listed()
	if before["cluster_overview"] != "ui://pvemcp/overview" {
		t.Errorf("cluster_overview: view %q", before["cluster_overview"])
	}
	if _, ok := before["zfs_health"]; ok {
		t.Fatalf("zfs_health listed before its toolset was enabled")
	}
	if _, msg := r.try("resources/read", `{"uri":"ui://pvemcp/zfs"}`); msg != "" {
		t.Errorf("zfs view not readable before its toolset is enabled: %s", msg)
	}
	r.call("tools/call", `{"name":"enable_toolset","arguments":{"toolset":"storage"}}`)
	if got := listed()["zfs_health"]; got != "ui://pvemcp/zfs" {
		t.Errorf("zfs_health after enable_toolset: view %q", got)
	}
}
