package toolkit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/pvemcp/pvemcp/analyze"
	"github.com/pvemcp/pvemcp/proxmox"
)

// Env is what tools need at call time. It travels in the context; tools read
// it with EnvFrom or the shortcuts Client and Thresholds.
type Env struct {
	// Client is the default cluster's client (nil when none is configured).
	Client *proxmox.Client
	// Connect, when Client is nil, provides the client on first use (e.g. the
	// demo simulator starts lazily so the server answers at once). It must
	// be safe for concurrent use and return the same client every time.
	Connect func(ctx context.Context) (*proxmox.Client, error)
	// ClientErr explains why there is no client; tools return it on use.
	ClientErr error
	// Thresholds for alerts (zero fields take the defaults).
	Thresholds Thresholds
	// Now returns the current time (tests and the simulator may fix it).
	Now func() time.Time
	// Log receives structured logs (stderr only).
	Log zerolog.Logger
	// Gate is the approval gate of the write tools and confirm_plan
	// (gate.go); without it they refuse.
	Gate *Gate
	// ClusterNames lists the configured clusters when there are several;
	// every tool then takes an optional "cluster" argument, and Cluster
	// returns that cluster's client ("" = Client, the default).
	ClusterNames []string
	Cluster      func(name string) (*proxmox.Client, error)
	// ClusterArg is the cluster this call named explicitly ("" when it did
	// not); confirm_plan refuses a plan made for another cluster.
	ClusterArg string
	// Limit bounds concurrent tool calls (nil: no limit).
	Limit *CallLimit
}

// MultiCluster reports whether tools take a cluster argument.
func (e *Env) MultiCluster() bool { return len(e.ClusterNames) > 1 && e.Cluster != nil }

// Time returns the current time (Now when set).
func (e *Env) Time() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

type envKey struct{}

// WithEnv returns ctx carrying env.
func WithEnv(ctx context.Context, env *Env) context.Context {
	return context.WithValue(ctx, envKey{}, env)
}

// EnvFrom returns the Env carried by ctx (an empty one when none).
func EnvFrom(ctx context.Context) *Env {
	if e, ok := ctx.Value(envKey{}).(*Env); ok {
		return e
	}
	return &Env{}
}

// ErrNoCluster is returned when no Proxmox cluster is configured.
var ErrNoCluster = errors.New("no Proxmox cluster configured: set PROXMOX_VE_ENDPOINT, PROXMOX_VE_API_TOKEN, and PROXMOX_VE_FINGERPRINT or PROXMOX_VE_CA_FILE or PROXMOX_VE_INSECURE=true (or run with --demo)")

// Client returns the Proxmox client for this call.
func Client(ctx context.Context) (*proxmox.Client, error) {
	return EnvFrom(ctx).ProxmoxClient(ctx)
}

// ProxmoxClient returns the Proxmox client of a call with this environment:
// Client, else the one Connect gives, else the reason there is none.
func (e *Env) ProxmoxClient(ctx context.Context) (*proxmox.Client, error) {
	switch {
	case e.Client != nil:
		return e.Client, nil
	case e.Connect != nil:
		return e.Connect(ctx)
	case e.ClientErr != nil:
		return nil, e.ClientErr
	}
	return nil, ErrNoCluster
}

// Caller identifies who is calling: the MCP session and, over HTTP, the
// authenticated principal. The approval gate binds nonces to it.
type Caller struct {
	SessionID string
	Principal string
	// ReadOnly principals may use the read tools only.
	ReadOnly bool
	// Anonymous: Principal names every unauthenticated caller (loopback
	// without a token), not one client; caps then count per caller.
	Anonymous bool
}

type callerKey struct{}

// WithCaller returns ctx carrying the caller identity.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller identity (zero when unknown).
func CallerFrom(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}

// Result is a finished tool call, independent of the MCP SDK: the structured
// JSON object and the text content (the same JSON, or the error message).
type Result struct {
	Structured json.RawMessage // nil for an error result
	Text       string
	IsError    bool
}

// Server serves a selection of tools with one Env.
type Server struct {
	env    *Env
	tools  []*Tool
	byName map[string]*Tool
	// dyn, when set, serves only the start toolsets at first (toolsets.go).
	dyn *dynamic
}

// NewServer prepares the given tools (usually Select(readOnly, toolsets)).
func NewServer(env *Env, ts []*Tool) *Server {
	s := &Server{env: env, tools: ts, byName: make(map[string]*Tool, len(ts))}
	for _, t := range ts {
		s.byName[t.Name] = t
	}
	if _, writes := s.byName["confirm_plan"]; writes && env != nil && env.Gate != nil && env.Gate.Store != nil {
		env.Gate.Store.SetReplan(s.replan)
	}
	return s
}

