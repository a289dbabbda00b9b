package tools

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pvemcp/pvemcp/guard"
	"github.com/pvemcp/pvemcp/internal/simtest"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
)

// writeEnv is a simulator, a client with one of its tokens and a server with
// every tool behind an approval gate (nonce mode, unless a test changes it).
type writeEnv struct {
	t     *testing.T
	sim   *pvesim.Sim
	srv   *Server
	gate  *Gate
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
	w.gate = NewGate(store, guard.ApprovalNonce, guard.Protection{})
	w.gate.TaskPoll = 2 * time.Millisecond
	w.srv = NewServer(&Env{Client: c, Gate: w.gate}, All())
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
	ctx := WithCaller(context.Background(), Caller{SessionID: session})
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

func TestPowerPlanDoesNothingUntilConfirmed(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	plan := w.plan("s1", "guest_power", map[string]any{"vmid": 103, "action": "stop"})
	w.noWrites("after planning")
	if g := w.guest(103); g.Status != "running" {
		t.Fatalf("VM 103 is %s before confirmation", g.Status)
	}
	calls := plan["calls"].([]any)
	if len(calls) != 1 || calls[0].(map[string]any)["path"] != "/nodes/pve-node01/qemu/103/status/stop" {
		t.Fatalf("calls %v", calls)
	}
	out := w.mustConfirm("s1", plan)
	steps := out["steps"].([]any)
	if upid, _ := steps[0].(map[string]any)["upid"].(string); !strings.HasPrefix(upid, "UPID:pve-node01:") || !strings.Contains(upid, ":qmstop:103:") {
		t.Fatalf("step %v", steps[0])
	}
	if g := w.guest(103); g.Status != "stopped" {
		t.Fatalf("VM 103 is %s after a confirmed stop", g.Status)
	}
	if ws := w.writes(); len(ws) != 1 || ws[0].Method != "POST" || ws[0].Path != "/nodes/pve-node01/qemu/103/status/stop" {
		t.Fatalf("writes %+v", ws)
	}
}

func TestConfirmRefusals(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	plan := w.plan("s1", "guest_power", map[string]any{"vmid": 103, "action": "shutdown"})
	bad := map[string]any{"plan_id": plan["plan_id"], "nonce": strings.Repeat("0", 32)}
	cases := []struct {
		name, session string
		args          map[string]any
		want          string
	}{
		{"wrong nonce", "s1", bad, "wrong nonce"},
		{"foreign session", "s2", map[string]any{"plan_id": plan["plan_id"], "nonce": plan["nonce"]}, "another session"},
		{"unknown plan", "s1", map[string]any{"plan_id": "plan-0000000000000000", "nonce": plan["nonce"]}, "no pending plan"},
		{"malformed nonce", "s1", map[string]any{"plan_id": plan["plan_id"], "nonce": "approve"}, "invalid arguments"},
	}
	for _, tc := range cases {
		_, errText := w.call(tc.session, "confirm_plan", tc.args)
		if !strings.Contains(errText, tc.want) {
			t.Fatalf("%s: got %q, want %q", tc.name, errText, tc.want)
		}
	}
	w.noWrites("after refused confirmations")

	w.mustConfirm("s1", plan)
	_, errText := w.confirm("s1", plan)
	if !strings.Contains(errText, "already confirmed") {
		t.Fatalf("reused nonce: %q", errText)
	}
	if n := len(w.writes()); n != 1 {
		t.Fatalf("%d writes after one confirmed plan and one replay", n)
	}

	expiring := w.plan("s1", "guest_power", map[string]any{"vmid": 101, "action": "reboot"})
	w.advance(guard.DefaultTTL + time.Second)
	if _, errText := w.confirm("s1", expiring); !strings.Contains(errText, "expired") {
		t.Fatalf("expired: %q", errText)
	}
	if n := len(w.writes()); n != 1 {
		t.Fatalf("expired plan sent something: %+v", w.writes())
	}
}

func TestConcurrentConfirmsExecuteOnce(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	plan := w.plan("s1", "guest_power", map[string]any{"vmid": 103, "action": "stop"})
	const n = 8
	var wg sync.WaitGroup
	results := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, errText := w.confirm("s1", plan)
			if errText != "" {
				results[i] = errText
			} else {
				results[i] = "executed:" + out["outcome"].(string)
			}
		}()
	}
	wg.Wait()
	executed := 0
	for _, r := range results {
		if strings.HasPrefix(r, "executed:") {
			executed++
		} else if !strings.Contains(r, "already confirmed") {
			t.Fatalf("unexpected refusal %q", r)
		}
	}
	if executed != 1 || len(w.writes()) != 1 {
		t.Fatalf("executed %d times, %d writes: %v", executed, len(w.writes()), results)
	}
}

