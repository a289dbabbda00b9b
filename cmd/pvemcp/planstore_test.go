package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/rs/zerolog"

	"github.com/pvemcp/pvemcp/config"
	"github.com/pvemcp/pvemcp/guard"
	"github.com/pvemcp/pvemcp/internal/redistest"
	"github.com/pvemcp/pvemcp/internal/simtest"
	"github.com/pvemcp/pvemcp/mcpserver"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
	"github.com/pvemcp/pvemcp/toolkit"
)

// TestCLIPlanThenConfirmWithFileStore: `pvemcp call <write>` then, in
// another invocation, `pvemcp call confirm_plan` runs the plan; the plan
// file is private and holds no nonce; a nonce works once.
func TestCLIPlanThenConfirmWithFileStore(t *testing.T) {
	clearEnv(t)
	sim := simtest.Demo(t)
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	t.Setenv(config.EnvEndpoint, sim.URL())
	t.Setenv(config.EnvToken, sim.Token("operator"))
	t.Setenv(config.EnvFingerprint, sim.Fingerprint())

	code, out, errs := runCLI(t, "", "call", "guest_power", `{"vmid":203,"action":"start"}`)
	if code != 0 {
		t.Fatalf("plan: exit %d: %s", code, errs)
	}
	var plan struct {
		PlanID string `json:"plan_id"`
		Nonce  string `json:"nonce"`
	}
	if err := json.Unmarshal([]byte(out), &plan); err != nil || plan.PlanID == "" {
		t.Fatalf("plan output: %v\n%s", err, out)
	}
	path := filepath.Join(state, "pvemcp", "plans.json")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("plan file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("plan file mode %v, want 0600", fi.Mode().Perm())
	}
	if di, _ := os.Stat(filepath.Dir(path)); di.Mode().Perm() != 0o700 {
		t.Fatalf("plan folder mode %v, want 0700", di.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), plan.PlanID) || strings.Contains(string(b), plan.Nonce) {
		t.Fatalf("plan file lacks the plan or holds its nonce: %s", b)
	}

	confirm := `{"plan_id":"` + plan.PlanID + `","nonce":"` + plan.Nonce + `"}`
	code, out, errs = runCLI(t, "", "call", "confirm_plan", confirm)
	if code != 0 || !strings.Contains(out, `"outcome": "ok"`) {
		t.Fatalf("confirm: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, _ = runCLI(t, "", "call", "get_guest", `{"vmid":203}`)
	if code != 0 || !strings.Contains(out, `"status": "running"`) {
		t.Fatalf("guest 203 not running after the confirmed plan:\n%s", out)
	}
	code, _, errs = runCLI(t, "", "call", "confirm_plan", confirm)
	if code == 0 || !strings.Contains(errs, "already confirmed") {
		t.Fatalf("second confirm: exit %d: %s", code, errs)
	}
	// A bad store is named and changes nothing; reads go on.
	code, _, errs = runCLI(t, "", "--plan-store", "mysql://x", "call", "guest_power", `{"vmid":203,"action":"shutdown"}`)
	if code == 0 || !strings.Contains(errs, `plan store "mysql://x": want memory, file`) {
		t.Fatalf("bad plan store: exit %d: %s", code, errs)
	}
}

// replica is one `pvemcp serve --http` on the shared Redis.
type replica struct {
	url    string
	store  *guard.Store
	cancel func()
}

func startReplica(t *testing.T, sim *pvesim.Sim, redisURL, name, audit, token string) *replica {
	t.Helper()
	return startReplicaMode(t, sim, redisURL, name, audit, token, guard.ApprovalNonce)
}

func startReplicaMode(t *testing.T, sim *pvesim.Sim, redisURL, name, audit, token string, mode guard.ApprovalMode) *replica {
	t.Helper()
	c := simtest.Proxmox(t, sim, "operator")
	al, err := guard.OpenAuditLog(audit)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { al.Close() })
	backend, err := openPlanBackend(&config.Config{PlanStore: redisURL, PlanStorePrefix: "replicas:"}, planStoreMemory)
	if err != nil {
		t.Fatal(err)
	}
	store := guard.NewStore(guard.WithAudit(al), guard.WithBackend(backend), guard.WithReplica(name))
	t.Cleanup(func() { _ = store.Close() })
	gate := toolkit.NewGate(store, mode, guard.Protection{})
	ms := mcpserver.New(toolkit.NewServer(&toolkit.Env{Client: c, Gate: gate}, toolkit.Select(false, nil)), "test")
	return serveReplica(t, ms, store, token)
}

func serveReplica(t *testing.T, ms *mcpserver.Server, store *guard.Store, token string) *replica {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- serveHTTP(ctx, ms, httpOptions{addr: "127.0.0.1:0", token: token, plans: store,
			ready: func(a string) { addrc <- a }}, zerolog.Nop())
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-errc:
		t.Fatalf("serveHTTP: %v", err)
	}
	r := &replica{url: "http://" + addr, store: store}
	var once sync.Once
	r.cancel = func() { once.Do(func() { cancel(); <-errc }) }
	t.Cleanup(r.cancel)
	return r
}

