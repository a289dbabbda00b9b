package main

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/config"
	"github.com/pvemcp/pvemcp/toolkit"
)

// TestDoctorTrueCauses: a missing CA file is reported under TLS, once, not
// as a failure of every endpoint; a rejected token from the environment is
// fixed in the environment, not with `auth set`; the tool count is that of
// the tools served (what `pvemcp tools` lists).
func TestDoctorTrueCauses(t *testing.T) {
	e := newDoctorEnv(t, "operator")
	b, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	gone := strings.Replace(string(b), "ca.pem", "no-such-ca.pem", 1)
	if err := os.WriteFile(e.config, []byte(gone), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out := e.doctor(t, "--cluster", "nodes")
	if code != 1 || !strings.Contains(out, "[FAIL] tls") || !strings.Contains(out, "no-such-ca.pem cannot be read") || strings.Contains(out, "endpoint") {
		t.Errorf("missing CA file: %d\n%s", code, out)
	}
	if err := os.WriteFile(e.config, b, 0o600); err != nil {
		t.Fatal(err)
	}

	// Served tools: all of them, or the read tools when read-only.
	code, out = e.doctor(t, "--cluster", "pinned")
	if n := len(toolkit.Select(false, nil)); code != 0 || !strings.Contains(out, " of "+strconv.Itoa(n)+" tools work") {
		t.Errorf("tool count (%d served): %d\n%s", n, code, out)
	}
	t.Setenv(config.EnvReadOnly, "true")
	code, out = e.doctor(t, "--cluster", "pinned")
	if n := len(toolkit.Select(true, nil)); code != 0 || !strings.Contains(out, " of "+strconv.Itoa(n)+" tools work") {
		t.Errorf("read-only tool count (%d served): %d\n%s", n, code, out)
	}
	t.Setenv(config.EnvReadOnly, "")

	// A token from the environment that Proxmox rejects.
	clearEnv(t)
	t.Setenv(config.EnvConfig, "")
	t.Setenv(config.EnvEndpoint, e.sim.URL())
	t.Setenv(config.EnvFingerprint, e.sim.Fingerprint())
	t.Setenv(config.EnvToken, e.token[:strings.LastIndex(e.token, "=")+1]+"00000000-0000-4000-8000-000000000000")
	code, stdout, errs := runCLI(t, "", "--log-level", "disabled", "doctor", "--timeout", "400ms", "--probes", "1")
	out = stdout + errs
	if code != 1 || !strings.Contains(out, "set PROXMOX_VE_API_TOKEN to the new token") || strings.Contains(out, "auth set") {
		t.Errorf("rejected environment token: %d\n%s", code, out)
	}
}
