package config

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/internal/simtest"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
)

// Calls for a named cluster reach that cluster only; "" is the default.
func TestClientsRouteByClusterName(t *testing.T) {
	var sims []*pvesim.Sim
	for i := 0; i < 2; i++ {
		s := simtest.Start(t, pvesim.Options{})
		sims = append(sims, s)
	}
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("default_cluster: alpha\nclusters:\n")
	for i, name := range []string{"alpha", "beta"} {
		tok := filepath.Join(dir, name+".token")
		os.WriteFile(tok, []byte(sims[i].Token("operator")), 0o600)
		fmt.Fprintf(&b, "  - {name: %s, endpoints: ['%s'], fingerprint: '%s', token_file: '%s'}\n", name, sims[i].URL(), sims[i].Fingerprint(), tok)
	}
	path := filepath.Join(dir, "config.yaml")
	os.WriteFile(path, []byte(b.String()), 0o600)
	cfg, err := LoadAll(Options{Path: path, Getenv: envOf(nil), Keyring: memKeyring{}})
	if err != nil {
		t.Fatal(err)
	}
	cs := NewClients(cfg)
	defer cs.CloseIdleConnections()
	if cs.Default() != "alpha" || strings.Join(cs.Names(), ",") != "alpha,beta" {
		t.Fatalf("default %q names %v", cs.Default(), cs.Names())
	}
	for _, tc := range []struct {
		name string
		sim  int
	}{{"beta", 1}, {"", 0}, {"alpha", 0}, {"beta", 1}} {
		for _, s := range sims {
			s.ResetRequests()
		}
		c, err := cs.Get(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Version(context.Background()); err != nil {
			t.Fatal(err)
		}
		if len(sims[tc.sim].Requests()) != 1 || len(sims[1-tc.sim].Requests()) != 0 {
			t.Errorf("cluster %q: requests %d/%d", tc.name, len(sims[0].Requests()), len(sims[1].Requests()))
		}
		if want := map[string]string{"": "alpha"}[tc.name]; want != "" && c.Name() != want {
			t.Errorf("default client named %q", c.Name())
		}
	}
	c1, _ := cs.Get("beta")
	c2, _ := cs.Get("beta")
	if c1 != c2 {
		t.Error("a cluster's client is built more than once")
	}
	if _, err := cs.Get("gamma"); err == nil || !strings.Contains(err.Error(), "alpha, beta") {
		t.Errorf("unknown cluster: %v", err)
	}
}

// A cluster whose secret is missing fails only when used; a default
// cluster without its secret fails at once.
func TestMissingSecretOnlyFailsItsCluster(t *testing.T) {
	path := writeFile(t, "config.yaml", `default_cluster: a
clusters:
  - {name: a, endpoints: [x], insecure: true, token_id: "u@pve!aa"}
  - {name: b, endpoints: [y], insecure: true, token_id: "u@pve!bb"}
`)
	kr := memKeyring{}
	kr.Set(KeyringService, "a", "secret-a")
	cfg, err := LoadAll(Options{Path: path, Getenv: envOf(nil), Keyring: kr})
	if err != nil {
		t.Fatal(err)
	}
	cs := NewClients(cfg)
	if _, err := cs.Get("a"); err != nil {
		t.Errorf("a: %v", err)
	}
	if _, err := cs.Get("b"); err == nil || !strings.Contains(err.Error(), "pvemcp auth set --cluster b") {
		t.Errorf("b: %v", err)
	}
	if _, err := LoadAll(Options{Path: path, Getenv: envOf(nil), Keyring: kr, Overrides: Overrides{Cluster: "b"}}); err == nil {
		t.Error("a default cluster without its secret loaded")
	}
}
