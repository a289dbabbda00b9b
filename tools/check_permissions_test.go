package tools

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pvemcp/pvemcp/guard"
	"github.com/pvemcp/pvemcp/internal/simtest"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
	"github.com/pvemcp/pvemcp/toolkit"
)

func TestCheckPermissionsAuditor(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "auditor")
	out, errText := w.call("s1", "check_permissions", map[string]any{})
	if errText != "" {
		t.Fatal(errText)
	}
	if out["token"] != "pvemcp@pve!auditor" {
		t.Fatalf("token %v", out["token"])
	}
	works := map[string]string{}
	missing := map[string]any{}
	for _, x := range out["tools"].([]any) {
		a := x.(map[string]any)
		works[a["tool"].(string)] = a["works"].(string)
		missing[a["tool"].(string)] = a["missing"]
	}
	for tool, want := range map[string]string{"list_guests": "yes", "zfs_health": "yes", "guest_power": "no", "create_vm": "no", "check_permissions": "yes"} {
		if works[tool] != want {
			t.Errorf("%s works=%q, want %q", tool, works[tool], want)
		}
	}
	if m, _ := missing["guest_power"].([]any); len(m) != 1 || m[0] != "VM.PowerMgmt on /vms" {
		t.Errorf("guest_power missing %v", missing["guest_power"])
	}
	// Every registered tool is reported: its needs are part of its Meta.
	for _, tl := range toolkit.All() {
		if _, ok := works[tl.Name]; !ok {
			t.Errorf("check_permissions does not report %s", tl.Name)
		}
	}
	if m, _ := missing["snapshot_guest"].([]any); len(m) != 1 || m[0] != "VM.Snapshot on /vms" {
		t.Errorf("snapshot_guest missing %v", missing["snapshot_guest"])
	}
}

func TestToolAccessPartial(t *testing.T) {
	perms := proxmox.Permissions{
		"/":          {"Sys.Audit": true},
		"/vms":       {"VM.Audit": true},
		"/vms/103":   {"VM.Audit": true, "VM.PowerMgmt": true},
		"/storage/x": {"Datastore.AllocateSpace": true},
	}
	a := access(perms, "guest_power", []toolNeed{{Priv: "VM.PowerMgmt", Path: "/vms"}})
	if a.Works != "partial" || len(a.Only) != 1 || a.Only[0] != "/vms/103" {
		t.Fatalf("%+v", a)
	}
	a = access(perms, "create_vm", []toolNeed{{Priv: "VM.Allocate", Path: "/vms"}, {Priv: "Datastore.AllocateSpace", Path: "/storage"}})
	if a.Works != "no" || len(a.Missing) != 1 || a.Missing[0] != "VM.Allocate on /vms" {
		t.Fatalf("%+v", a)
	}
	if a := access(perms, "zfs_health", []toolNeed{{Priv: "Sys.Audit", Path: "/"}}); a.Works != "yes" {
		t.Fatalf("%+v", a)
	}
	// propagate 0 on /vms: the grant holds on /vms alone, not on any guest.
	flat := proxmox.Permissions{"/vms": {"VM.PowerMgmt": false, "VM.Audit": true}}
	if a := access(flat, "guest_power", []toolNeed{{Priv: "VM.PowerMgmt", Path: "/vms"}}); a.Works != "no" {
		t.Fatalf("non-propagating grant: %+v", a)
	}
	if a := access(flat, "list_guests", []toolNeed{{Priv: "VM.Audit", Path: "/vms"}}); a.Works != "yes" {
		t.Fatalf("propagating grant: %+v", a)
	}
}

// A token with PVEVMAdmin on pool prod only: its guests can be planned for,
// others are refused at plan time, and check_permissions says "partial".
func TestPoolScopedToken(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "prod-operator")
	out, errText := w.call("s1", "check_permissions", map[string]any{})
	if errText != "" {
		t.Fatal(errText)
	}
	for _, x := range out["tools"].([]any) {
		a := x.(map[string]any)
		if a["tool"] == "update_guest_resources" {
			only := a["only_on"].([]any)
			if a["works"] != "partial" || len(only) == 0 || len(only) > 4 || only[0] != "/vms/100" {
				t.Fatalf("update_guest_resources access %v", a)
			}
		}
	}
	w.plan("s1", "guest_power", map[string]any{"vmid": 101, "action": "reboot"})
	if _, errText := w.call("s1", "guest_power", map[string]any{"vmid": 103, "action": "reboot"}); !strings.Contains(errText, "lacks VM.PowerMgmt on /vms/103") {
		t.Fatalf("guest outside the pool: %q", errText)
	}
	w.noWrites("planning only")
}

