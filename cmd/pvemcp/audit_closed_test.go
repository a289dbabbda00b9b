package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAuditUnavailableRefusesWrites: when the audit log's folder cannot be
// created, every plan is refused naming the audit log, and reads go on.
func TestAuditUnavailableRefusesWrites(t *testing.T) {
	clearEnv(t)
	blocker := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvAuditLog, filepath.Join(blocker, "pvemcp", "audit.jsonl"))
	code, out, errs := runCLI(t, "", "call", "--demo", "guest_power", `{"vmid":101,"action":"shutdown"}`)
	if code == 0 || !strings.Contains(out+errs, "audit log unavailable, so changes are refused") || strings.Contains(out, `"nonce"`) {
		t.Fatalf("plan without an audit log: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = runCLI(t, "", "call", "--demo", "list_guests")
	if code != 0 || !strings.Contains(out, `"vmid"`) {
		t.Fatalf("reads stopped: exit %d\n%s\n%s", code, out, errs)
	}
}
