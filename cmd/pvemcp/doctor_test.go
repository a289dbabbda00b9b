package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/config"
	"github.com/pvemcp/pvemcp/internal/simtest"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
)

// doctorEnv is a simulator with one listener per node and a config file
// with two clusters on it: "nodes" (every node endpoint, CA file) and
// "pinned" (the main listener, fingerprint pin).
type doctorEnv struct {
	sim    *pvesim.Sim
	config string
	token  string
}

func newDoctorEnv(t *testing.T, tokenName string) *doctorEnv {
	t.Helper()
	clearEnv(t)
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "xdg"))
	t.Setenv(config.EnvConfig, "")
	sim := simtest.Start(t, pvesim.Options{PerNodePorts: true})
	tok := sim.Token(tokenName)
	if tok == "" {
		t.Fatalf("no token %s", tokenName)
	}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tokFile := write("token", tok+"\n")
	ca := write("ca.pem", string(sim.CACertPEM()))
	var eps []string
	for _, n := range sim.Nodes() {
		eps = append(eps, sim.NodeURL(n))
	}
	cfg := fmt.Sprintf(`default_cluster: nodes
clusters:
  - name: nodes
    endpoints: [%s]
    token_file: %s
    ca_file: %s
  - name: pinned
    endpoints: [%s]
    token_file: %s
    fingerprint: %s
`, strings.Join(eps, ", "), tokFile, ca, sim.URL(), tokFile, sim.Fingerprint())
	return &doctorEnv{sim: sim, config: write("config.yaml", cfg), token: tok}
}

func (e *doctorEnv) doctor(t *testing.T, extra ...string) (int, string) {
	t.Helper()
	args := append([]string{"--config", e.config, "--log-level", "disabled", "doctor", "--timeout", "2s"}, extra...)
	code, out, errs := runCLI(t, "", args...)
	return code, out + errs
}

func TestDoctorHealthy(t *testing.T) {
	e := newDoctorEnv(t, "operator")
	code, out := e.doctor(t)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	tokenID := e.token[:strings.LastIndex(e.token, "=")]
	for _, w := range []string{"[ok]   config", "cluster nodes", "cluster pinned", "from file", "token " + tokenID,
		"verified against CA file", "certificate pinned", "answers, token accepted, Proxmox VE 9", "tools work",
		"[ok]   version", "no problems found"} {
		if !strings.Contains(out, w) {
			t.Errorf("report lacks %q:\n%s", w, out)
		}
	}
	if strings.Count(out, "answers, token accepted") != len(e.sim.Nodes())+1 {
		t.Errorf("not every endpoint checked:\n%s", out)
	}
	if strings.Contains(out, e.token[strings.LastIndex(e.token, "=")+1:]) {
		t.Error("the report shows the token secret")
	}
	// --cluster checks that cluster only.
	code, out = e.doctor(t, "--cluster", "pinned")
	if code != 0 || !strings.Contains(out, "cluster pinned") || strings.Contains(out, "cluster nodes") {
		t.Errorf("--cluster pinned: %d\n%s", code, out)
	}
}

