package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zalando/go-keyring"

	"github.com/pvemcp/pvemcp/config"
)

// mockKeyring swaps the OS keyring for go-keyring's in-memory mock (for the
// rest of the test binary: go-keyring has no way back).
func mockKeyring(t *testing.T) {
	t.Helper()
	keyring.MockInit()
}

func TestAuthSetStatusDelete(t *testing.T) {
	clearEnv(t)
	mockKeyring(t)
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	p := filepath.Join(dir, "config.yaml")
	os.WriteFile(p, []byte(`default_cluster: prod
clusters:
  - {name: prod, endpoints: ['https://pve1:8006'], insecure: true, token_id: 'pvemcp@pve!mcp'}
  - {name: lab, endpoints: ['https://lab:8006'], insecure: true}
`), 0o600)
	const secret = "5e3dd1bd-1234-4abc-9def-0123456789ab"

	code, out, errs := runCLI(t, "", "--config", p, "auth", "status")
	// A missing secret is a failure: exit 1, saying how many.
	if code != 1 || !strings.Contains(out, "prod: OS keyring (service pvemcp, account prod): MISSING") ||
		!strings.Contains(out, "pvemcp auth set --cluster prod") || !strings.Contains(errs, "2 cluster(s) without a usable secret") {
		t.Fatalf("status before: %d %s %s", code, out, errs)
	}
	// The default cluster; the bare secret is combined with token_id.
	code, out, errs = runCLI(t, secret+"\n", "--config", p, "auth", "set")
	if code != 0 || !strings.Contains(out, "stored the API token pvemcp@pve!mcp for cluster prod") {
		t.Fatalf("set: %d %s %s", code, out, errs)
	}
	if v, err := (config.OSKeyring{}).Get(config.KeyringService, "prod"); err != nil || v != secret {
		t.Fatalf("keyring holds %q, %v", v, err)
	}
	// lab has no token_id: a bare secret is refused, a whole token stored.
	code, _, errs = runCLI(t, secret, "--config", p, "--cluster", "lab", "auth", "set")
	if code != 1 || !strings.Contains(errs, "only a secret, without the token id") || !strings.Contains(errs, "token_id") || strings.Contains(errs, secret) {
		t.Errorf("bare secret for lab: %d %s", code, errs)
	}
	code, _, errs = runCLI(t, "root@pam!lab="+secret, "--config", p, "--cluster", "lab", "auth", "set")
	if code != 0 {
		t.Fatalf("set lab: %s", errs)
	}
	code, out, _ = runCLI(t, "", "--config", p, "auth", "status")
	if code != 0 || !strings.Contains(out, "prod: OS keyring (service pvemcp, account prod): present, token pvemcp@pve!mcp") ||
		!strings.Contains(out, "lab: OS keyring (service pvemcp, account lab): present, token root@pam!lab") {
		t.Errorf("status after: %s", out)
	}
	if strings.Contains(out, secret) {
		t.Fatal("auth status shows the secret")
	}
	// Empty input and secrets on the command line are refused.
	if code, _, errs := runCLI(t, "\n", "--config", p, "auth", "set"); code != 1 || !strings.Contains(errs, "no secret given") {
		t.Errorf("empty: %d %s", code, errs)
	}
	if code, _, _ := runCLI(t, "", "--config", p, "auth", "set", secret); code == 0 {
		t.Error("a secret argument was accepted")
	}
	// Delete, then delete again.
	if code, out, _ := runCLI(t, "", "--config", p, "--cluster", "lab", "auth", "delete"); code != 0 || !strings.Contains(out, "deleted") {
		t.Errorf("delete: %d %s", code, out)
	}
	if code, _, errs := runCLI(t, "", "--config", p, "--cluster", "lab", "auth", "delete"); code != 1 || !strings.Contains(errs, "holds no token for cluster lab") {
		t.Errorf("second delete: %d %s", code, errs)
	}
	// A cluster not (yet) in the file can be stored and checked.
	if code, out, _ := runCLI(t, "a@pve!xx="+secret, "--config", p, "--cluster", "new", "auth", "set"); code != 0 || !strings.Contains(out, "not in the configuration yet") {
		t.Errorf("new cluster: %d %s", code, out)
	}
	if code, out, _ := runCLI(t, "", "--config", p, "--cluster", "new", "auth", "status"); code != 0 || !strings.Contains(out, "new (not in the configuration): OS keyring (service pvemcp, account new): present") {
		t.Errorf("new status: %d %s", code, out)
	}
}

// With the secret in the keyring, the server connects using it: call runs a
// tool against the simulator.
func TestKeyringSecretReachesTheCluster(t *testing.T) {
	e := newDoctorEnv(t, "operator")
	mockKeyring(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "config.yaml")
	os.WriteFile(p, []byte("clusters:\n  - name: simk\n    endpoints: ['"+e.sim.URL()+"']\n    fingerprint: '"+e.sim.Fingerprint()+"'\n"), 0o600)
	if code, _, errs := runCLI(t, e.token, "--config", p, "auth", "set"); code != 0 {
		t.Fatal(errs)
	}
	code, out, errs := runCLI(t, "", "--config", p, "call", "check_permissions")
	if code != 0 || !strings.Contains(out, `"token": "pvemcp@pve!operator"`) {
		t.Errorf("call with keyring token: %d %s %s", code, out, errs)
	}
}
