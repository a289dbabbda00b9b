package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// HTTP limits: what one request, one client or a flood of them may hold.
const (
	// defaultMaxBody caps a request body; MCP requests are small JSON.
	defaultMaxBody = 1 << 20
	// bodyReadTimeout is how long a client may take to send its body.
	bodyReadTimeout = 10 * time.Second
	// defaultMaxSessions caps live 2025-11-25 sessions (each holds
	// per-session state until it ends or idles out).
	defaultMaxSessions = 1000
	// defaultMaxStreams caps open GET (server-sent event) streams.
	defaultMaxStreams = 256
	// sessionIdleTTL ends sessions nobody used for this long.
	sessionIdleTTL = 30 * time.Minute
)

// httpLimits enforces the body cap, the session cap and the stream cap in
// front of mcp-go's handler, after authentication.
type httpLimits struct {
	maxBody     int64
	bodyTimeout time.Duration
	sessions    *boundedSessions
	maxStreams  int64
	streams     atomic.Int64
}

// busy answers 503 with a Retry-After and says which limit was hit.
func busy(w http.ResponseWriter, msg string) {
	w.Header().Set("Retry-After", "5")
	http.Error(w, "Service Unavailable: "+msg, http.StatusServiceUnavailable)
}

// wrap reads a POST body (bounded in size and time) before mcp-go does, so
// a large or slow body costs at most maxBody and bodyReadTimeout; it
// refuses new sessions and streams beyond their caps.
func (l *httpLimits) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost:
			if r.ContentLength > l.maxBody {
				http.Error(w, fmt.Sprintf("Request Entity Too Large: the body may hold at most %d bytes", l.maxBody), http.StatusRequestEntityTooLarge)
				return
			}
			rc := http.NewResponseController(w)
			_ = rc.SetReadDeadline(time.Now().Add(l.bodyTimeout))
			body, err := io.ReadAll(io.LimitReader(r.Body, l.maxBody+1))
			// On a refusal the deadline stays: net/http drains part of an
			// unread body before answering, and must not wait for it.
			switch {
			case err != nil:
				w.Header().Set("Connection", "close")
				http.Error(w, "Request Timeout: the body was not received in time", http.StatusRequestTimeout)
				return
			case int64(len(body)) > l.maxBody:
				w.Header().Set("Connection", "close")
				http.Error(w, fmt.Sprintf("Request Entity Too Large: the body may hold at most %d bytes", l.maxBody), http.StatusRequestEntityTooLarge)
				return
			}
			_ = rc.SetReadDeadline(time.Time{})
			r.Body = io.NopCloser(bytes.NewReader(body))
			if r.Header.Get("Mcp-Session-Id") == "" && isInitialize(body) && l.sessions.full() {
				busy(w, fmt.Sprintf("the server holds its maximum of %d sessions; retry later", l.sessions.max))
				return
			}
		case http.MethodGet:
			if r.Header.Get("Mcp-Session-Id") == "" && l.sessions.full() {
				busy(w, fmt.Sprintf("the server holds its maximum of %d sessions; retry later", l.sessions.max))
				return
			}
			if n := l.streams.Add(1); n > l.maxStreams {
				l.streams.Add(-1)
				busy(w, fmt.Sprintf("the server holds its maximum of %d open streams; retry later", l.maxStreams))
				return
			}
			defer l.streams.Add(-1)
		}
		next.ServeHTTP(w, r)
	})
}

// isInitialize reports whether a JSON-RPC body is an initialize request.
func isInitialize(body []byte) bool {
	if !bytes.Contains(body, []byte("initialize")) {
		return false
	}
	var m struct {
		Method string `json:"method"`
	}
	return json.Unmarshal(body, &m) == nil && m.Method == "initialize"
}

// boundedSessions is mcp-go's SessionIdManager for 2025-11-25 sessions,
// with a cap and an idle expiry, so neither a flood of initialize calls
// nor clients that never end their session grow memory without bound.
type boundedSessions struct {
	mu       sync.Mutex
	max      int
	ttl      time.Duration
	now      func() time.Time
	sessions map[string]time.Time // id -> last use
}

func newBoundedSessions(max int, ttl time.Duration) *boundedSessions {
	return &boundedSessions{max: max, ttl: ttl, now: time.Now, sessions: map[string]time.Time{}}
}

const sessionPrefix = "mcp-session-"

// pruneLocked forgets sessions idle beyond the TTL.
func (b *boundedSessions) pruneLocked(now time.Time) {
	for id, t := range b.sessions {
		if now.Sub(t) > b.ttl {
			delete(b.sessions, id)
		}
	}
}

func (b *boundedSessions) full() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.sessions) < b.max {
		return false
	}
	b.pruneLocked(b.now())
	return len(b.sessions) >= b.max
}

// Len is the number of live sessions.
func (b *boundedSessions) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.sessions)
}

// Generate mints a session id. The HTTP layer refuses new sessions at the
// cap first; should one get through a race, the least recently used
// session is ended rather than exceeding the cap.
func (b *boundedSessions) Generate() string {
	id := sessionPrefix + uuid.NewString()
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.sessions) >= b.max {
		b.pruneLocked(now)
	}
	for len(b.sessions) >= b.max {
		var oldest string
		var at time.Time
		for sid, t := range b.sessions {
			if oldest == "" || t.Before(at) {
				oldest, at = sid, t
			}
		}
		delete(b.sessions, oldest)
	}
	b.sessions[id] = now
	return id
}

var errNoSession = errors.New("session not found")

// Validate accepts a live session and marks it used.
func (b *boundedSessions) Validate(id string) (bool, error) {
	if !strings.HasPrefix(id, sessionPrefix) {
		return false, errNoSession
	}
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.sessions[id]
	if !ok || now.Sub(t) > b.ttl {
		delete(b.sessions, id)
		return false, errNoSession
	}
	b.sessions[id] = now
	return false, nil
}

// Terminate ends a session (DELETE, or mcp-go's idle sweeper).
func (b *boundedSessions) Terminate(id string) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.sessions, id)
	return false, nil
}
