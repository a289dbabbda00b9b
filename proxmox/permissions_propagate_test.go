package proxmox

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/proxmox/pvesim"
)

// propagateAccess replaces the access section of the small example
// scenario: "flat" holds PVEVMUser on /vms with propagate 0 (so on /vms
// itself only), PVEAuditor on / (propagating) and PVEVMAdmin on /vms/101;
// "deep" holds PVEVMUser on /vms with propagate 1; "sep" is a
// privilege-separated token whose user holds PVEVMUser (and PVEAuditor) on
// /vms with propagate 1 but the token itself PVEVMUser with propagate 0, so
// the token's grant on /vms does not propagate (Proxmox ANDs the two
// flags). Secrets are
// test-only.
const propagateAccess = `access:
  tokens:
    - {id: "flat@pve!mcp", secret: 11111111-0000-4000-8000-000000000001, privsep: false}
    - {id: "deep@pve!mcp", secret: 11111111-0000-4000-8000-000000000002, privsep: false}
    - {id: "sep@pve!mcp", secret: 11111111-0000-4000-8000-000000000003, privsep: true}
  acl:
    - {path: /, user: flat@pve, role: PVEAuditor, propagate: true}
    - {path: /vms, user: flat@pve, role: PVEVMUser, propagate: false}
    - {path: /vms/101, user: flat@pve, role: PVEVMAdmin, propagate: true}
    - {path: /, user: deep@pve, role: PVEAuditor, propagate: true}
    - {path: /vms, user: deep@pve, role: PVEVMUser, propagate: true}
    - {path: /, user: sep@pve, role: PVEAuditor, propagate: true}
    - {path: /vms, user: sep@pve, role: PVEVMUser, propagate: true}
    - {path: /vms, user: sep@pve, role: PVEAuditor, propagate: true}
    - {path: /, token: "sep@pve!mcp", role: PVEAuditor, propagate: true}
    - {path: /vms, token: "sep@pve!mcp", role: PVEVMUser, propagate: false}
`

func propagateSim(t *testing.T) *pvesim.Sim {
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
	path := filepath.Join(t.TempDir(), "propagate.yaml")
	if err := os.WriteFile(path, []byte(sc[:i+1]+propagateAccess), 0o600); err != nil {
		t.Fatal(err)
	}
	sim, err := pvesim.Start(context.Background(), pvesim.Options{Scenario: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim
}

// A privilege granted on /vms with propagate 0 holds on /vms only: Has must
// not extend it to /vms/100, and must agree with Proxmox's own evaluation
// of each exact path (GET /access/permissions?path=...).
func TestPermissionsHonourPropagate(t *testing.T) {
	sim := propagateSim(t)
	ctx := context.Background()
	paths := []string{"/", "/vms", "/vms/100", "/vms/101", "/vms/999", "/storage/local", "/nodes/pve"}
	privs := []string{"VM.PowerMgmt", "VM.Audit", "VM.Allocate", "VM.Config.CPU", "Sys.Audit", "Datastore.Audit"}
	for _, tok := range []string{"flat@pve!mcp", "deep@pve!mcp", "sep@pve!mcp"} {
		c, err := New(Options{Endpoints: []string{sim.URL()}, Token: sim.Token(tok), Fingerprint: sim.Fingerprint()})
		if err != nil {
			t.Fatal(err)
		}
		all, err := c.Permissions(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range paths {
			exact, err := c.Permissions(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			for _, priv := range privs {
				if got, want := all.Has(path, priv), exact.Has(path, priv); got != want {
					t.Errorf("%s: %s on %s: inferred from the full map %v, Proxmox's evaluation of the path %v", tok, priv, path, got, want)
				}
			}
		}
	}

	// The facts the comparison rests on, spelled out.
	flat, _ := New(Options{Endpoints: []string{sim.URL()}, Token: sim.Token("flat@pve!mcp"), Fingerprint: sim.Fingerprint()})
	all, err := flat.Permissions(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if prop, ok := all["/vms"]["VM.PowerMgmt"]; !ok || prop {
		t.Fatalf("/vms should list VM.PowerMgmt with propagate 0: %v", all["/vms"])
	}
	for _, c := range []struct {
		path, priv string
		want       bool
	}{
		{"/vms", "VM.PowerMgmt", true},
		{"/vms/100", "VM.PowerMgmt", false}, // the over-grant this test guards against
		{"/vms/100", "VM.Audit", true},      // from PVEAuditor on /, past the non-propagating /vms
		{"/vms/101", "VM.Allocate", true},
		{"/vms/999", "VM.PowerMgmt", false},
	} {
		if got := all.Has(c.path, c.priv); got != c.want {
			t.Errorf("flat: Has(%s, %s) = %v, want %v", c.path, c.priv, got, c.want)
		}
	}
	deep, _ := New(Options{Endpoints: []string{sim.URL()}, Token: sim.Token("deep@pve!mcp"), Fingerprint: sim.Fingerprint()})
	dall, err := deep.Permissions(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if !dall.Has("/vms/100", "VM.PowerMgmt") {
		t.Errorf("deep: a propagating grant on /vms does not reach /vms/100: %v", dall["/vms"])
	}
	// The token's own propagate 0 wins over its user's propagate 1.
	sep, _ := New(Options{Endpoints: []string{sim.URL()}, Token: sim.Token("sep@pve!mcp"), Fingerprint: sim.Fingerprint()})
	sall, err := sep.Permissions(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if prop, ok := sall["/vms"]["VM.PowerMgmt"]; !ok || prop {
		t.Errorf("sep: /vms should list VM.PowerMgmt with propagate 0 (token 0 AND user 1): %v", sall["/vms"])
	}
	if !sall.Has("/vms", "VM.PowerMgmt") || sall.Has("/vms/100", "VM.PowerMgmt") || !sall.Has("/vms/100", "VM.Audit") {
		t.Errorf("sep: /vms %v, /vms/100 PowerMgmt %v, Audit %v", sall.Has("/vms", "VM.PowerMgmt"),
			sall.Has("/vms/100", "VM.PowerMgmt"), sall.Has("/vms/100", "VM.Audit"))
	}
}
