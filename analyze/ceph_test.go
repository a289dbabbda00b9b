package analyze

import "testing"

func TestCephAlerts(t *testing.T) {
	tests := []struct {
		name string
		got  []Alert
		want string // severity:subject:metric:message, "" for none
	}{
		{"warning check", EvaluateCephCheck("OSD_DOWN", "HEALTH_WARN", "1 osds down", 1, false), "warning:ceph:OSD_DOWN:Ceph OSD_DOWN: 1 osds down"},
		{"error check", EvaluateCephCheck("PG_DAMAGED", "HEALTH_ERR", "Possible data damage", 3, false), "critical:ceph:PG_DAMAGED:Ceph PG_DAMAGED: Possible data damage"},
		{"muted check", EvaluateCephCheck("OSD_DOWN", "HEALTH_ERR", "1 osds down", 1, true), ""},
		{"pool below", EvaluateCephPool("rbd", 84.9), ""},
		{"pool at nearfull", EvaluateCephPool("rbd", 85), "warning:ceph/rbd:pool_used_pct:Ceph pool rbd is 85.0% full"},
		{"pool full", EvaluateCephPool("rbd", 99.5), "warning:ceph/rbd:pool_used_pct:Ceph pool rbd is 99.5% full"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if len(tc.got) > 1 {
				t.Fatalf("%d alerts", len(tc.got))
			}
			for _, a := range tc.got {
				got = string(a.Severity) + ":" + a.Subject + ":" + a.Metric + ":" + a.Message
				if a.Basis == "" {
					t.Error("no basis")
				}
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	if a := EvaluateCephCheck("X", "HEALTH_WARN", "", 7, false)[0]; a.Value != 7 {
		t.Errorf("value %v", a.Value)
	}
}
