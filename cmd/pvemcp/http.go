package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/pvemcp/pvemcp/guard"
	"github.com/pvemcp/pvemcp/mcpserver"
	"github.com/pvemcp/pvemcp/toolkit"
)

type httpOptions struct {
	addr  string
	token string
	// tokensFile names a file of named clients with hashed tokens and
	// roles (instead of one shared token).
	tokensFile string
	// oauth, when set, accepts JWT access tokens of an identity provider.
	oauth        *oauthOptions
	allowOrigins []string
	// tlsCert and tlsKey serve HTTPS instead of plain HTTP.
	tlsCert, tlsKey string
	// Limits (0 = the defaults).
	maxBody     int64
	maxSessions int
	maxStreams  int
	bodyTimeout time.Duration
	// ready, when set, receives the bound address (tests listen on :0).
	ready func(addr string)
	// plans, when set, is reported by /healthz.
	plans *guard.Store
}

// authFor picks how requests are authenticated: an identity provider's
// JWTs, a tokens file, one token, or nothing on loopback.
func authFor(o httpOptions, loopback bool) (authenticator, error) {
	n := 0
	for _, set := range []bool{o.token != "", o.tokensFile != "", o.oauth != nil} {
		if set {
			n++
		}
	}
	switch {
	case n > 1:
		return nil, errors.New("choose one of --http-token (or PVEMCP_HTTP_TOKEN), --http-tokens-file and --oauth-issuer")
	case o.oauth != nil:
		return newOAuthAuth(*o.oauth)
	case o.tokensFile != "":
		return loadTokensFile(o.tokensFile)
	case o.token != "":
		return newStaticTokenAuth(o.token)
	case !loopback:
		return nil, fmt.Errorf("--http %s listens beyond loopback: set PVEMCP_HTTP_TOKEN (or PVEMCP_HTTP_TOKEN_FILE), --http-tokens-file or --oauth-issuer so clients must authenticate", o.addr)
	}
	return loopbackAuth{}, nil
}

// serveHTTP serves MCP over streamable HTTP at /mcp (both protocol eras:
// 2025-11-25 sessions and 2026-07-28 stateless requests) plus /healthz,
// until ctx ends; then it shuts down gracefully.
func serveHTTP(ctx context.Context, ms *mcpserver.Server, o httpOptions, log zerolog.Logger) error {
	host, _, err := net.SplitHostPort(o.addr)
	if err != nil {
		return fmt.Errorf("--http %q: want HOST:PORT, e.g. 127.0.0.1:8080", o.addr)
	}
	auth, err := authFor(o, isLoopback(host))
	if err != nil {
		return err
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return errors.New("--http-tls-cert and --http-tls-key go together")
	}
	var tlsConf *tls.Config
	if o.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return fmt.Errorf("--http-tls-cert/--http-tls-key: %w", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	limits := &httpLimits{maxBody: o.maxBody, maxStreams: int64(o.maxStreams), bodyTimeout: o.bodyTimeout}
	if limits.bodyTimeout <= 0 {
		limits.bodyTimeout = bodyReadTimeout
	}
	if limits.maxBody <= 0 {
		limits.maxBody = defaultMaxBody
	}
	if limits.maxStreams <= 0 {
		limits.maxStreams = defaultMaxStreams
	}
	if o.maxSessions <= 0 {
		o.maxSessions = defaultMaxSessions
	}
	limits.sessions = newBoundedSessions(o.maxSessions, sessionIdleTTL)
	streamable := ms.HTTPHandler(mcpserver.HTTPOptions{
		Sessions:       limits.sessions,
		SessionIdleTTL: sessionIdleTTL,
		Context: func(ctx context.Context, r *http.Request) context.Context {
			if ts, _ := headerToolsets(r); ts != nil {
				ctx = toolkit.WithRequestToolsets(ctx, ts)
			}
			who, _ := r.Context().Value(principalKey{}).(httpPrincipal)
			return toolkit.WithCaller(ctx, toolkit.Caller{Principal: who.Name, ReadOnly: who.ReadOnly, Anonymous: who.Anonymous})
		},
	})
	mux := http.NewServeMux()
	mux.Handle("/mcp", mcpGuard(limits.wrap(streamable), auth, o.allowOrigins, log))
	if oa, ok := auth.(*oauthAuth); ok {
		mux.Handle(oauthMetadataPath, oa.metadataHandler())
		mux.Handle(oauthMetadataPath+"/mcp", oa.metadataHandler())
	}
	mux.HandleFunc("/healthz", healthz(o.plans))
	// No overall read or write timeout: event streams last. Headers, bodies
	// (httpLimits) and idle keep-alive connections are bounded instead.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		MaxHeaderBytes: 64 << 10, TLSConfig: tlsConf}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("--http: %w", err)
	}
	scheme := "http"
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
		scheme = "https"
	}
	log.Info().Str("url", scheme+"://"+ln.Addr().String()+"/mcp").Str("auth", authName(auth)).Msg("serving MCP over streamable HTTP")
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

func authName(a authenticator) string {
	switch a.(type) {
	case loopbackAuth:
		return "none (loopback)"
	case *staticTokenAuth:
		return "bearer token"
	case *tokensAuth:
		return "tokens file"
	case *oauthAuth:
		return "OAuth JWT"
	}
	return "unknown"
}

type principalKey struct{}

// mcpGuard rejects foreign browser origins (403; mcp-go does not check
// Origin), unauthenticated requests (401, before the body is read), and an
// X-MCP-Toolsets header naming an unknown toolset (400).
func mcpGuard(next http.Handler, auth authenticator, allow []string, log zerolog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !originAllowed(r, allow) {
			log.Warn().Str("origin", r.Header.Get("Origin")).Msg("refused foreign origin")
			http.Error(w, "Forbidden: origin not allowed", http.StatusForbidden)
			return
		}
		who, err := auth.authenticate(r)
		if err != nil {
			if c := auth.challenge(); c != "" {
				w.Header().Set("WWW-Authenticate", c)
			}
			// Close rather than drain a large unauthenticated body.
			w.Header().Set("Connection", "close")
			http.Error(w, "Unauthorized: "+err.Error(), http.StatusUnauthorized)
			return
		}
		if _, err := headerToolsets(r); err != nil {
			http.Error(w, "Bad Request: "+err.Error(), http.StatusBadRequest)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, who)))
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
