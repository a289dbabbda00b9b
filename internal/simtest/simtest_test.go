package simtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/pvemcp/pvemcp/proxmox/pvesim"
)

// TestDemoIsOnePerTest: calls within a test share one simulator, another
// test gets its own, and a test's simulator is closed when it ends.
func TestDemoIsOnePerTest(t *testing.T) {
	a := Demo(t)
	if Demo(t) != a {
		t.Fatal("a second Demo in the same test started another simulator")
	}
	var sub *pvesim.Sim
	t.Run("sub", func(t *testing.T) {
		sub = Demo(t)
		if sub == a {
			t.Fatal("a subtest shares its parent's simulator")
		}
		if _, err := Proxmox(t, sub, "auditor").Nodes(context.Background()); err != nil {
			t.Fatalf("the subtest's simulator does not answer: %v", err)
		}
	})
	// The subtest has ended: its simulator is closed, its parent's is not.
	if _, err := Proxmox(t, sub, "auditor").Nodes(context.Background()); err == nil {
		t.Error("the subtest's simulator still answers after the subtest ended")
	}
	nodes, err := Proxmox(t, a, "auditor").Nodes(context.Background())
	if err != nil || len(nodes) == 0 {
		t.Fatalf("demo nodes: %v %v", nodes, err)
	}
}

func TestStartAppliesOptions(t *testing.T) {
	sim := Start(t, pvesim.Options{Generate: "nodes=2,guests=4"})
	if n := len(sim.Nodes()); n != 2 {
		t.Fatalf("%d nodes, want the 2 asked for", n)
	}
	if sim == Demo(t) {
		t.Fatal("Start returned the test's demo simulator")
	}
}

// echoServer has one tool, "echo", that returns its "text" argument.
func echoServer() *server.MCPServer {
	ms := server.NewMCPServer("echo", "1")
	ms.AddTool(mcp.NewTool("echo", mcp.WithString("text")), func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText(req.GetString("text", "")), nil
	})
	return ms
}

// TestClientsOfEveryTransport: each helper returns a client initialized
// in the version asked for, whose calls reach the server; over HTTP it
// sends the token and the headers.
func TestClientsOfEveryTransport(t *testing.T) {
	var mu sync.Mutex
	var auth, extra []string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth, extra = append(auth, r.Header.Get("Authorization")), append(extra, r.Header.Get("X-Extra"))
		mu.Unlock()
		server.NewStreamableHTTPServer(echoServer()).ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	for _, version := range []string{"2025-11-25", mcp.LATEST_PROTOCOL_VERSION} {
		o := MCP{Version: version, Token: "tok", Headers: map[string]string{"X-Extra": "yes"}}
		for name, c := range map[string]*Client{
			"inprocess": InProcess(t, echoServer(), o),
			"stdio":     Stdio(t, echoServer(), o),
			"http":      HTTP(t, hs.URL+"/mcp", o),
		} {
			if c.Init.ProtocolVersion != version {
				t.Errorf("%s: negotiated %s, want %s", name, c.Init.ProtocolVersion, version)
			}
			req := mcp.CallToolRequest{}
			req.Params.Name, req.Params.Arguments = "echo", map[string]any{"text": name + " " + version}
			res, err := c.CallTool(context.Background(), req)
			if err != nil || len(res.Content) != 1 || res.Content[0].(mcp.TextContent).Text != name+" "+version {
				t.Errorf("%s %s: echo answered %+v, %v", name, version, res, err)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(auth) == 0 {
		t.Fatal("no HTTP request reached the server")
	}
	for i := range auth {
		if auth[i] != "Bearer tok" || extra[i] != "yes" {
			t.Fatalf("request %d: Authorization %q, X-Extra %q", i, auth[i], extra[i])
		}
	}
}
