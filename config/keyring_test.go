package config

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// inSessionEnv marks the copy of this test that runs inside a private D-Bus
// session with an unlocked gnome-keyring.
const inSessionEnv = "PVEMCP_TEST_IN_SECRET_SERVICE"

// sessionScript unlocks a fresh login keyring (a non-empty password on
// stdin; without it the daemon wants a GUI prompt and every call fails),
// waits until the Secret Service name has an owner on the bus, then runs the
// test binary ($0) again.
const sessionScript = `set -e
printf 'pvemcp-test-password' | gnome-keyring-daemon --unlock --components=secrets >/dev/null
i=0
until dbus-send --session --dest=org.freedesktop.DBus --print-reply /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'; do
  i=$((i+1))
  if [ "$i" -gt 100 ]; then echo "org.freedesktop.secrets never got an owner on the session bus" >&2; exit 1; fi
  sleep 0.1
done
exec "$0" -test.run '^TestSecretServiceRoundTrip$' -test.v -test.count=1
`

// TestSecretServiceRoundTrip stores, reads and deletes a secret through the
// real OS keyring code path against gnome-keyring's Secret Service. It runs
// itself again inside dbus-run-session with a temporary HOME. Without the
// tools it skips, except in CI (CI=true), where it fails.
func TestSecretServiceRoundTrip(t *testing.T) {
	if os.Getenv(inSessionEnv) == "1" {
		secretServiceRoundTrip(t)
		return
	}
	var missing []string
	for _, tool := range []string{"dbus-run-session", "dbus-send", "gnome-keyring-daemon"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		msg := "the real Secret Service test needs " + strings.Join(missing, ", ") +
			" (Debian: apt-get install gnome-keyring libsecret-tools dbus-daemon)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	home := t.TempDir()
	cmd := exec.CommandContext(ctx, "dbus-run-session", "--", "sh", "-c", sessionScript, exe)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, inSessionEnv + "=1",
		"XDG_DATA_HOME=" + filepath.Join(home, "data"), "XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
		"XDG_RUNTIME_DIR=" + home, "CI=" + os.Getenv("CI")}
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("the Secret Service session did not finish within 90s:\n%s", out)
	}
	if err != nil || !strings.Contains(string(out), "--- PASS: TestSecretServiceRoundTrip") {
		t.Fatalf("round trip in the Secret Service session failed (%v):\n%s", err, out)
	}
}

func secretServiceRoundTrip(t *testing.T) {
	kr := OSKeyring{}
	const account = "pvemcp-test-cluster"
	secret := "5e3dd1bd-1234-4abc-9def-0123456789ab"
	if _, err := kr.Get(KeyringService, account); !errors.Is(err, ErrSecretNotFound) {
		t.Fatalf("fresh keyring: want not found, got %v", err)
	}
	if err := kr.Set(KeyringService, account, secret); err != nil {
		t.Fatalf("set: %v", err)
	}
	if v, err := kr.Get(KeyringService, account); err != nil || v != secret {
		t.Fatalf("get: %v (value matches: %t)", err, v == secret)
	}
	// Replacing keeps one entry.
	if err := kr.Set(KeyringService, account, "pvemcp@pve!mcp="+secret); err != nil {
		t.Fatal(err)
	}
	cl := &Cluster{Name: account, Secret: SecretRef{Kind: SecretKeyring, Name: account}}
	if err := cl.Resolve(kr, func(string) (string, bool) { return "", false }); err != nil || cl.Token != "pvemcp@pve!mcp="+secret {
		t.Fatalf("resolve through the keyring: %v", err)
	}
	if err := kr.Delete(KeyringService, account); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := kr.Get(KeyringService, account); !errors.Is(err, ErrSecretNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}
