package proxmox

import (
	"context"
	"net/http"
	"sync"
)

// resourceFlights lets concurrent identical /cluster/resources reads share
// one request and one decoding: on a large cluster the decoded list, not
// the answer's bytes, is most of a call's memory, and many clients asking
// at once must not each hold their own. Nothing is kept after the flight
// lands (no cache).
type resourceFlights struct {
	mu sync.Mutex
	m  map[string]*resourceFlight
}

type resourceFlight struct {
	done    chan struct{}
	waiters int // followers joined; guarded by resourceFlights.mu
	a       answer
	rs      []Resource
	err     error
}

// do runs fn for key, or joins the flight already running for it. shared
// reports a joined flight.
func (g *resourceFlights) do(ctx context.Context, key string, fn func() (answer, []Resource, error)) (answer, []Resource, error, bool) {
	g.mu.Lock()
	if f, ok := g.m[key]; ok {
		f.waiters++
		g.mu.Unlock()
		select {
		case <-f.done:
			return f.a, f.rs, f.err, true
		case <-ctx.Done():
			err := &Error{Kind: KindCanceled, Method: http.MethodGet, Path: key, msg: "request canceled", err: ctx.Err()}
			return answer{err: err}, nil, err, true
		}
	}
	if g.m == nil {
		g.m = map[string]*resourceFlight{}
	}
	f := &resourceFlight{done: make(chan struct{})}
	g.m[key] = f
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.m, key)
		g.mu.Unlock()
		close(f.done)
	}()
	f.a, f.rs, f.err = fn()
	return f.a, f.rs, f.err, false
}

// waiting reports how many callers joined the flight for key.
func (g *resourceFlights) waiting(key string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f, ok := g.m[key]; ok {
		return f.waiters
	}
	return 0
}
