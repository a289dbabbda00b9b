package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/server"
	"github.com/rs/zerolog"

	"github.com/pvemcp/pvemcp/tools"
)

type httpOptions struct {
	addr         string
	token        string
	allowOrigins []string
	// ready, when set, receives the bound address (tests listen on :0).
	ready func(addr string)
}

// serveHTTP serves MCP over streamable HTTP at /mcp (both protocol eras:
// 2025-11-25 sessions and 2026-07-28 stateless requests) plus /healthz,
// until ctx ends; then it shuts down gracefully.
func serveHTTP(ctx context.Context, ms *server.MCPServer, o httpOptions, log zerolog.Logger) error {
	host, _, err := net.SplitHostPort(o.addr)
	if err != nil {
		return fmt.Errorf("--http %q: want HOST:PORT, e.g. 127.0.0.1:8080", o.addr)
	}
	loopback := isLoopback(host)
	if !loopback && o.token == "" {
		return fmt.Errorf("--http %s listens beyond loopback: set --http-token or PVEMCP_HTTP_TOKEN so clients must authenticate", o.addr)
	}
	streamable := server.NewStreamableHTTPServer(ms,
		server.WithStateful(true),
		server.WithSessionIdleTTL(time.Hour),
		server.WithHTTPContextFunc(func(ctx context.Context, r *http.Request) context.Context {
			if ts, _ := headerToolsets(r); ts != nil {
				ctx = tools.WithRequestToolsets(ctx, ts)
			}
			return tools.WithCaller(ctx, tools.Caller{Principal: principal(o.token)})
		}),
	)
	mux := http.NewServeMux()
	mux.Handle("/mcp", mcpGuard(streamable, o.token, o.allowOrigins, log))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("--http: %w", err)
	}
	log.Info().Str("url", "http://"+ln.Addr().String()+"/mcp").Bool("auth", o.token != "").Msg("serving MCP over streamable HTTP")
	if o.ready != nil {
		o.ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info().Msg("shutting down HTTP server")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = streamable.Shutdown(sctx)
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// mcpGuard rejects foreign browser origins (403; mcp-go does not check
// Origin), when a token is configured, requests without it (401), and an
// X-MCP-Toolsets header naming an unknown toolset (400).
func mcpGuard(next http.Handler, token string, allow []string, log zerolog.Logger) http.Handler {
	want := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !originAllowed(r, allow) {
			log.Warn().Str("origin", r.Header.Get("Origin")).Msg("refused foreign origin")
			http.Error(w, "Forbidden: origin not allowed", http.StatusForbidden)
			return
		}
		if token != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), want) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="pvemcp"`)
				http.Error(w, "Unauthorized: send Authorization: Bearer <PVEMCP_HTTP_TOKEN>", http.StatusUnauthorized)
				return
			}
		}
		if _, err := headerToolsets(r); err != nil {
			http.Error(w, "Bad Request: "+err.Error(), http.StatusBadRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// originAllowed accepts requests without Origin (non-browser clients), the
// same origin, loopback origins (local tools such as the MCP Inspector) and
// the configured extra origins.
func originAllowed(r *http.Request, allow []string) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	for _, a := range allow {
		if strings.EqualFold(strings.TrimSuffix(a, "/"), o) {
			return true
		}
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	return isLoopback(u.Hostname())
}

func isLoopback(host string) bool {
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// principal names the authenticated HTTP caller without revealing the token.
func principal(token string) string {
	if token == "" {
		return "http:loopback"
	}
	sum := sha256.Sum256([]byte(token))
	return "http:bearer-" + hex.EncodeToString(sum[:4])
}