func healthOf(t *testing.T, base string) map[string]any {
	t.Helper()
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz %d: %s", resp.StatusCode, b)
	}
	return h
}

// TestHTTPReplicasShareRedisPlans: two replicas behind no load balancer but
// the same Redis: a plan made on A is confirmed on B (B plans it again from
// its arguments and checks its preconditions); the same nonce confirmed on
// A and B at once runs once; a replica stopped between plan and confirm
// loses nothing; with Redis down plans are refused, reads work and
// /healthz says so; after Redis is back everything works again.
func TestHTTPReplicasShareRedisPlans(t *testing.T) {
	rs := redistest.Start(t)
	sim := simtest.Demo(t)
	dir := t.TempDir()
	const token = "replica-token-0123456789abcdef"
	a := startReplica(t, sim, rs.URL(), "replica-a/1", filepath.Join(dir, "a.jsonl"), token)
	b := startReplica(t, sim, rs.URL(), "replica-b/2", filepath.Join(dir, "b.jsonl"), token)
	v := mcp.ProtocolVersion20260728 // stateless: any replica serves any request
	ca := httpClient(t, a.url+"/mcp", token, v)
	cb := httpClient(t, b.url+"/mcp", token, v)

	if h := healthOf(t, a.url); h["status"] != "ok" || h["plan_store"].(map[string]any)["kind"] != "redis" {
		t.Fatalf("healthz: %v", h)
	}

	// Plan on A, confirm on B.
	plan, e := callTool(t, ca, "guest_power", map[string]any{"vmid": 203, "action": "start"})
	if e != "" {
		t.Fatal(e)
	}
	out, e := callTool(t, cb, "confirm_plan", map[string]any{"plan_id": plan["plan_id"], "nonce": plan["nonce"]})
	if e != "" || out["outcome"] != "ok" {
		t.Fatalf("confirm on B: %s %v", e, out)
	}
	ab, _ := os.ReadFile(filepath.Join(dir, "b.jsonl"))
	if !strings.Contains(string(ab), `"replica":"replica-b/2","planned_by":"replica-a/1"`) {
		t.Fatalf("B's audit does not name both replicas:\n%s", ab)
	}

	// The same nonce on A and B at once: one runs, the other is refused.
	plan, e = callTool(t, cb, "guest_power", map[string]any{"vmid": 203, "action": "shutdown"})
	if e != "" {
		t.Fatal(e)
	}
	args := map[string]any{"plan_id": plan["plan_id"], "nonce": plan["nonce"]}
	var wg sync.WaitGroup
	results := make([]string, 2)
	for i, c := range []*client.Client{ca, cb} {
		wg.Go(func() {
			out, e := callTool(t, c, "confirm_plan", args)
			if e == "" {
				results[i] = "ran:" + out["outcome"].(string)
			} else {
				results[i] = e
			}
		})
	}
	wg.Wait()
	ran := 0
	for _, r := range results {
		if strings.HasPrefix(r, "ran:") {
			ran++
		} else if !strings.Contains(r, "already confirmed") {
			t.Fatalf("loser's refusal: %s", r)
		}
	}
	if ran != 1 {
		t.Fatalf("plan ran %d times: %v", ran, results)
	}

	// Replica A stops between plan and confirm: B confirms.
	plan, e = callTool(t, ca, "guest_power", map[string]any{"vmid": 203, "action": "start"})
	if e != "" {
		t.Fatal(e)
	}
	a.cancel()
	_ = a.store.Close()
	if out, e := callTool(t, cb, "confirm_plan", map[string]any{"plan_id": plan["plan_id"], "nonce": plan["nonce"]}); e != "" || out["outcome"] != "ok" {
		t.Fatalf("confirm on B after A stopped: %s %v", e, out)
	}

	// Redis down: plans refused with a clear error, reads work, healthz says so.
	rs.Stop()
	if _, e := callTool(t, cb, "guest_power", map[string]any{"vmid": 203, "action": "shutdown"}); !strings.Contains(e, "plan store (redis 127.0.0.1:") || !strings.Contains(e, "nothing was sent to Proxmox") {
		t.Fatalf("plan with Redis down: %q", e)
	}
	if _, e := callTool(t, cb, "list_guests", map[string]any{}); e != "" {
		t.Fatalf("read with Redis down: %s", e)
	}
	if h := healthOf(t, b.url); h["status"] != "degraded" || h["plan_store"].(map[string]any)["status"] != "unavailable" {
		t.Fatalf("healthz with Redis down: %v", h)
	}
	rs.Restart()
	if h := healthOf(t, b.url); h["status"] != "ok" {
		t.Fatalf("healthz after restart: %v", h)
	}
	plan, e = callTool(t, cb, "guest_power", map[string]any{"vmid": 203, "action": "shutdown"})
	if e != "" {
		t.Fatalf("plan after Redis restart: %s", e)
	}
	if out, e := callTool(t, cb, "confirm_plan", map[string]any{"plan_id": plan["plan_id"], "nonce": plan["nonce"]}); e != "" || out["outcome"] != "ok" {
		t.Fatalf("confirm after Redis restart: %s %v", e, out)
	}
}

