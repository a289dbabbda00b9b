package pvesim_test

// These tests use only the exported API, as a harness would.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pvemcp/pvemcp/internal/simtest"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
)

type apiClient struct {
	t    *testing.T
	sim  *pvesim.Sim
	http *http.Client
}

func newAPIClient(t *testing.T, sim *pvesim.Sim) *apiClient {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(sim.CACertPEM())
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: sim.Nodes()[0]}}
	return &apiClient{t: t, sim: sim, http: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// do calls the API as token and returns the status code and the data.
func (a *apiClient) do(token, method, path string, form url.Values) (int, json.RawMessage) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.sim.URL()+"/api2/json"+path, strings.NewReader(form.Encode()))
	if err != nil {
		a.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "PVEAPIToken="+a.sim.Token(token))
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := a.http.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	var env struct{ Data json.RawMessage }
	json.NewDecoder(resp.Body).Decode(&env)
	return resp.StatusCode, env.Data
}

func startSim(t *testing.T) (*pvesim.Sim, *pvesim.ControlClient) {
	t.Helper()
	sim := simtest.Demo(t)
	base, secret, err := sim.StartControl("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cc, err := pvesim.NewControlClient(base, secret, sim.Fingerprint())
	if err != nil {
		t.Fatal(err)
	}
	return sim, cc
}

func TestControlAbsentUnlessStartedAndNeedsSecret(t *testing.T) {
	sim := simtest.Demo(t)
	api := newAPIClient(t, sim)
	// The API listener never serves the control plane, with or without a token.
	for _, tok := range []string{"", "operator", "root@pam!admin"} {
		if st, _ := api.do(tok, "GET", "/../.."+pvesim.ControlPrefix+"/journal", nil); st == 200 {
			t.Fatalf("API listener answered the control path with 200 (token %q)", tok)
		}
		req, _ := http.NewRequest("GET", sim.URL()+pvesim.ControlPrefix+"/state", nil)
		if tok != "" {
			req.Header.Set("Authorization", "PVEAPIToken="+sim.Token(tok))
		}
		resp, err := api.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatalf("API listener serves %s (token %q)", pvesim.ControlPrefix, tok)
		}
	}

	base, secret, err := sim.StartControl("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := sim.StartControl("127.0.0.1:0"); err == nil {
		t.Fatal("a second StartControl succeeded")
	}
	ctx := context.Background()
	for name, sec := range map[string]string{"wrong": strings.Repeat("0", len(secret)), "api token": sim.Token("root@pam!admin"), "prefix": secret[:10]} {
		cc, err := pvesim.NewControlClient(base, sec, sim.Fingerprint())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cc.State(ctx); err == nil || !strings.Contains(err.Error(), "secret") {
			t.Fatalf("%s secret: got %v, want a refusal", name, err)
		}
		if err := cc.Reset(ctx, ""); err == nil {
			t.Fatalf("%s secret: reset accepted", name)
		}
	}
	// No Authorization header at all.
	cc, _ := pvesim.NewControlClient(base, secret, sim.Fingerprint())
	resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}).Get(base + "/journal")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no secret: status %d, want 401", resp.StatusCode)
	}
	// A wrong fingerprint is refused by the client.
	bad, _ := pvesim.NewControlClient(base, secret, strings.Repeat("AB:", 31)+"AB")
	if _, err := bad.State(ctx); err == nil || !strings.Contains(err.Error(), "fingerprint") {
		t.Fatalf("wrong fingerprint: %v", err)
	}
	if _, err := cc.State(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestControlJournalRecordsWritesWithoutSecrets(t *testing.T) {
	sim, cc := startSim(t)
	api := newAPIClient(t, sim)
	ctx := context.Background()

	if st, _ := api.do("operator", "GET", "/cluster/resources", nil); st != 200 {
		t.Fatalf("read: %d", st)
	}
	st, _ := api.do("operator", "PUT", "/nodes/pve-node01/qemu/101/config", url.Values{"memory": {"24576"}, "cipassword": {"hunter2-s3cret"}})
	if st != 200 {
		t.Fatalf("config write: %d", st)
	}
	if st, _ := api.do("auditor", "POST", "/nodes/pve-node01/qemu/105/status/shutdown", url.Values{}); st != 403 {
		t.Fatalf("auditor shutdown: %d, want 403", st)
	}
	st, data := api.do("operator", "POST", "/nodes/pve-node01/qemu/105/status/shutdown", url.Values{})
	if st != 200 {
		t.Fatalf("shutdown: %d", st)
	}
	var upid string
	json.Unmarshal(data, &upid)

	j, err := cc.Journal(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(j.Calls) != 3 {
		t.Fatalf("journal has %d calls, want 3 (reads are not journaled, refused writes are): %+v", len(j.Calls), j.Calls)
	}
	c0, c1, c2 := j.Calls[0], j.Calls[1], j.Calls[2]
	if c0.Method != "PUT" || c0.Path != "/nodes/pve-node01/qemu/101/config" || c0.Params["memory"] != "24576" || c0.TokenID != "pvemcp@pve!operator" || c0.Status != 200 {
		t.Fatalf("first entry: %+v", c0)
	}
	if c0.Params["cipassword"] == "hunter2-s3cret" {
		t.Fatal("journal holds a secret parameter in clear")
	}
	if c1.Status != 403 || c1.TokenID != "pvemcp@pve!auditor" || c1.Error == "" || c1.UPID != "" {
		t.Fatalf("refused entry: %+v", c1)
	}
	if c2.UPID != upid || !strings.HasPrefix(upid, "UPID:pve-node01:") {
		t.Fatalf("task entry: %+v (want upid %s)", c2, upid)
	}
	found := false
	for _, tk := range j.Tasks {
		if tk.UPID == upid {
			found = tk.Type == "qmshutdown" && tk.ID == "105"
		}
	}
	if !found {
		t.Fatalf("journal tasks lack %s", upid)
	}
	b, _ := json.Marshal(j)
	for _, tok := range []string{"operator", "auditor"} {
		full := sim.Token(tok)
		if secret := full[strings.Index(full, "=")+1:]; strings.Contains(string(b), secret) {
			t.Fatalf("journal holds the %s token secret", tok)
		}
	}
	if strings.Contains(string(b), "hunter2") {
		t.Fatal("journal holds a secret parameter")
	}
	// since= filters.
	if j2, _ := cc.Journal(ctx, c1.Seq); len(j2.Calls) != 1 || j2.Calls[0].Seq != c2.Seq {
		t.Fatalf("since=%d: %+v", c1.Seq, j2.Calls)
	}
	// The in-process API sees the same.
	if got := sim.Journal(0); len(got.Calls) != 3 {
		t.Fatalf("Sim.Journal: %d calls", len(got.Calls))
	}
}

func TestControlSnapshotAndReset(t *testing.T) {
	sim, cc := startSim(t)
	api := newAPIClient(t, sim)
	ctx := context.Background()
	state := func() pvesim.ClusterState {
		t.Helper()
		st, err := cc.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	start := state()
	g := start.Guest(101)
	if g == nil || g.MemoryMiB != 16384 || g.Name != "app-server-prod" || g.Status != "running" || g.Node != "pve-node01" {
		t.Fatalf("guest 101 at start: %+v", g)
	}
	if st, _ := api.do("operator", "PUT", "/nodes/pve-node01/qemu/101/config", url.Values{"memory": {"24576"}}); st != 200 {
		t.Fatal(st)
	}
	if err := cc.SaveSnapshot(ctx, "bigger"); err != nil {
		t.Fatal(err)
	}
	if st, _ := api.do("operator", "PUT", "/nodes/pve-node01/qemu/101/config", url.Values{"cores": {"2"}, "memory": {"4096"}}); st != 200 {
		t.Fatal(st)
	}
	if g := state().Guest(101); g.Effective("cores") != "2" || g.Effective("memory") != "4096" {
		t.Fatalf("after second write: %+v", g)
	}
	// Twice, so a snapshot survives being restored.
	for i := 0; i < 2; i++ {
		if err := cc.Reset(ctx, "bigger"); err != nil {
			t.Fatal(err)
		}
		if g := state().Guest(101); g.Effective("cores") != "8" || g.Effective("memory") != "24576" {
			t.Fatalf("reset to snapshot (%d): %+v", i, g)
		}
		api.do("operator", "PUT", "/nodes/pve-node01/qemu/101/config", url.Values{"cores": {"1"}})
	}
	if j, _ := cc.Journal(ctx, 0); len(j.Calls) != 1 {
		t.Fatalf("journal after reset holds %d calls, want only the one since", len(j.Calls))
	}
	if err := cc.Reset(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if g := state().Guest(101); g.Effective("cores") != "8" || g.Effective("memory") != "16384" || len(g.Pending) != 0 {
		t.Fatalf("reset to start: %+v", g)
	}
	// The API agrees with the state the control plane reports.
	_, data := api.do("operator", "GET", "/nodes/pve-node01/qemu/101/config", nil)
	var cfg map[string]any
	json.Unmarshal(data, &cfg)
	if cfg["memory"] != "16384" && cfg["memory"] != float64(16384) {
		t.Fatalf("API config after reset: memory %v", cfg["memory"])
	}
	if err := cc.Reset(ctx, "nosuch"); err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Fatalf("reset to unknown snapshot: %v", err)
	}
	if err := cc.SaveSnapshot(ctx, ""); err == nil {
		t.Fatal("nameless snapshot accepted")
	}
	// YAML export in the scenario's vocabulary.
	var y []byte
	if err := cc.Do(ctx, "GET", "/state?format=yaml", nil, &y); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(y), "vmid: 101") || !strings.Contains(string(y), "name: app-server-prod") {
		t.Fatalf("yaml state: %.300s", y)
	}
}

func TestControlFaultsAndClock(t *testing.T) {
	sim, cc := startSim(t)
	api := newAPIClient(t, sim)
	ctx := context.Background()

	if st, _ := api.do("operator", "GET", "/nodes/pve-node02/status", nil); st != 200 {
		t.Fatalf("node02 before: %d", st)
	}
	if err := cc.SetFault(ctx, pvesim.FaultState{Target: "pve-node02", Offline: true}); err != nil {
		t.Fatal(err)
	}
	if st, _ := api.do("operator", "GET", "/nodes/pve-node02/status", nil); st != 595 {
		t.Fatalf("node02 offline: %d, want 595", st)
	}
	st, _ := cc.State(ctx)
	for _, n := range st.Nodes {
		if (n.Name == "pve-node02") == n.Online {
			t.Fatalf("state nodes: %+v", st.Nodes)
		}
	}
	if err := cc.SetFault(ctx, pvesim.FaultState{Target: "*/cluster/resources", ErrorRate: 1}); err != nil {
		t.Fatal(err)
	}
	if st, _ := api.do("operator", "GET", "/cluster/resources", nil); st != 500 {
		t.Fatalf("endpoint fault: %d, want 500", st)
	}
	// Bad faults change nothing.
	for _, f := range []pvesim.FaultState{
		{Target: "pve-node99", Offline: true},
		{Target: "*", Offline: true},
		{Target: "pve-node01", Latency: "soon"},
		{Target: "pve-node01", ErrorRate: 2},
		{},
	} {
		if err := cc.SetFault(ctx, f); err == nil {
			t.Fatalf("fault %+v accepted", f)
		}
	}
	if n := len(sim.Faults()); n != 2 {
		t.Fatalf("%d faults after refused ones, want 2", n)
	}
	if err := cc.ClearFaults(ctx, "*/cluster/resources"); err != nil {
		t.Fatal(err)
	}
	if st, _ := api.do("operator", "GET", "/cluster/resources", nil); st != 200 {
		t.Fatalf("after clearing the endpoint fault: %d", st)
	}
	if err := cc.ClearFaults(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if st, _ := api.do("operator", "GET", "/nodes/pve-node02/status", nil); st != 200 {
		t.Fatalf("node02 after clearing: %d", st)
	}

	// An armed fault: pve-node01 goes down right after the next change request.
	if err := cc.SetFault(ctx, pvesim.FaultState{Target: "pve-node01", Offline: true, AfterCalls: 1}); err != nil {
		t.Fatal(err)
	}
	if len(sim.Faults()) != 0 {
		t.Fatalf("armed fault already in effect: %v", sim.Faults())
	}
	if st, _ := api.do("operator", "PUT", "/nodes/pve-node01/qemu/105/config", url.Values{"description": {"x"}}); st != 200 {
		t.Fatalf("write before the armed fault: %d", st)
	}
	if st, _ := api.do("operator", "PUT", "/nodes/pve-node01/qemu/105/config", url.Values{"description": {"y"}}); st != 595 {
		t.Fatalf("write after the armed fault: %d, want 595", st)
	}
	if err := cc.ClearFaults(ctx, ""); err != nil {
		t.Fatal(err)
	}

	before := sim.Now()
	now, err := cc.AdvanceClock(ctx, 26*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if d := now.Sub(before); d < 26*time.Hour || d > 27*time.Hour {
		t.Fatalf("clock moved by %s, want 26h", d)
	}
	// The API's clock moved too: a task started now carries the new time.
	_, data := api.do("operator", "POST", "/nodes/pve-node01/qemu/105/status/shutdown", url.Values{})
	var upid string
	json.Unmarshal(data, &upid)
	var task struct {
		StartTime int64 `json:"starttime"`
	}
	_, data = api.do("operator", "GET", "/nodes/pve-node01/tasks/"+url.PathEscape(upid)+"/status", nil)
	json.Unmarshal(data, &task)
	if got := time.Unix(task.StartTime, 0); got.Before(before.Add(26*time.Hour - time.Minute)) {
		t.Fatalf("task started at %s, want after %s", got, before.Add(26*time.Hour))
	}
	if err := cc.Do(ctx, "POST", "/clock", map[string]string{"advance": "-1h"}, nil); err == nil {
		t.Fatal("clock moved back")
	}
	if err := cc.Reset(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if d := sim.Now().Sub(before); d > time.Hour {
		t.Fatalf("reset kept the clock %s ahead", d)
	}
}
