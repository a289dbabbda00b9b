package main

import (
	"strings"
	"testing"
)

// TestCallTextFormat: --format text (what make demo shows) gives tables
// with a header and aligned columns, key: value lines, lists cut short that
// say so ("10 of 14 shown"), and no JSON line of thousands of characters.
func TestCallTextFormat(t *testing.T) {
	clearEnv(t)
	code, out, errs := runCLI(t, "", "call", "--demo", "--format", "text", "list_guests", `{"type":"lxc"}`)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(out, "\n")
	var header, row string
	for i, l := range lines {
		if strings.HasPrefix(l, "guests (5") && i+2 < len(lines) {
			header, row = lines[i+1], lines[i+2]
		}
	}
	if !strings.HasPrefix(header, "  vmid  name") || !strings.HasPrefix(row, "  200   nginx-proxy") ||
		strings.Index(header, "node") != strings.Index(row, "pve-node01") {
		t.Errorf("not an aligned table:\n%s", out)
	}
	if !strings.Contains(out, "cluster: tli-prod-cluster") || !strings.Contains(out, "sources: 1 Proxmox API call(s)") || strings.Contains(out, "{") {
		t.Errorf("key: value view:\n%s", out)
	}
	code, out, _ = runCLI(t, "", "call", "--demo", "--format", "text", "backup_status", `{"days":7}`)
	if code != 0 || !strings.Contains(out, "guests (10 of 14 shown)") {
		t.Errorf("a cut list does not say so:\n%s", out)
	}
	for _, l := range strings.Split(out, "\n") {
		if len(l) > 400 {
			t.Errorf("line of %d characters: %.120s...", len(l), l)
		}
	}
	if code, _, errs = runCLI(t, "", "call", "--demo", "--format", "yaml", "cluster_overview"); code != 2 || !strings.Contains(errs, "--format must be json or text") {
		t.Errorf("bad format: %d %s", code, errs)
	}
}
