package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/internal/simtest"
)

// TestSystemRootsVerifyByDefault: with only PROXMOX_VE_ENDPOINT and
// PROXMOX_VE_API_TOKEN, pvemcp verifies the certificate against the
// system's trusted roots, so a cluster whose certificate a trusted CA
// signed (ACME / Let's Encrypt) needs nothing more. The simulator's CA
// stands in for that CA through SSL_CERT_FILE, which Go reads for the
// system roots; without it, the same certificate is refused with its
// fingerprint to pin.
func TestSystemRootsVerifyByDefault(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	bin := pvemcpBinary(t)
	sim := simtest.Demo(t)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, sim.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(certEnv ...string) (string, string, error) {
		cmd := exec.Command(bin, "call", "cluster_overview")
		cmd.Env = append([]string{"HOME=" + dir, "XDG_CONFIG_HOME=" + filepath.Join(dir, "cfg"), "PVEMCP_AUDIT_LOG=" + filepath.Join(dir, "audit.jsonl"),
			"PROXMOX_VE_ENDPOINT=" + sim.URL(), "PROXMOX_VE_API_TOKEN=" + sim.Token("auditor")}, certEnv...)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		return out.String(), errb.String(), err
	}
	out, errs, err := run("SSL_CERT_FILE="+ca, "SSL_CERT_DIR="+t.TempDir())
	if err != nil || !strings.Contains(strings.ReplaceAll(out, " ", ""), `"quorate":true`) {
		t.Fatalf("trusted CA: %v\nstdout %s\nstderr %s", err, out, errs)
	}
	empty := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	out, errs, err = run("SSL_CERT_FILE="+empty, "SSL_CERT_DIR="+t.TempDir())
	if err == nil || !strings.Contains(out+errs, "not trusted") || !strings.Contains(out+errs, "PROXMOX_VE_FINGERPRINT") {
		t.Errorf("untrusted certificate: %v\nstdout %s\nstderr %s", err, out, errs)
	}
}
