package toolkit

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"sync"

	"github.com/pvemcp/pvemcp/analyze"
	"github.com/pvemcp/pvemcp/proxmox"
)

// The common envelope of every result (DESIGN §4). The layer fills it; a tool
// only adds alerts, errors and unavailable items through the context.
var envelopeNames = []string{"cluster", "fetched_at", "alerts", "errors", "unavailable", "sources"}

// Alert is a threshold crossing or another condition needing attention
// (severity, subject, metric, value, threshold, message, basis).
type Alert = analyze.Alert

// Thresholds are the alert limits in percent (Env.Thresholds); zero fields
// take analyze's defaults.
type Thresholds = analyze.Thresholds

// Severities of an Alert.
const (
	SeverityInfo     = analyze.SeverityInfo
	SeverityWarning  = analyze.SeverityWarning
	SeverityCritical = analyze.SeverityCritical
)

// ErrorEntry is a per-node or per-call failure in an otherwise useful result.
type ErrorEntry struct {
	Node    string `json:"node,omitempty"`
	Kind    string `json:"kind,omitempty" description:"auth, permission, node_unreachable, not_found, unreachable, timeout, tls, ..."`
	Message string `json:"message"`
}

// Unavailable is something asked for that the API did not provide.
type Unavailable struct {
	What string `json:"what"`
	Why  string `json:"why"`
}

// Notes collects what a tool adds to the envelope. It is safe for
// concurrent use by fan-out goroutines.
type Notes struct {
	mu          sync.Mutex
	alerts      []Alert
	errors      []ErrorEntry
	unavailable []Unavailable
}

type notesKey struct{}

func withNotes(ctx context.Context, n *Notes) context.Context {
	return context.WithValue(ctx, notesKey{}, n)
}

func notesFrom(ctx context.Context) *Notes {
	n, _ := ctx.Value(notesKey{}).(*Notes)
	return n
}

// AddAlert adds alerts to the current result.
func AddAlert(ctx context.Context, a ...Alert) {
	if n := notesFrom(ctx); n != nil {
		n.mu.Lock()
		n.alerts = append(n.alerts, a...)
		n.mu.Unlock()
	}
}

// AddErr records a partial failure of node ("" when not about one node):
// the result stays useful, and says what is missing and why. The entry's
// message is err's; its kind comes from a *proxmox.Error (so does its node
// when node is "") or from NodeUnreachable.
func AddErr(ctx context.Context, node string, err error) {
	e := ErrorEntry{Node: node, Message: err.Error()}
	var pe *proxmox.Error
	var ne nodeUnreachable
	switch {
	case errors.As(err, &pe):
		e.Kind = string(pe.Kind)
		if e.Node == "" {
			e.Node = pe.Node
		}
	case errors.As(err, &ne):
		e.Kind = string(proxmox.KindNodeUnreachable)
	}
	if n := notesFrom(ctx); n != nil {
		n.mu.Lock()
		n.errors = append(n.errors, e)
		n.mu.Unlock()
	}
}

// NodeUnreachable is the error of a node the cluster reports down, so that
// nothing was asked of it; AddErr records it with kind node_unreachable.
func NodeUnreachable(format string, args ...any) error {
	return nodeUnreachable(fmt.Sprintf(format, args...))
}

type nodeUnreachable string

func (e nodeUnreachable) Error() string { return string(e) }

// AddUnavailable records something the API does not expose (or did not
// answer), by name, instead of estimating it.
func AddUnavailable(ctx context.Context, what, why string) {
	if n := notesFrom(ctx); n != nil {
		n.mu.Lock()
		n.unavailable = append(n.unavailable, Unavailable{What: what, Why: why})
		n.mu.Unlock()
	}
}

// HasErrors reports whether errors were recorded so far in this call.
func HasErrors(ctx context.Context) bool {
	n := notesFrom(ctx)
	if n == nil {
		return false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.errors) > 0
}

func addEnvelope(out *Schema) {
	maps.Copy(out.Properties, envelopeSchemas())
	// Envelope identity first, tool data, then notes and provenance last.
	out.PropertyOrder = slices.Concat(envelopeNames[:2], out.PropertyOrder, envelopeNames[2:])
	out.Required = slices.Concat([]string{"fetched_at"}, out.Required, []string{"sources"})
}

// envelopeSchemas describes the envelope's properties once for every tool.
// They repeat in every output schema: the lists are lean (the server
// instructions explain them once).
var envelopeSchemas = sync.OnceValue(func() map[string]*Schema {
	list := func(t reflect.Type) *Schema {
		items, err := reflectSchema(t, false)
		if err != nil {
			panic(err)
		}
		lean(items)
		return &Schema{Type: "array", Items: items}
	}
	return map[string]*Schema{
		"cluster":     {Type: "string"},
		"fetched_at":  {Type: "string", Format: "date-time"},
		"alerts":      list(reflect.TypeFor[Alert]()),
		"errors":      list(reflect.TypeFor[ErrorEntry]()),
		"unavailable": list(reflect.TypeFor[Unavailable]()),
		"sources":     list(reflect.TypeFor[proxmox.Call]()),
	}
})

// lean drops descriptions and required lists below s, to keep schemas that
// repeat in every tool small.
func lean(s *Schema) {
	if s == nil {
		return
	}
	s.Description, s.Required = "", nil
	lean(s.Items)
	for _, p := range s.Properties {
		lean(p)
	}
}

// Round rounds to the given number of decimals.
func Round(f float64, decimals int) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	p := math.Pow10(decimals)
	return math.Round(f*p) / p
}

// Compact rounds for dense tables: whole numbers from 10 up, one decimal
// from 1, two decimals below 1 (4.16 -> 4.2, 28.43 -> 28, 0.128 -> 0.13).
func Compact(f float64) float64 {
	a := math.Abs(f)
	switch {
	case a >= 10:
		return Round(f, 0)
	case a >= 1:
		return Round(f, 1)
	}
	return Round(f, 2)
}

// Bytes-to-unit helpers, rounded for compact results.
const (
	kib = 1024.0
	mib = kib * 1024
	// BytesPerGiB is a GiB in bytes, for sizes not rounded by GiB.
	BytesPerGiB = mib * 1024
)

// GiB converts bytes to GiB with 1 decimal.
func GiB[T ~int64 | ~uint64 | ~float64 | ~int](b T) float64 { return Round(float64(b)/BytesPerGiB, 1) }

// GiB2 converts bytes to GiB with 2 decimals (small sizes).
func GiB2[T ~int64 | ~uint64 | ~float64 | ~int](b T) float64 { return Round(float64(b)/BytesPerGiB, 2) }

// Pct is used/total as a percentage with 1 decimal; 0 when total is 0.
func Pct[T ~int64 | ~uint64 | ~float64 | ~int](used, total T) float64 {
	if total == 0 {
		return 0
	}
	return Round(float64(used)/float64(total)*100, 1)
}

// FracPct turns a Proxmox fraction (cpu 0..1) into a percentage, 1 decimal.
func FracPct[T ~float64](f T) float64 { return Round(float64(f)*100, 1) }
