package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/rs/zerolog"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/pvemcp/pvemcp/internal/simtest"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
	"github.com/pvemcp/pvemcp/toolkit"
)

// Test environments for reading: a demo simulator per test, a client with
// one of its tokens and a server with some toolsets (newTestEnv, simEnv,
// newHealthEnv, newDiagEnv, readEnv); calling a tool (call, healthCall) and
// checking its result against its output schema (validateOutput), its
// sources (assertSourcesServed) and its envelope (envelopeOut).

type testEnv struct {
	sim    *pvesim.Sim
	client *proxmox.Client
	srv    *toolkit.Server
	logs   *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newTestEnv(t testing.TB, token string) *testEnv {
	t.Helper()
	return demoEnv(t, token, []string{toolkit.ToolsetInventory})
}

// demoEnv serves the read tools of toolsets on the test's demo simulator,
// read with token, logging at debug level into the env's buffer.
func demoEnv(t testing.TB, token string, toolsets []string) *testEnv {
	t.Helper()
	sim := simtest.Demo(t)
	c := simtest.Proxmox(t, sim, token)
	logs := &syncBuffer{}
	env := &toolkit.Env{Client: c, Log: zerolog.New(logs).Level(zerolog.DebugLevel)}
	return &testEnv{sim: sim, client: c, srv: toolkit.NewServer(env, toolkit.Select(true, toolsets)), logs: logs}
}

// tokenOr is token[0], or def without one.
func tokenOr(def string, token []string) string {
	if len(token) > 0 {
		return token[0]
	}
	return def
}

// simEnv serves the given toolsets (nil: all) against a simulator of its
// own, started with opts and read with the operator token.
func simEnv(t testing.TB, opts pvesim.Options, toolsets []string) *testEnv {
	t.Helper()
	sim := simtest.Start(t, opts)
	c, err := proxmox.New(proxmox.Options{Endpoints: []string{sim.URL()}, Token: sim.Token("operator"), Fingerprint: sim.Fingerprint()})
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{sim: sim, client: c, srv: toolkit.NewServer(&toolkit.Env{Client: c}, toolkit.Select(true, toolsets)), logs: &syncBuffer{}}
}

func (e *testEnv) call(t testing.TB, name, args string) (*toolkit.Result, map[string]any) {
	t.Helper()
	res, err := e.srv.Call(context.Background(), name, json.RawMessage(args))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if res.IsError {
		return res, nil
	}
	var m map[string]any
	if err := json.Unmarshal(res.Structured, &m); err != nil {
		t.Fatalf("%s: structured content is not an object: %v", name, err)
	}
	if res.Text != string(res.Structured) {
		t.Errorf("%s: text content differs from structured content", name)
	}
	return res, m
}

func validateOutput(t *testing.T, tool *toolkit.Tool, structured json.RawMessage) {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(tool.OutputSchema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("out.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("out.json")
	if err != nil {
		t.Fatalf("%s: output schema does not compile: %v", tool.Name, err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(structured))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("%s: result does not match its output schema: %v", tool.Name, err)
	}
}

// assertSourcesServed checks that every call named in sources is one the
// simulator really answered, with that status, and that no call is missing.
func assertSourcesServed(t *testing.T, e *testEnv, m map[string]any) {
	t.Helper()
	served := map[string]int{}
	for _, r := range e.sim.Requests() {
		p := r.Method + " " + r.Path
		if r.Query != "" {
			p += "?" + r.Query
		}
		served[p] = r.Status
	}
	srcs, _ := m["sources"].([]any)
	named := map[string]bool{}
	for _, x := range srcs {
		s := x.(map[string]any)
		key := s["method"].(string) + " " + s["path"].(string)
		named[key] = true
		st, ok := served[key]
		if !ok {
			t.Errorf("source %s was never served (served: %v)", key, served)
		} else if float64(st) != s["status"].(float64) {
			t.Errorf("source %s has status %v, the simulator answered %d", key, s["status"], st)
		}
	}
	for k := range served {
		if !named[k] {
			t.Errorf("call %s made but not in sources", k)
		}
	}
}

var healthToolsets = []string{toolkit.ToolsetMetrics, toolkit.ToolsetStorage, toolkit.ToolsetHA, toolkit.ToolsetBackup, toolkit.ToolsetTasks, toolkit.ToolsetCapacity}

func newHealthEnv(t testing.TB, token ...string) *testEnv {
	t.Helper()
	return demoEnv(t, tokenOr("operator", token), healthToolsets)
}

// healthCall runs a tool, fails on a tool error, checks the envelope and the
// output schema, and decodes the result into out.
func healthCall(t *testing.T, e *testEnv, tool, args string, out any) map[string]any {
	t.Helper()
	res, m := e.call(t, tool, args)
	if res.IsError {
		t.Fatalf("%s %s: tool error: %s", tool, args, res.Text)
	}
	validateOutput(t, e.srv.Tool(tool), res.Structured)
	if src, _ := m["sources"].([]any); len(src) == 0 {
		t.Errorf("%s: no sources", tool)
	}
	for _, k := range []string{"alerts", "errors", "unavailable"} {
		if v, ok := m[k]; ok && len(v.([]any)) == 0 {
			t.Errorf("%s: empty %s not omitted", tool, k)
		}
	}
	if out != nil {
		if err := json.Unmarshal(res.Structured, out); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

type envelopeOut struct {
	Alerts      []toolkit.Alert       `json:"alerts"`
	Errors      []toolkit.ErrorEntry  `json:"errors"`
	Unavailable []toolkit.Unavailable `json:"unavailable"`
}

func (e envelopeOut) alert(subject, metric string) *toolkit.Alert {
	for i, a := range e.Alerts {
		if a.Subject == subject && (metric == "" || a.Metric == metric) {
			return &e.Alerts[i]
		}
	}
	return nil
}

func (e envelopeOut) errorFor(node string) bool {
	for _, x := range e.Errors {
		if x.Node == node {
			return true
		}
	}
	return false
}

// newDiagEnv serves the diagnostics and storage tools on the shared demo
// simulator with the given token (operator by default).
func newDiagEnv(t testing.TB, token ...string) *testEnv {
	t.Helper()
	return demoEnv(t, tokenOr("operator", token), []string{toolkit.ToolsetDiagnostics, toolkit.ToolsetStorage})
}

// readEnv serves every read tool on the shared demo simulator with the operator token.
func readEnv(t *testing.T) *testEnv {
	t.Helper()
	e := newTestEnv(t, "operator")
	e.srv = toolkit.NewServer(&toolkit.Env{Client: e.client}, toolkit.Select(true, nil))
	return e
}

func mustTool(t *testing.T, name string) *toolkit.Tool {
	t.Helper()
	for _, tl := range toolkit.All() {
		if tl.Name == name {
			return tl
		}
	}
	t.Fatalf("no tool %s", name)
	return nil
}

// unavailableWhy finds the reason given for what under unavailable.
func unavailableWhy(t *testing.T, raw json.RawMessage, what string) string {
	t.Helper()
	var env struct {
		Unavailable []toolkit.Unavailable `json:"unavailable"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	for _, u := range env.Unavailable {
		if u.What == what {
			return u.Why
		}
	}
	return ""
}

func toolByName(t *testing.T, name string) *toolkit.Tool {
	t.Helper()
	for _, tl := range toolkit.All() {
		if tl.Name == name {
			return tl
		}
	}
	t.Fatalf("no tool %s", name)
	return nil
}