// flatScenario is the small example cluster with a token whose
// PVEVMUser grant on /vms does not propagate (it holds on /vms alone), plus
// PVEAuditor on / and PVEVMAdmin on /vms/101. The secret is test-only.
func flatScenario(t *testing.T) string {
	t.Helper()
	base, err := os.ReadFile(filepath.Join("..", "examples", "scenarios", "small.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sc := string(base)
	i := strings.Index(sc, "\naccess:")
	if i < 0 {
		t.Fatal("small.yaml has no access section")
	}
	sc = sc[:i+1] + `access:
  tokens:
    - {id: "flat@pve!mcp", secret: 11111111-0000-4000-8000-000000000001, privsep: false}
  acl:
    - {path: /, user: flat@pve, role: PVEAuditor, propagate: true}
    - {path: /vms, user: flat@pve, role: PVEVMUser, propagate: false}
    - {path: /vms/101, user: flat@pve, role: PVEVMAdmin, propagate: true}
`
	path := filepath.Join(t.TempDir(), "flat.yaml")
	if err := os.WriteFile(path, []byte(sc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// VM.PowerMgmt granted on /vms with propagate 0 does not cover /vms/100:
// guest_power refuses at plan time naming the privilege and path, and
// check_permissions says the tool works on /vms/101 only.
func TestNonPropagatingGrantIsNotInherited(t *testing.T) {
	t.Parallel()
	sim := simtest.Start(t, pvesim.Options{Scenario: flatScenario(t)})
	c, err := proxmox.New(proxmox.Options{Endpoints: []string{sim.URL()}, Token: sim.Token("flat@pve!mcp"), Fingerprint: sim.Fingerprint()})
	if err != nil {
		t.Fatal(err)
	}
	w := &writeEnv{t: t, sim: sim, now: time.Now().UTC()}
	w.gate = toolkit.NewGate(guard.NewStore(guard.WithClock(w.clock)), guard.ApprovalNonce, guard.Protection{})
	w.srv = toolkit.NewServer(&toolkit.Env{Client: c, Gate: w.gate}, toolkit.All())

	if _, errText := w.call("s1", "guest_power", map[string]any{"vmid": 100, "action": "shutdown"}); !strings.Contains(errText, "lacks VM.PowerMgmt on /vms/100") {
		t.Fatalf("guest_power on 100 with a non-propagating grant on /vms: %q", errText)
	}
	w.plan("s1", "guest_power", map[string]any{"vmid": 101, "action": "shutdown"})
	w.noWrites("planning only")

	out, errText := w.call("s1", "check_permissions", map[string]any{})
	if errText != "" {
		t.Fatal(errText)
	}
	for _, x := range out["tools"].([]any) {
		a := x.(map[string]any)
		if a["tool"] == "guest_power" {
			only, _ := a["only_on"].([]any)
			if a["works"] != "partial" || len(only) != 1 || only[0] != "/vms/101" {
				t.Errorf("guest_power access %v", a)
			}
		}
	}
	found := false
	for _, x := range out["paths"].([]any) {
		p := x.(map[string]any)
		if p["path"] == "/vms" {
			found = true
			np, _ := json.Marshal(p["not_propagated"])
			if !strings.Contains(string(np), `"VM.PowerMgmt"`) {
				t.Errorf("/vms not_propagated %s", np)
			}
		}
	}
	if !found {
		t.Errorf("no /vms in %v", out["paths"])
	}
}

// TestCheckPermissionsNamesAgentPrivileges: check_permissions knows the new tools, with PVE 8's VM.Monitor
// where the token's privileges are named the PVE 8 way.
func TestCheckPermissionsNamesAgentPrivileges(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		ver          int
		token, works string
		missing      string
	}{
		{9, "operator", "yes", ""},
		{9, "auditor", "no", "VM.GuestAgent.Unrestricted on /vms"},
		{8, "operator", "yes", ""},
	} {
		w := newWriteEnvOpts(t, c.token, pvesim.Options{PVEVersion: c.ver})
		out, errText := w.call("s1", "check_permissions", map[string]any{})
		if errText != "" {
			t.Fatal(errText)
		}
		found := map[string]bool{}
		for _, x := range out["tools"].([]any) {
			ta := x.(map[string]any)
			found[ta["tool"].(string)] = true
			if ta["tool"] != "guest_exec" {
				continue
			}
			if ta["works"] != c.works || (c.missing != "" && !strings.Contains(fmtJSON(ta["missing"]), c.missing)) {
				t.Errorf("PVE %d %s: guest_exec %v", c.ver, c.token, ta)
			}
			if c.ver == 8 && !strings.Contains(ta["needs"].(string), "VM.Monitor") {
				t.Errorf("PVE 8: guest_exec needs %v", ta["needs"])
			}
		}
		for _, name := range []string{"clone_guest", "convert_to_template", "delete_guest", "guest_agent_info", "guest_exec"} {
			if !found[name] {
				t.Errorf("check_permissions does not know %s", name)
			}
		}
	}
}
