package tools

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pvemcp/pvemcp/config"
	"github.com/pvemcp/pvemcp/guard"
	"github.com/pvemcp/pvemcp/internal/simtest"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
	"github.com/pvemcp/pvemcp/toolkit"
)

// noKeyring keeps the tests away from the OS keyring: the tokens come from
// files.
type noKeyring struct{}

func (noKeyring) Get(string, string) (string, error) { return "", config.ErrSecretNotFound }
func (noKeyring) Set(string, string, string) error   { return nil }
func (noKeyring) Delete(string, string) error        { return nil }

// twoClusters is a server configured like the CLI does it for two clusters,
// alpha (the default) and beta, each its own simulator.
type twoClusters struct {
	*writeEnv
	sims  map[string]*pvesim.Sim
	audit string
}

func newTwoClusters(t *testing.T) *twoClusters {
	t.Helper()
	dir := t.TempDir()
	tc := &twoClusters{sims: map[string]*pvesim.Sim{}, audit: filepath.Join(dir, "audit.jsonl")}
	var b strings.Builder
	b.WriteString("default_cluster: alpha\nclusters:\n")
	for _, name := range []string{"alpha", "beta"} {
		sim := simtest.Start(t, pvesim.Options{})
		tc.sims[name] = sim
		tok := filepath.Join(dir, name+".token")
		if err := os.WriteFile(tok, []byte(sim.Token("operator")), 0o600); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "  - {name: %s, endpoints: ['%s'], fingerprint: '%s', token_file: '%s'}\n", name, sim.URL(), sim.Fingerprint(), tok)
	}
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadAll(config.Options{Path: path, Getenv: func(string) (string, bool) { return "", false }, Keyring: noKeyring{}})
	if err != nil {
		t.Fatal(err)
	}
	clients := config.NewClients(cfg)
	t.Cleanup(clients.CloseIdleConnections)
	def, err := clients.Get("")
	if err != nil {
		t.Fatal(err)
	}
	al, err := guard.OpenAuditLog(tc.audit)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { al.Close() })
	w := &writeEnv{t: t, now: time.Now().UTC()}
	w.gate = toolkit.NewGate(guard.NewStore(guard.WithAudit(al), guard.WithClock(w.clock)), guard.ApprovalNonce, guard.Protection{})
	w.gate.TaskPoll = 2 * time.Millisecond
	w.srv = toolkit.NewServer(&toolkit.Env{Client: def, Gate: w.gate, ClusterNames: []string{"alpha", "beta"}, Cluster: clients.Get}, toolkit.All())
	tc.writeEnv = w
	return tc
}

func (tc *twoClusters) reset() {
	for _, s := range tc.sims {
		s.ResetRequests()
	}
}

func nonGET(s *pvesim.Sim) []string {
	var out []string
	for _, r := range s.Requests() {
		if r.Method != "GET" {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

// The reported bug: a plan made for beta, confirmed without a cluster
// argument, ran on alpha (the default). It must run on beta, and alpha must
// not even be asked.
func TestConfirmRunsOnThePlansCluster(t *testing.T) {
	t.Parallel()
	tc := newTwoClusters(t)
	plan := tc.plan("s1", "guest_power", map[string]any{"cluster": "beta", "vmid": 101, "action": "shutdown"})
	if plan["cluster"] != "beta" {
		t.Fatalf("plan made on cluster %v", plan["cluster"])
	}
	tc.reset()
	out, errText := tc.confirm("s1", plan)
	if errText != "" {
		t.Fatal(errText)
	}
	if out["outcome"] != "ok" || out["plan_cluster"] != "beta" || out["cluster"] != "beta" {
		t.Fatalf("outcome %v on %v (labelled %v): %v", out["outcome"], out["plan_cluster"], out["cluster"], out["message"])
	}
	if n := len(tc.sims["alpha"].Requests()); n != 0 {
		t.Fatalf("alpha received %d requests for beta's plan: %v", n, nonGET(tc.sims["alpha"]))
	}
	if got := nonGET(tc.sims["beta"]); len(got) != 1 || got[0] != "POST /nodes/pve-node01/qemu/101/status/shutdown" {
		t.Fatalf("beta's writes: %v", got)
	}
	// The audit log says where each step happened.
	b, err := os.ReadFile(tc.audit)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []string{guard.EventPlan, guard.EventConfirm, guard.EventOutcome} {
		if !strings.Contains(string(b), `"event":"`+ev+`","caller":"session:s1","tool":"guest_power","cluster":"beta"`) {
			t.Errorf("no %s event for cluster beta in the audit log:\n%s", ev, b)
		}
	}
}

// A cluster argument that names another cluster than the plan's is refused
// with nothing sent anywhere, and does not use the plan up. This includes
// naming the default cluster explicitly.
func TestConfirmRefusesAnotherCluster(t *testing.T) {
	t.Parallel()
	tc := newTwoClusters(t)
	for _, c := range []struct{ planOn, confirmOn string }{{"beta", "alpha"}, {"alpha", "beta"}} {
		args := map[string]any{"vmid": 102, "action": "reboot"}
		if c.planOn != "alpha" {
			args["cluster"] = c.planOn
		}
		plan := tc.plan("s1", "guest_power", args)
		tc.reset()
		_, errText := tc.call("s1", "confirm_plan", map[string]any{"cluster": c.confirmOn, "plan_id": plan["plan_id"], "nonce": plan["nonce"]})
		if !strings.Contains(errText, "refused") || !strings.Contains(errText, fmt.Sprintf("made for cluster %q", c.planOn)) {
			t.Fatalf("plan on %s confirmed on %s: %q", c.planOn, c.confirmOn, errText)
		}
		for name, s := range tc.sims {
			if w := nonGET(s); len(w) != 0 {
				t.Fatalf("plan on %s confirmed on %s: %s received %v", c.planOn, c.confirmOn, name, w)
			}
		}
		out, errText := tc.call("s1", "confirm_plan", map[string]any{"cluster": c.planOn, "plan_id": plan["plan_id"], "nonce": plan["nonce"]})
		if errText != "" || out["outcome"] != "ok" {
			t.Fatalf("plan on %s confirmed on its own cluster: %q %v", c.planOn, errText, out["message"])
		}
		if w := nonGET(tc.sims[c.confirmOn]); len(w) != 0 {
			t.Fatalf("%s received %v", c.confirmOn, w)
		}
		if w := nonGET(tc.sims[c.planOn]); len(w) != 1 || !strings.HasSuffix(w[0], "/qemu/102/status/reboot") {
			t.Fatalf("%s received %v", c.planOn, w)
		}
	}
}

// The elicitation form names the cluster the change is for.
func TestElicitationNamesCluster(t *testing.T) {
	p := guard.Plan{ID: "plan-0123456789abcdef", Summary: "shutdown VM 101", Cluster: "beta",
		Calls: []guard.Call{{Method: "POST", Path: "/nodes/n1/qemu/101/status/shutdown"}}}
	msg := elicitationFor(p).Message
	if !strings.Contains(msg, `Proxmox cluster "beta"`) {
		t.Fatalf("message: %s", msg)
	}
	raw, _ := json.Marshal(p)
	if !strings.Contains(string(raw), `"cluster":"beta"`) {
		t.Fatalf("plan JSON: %s", raw)
	}
}
