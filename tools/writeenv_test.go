package tools

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pvemcp/pvemcp/guard"
	"github.com/pvemcp/pvemcp/internal/simtest"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
	"github.com/pvemcp/pvemcp/toolkit"
)

// The test environment for write tools: a simulator of its own, every tool
// behind an approval gate with an audit log, plan and confirm helpers, and
// direct changes to the simulator as root (test setup, outside the gate).

// writeEnv is a simulator, a client with one of its tokens and a server with
// every tool behind an approval gate (nonce mode, unless a test changes it).
type writeEnv struct {
	t     *testing.T
	sim   *pvesim.Sim
	srv   *toolkit.Server
	gate  *toolkit.Gate
	audit string
	now   time.Time
	mu    sync.Mutex
}

func newWriteEnv(t *testing.T, token string) *writeEnv {
	t.Helper()
	return newWriteEnvOpts(t, token, pvesim.Options{})
}

// newWriteEnvOpts is newWriteEnv on a simulator started with opts.
func newWriteEnvOpts(t *testing.T, token string, opts pvesim.Options) *writeEnv {
	t.Helper()
	sim := simtest.Start(t, opts)
	tok := sim.Token(token)
	if tok == "" {
		t.Fatalf("no token %q in the demo scenario", token)
	}
	c, err := proxmox.New(proxmox.Options{Endpoints: []string{sim.URL()}, Token: tok, CAPEM: sim.CACertPEM()})
	if err != nil {
		t.Fatal(err)
	}
	w := &writeEnv{t: t, sim: sim, now: time.Now().UTC()}
	w.audit = filepath.Join(t.TempDir(), "audit.jsonl")
	al, err := guard.OpenAuditLog(w.audit)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { al.Close() })
	store := guard.NewStore(guard.WithAudit(al), guard.WithClock(w.clock))
	w.gate = toolkit.NewGate(store, guard.ApprovalNonce, guard.Protection{})
	w.gate.TaskPoll = 2 * time.Millisecond
	w.srv = toolkit.NewServer(&toolkit.Env{Client: c, Gate: w.gate}, toolkit.All())
	return w
}

func (w *writeEnv) clock() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now
}

func (w *writeEnv) advance(d time.Duration) {
	w.mu.Lock()
	w.now = w.now.Add(d)
	w.mu.Unlock()
}

// call runs a tool as the given MCP session; it returns the structured
// result, or the error text of an error result.
func (w *writeEnv) call(session, tool string, args any) (map[string]any, string) {
	w.t.Helper()
	raw, err := json.Marshal(args)
	if err != nil {
		w.t.Fatal(err)
	}
	ctx := toolkit.WithCaller(context.Background(), toolkit.Caller{SessionID: session})
	res, err := w.srv.Call(ctx, tool, raw)
	if err != nil {
		w.t.Fatal(err)
	}
	if res.IsError {
		return nil, res.Text
	}
	var out map[string]any
	if err := json.Unmarshal(res.Structured, &out); err != nil {
		w.t.Fatal(err)
	}
	return out, ""
}

// plan runs a write tool and fails the test unless it returned a plan.
func (w *writeEnv) plan(session, tool string, args any) map[string]any {
	w.t.Helper()
	out, errText := w.call(session, tool, args)
	if errText != "" {
		w.t.Fatalf("%s: %s", tool, errText)
	}
	for _, k := range []string{"plan_id", "nonce", "expires_at", "summary", "calls", "plan_hash"} {
		if _, ok := out[k]; !ok {
			w.t.Fatalf("%s result lacks %s: %v", tool, k, out)
		}
	}
	return out
}

func (w *writeEnv) confirm(session string, plan map[string]any) (map[string]any, string) {
	w.t.Helper()
	return w.call(session, "confirm_plan", map[string]any{"plan_id": plan["plan_id"], "nonce": plan["nonce"]})
}

// writes lists the non-GET requests the simulator received.
func (w *writeEnv) writes() []pvesim.Request {
	var out []pvesim.Request
	for _, r := range w.sim.Requests() {
		if r.Method != "GET" {
			out = append(out, r)
		}
	}
	return out
}

func (w *writeEnv) noWrites(when string) {
	w.t.Helper()
	if ws := w.writes(); len(ws) > 0 {
		w.t.Fatalf("%s: the simulator received writes: %+v", when, ws)
	}
}

// guest reads a guest's cluster resource entry through a fresh client call.
func (w *writeEnv) guest(vmid int) proxmox.Resource {
	w.t.Helper()
	g, err := findGuest(context.Background(), w.srv.Env().Client, vmid)
	if err != nil {
		w.t.Fatal(err)
	}
	return g
}

func (w *writeEnv) config(g proxmox.Resource) map[string]string {
	w.t.Helper()
	cfg, err := w.srv.Env().Client.GuestConfig(context.Background(), g.Node, proxmox.GuestType(g.Type), int(g.VMID))
	if err != nil {
		w.t.Fatal(err)
	}
	return cfg.Values
}

// mustConfirm confirms a plan and fails the test unless it ran through.
func (w *writeEnv) mustConfirm(session string, plan map[string]any) map[string]any {
	w.t.Helper()
	out, errText := w.confirm(session, plan)
	if errText != "" {
		w.t.Fatal(errText)
	}
	if out["outcome"] != "ok" {
		w.t.Fatalf("outcome %v: %v", out["outcome"], out["message"])
	}
	return out
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (w *writeEnv) mustFail(tool string, args any, want ...string) string {
	w.t.Helper()
	_, errText := w.call("s1", tool, args)
	if errText == "" {
		w.t.Fatalf("%s %v: no error", tool, args)
	}
	for _, s := range want {
		if !strings.Contains(errText, s) {
			w.t.Fatalf("%s: error %q lacks %q", tool, errText, s)
		}
	}
	return errText
}

// noWrites2 fails if more than n writes reached the simulator.
func (w *writeEnv) noWrites2(n int, when string) {
	w.t.Helper()
	if ws := w.writes(); len(ws) > n {
		w.t.Fatalf("%s: the simulator received %d writes: %+v", when, len(ws), ws)
	}
}

// simPUT changes the simulator directly as root (test setup, outside the gate).
func simPUT(t *testing.T, sim *pvesim.Sim, path string, params url.Values) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(sim.CACertPEM())
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, err := http.NewRequest("PUT", sim.URL()+"/api2/json"+path, strings.NewReader(params.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "PVEAPIToken="+sim.Token("admin"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT %s: %s", path, resp.Status)
	}
}

func planCalls(plan map[string]any) []map[string]any {
	var out []map[string]any
	for _, c := range plan["calls"].([]any) {
		out = append(out, c.(map[string]any))
	}
	return out
}

func toStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		out = append(out, x.(string))
	}
	return out
}
