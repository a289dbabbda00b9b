package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/config"
)

// TestMalformedTokenNeverQuoted feeds malformed tokens of every shape
// (environment, *_FILE, config file token_id) to the commands that read
// them, and scans stdout, stderr (logs at debug) and the audit log for the
// secret and for any 8-character slice of it.
func TestMalformedTokenNeverQuoted(t *testing.T) {
	const secret = "4f1c9e2a-7d3b-4c8e-9a61-0b5e2f7c8d90"
	shapes := []string{
		"PROXMOX_VE_ENDPOINT=https://pve:8006\nPROXMOX_VE_API_TOKEN=root@pam!pvemcp=" + secret + "\nPROXMOX_VE_FINGERPRINT=AB:CD",
		"PROXMOX_VE_API_TOKEN=root@pam!pvemcp=" + secret,
		secret + "=root@pam!pvemcp",
		"root@pam!" + secret + "!x=y",
		"root@pam!pvemcp " + secret + "=z",
		"root" + secret + "!pvemcp=abc",
		"root@pam!pvemcp=" + secret + "\r\n" + secret,
	}
	scan := func(t *testing.T, what, text string) {
		t.Helper()
		for i := 0; i+8 <= len(secret); i++ {
			if strings.Contains(text, secret[i:i+8]) {
				t.Errorf("%s holds %q of the secret:\n%s", what, secret[i:i+8], text)
				return
			}
		}
	}
	fp := strings.Repeat("AB:", 31) + "AB"
	for i, tok := range shapes {
		for _, via := range []string{"env", "file", "config"} {
			clearEnv(t)
			dir := t.TempDir()
			t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "xdg"))
			t.Setenv(config.EnvConfig, "")
			audit := filepath.Join(dir, "audit.jsonl")
			t.Setenv(EnvAuditLog, audit)
			t.Setenv(config.EnvEndpoint, "https://127.0.0.1:1")
			t.Setenv(config.EnvFingerprint, fp)
			switch via {
			case "env":
				t.Setenv(config.EnvToken, tok)
			case "file":
				p := filepath.Join(dir, "token")
				if err := os.WriteFile(p, []byte(tok), 0o600); err != nil {
					t.Fatal(err)
				}
				t.Setenv(config.EnvToken+"_FILE", p)
			case "config":
				t.Setenv(config.EnvEndpoint, "")
				t.Setenv(config.EnvFingerprint, "")
				p := filepath.Join(dir, "config.yaml")
				yaml := "clusters:\n  - name: c1\n    endpoints: [\"https://127.0.0.1:1\"]\n    fingerprint: \"" + fp +
					"\"\n    token_id: \"" + strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(tok) + "\"\n    token_file: " + filepath.Join(dir, "s") + "\n"
				if err := os.WriteFile(filepath.Join(dir, "s"), []byte(secret), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
					t.Fatal(err)
				}
				t.Setenv(config.EnvConfig, p)
			}
			for _, args := range [][]string{{"call", "list_guests"}, {"doctor"}, {"call", "guest_power", `{"vmid":100,"action":"stop"}`}} {
				_, out, errs := runCLI(t, "", append([]string{"--log-level", "debug"}, args...)...)
				what := filepath.Base(via) + " shape " + string(rune('0'+i)) + " " + strings.Join(args, " ")
				scan(t, what+" stdout", out)
				scan(t, what+" stderr", errs)
				if b, err := os.ReadFile(audit); err == nil {
					scan(t, what+" audit", string(b))
				}
			}
		}
	}
}
