package tools

import "testing"

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
