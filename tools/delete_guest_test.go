package tools

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/guard"
)

func init() {
	declareArgs("delete_guest", testArgs{demo: fixed{`{"vmid":203,"purge":true}`}})
}

func TestDeleteGuest(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	_, errText := w.call("s1", "delete_guest", map[string]any{"vmid": 101})
	if !strings.Contains(errText, "is running; stop it first") {
		t.Fatalf("running VM: %q", errText)
	}
	simPUT(t, w.sim, "/nodes/pve-node02/lxc/203/config", url.Values{"protection": {"1"}})
	_, errText = w.call("s1", "delete_guest", map[string]any{"vmid": 203})
	if !strings.Contains(errText, "protection: 1") || !strings.Contains(errText, "can't remove CT 203 - protection mode enabled") {
		t.Fatalf("protected CT: %q", errText)
	}
	simPUT(t, w.sim, "/nodes/pve-node02/lxc/203/config", url.Values{"delete": {"protection"}})
	// pvemcp's own protected guests.
	w.gate.Protection = guard.Protection{VMIDs: []int{203}}
	_, errText = w.call("s1", "delete_guest", map[string]any{"vmid": 203})
	if errText == "" || !strings.Contains(errText, "203") {
		t.Fatalf("guest protected by pvemcp's config: %q", errText)
	}
	w.gate.Protection = guard.Protection{}
	before := len(w.writes())

	plan := w.plan("s1", "delete_guest", map[string]any{"vmid": 203, "purge": true})
	vols := plan["volumes"].([]any)
	if len(vols) != 1 || vols[0].(map[string]any)["volid"] != "local-zfs:subvol-203-disk-0" || vols[0].(map[string]any)["size_gib"] != float64(20) {
		t.Fatalf("volumes %v", vols)
	}
	if c := planCalls(plan)[0]; c["method"] != "DELETE" || c["path"] != "/nodes/pve-node02/lxc/203" || c["params"].(map[string]any)["purge"] != "1" {
		t.Fatalf("call %v", c)
	}
	if !strings.Contains(strings.Join(toStrings(plan["warnings"]), " "), "cannot be undone") {
		t.Fatalf("warnings %v", plan["warnings"])
	}
	if len(w.writes()) != before {
		t.Fatal("planning sent a write")
	}
	w.mustConfirm("s1", plan)
	if _, err := findGuest(context.Background(), w.srv.Env().Client, 203); err == nil {
		t.Fatal("CT 203 still exists")
	}

	// A template whose base disk linked clones use cannot go.
	w.mustConfirm("s1", w.plan("s1", "clone_guest", map[string]any{"vmid": 9000, "newid": 160}))
	_, errText = w.call("s1", "delete_guest", map[string]any{"vmid": 9000})
	if !strings.Contains(errText, "linked clones") || !strings.Contains(errText, "base-9000-disk-0/vm-160-disk-0") {
		t.Fatalf("template with linked clones: %q", errText)
	}
}
