package simtest

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// MCP says how a test's MCP client connects; every field is optional.
type MCP struct {
	// Version is the protocol version asked for (default
	// mcp.LATEST_PROTOCOL_VERSION).
	Version string
	// Name is the client's name in clientInfo (default "test").
	Name string
	// Token is sent over HTTP as "Authorization: Bearer <Token>".
	Token string
	// Headers are more HTTP request headers.
	Headers map[string]string
	// Capabilities are declared at initialize.
	Capabilities mcp.ClientCapabilities
	// Elicit, when set, answers the server's elicitations; the client then
	// declares form elicitation.
	Elicit client.ElicitationHandler
	// OnNotification receives the server's notifications from the start.
	OnNotification func(mcp.JSONRPCNotification)
}

// Client is an initialized MCP client, closed when the test ends.
type Client struct {
	*client.Client
	// Init is the server's answer to initialize.
	Init *mcp.InitializeResult
}

func (o MCP) version() string {
	if o.Version == "" {
		return mcp.LATEST_PROTOCOL_VERSION
	}
	return o.Version
}

func (o MCP) options() []client.ClientOption {
	opts := []client.ClientOption{client.WithProtocolVersion(o.version()), client.WithClientCapabilities(o.Capabilities)}
	if o.Elicit != nil {
		opts = append(opts, client.WithElicitationHandler(o.Elicit))
	}
	return opts
}

// InProcess connects a client to ms within the process.
func InProcess(t testing.TB, ms *server.MCPServer, o MCP) *Client {
	t.Helper()
	c, err := client.NewInProcessClientWithOptions(ms, o.options()...)
	if err != nil {
		t.Fatal(err)
	}
	return connect(t, c, o)
}

// Stdio connects a client to ms served over stdio on in-memory pipes.
func Stdio(t testing.TB, ms *server.MCPServer, o MCP) *Client {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = server.NewStdioServer(ms).Listen(ctx, inR, outW)
	}()
	t.Cleanup(func() {
		cancel()
		inW.Close()
		outW.Close()
		<-done
	})
	return connect(t, client.NewClient(transport.NewIO(outR, inW, io.NopCloser(strings.NewReader(""))), o.options()...), o)
}

// HTTP connects a client to the streamable HTTP endpoint url (".../mcp").
func HTTP(t testing.TB, url string, o MCP) *Client {
	t.Helper()
	headers := map[string]string{}
	for k, v := range o.Headers {
		headers[k] = v
	}
	if o.Token != "" {
		headers["Authorization"] = "Bearer " + o.Token
	}
	tr, err := transport.NewStreamableHTTP(url, transport.WithHTTPHeaders(headers))
	if err != nil {
		t.Fatal(err)
	}
	return connect(t, client.NewClient(tr, o.options()...), o)
}

// connect starts c and initializes it as o says.
func connect(t testing.TB, c *client.Client, o MCP) *Client {
	t.Helper()
	if o.OnNotification != nil {
		c.OnNotification(o.OnNotification)
	}
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = o.version()
	init.Params.ClientInfo = mcp.Implementation{Name: "test", Version: "1"}
	if o.Name != "" {
		init.Params.ClientInfo.Name = o.Name
	}
	init.Params.Capabilities = o.Capabilities
	if o.Elicit != nil {
		init.Params.Capabilities.Elicitation = &mcp.ElicitationCapability{Form: &struct{}{}}
	}
	ir, err := c.Initialize(ctx, init)
	if err != nil {
		t.Fatalf("initialize: %v", err)
	}
	return &Client{Client: c, Init: ir}
}