// Every simulator fault gets its own, correct diagnosis, and a non-zero exit.
func TestDoctorDiagnosesEveryFault(t *testing.T) {
	e := newDoctorEnv(t, "operator")
	nodes := e.sim.Nodes()
	bad := e.sim.NodeURL(nodes[1])
	tokenID := e.token[:strings.LastIndex(e.token, "=")]
	for _, tc := range []struct {
		name   string
		target string
		fault  pvesim.Fault
		want   []string
	}{
		{"offline", nodes[1], pvesim.Fault{Offline: true}, []string{bad + ": connection refused: nothing listens on port"}},
		{"hang", nodes[1], pvesim.Fault{Hang: true}, []string{bad + ": accepts connections but did not answer within 2s"}},
		{"html", nodes[1], pvesim.Fault{HTMLPage: true}, []string{bad + ": answered HTTP 502 with an HTML page", "reverse proxy"}},
		{"malformed", nodes[1], pvesim.Fault{MalformedJSON: true}, []string{bad + ": answered HTTP 200 with malformed JSON"}},
		{"changed cert", nodes[0], pvesim.Fault{ChangedCert: true}, []string{e.sim.URL() + ": the TLS certificate changed: pinned " + e.sim.Fingerprint() + ", the server presented "}},
		{"revoked token", "*/", pvesim.Fault{RevokedToken: tokenID}, []string{"the API token " + tokenID + " was rejected (HTTP 401", "revoked"}},
		{"error rate", nodes[1], pvesim.Fault{ErrorRate: 0.5}, []string{bad + ": intermittent errors: ", " of 10 requests failed with HTTP 500 got timeout"}},
		{"always 500", nodes[1], pvesim.Fault{ErrorRate: 1}, []string{bad + ": every request failed with HTTP 500 got timeout"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.sim.ClearFaults()
			e.sim.SetFault(tc.target, tc.fault)
			defer e.sim.ClearFaults()
			code, out := e.doctor(t)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("report lacks %q:\n%s", w, out)
				}
			}
			if !strings.Contains(out, "[FAIL]") {
				t.Errorf("no FAIL line:\n%s", out)
			}
		})
	}
}

func TestDoctorConfigProblems(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	// Nothing configured.
	code, out, _ := runCLI(t, "", "doctor")
	if code != 1 || !strings.Contains(out, "[FAIL] config") || !strings.Contains(out, config.EnvEndpoint) {
		t.Errorf("unconfigured: %d\n%s", code, out)
	}
	// A typo in the file, with file and line.
	p := filepath.Join(dir, "c.yaml")
	os.WriteFile(p, []byte("clusters:\n  - name: a\n    endpionts: [x]\n"), 0o600)
	code, out, _ = runCLI(t, "", "--config", p, "doctor")
	if code != 1 || !strings.Contains(out, p+":3: unknown key \"endpionts\"") {
		t.Errorf("typo: %d\n%s", code, out)
	}
	// A keyring secret that is missing is named, with the fix.
	os.WriteFile(p, []byte("clusters:\n  - {name: lab, endpoints: ['https://127.0.0.1:1'], insecure: true, token_id: 'a@pve!bb'}\n"), 0o600)
	mockKeyring(t)
	code, out, _ = runCLI(t, "", "--config", p, "doctor", "--timeout", "300ms")
	for _, w := range []string{"[FAIL] secret", "pvemcp auth set --cluster lab", "[warn] tls", "connection refused"} {
		if code != 1 || !strings.Contains(out, w) {
			t.Errorf("missing secret: %d, lacks %q\n%s", code, w, out)
		}
	}
}

// Endpoints of two different clusters in one cluster entry are caught.
func TestDoctorEndpointsOfDifferentClusters(t *testing.T) {
	e := newDoctorEnv(t, "operator")
	other := simtest.Start(t, pvesim.Options{Generate: "nodes=2,guests=4"})
	if other.Token("operator") != e.token {
		t.Skip("the generated cluster has other tokens")
	}
	dir := t.TempDir()
	tok := filepath.Join(dir, "tok")
	os.WriteFile(tok, []byte(e.token), 0o600)
	p := filepath.Join(dir, "c.yaml")
	os.WriteFile(p, []byte(fmt.Sprintf("clusters:\n  - {name: mixed, endpoints: ['%s', '%s'], insecure: true, token_file: '%s'}\n",
		e.sim.URL(), other.URL(), tok)), 0o600)
	code, out, _ := runCLI(t, "", "--config", p, "doctor", "--probes", "1")
	parts := []string{fmt.Sprintf("%s in cluster %q", e.sim.URL(), e.sim.ClusterName()),
		fmt.Sprintf("%s in cluster %q", other.URL(), other.ClusterName())}
	sort.Strings(parts)
	want := "the endpoints belong to different clusters: " + strings.Join(parts, "; ")
	if code != 1 || !strings.Contains(out, want) {
		t.Errorf("exit %d, want %q in:\n%s", code, want, out)
	}
	if !strings.Contains(out, "[ok]   quorum") {
		t.Errorf("no quorum line:\n%s", out)
	}
}