// Tools returns the served tools in catalog order.
func (s *Server) Tools() []*Tool { return s.tools }

// Tool returns the served tool named name (nil when s does not serve it).
func (s *Server) Tool(name string) *Tool { return s.byName[name] }

// Env returns the server's environment.
func (s *Server) Env() *Env { return s.env }

// ErrUnknownTool is returned by Call for a name that is not served.
var ErrUnknownTool = errors.New("unknown tool")

// Call runs one tool: strict argument decoding and validation (before any
// Proxmox request), the handler, then the envelope. Tool failures come back
// as an error Result; only an unknown tool name is a Go error.
func (s *Server) Call(ctx context.Context, name string, args json.RawMessage) (*Result, error) {
	t, ok := s.byName[name]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownTool, name)
	}
	ctx = withToolArgs(ctx, args)
	env := s.env
	if env.MultiCluster() {
		var err error
		if env, args, err = s.routeCluster(args); err != nil {
			return errorResult(fmt.Sprintf("invalid arguments for %s: %s", name, err.Error())), nil
		}
	}
	av, err := decodeArgs(args, t.argsT, t.in)
	if err != nil {
		return errorResult(fmt.Sprintf("invalid arguments for %s: %s", name, err.Error())), nil
	}
	release, err := env.Limit.acquire(ctx)
	if err != nil {
		return errorResult(name + " failed: " + err.Error()), nil
	}
	defer release()
	rec := proxmox.NewRecorder()
	notes := &Notes{}
	ctx = withServer(WithEnv(proxmox.WithRecorder(withNotes(ctx, notes), rec), env), s)
	fetched := s.env.Time().UTC()
	start := time.Now()

	data, err := s.invoke(ctx, t, av)
	ev := s.env.Log.Debug().Str("tool", name).Dur("took", time.Since(start)).Int("calls", len(rec.Calls()))
	if err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			// Not Proxmox's doing: the client closed the connection (stdin,
			// HTTP) or cancelled the request, which cancelled its calls.
			ev.Str("error", err.Error()).Msg("tool call abandoned: the client went away or cancelled it")
			return errorResult(name + " stopped: the client went away or cancelled the request before the result was ready"), nil
		}
		ev.Str("error", err.Error()).Msg("tool failed")
		return errorResult(name + " failed: " + err.Error()), nil
	}
	ev.Msg("tool call")
	if len(rec.Calls()) > 0 {
		if c, err := env.ProxmoxClient(ctx); err == nil && c.TLSWarning() != "" {
			AddAlert(ctx, Alert{Severity: SeverityWarning, Subject: "cluster", Metric: "tls", Message: c.TLSWarning()})
		}
	}
	label := clusterName(ctx, env, rec)
	if l, ok := data.(clusterLabeler); ok && l.ResultCluster() != "" {
		label = l.ResultCluster()
	}
	body, err := compose(data, fetched, label, rec, notes)
	if err != nil {
		return errorResult(name + " failed: " + err.Error()), nil
	}
	return &Result{Structured: body, Text: string(body)}, nil
}

// clusterLabeler is a result about another cluster than the call was
// routed to: confirm_plan runs a plan on the cluster it was made for.
type clusterLabeler interface{ ResultCluster() string }

// invoke runs the handler; a panic becomes a tool error instead of killing
// the server (and is logged with the tool name).
func (s *Server) invoke(ctx context.Context, t *Tool, av reflect.Value) (data any, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.env.Log.Error().Str("tool", t.Name).Str("panic", fmt.Sprint(p)).Msg("tool panicked")
			data, err = nil, fmt.Errorf("internal error in %s", t.Name)
		}
	}()
	return t.invoke(ctx, av)
}

