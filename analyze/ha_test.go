package analyze

import "testing"

func TestClusterAndHAVerdicts(t *testing.T) {
	tests := []struct {
		name   string
		got    []Alert
		want   string // severity:subject:metric, "" for no alert
		prefix string // the message's start
	}{
		{"quorate", EvaluateQuorum(true, 3, 3), "", ""},
		{"not quorate", EvaluateQuorum(false, 1, 3), "critical:cluster:quorum",
			"cluster is not quorate (1 of 3 nodes online): Proxmox refuses every change until it is"},
		{"member online", EvaluateMember("pve-node01", true), "", ""},
		{"member offline", EvaluateMember("pve-node02", false), "critical:pve-node02:status", "pve-node02 is not online in the cluster membership"},
		{"manager active", EvaluateHAManager("pve-node01", "active"), "", ""},
		{"manager idle", EvaluateHAManager("pve-node01", "idle"), "warning:ha-manager:crm_state", "HA manager master on pve-node01 is idle"},
		{"resource started", EvaluateHAResource("vm:100", "started", "pve-node01"), "", ""},
		{"resource migrating", EvaluateHAResource("vm:100", "migrate", "pve-node01"), "", ""},
		{"resource error", EvaluateHAResource("vm:100", "error", "pve-node01"), "critical:vm:100:ha_state", "HA resource vm:100 is in state error on pve-node01"},
		{"resource fenced", EvaluateHAResource("ct:200", "fence", "pve-node02"), "critical:ct:200:ha_state", "HA resource ct:200 is in state fence on pve-node02"},
		{"resource recovering", EvaluateHAResource("vm:101", "recovery", ""), "critical:vm:101:ha_state", "HA resource vm:101 is in state recovery on "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == "" {
				if len(tc.got) != 0 {
					t.Fatalf("want no alert, got %+v", tc.got)
				}
				return
			}
			if len(tc.got) != 1 {
				t.Fatalf("want one alert, got %+v", tc.got)
			}
			a := tc.got[0]
			if s := string(a.Severity) + ":" + a.Subject + ":" + a.Metric; s != tc.want {
				t.Errorf("alert %s, want %s", s, tc.want)
			}
			if a.Message != tc.prefix || a.Basis == "" {
				t.Errorf("message %q (basis %q), want %q", a.Message, a.Basis, tc.prefix)
			}
		})
	}
}
