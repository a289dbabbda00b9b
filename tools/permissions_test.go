package tools

import (
	"testing"

	"github.com/pvemcp/pvemcp/proxmox"
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
}

func TestToolAccessPartial(t *testing.T) {
	perms := proxmox.Permissions{
		"/":          {"Sys.Audit": true},
		"/vms":       {"VM.Audit": true},
		"/vms/103":   {"VM.Audit": true, "VM.PowerMgmt": true},
		"/storage/x": {"Datastore.AllocateSpace": true},
	}
	a := access(perms, "guest_power", []toolNeed{{"VM.PowerMgmt", "/vms"}})
	if a.Works != "partial" || len(a.Only) != 1 || a.Only[0] != "/vms/103" {
		t.Fatalf("%+v", a)
	}
	a = access(perms, "create_vm", []toolNeed{{"VM.Allocate", "/vms"}, {"Datastore.AllocateSpace", "/storage"}})
	if a.Works != "no" || len(a.Missing) != 1 || a.Missing[0] != "VM.Allocate on /vms" {
		t.Fatalf("%+v", a)
	}
	if a := access(perms, "zfs_health", []toolNeed{{"Sys.Audit", "/"}}); a.Works != "yes" {
		t.Fatalf("%+v", a)
	}
}
