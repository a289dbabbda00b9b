package tools

import (
	"strings"
	"testing"
)

func init() {
	declareArgs("guest_power", testArgs{
		demo:   fixed{`{"vmid":203,"action":"start"}`},
		broken: fixed{`{"vmid":102,"action":"start"}`, `{"vmid":100,"action":"shutdown"}`},
	})
}

func TestPowerAllowed(t *testing.T) {
	cases := []struct {
		action, typ, status, qmp string
		ok                       bool
	}{
		{"start", "qemu", "stopped", "", true},
		{"start", "qemu", "running", "running", false},
		{"start", "qemu", "running", "paused", false},
		{"stop", "qemu", "running", "paused", true},
		{"stop", "lxc", "stopped", "", false},
		{"shutdown", "qemu", "running", "running", true},
		{"shutdown", "qemu", "running", "paused", false},
		{"reboot", "lxc", "stopped", "", false},
		{"suspend", "qemu", "running", "running", true},
		{"suspend", "qemu", "running", "paused", false},
		{"resume", "qemu", "running", "paused", true},
		{"resume", "qemu", "running", "running", false},
		{"resume", "qemu", "stopped", "", false},
		{"resume", "lxc", "running", "", true},
		{"hibernate", "qemu", "running", "running", false},
	}
	for _, c := range cases {
		if err := powerAllowed(c.action, c.typ, c.status, c.qmp); (err == nil) != c.ok {
			t.Errorf("%s %s %s/%s: %v, want ok=%v", c.action, c.typ, c.status, c.qmp, err, c.ok)
		}
	}
}

func TestPowerPlanDoesNothingUntilConfirmed(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	plan := w.plan("s1", "guest_power", map[string]any{"vmid": 103, "action": "stop"})
	w.noWrites("after planning")
	if g := w.guest(103); g.Status != "running" {
		t.Fatalf("VM 103 is %s before confirmation", g.Status)
	}
	calls := plan["calls"].([]any)
	if len(calls) != 1 || calls[0].(map[string]any)["path"] != "/nodes/pve-node01/qemu/103/status/stop" {
		t.Fatalf("calls %v", calls)
	}
	out := w.mustConfirm("s1", plan)
	steps := out["steps"].([]any)
	if upid, _ := steps[0].(map[string]any)["upid"].(string); !strings.HasPrefix(upid, "UPID:pve-node01:") || !strings.Contains(upid, ":qmstop:103:") {
		t.Fatalf("step %v", steps[0])
	}
	if g := w.guest(103); g.Status != "stopped" {
		t.Fatalf("VM 103 is %s after a confirmed stop", g.Status)
	}
	if ws := w.writes(); len(ws) != 1 || ws[0].Method != "POST" || ws[0].Path != "/nodes/pve-node01/qemu/103/status/stop" {
		t.Fatalf("writes %+v", ws)
	}
}

func TestHAManagedGuestGoesThroughHA(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	plan := w.plan("s1", "guest_power", map[string]any{"vmid": 101, "action": "shutdown"})
	if ws := mustJSON(t, plan["warnings"]); !strings.Contains(ws, "HA-managed") {
		t.Fatalf("no HA warning: %s", ws)
	}
	out := w.mustConfirm("s1", plan)
	step := out["steps"].([]any)[0].(map[string]any)
	if !strings.Contains(step["upid"].(string), ":hastop:101:") || !strings.Contains(out["message"].(string), "HA manager") {
		t.Fatalf("HA shutdown: %v", out)
	}
	if g := w.guest(101); g.Status != "stopped" {
		t.Fatalf("VM 101 is %s", g.Status)
	}
}