// routeCluster takes the "cluster" argument out of args and returns an Env
// whose client is that cluster's.
func (s *Server) routeCluster(args json.RawMessage) (*Env, json.RawMessage, error) {
	args = bytes.TrimSpace(args)
	if len(args) == 0 || args[0] != '{' {
		return s.env, args, nil // decodeArgs reports the shape
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(args, &m); err != nil {
		return s.env, args, nil
	}
	raw, ok := m["cluster"]
	if !ok {
		return s.env, args, nil
	}
	var name string
	if err := json.Unmarshal(raw, &name); err != nil {
		return nil, nil, &ArgError{Arg: "cluster", Msg: "must be a string, got " + jsonKind(raw)}
	}
	if !contains(s.env.ClusterNames, name) {
		return nil, nil, &ArgError{Arg: "cluster", Msg: fmt.Sprintf("must be one of %s, got %q", strings.Join(s.env.ClusterNames, ", "), clip(name))}
	}
	c, err := s.env.Cluster(name)
	if err != nil {
		return nil, nil, &ArgError{Arg: "cluster", Msg: err.Error()}
	}
	env := *s.env
	env.Client, env.Connect, env.ClientErr = c, nil, nil
	env.ClusterArg = name
	delete(m, "cluster")
	rest, err := json.Marshal(m)
	if err != nil {
		return nil, nil, err
	}
	return &env, rest, nil
}

// InputSchema is t's input schema as served: with several clusters it gains
// the optional "cluster" argument.
func (s *Server) InputSchema(t *Tool) json.RawMessage {
	if !s.env.MultiCluster() {
		return t.InputSchema
	}
	in := *t.in
	in.Properties = maps.Clone(t.in.Properties)
	in.Properties["cluster"] = &Schema{Type: "string", Enum: toAny(s.env.ClusterNames), Description: "cluster to ask (default " + s.env.ClusterNames[0] + ")"}
	in.PropertyOrder = append([]string{"cluster"}, t.in.PropertyOrder...)
	return marshalSchema(&in)
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func clusterName(ctx context.Context, env *Env, rec *proxmox.Recorder) string {
	// A configured name labels the cluster (it is what the "cluster"
	// argument takes); without one, or with the placeholder "default" of a
	// configuration from the environment, the name Proxmox reports in
	// /cluster/status (read once per process).
	seen := rec.ClusterName()
	c, err := env.ProxmoxClient(ctx)
	if err != nil {
		return seen
	}
	if n := c.Name(); n != "" && n != "default" {
		return n
	}
	if seen != "" {
		return seen
	}
	if answered(rec) {
		if n := c.ClusterName(ctx); n != "" {
			return n
		}
	}
	return c.Name()
}

// answered reports whether the cluster answered any call of this request,
// even with an error status (so asking it for its name will not wait on an
// unreachable cluster).
func answered(rec *proxmox.Recorder) bool {
	for _, c := range rec.Calls() {
		if c.Status > 0 {
			return true
		}
	}
	return false
}

func errorResult(msg string) *Result { return &Result{Text: msg, IsError: true} }

// compose merges the tool's data object with the envelope, in the order of
// the output schema: cluster, fetched_at, data fields, alerts, errors,
// unavailable, sources.
func compose(data any, fetched time.Time, cluster string, rec *proxmox.Recorder, n *Notes) (json.RawMessage, error) {
	if v := reflect.ValueOf(data); v.Kind() == reflect.Pointer && v.IsNil() {
		data = struct{}{}
	}
	inner, err := marshal(data)
	if err != nil {
		return nil, fmt.Errorf("encoding result: %w", err)
	}
	if len(inner) < 2 || inner[0] != '{' {
		return nil, errors.New("result is not an object")
	}
	var b bytes.Buffer
	b.Grow(len(inner) + 256)
	b.WriteByte('{')
	if cluster != "" {
		b.WriteString(`"cluster":`)
		writeJSON(&b, cluster)
		b.WriteByte(',')
	}
	b.WriteString(`"fetched_at":`)
	writeJSON(&b, fetched.Format(time.RFC3339))
	if body := inner[1 : len(inner)-1]; len(bytes.TrimSpace(body)) > 0 {
		b.WriteByte(',')
		b.Write(body)
	}
	n.mu.Lock()
	analyze.SortAlerts(n.alerts)
	if len(n.alerts) > 0 {
		b.WriteString(`,"alerts":`)
		writeJSON(&b, n.alerts)
	}
	if len(n.errors) > 0 {
		b.WriteString(`,"errors":`)
		writeJSON(&b, n.errors)
	}
	if len(n.unavailable) > 0 {
		b.WriteString(`,"unavailable":`)
		writeJSON(&b, n.unavailable)
	}
	n.mu.Unlock()
	calls := rec.Calls()
	if calls == nil {
		calls = []proxmox.Call{}
	}
	b.WriteString(`,"sources":`)
	writeJSON(&b, calls)
	b.WriteByte('}')
	return b.Bytes(), nil
}

func writeJSON(b *bytes.Buffer, v any) {
	enc, _ := marshal(v)
	b.Write(enc)
}

// marshal is compact JSON without HTML escaping: results are read by models
// and people, never embedded in HTML, and "<" stays one byte.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSpace(b.Bytes()), nil
}
