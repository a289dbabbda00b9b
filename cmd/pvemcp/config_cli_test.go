package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/config"
	"github.com/pvemcp/pvemcp/internal/simtest"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
)

// The configuration reaches the tools: a flag beats the environment, and a
// refused endpoint shows in the result's sources before the one that
// answered.
func TestConfigFlagsAndFailoverInSources(t *testing.T) {
	e := newDoctorEnv(t, "auditor")
	refused := "https://127.0.0.1:1"
	good := e.sim.NodeURL(e.sim.Nodes()[0])
	t.Setenv(config.EnvEndpoint, "https://127.0.0.1:2") // overridden by --endpoint
	t.Setenv(config.EnvToken, e.token)
	t.Setenv(config.EnvCAFile, filepath.Join(filepath.Dir(e.config), "ca.pem"))
	code, _, errs := runCLI(t, "", "--config", filepath.Join(t.TempDir(), "none.yaml"), "call", "list_guests", "{}")
	if code != 1 || !strings.Contains(errs, "none.yaml") {
		t.Errorf("a missing --config file: %d %s", code, errs)
	}
	code, out, errs := runCLI(t, "", "--endpoint", refused+","+good, "call", "list_guests", `{"limit":1}`)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var res struct {
		Sources []proxmox.Call `json:"sources"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Sources) < 2 || res.Sources[0].Endpoint != refused || res.Sources[0].Error != "unreachable" ||
		res.Sources[1].Endpoint != good || res.Sources[1].Status != 200 {
		t.Errorf("sources: %+v", res.Sources)
	}
}

// Two clusters in the config file: the "cluster" argument routes a call,
// the default cluster answers without it, and an insecure cluster's
// results carry the TLS warning.
func TestMultiClusterRoutingAndInsecureWarning(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	var sims []*pvesim.Sim
	y := "default_cluster: alpha\nclusters:\n"
	for i, name := range []string{"alpha", "beta"} {
		s := simtest.Start(t, pvesim.Options{})
		sims = append(sims, s)
		tok := filepath.Join(dir, name+".token")
		os.WriteFile(tok, []byte(s.Token("auditor")), 0o600)
		tlsConf := "fingerprint: '" + s.Fingerprint() + "'"
		if name == "beta" {
			tlsConf = "insecure: true"
		}
		y += fmt.Sprintf("  - {name: %s, endpoints: ['%s'], %s, token_file: '%s'}\n", name, sims[i].URL(), tlsConf, tok)
	}
	p := filepath.Join(dir, "config.yaml")
	os.WriteFile(p, []byte(y), 0o600)
	for _, tc := range []struct {
		args     string
		sim      int
		cluster  string
		insecure bool
	}{{`{"limit":1}`, 0, "alpha", false}, {`{"cluster":"beta","limit":1}`, 1, "beta", true}, {`{"cluster":"alpha"}`, 0, "alpha", false}} {
		for _, s := range sims {
			s.ResetRequests()
		}
		code, out, errs := runCLI(t, "", "--config", p, "call", "list_guests", tc.args)
		if code != 0 {
			t.Fatalf("%s: %s", tc.args, errs)
		}
		if len(sims[tc.sim].Requests()) == 0 || len(sims[1-tc.sim].Requests()) != 0 {
			t.Errorf("%s went to the wrong cluster", tc.args)
		}
		var res struct {
			Cluster string `json:"cluster"`
			Alerts  []struct {
				Metric  string `json:"metric"`
				Message string `json:"message"`
			} `json:"alerts"`
		}
		json.Unmarshal([]byte(out), &res)
		warned := false
		for _, a := range res.Alerts {
			warned = warned || a.Message == proxmox.InsecureWarning
		}
		if res.Cluster != tc.cluster || warned != tc.insecure {
			t.Errorf("%s: cluster %q, insecure warning %t", tc.args, res.Cluster, warned)
		}
	}
	code, _, errs := runCLI(t, "", "--config", p, "call", "list_guests", `{"cluster":"gamma"}`)
	if code != 1 || !strings.Contains(errs, "alpha, beta") {
		t.Errorf("unknown cluster: %d %s", code, errs)
	}
}