func TestStateChangeBetweenPlanAndConfirmIsRefused(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	first := w.plan("s1", "guest_power", map[string]any{"vmid": 203, "action": "start"})
	// Someone else starts the container meanwhile (through the gate too).
	other := w.plan("s2", "guest_power", map[string]any{"vmid": 203, "action": "start"})
	w.mustConfirm("s2", other)
	before := len(w.writes())
	_, errText := w.confirm("s1", first)
	if !strings.Contains(errText, "precondition") && !strings.Contains(errText, "now running") {
		t.Fatalf("stale plan: %q", errText)
	}
	if !strings.Contains(errText, "now running") {
		t.Fatalf("refusal does not give the reason: %q", errText)
	}
	if len(w.writes()) != before {
		t.Fatal("a refused plan sent a write")
	}
}

func TestAuditorTokenRefusedAtPlanTime(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "auditor")
	cases := []struct {
		tool string
		args map[string]any
		want string
	}{
		{"guest_power", map[string]any{"vmid": 103, "action": "start"}, "VM.PowerMgmt on /vms/103"},
		{"migrate_guest", map[string]any{"vmid": 103, "target": "pve-node02"}, "VM.Migrate on /vms/103"},
		{"create_vm", map[string]any{"node": "pve-node02", "cores": 2}, "VM.Allocate on /vms/106"},
		{"create_container", map[string]any{"node": "pve-node02", "ostemplate": "debian-12"}, "VM.Allocate on /vms/106"},
		{"update_guest_resources", map[string]any{"vmid": 103, "cores": 4}, "VM.Config.CPU on /vms/103"},
	}
	for _, tc := range cases {
		_, errText := w.call("s1", tc.tool, tc.args)
		if !strings.Contains(errText, "lacks "+tc.want) {
			t.Errorf("%s: got %q, want the missing privilege %q", tc.tool, errText, tc.want)
		}
	}
	if w.gate.Store.Pending() != 0 {
		t.Fatal("a refused tool left a plan")
	}
	w.noWrites("auditor")
}

func TestProtectedGuestRefused(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	w.gate.Protection = guard.Protection{VMIDs: []int{103}, Tags: []string{"dev"}}
	for _, args := range []map[string]any{{"vmid": 103, "action": "stop"}, {"vmid": 203, "action": "start"}} {
		if _, errText := w.call("s1", "guest_power", args); !strings.Contains(errText, "protected") {
			t.Fatalf("%v: %q", args, errText)
		}
	}
}

func TestAuditLogHasEveryStepAndNoSecret(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	plan := w.plan("s1", "create_container", map[string]any{"node": "pve-node02", "ostemplate": "debian-12", "password": "Sup3r-Secret!"})
	if strings.Contains(mustJSON(t, plan), "Sup3r-Secret!") {
		t.Fatal("plan shows the password")
	}
	w.call("s1", "confirm_plan", map[string]any{"plan_id": plan["plan_id"], "nonce": strings.Repeat("1", 32)})
	w.mustConfirm("s1", plan)
	f, err := os.Open(w.audit)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var kinds []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "Sup3r-Secret!") || strings.Contains(line, plan["nonce"].(string)) {
			t.Fatalf("audit line holds a secret: %s", line)
		}
		var ev guard.Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, ev.Event)
		if ev.Event == guard.EventOutcome && (len(ev.UPIDs) != 1 || !strings.Contains(ev.UPIDs[0], ":vzcreate:106:")) {
			t.Fatalf("outcome without the task id: %+v", ev)
		}
		if ev.Caller != "session:s1" {
			t.Fatalf("caller %q", ev.Caller)
		}
	}
	if got := strings.Join(kinds, ","); got != "plan,refusal,confirm,outcome" {
		t.Fatalf("audit events %s", got)
	}
}

func TestReadOnlyRegistersNoWriteTool(t *testing.T) {
	for _, tl := range Select(true, nil) {
		switch tl.Name {
		case "guest_power", "migrate_guest", "create_vm", "create_container", "update_guest_resources", "confirm_plan":
			t.Fatalf("%s served in read-only mode", tl.Name)
		}
	}
	found := false
	for _, tl := range Select(false, nil) {
		found = found || tl.Name == "confirm_plan"
	}
	if !found {
		t.Fatal("confirm_plan not registered")
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHAManagedGuestGoesThroughHA(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	plan := w.plan("s1", "guest_power", map[string]any{"vmid": 101, "action": "shutdown"})
	if ws := mustJSON(t, plan["warnings"]); !strings.Contains(ws, "HA-managed") {
		t.Fatalf("no HA warning: %s", ws)
	}
	out := w.mustConfirm("s1", plan)
	step := out["steps"].([]any)[0].(map[string]any)
	if !strings.Contains(step["upid"].(string), ":hastop:101:") || !strings.Contains(out["message"].(string), "HA manager") {
		t.Fatalf("HA shutdown: %v", out)
	}
	if g := w.guest(101); g.Status != "stopped" {
		t.Fatalf("VM 101 is %s", g.Status)
	}
}