// TestDoctorChecksPlanStore: doctor names the plan store and fails when a
// configured Redis does not answer.
func TestDoctorChecksPlanStore(t *testing.T) {
	e := newDoctorEnv(t, "operator")
	code, out := e.doctor(t)
	if code != 0 || !strings.Contains(out, "[ok]   plan store  not configured: serve keeps plans in memory, call in ") {
		t.Fatalf("default plan store: exit %d\n%s", code, out)
	}
	rs := redistest.Start(t)
	t.Setenv(config.EnvPlanStore, rs.URL())
	code, out = e.doctor(t)
	if code != 0 || !strings.Contains(out, "[ok]   plan store  redis "+rs.Addr()+" answers") {
		t.Fatalf("Redis up: exit %d\n%s", code, out)
	}
	rs.Stop()
	code, out = e.doctor(t)
	if code != 1 || !strings.Contains(out, "[FAIL] plan store  redis "+rs.Addr()) {
		t.Fatalf("Redis down: exit %d\n%s", code, out)
	}
	t.Setenv(config.EnvPlanStore, "redis://:pw-in-url@127.0.0.1:1/0")
	code, out = e.doctor(t)
	if code != 1 || strings.Contains(out, "pw-in-url") || !strings.Contains(out, "must not carry a password") {
		t.Fatalf("password in URL: exit %d\n%s", code, out)
	}
}

type fakeKeyring map[string]string

func (k fakeKeyring) Get(s, u string) (string, error) {
	if v, ok := k[s+"/"+u]; ok {
		return v, nil
	}
	return "", config.ErrSecretNotFound
}
func (k fakeKeyring) Set(s, u, v string) error { k[s+"/"+u] = v; return nil }
func (k fakeKeyring) Delete(s, u string) error { delete(k, s+"/"+u); return nil }

// TestRedisTLSWithTheExampleACL: the example deployment's Redis ACL user
// (examples/replicas/redis.conf) is enough for the plan store, over
// rediss:// with a private CA and the password from the keyring; a wrong
// password or an untrusted certificate is a clear error without secrets.
func TestRedisTLSWithTheExampleACL(t *testing.T) {
	conf, err := os.ReadFile(filepath.Join("..", "..", "examples", "replicas", "redis.conf"))
	if err != nil {
		t.Fatal(err)
	}
	var extra []string
	var password string
	for _, line := range strings.Split(string(conf), "\n") {
		if strings.HasPrefix(line, "user ") || strings.HasPrefix(line, "maxmemory-policy ") {
			extra = append(extra, line)
		}
		if strings.HasPrefix(line, "user pvemcp ") {
			for _, f := range strings.Fields(line) {
				if strings.HasPrefix(f, ">") {
					password = f[1:]
				}
			}
		}
	}
	if len(extra) < 3 || password == "" {
		t.Fatalf("example redis.conf lacks its ACL lines: %q", extra)
	}
	rs := redistest.StartWith(t, redistest.Options{TLS: true, Config: extra})
	kr := fakeKeyring{config.KeyringService + "/" + RedisKeyringAccount: password}
	prev := planStoreKeyring
	planStoreKeyring = kr
	t.Cleanup(func() { planStoreKeyring = prev })
	t.Setenv(config.EnvRedisUsername, "pvemcp")
	t.Setenv(config.EnvRedisPassword, "")
	t.Setenv(config.EnvRedisCAFile, rs.CAFile())

	cfg := &config.Config{PlanStore: rs.URL(), PlanStorePrefix: "pvemcp:"}
	b, err := openPlanBackend(cfg, planStoreMemory)
	if err != nil {
		t.Fatal(err)
	}
	s := guard.NewStore(guard.WithBackend(b))
	defer s.Close()
	p := guard.Plan{Tool: "guest_power", Summary: "start 203", Caller: "local", Calls: []guard.Call{{Method: "POST", Path: "/nodes/n1/lxc/203/status/start"}}}
	prop, err := s.Propose(p, nil)
	if err != nil {
		t.Fatalf("propose as the example's ACL user over TLS: %v", err)
	}
	if _, _, err := s.Confirm(context.Background(), guard.Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "local"}); err != nil {
		t.Fatalf("confirm: %v", err)
	}

	t.Setenv(config.EnvRedisPassword, "wrong-password-1234")
	b, err = openPlanBackend(cfg, planStoreMemory)
	if err != nil {
		t.Fatal(err)
	}
	err = b.Ping(context.Background())
	if err == nil || strings.Contains(err.Error(), "wrong-password-1234") || strings.Contains(err.Error(), password) {
		t.Fatalf("wrong password: %v", err)
	}
	b.Close()

	t.Setenv(config.EnvRedisPassword, "")
	t.Setenv(config.EnvRedisCAFile, "")
	b, err = openPlanBackend(cfg, planStoreMemory)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Ping(context.Background()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted certificate: %v", err)
	}
	b.Close()
}

