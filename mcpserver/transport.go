package mcpserver

import (
	"context"
	"io"
	"log"
	"net/http"
	"time"

	"github.com/mark3labs/mcp-go/server"
)

// ServeStdio serves newline-delimited JSON-RPC on in and out until ctx ends
// or in is closed. errLog, when not nil, receives the transport's errors.
func (s *Server) ServeStdio(ctx context.Context, in io.Reader, out io.Writer, errLog *log.Logger) error {
	std := server.NewStdioServer(s.ms)
	if errLog != nil {
		std.SetErrorLogger(errLog)
	}
	return std.Listen(ctx, in, out)
}

// HTTPOptions configure the streamable HTTP transport. The zero value
// takes mcp-go's defaults.
type HTTPOptions struct {
	// Sessions mints and checks the ids of 2025-11-25-era sessions.
	Sessions SessionIDs
	// SessionIdleTTL ends sessions idle this long (0: never).
	SessionIdleTTL time.Duration
	// Context derives each request's context from the HTTP request, e.g.
	// with the caller's identity (tools.WithCaller).
	Context func(ctx context.Context, r *http.Request) context.Context
}

// SessionIDs mints, checks and ends session ids (mcp-go's
// SessionIdManager). Validate reports a known but ended session with
// isTerminated; an unknown id is an error. Terminate reports a session the
// client may not end with isNotAllowed.
type SessionIDs interface {
	Generate() string
	Validate(id string) (isTerminated bool, err error)
	Terminate(id string) (isNotAllowed bool, err error)
}

// HTTPHandler serves MCP over streamable HTTP, in both protocol eras
// (2025-11-25 sessions and 2026-07-28 stateless requests).
type HTTPHandler struct {
	h *server.StreamableHTTPServer
}

// HTTPHandler returns the streamable HTTP transport of s; mount it at the
// MCP endpoint (e.g. /mcp).
func (s *Server) HTTPHandler(o HTTPOptions) *HTTPHandler {
	var opts []server.StreamableHTTPOption
	if o.Sessions != nil {
		opts = append(opts, server.WithSessionIdManager(o.Sessions))
	}
	if o.SessionIdleTTL > 0 {
		opts = append(opts, server.WithSessionIdleTTL(o.SessionIdleTTL))
	}
	if o.Context != nil {
		opts = append(opts, server.WithHTTPContextFunc(o.Context))
	}
	return &HTTPHandler{h: server.NewStreamableHTTPServer(s.ms, opts...)}
}

func (h *HTTPHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.h.ServeHTTP(w, r) }

// Shutdown ends the transport's sessions and background work.
func (h *HTTPHandler) Shutdown(ctx context.Context) error { return h.h.Shutdown(ctx) }
