package proxmox

import (
	"context"
	"sync"
)

// Call is one Proxmox API call made while serving a request: the provenance
// of every figure in a tool result.
type Call struct {
	Method string  `json:"method"`
	Path   string  `json:"path"` // below /api2/json, query included
	Status int     `json:"status"`
	MS     float64 `json:"ms"`
	// Error is set when no HTTP status arrived (connection refused, timeout).
	Error string `json:"error,omitempty"`
	// Endpoint is the node endpoint tried, set when the cluster has several
	// (so a failover shows which endpoint failed and which answered).
	Endpoint string `json:"endpoint,omitempty"`
}

// Recorder collects the calls made for one MCP request. It is safe for
// concurrent use by fan-out goroutines.
type Recorder struct {
	mu          sync.Mutex
	calls       []Call
	clusterName string
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder { return &Recorder{} }

type recorderKey struct{}

// WithRecorder returns a context whose Proxmox calls are recorded into r.
func WithRecorder(ctx context.Context, r *Recorder) context.Context {
	return context.WithValue(ctx, recorderKey{}, r)
}

// RecorderFrom returns the recorder carried by ctx, or nil.
func RecorderFrom(ctx context.Context) *Recorder {
	r, _ := ctx.Value(recorderKey{}).(*Recorder)
	return r
}

// Add appends a call. A nil recorder ignores it.
func (r *Recorder) Add(c Call) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
}

// Calls returns a copy of the calls recorded so far, in completion order.
func (r *Recorder) Calls() []Call {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Call, len(r.calls))
	copy(out, r.calls)
	return out
}

// ClusterName returns the cluster name seen in a /cluster/status answer
// during this request, or "".
func (r *Recorder) ClusterName() string {
	if r == nil {
		return ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.clusterName
}

func (r *Recorder) setClusterName(name string) {
	if r == nil || name == "" {
		return
	}
	r.mu.Lock()
	r.clusterName = name
	r.mu.Unlock()
}