// roundRobin is a load balancer without affinity: request i goes to
// backend i mod n.
func roundRobin(t *testing.T, backends ...string) (string, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	var targets []*url.URL
	for _, b := range backends {
		u, err := url.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		targets = append(targets, u)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(targets[int(n.Add(1)-1)%len(targets)])
			r.Out.Host = r.In.Host
		},
		FlushInterval: -1,
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv.URL, &n
}

type elicitAnswerer struct {
	mu    sync.Mutex
	asked []string
}

func (a *elicitAnswerer) Elicit(_ context.Context, req mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	a.mu.Lock()
	a.asked = append(a.asked, req.Params.Message)
	a.mu.Unlock()
	return &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: mcp.ElicitationResponseActionAccept,
		Content: map[string]any{"approve": true}}}, nil
}

// TestElicitationAcrossReplicasBehindALoadBalancer: behind a load balancer
// without affinity, a 2026-07-28 client plans on one replica; its
// confirm_plan lands on the other, which asks the user (input_required),
// and the retry carrying the answer may land on either: the plan runs once,
// approved by the user.
func TestElicitationAcrossReplicasBehindALoadBalancer(t *testing.T) {
	rs := redistest.Start(t)
	sim := simtest.Demo(t)
	dir := t.TempDir()
	const token = "replica-token-0123456789abcdef"
	a := startReplicaMode(t, sim, rs.URL(), "replica-a/1", filepath.Join(dir, "a.jsonl"), token, guard.ApprovalElicit)
	b := startReplicaMode(t, sim, rs.URL(), "replica-b/2", filepath.Join(dir, "b.jsonl"), token, guard.ApprovalElicit)
	lb, hits := roundRobin(t, a.url, b.url)

	ans := &elicitAnswerer{}
	c := simtest.HTTP(t, lb+"/mcp", simtest.MCP{Version: mcp.ProtocolVersion20260728, Token: token, Elicit: ans}).Client
	plan, e := callTool(t, c, "guest_power", map[string]any{"vmid": 203, "action": "start"})
	if e != "" {
		t.Fatal(e)
	}
	before := hits.Load()
	out, e := callTool(t, c, "confirm_plan", map[string]any{"plan_id": plan["plan_id"], "nonce": plan["nonce"]})
	if e != "" || out["outcome"] != "ok" || out["approved_by"] != "elicitation" {
		t.Fatalf("confirm through the load balancer: %s %v", e, out)
	}
	if len(ans.asked) != 1 || !strings.Contains(ans.asked[0], "lxc/203/status/start") {
		t.Fatalf("the user was asked %d times: %q", len(ans.asked), ans.asked)
	}
	if hits.Load()-before < 2 {
		t.Fatalf("confirm took %d requests; want the question and the retry", hits.Load()-before)
	}
	// Round robin: the question was asked by one replica, the retry with
	// the answer executed on the other.
	la, _ := os.ReadFile(filepath.Join(dir, "a.jsonl"))
	lb2, _ := os.ReadFile(filepath.Join(dir, "b.jsonl"))
	asked, confirmed := string(la), string(lb2)
	if !strings.Contains(asked, `"event":"elicitation"`) {
		asked, confirmed = confirmed, asked
	}
	if !strings.Contains(asked, `"event":"elicitation"`) || strings.Contains(asked, `"event":"confirm"`) ||
		strings.Count(confirmed, `"event":"confirm"`) != 1 {
		t.Fatalf("want the question on one replica and the execution on the other:\nA:\n%s\nB:\n%s", la, lb2)
	}
}
