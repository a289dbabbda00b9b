package analyze

import (
	"strings"
	"testing"
	"time"
)

func TestLogLevel(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"Nov 30 03:04:05 pve-node01 pvescheduler[532641]: ERROR: Backup of VM 103 failed - vzdump: backup size 201 GB exceeds storage limit", "error"},
		{"Nov 26 09:27:23 pve-node03 kernel: zio pool=rpool vdev=/dev/disk/by-id/nvme-X-part3 error=5 type=1 offset=1 size=131072", "error"},
		{"Nov 26 09:27:23 pve-node03 zed[2211]: eid=1187 class=io pool='rpool' vdev=nvme-X-part3 size=131072 err=5", "error"},
		{"Nov 26 10:27:23 pve-node03 zed[2211]: eid=1231 class=checksum pool='rpool' vdev=nvme-X-part3 algorithm=fletcher4", "warning"},
		{"Dec 03 14:27:23 pve-node03 kernel: Out of memory: Killed process 48213 (kvm) total-vm:9245308kB", "error"},
		{"Dec 05 02:15:15 pve-node03 pvescheduler[1]: <root@pam> end task UPID:pve-node03:0008CA88:01E71177:6B00ED14:vzdump::root@pam: OK", ""},
		{"Dec 05 02:15:15 pve-node01 pvescheduler[1]: <root@pam> end task UPID:pve-node01:0008CA88:01E71177:6B00ED14:vzdump::root@pam: job errors", "error"},
		{"Dec 05 01:15:15 pve-node01 pvescheduler[1]: <root@pam> end task UPID:pve-node01:0008CA88:01E71177:6B00ED14:vzdump::root@pam: WARNINGS: 1", "warning"},
		{"Nov 29 16:20:09 pve-node01 systemd[1]: postfix@-.service: Failed with result 'exit-code'.", "error"},
		{"Nov 17 09:20:21 pve-node03 pvedaemon[1290]: starting server", ""},
		{"Nov 17 09:20:19 pve-node03 corosync[1180]: [QUORUM] Members[3]: 1 2 3", ""},
		{"nvme nvme1: I/O tag 412 (a19c) opcode 0x2 (Read) QID 6 timeout, aborting", "warning"},
	} {
		if got := LogLevel(tc.line); got != tc.want {
			t.Errorf("LogLevel(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}
}

func TestCertAlert(t *testing.T) {
	now := time.Date(2026, 2, 23, 14, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   time.Duration
		sev  Severity
		days float64
	}{
		{330 * 24 * time.Hour, "", 330},
		{30*24*time.Hour + time.Hour, "", 30},
		{21 * 24 * time.Hour, SeverityWarning, 21},
		{6 * 24 * time.Hour, SeverityCritical, 6},
		{-2 * 24 * time.Hour, SeverityCritical, -2},
	} {
		na := now.Add(tc.in)
		if d := CertDaysLeft(na, now); d != tc.days {
			t.Errorf("%v: days left %v, want %v", tc.in, d, tc.days)
		}
		a := CertAlert("pve1", "pve-ssl.pem", na, now)
		switch {
		case tc.sev == "" && a != nil:
			t.Errorf("%v: unexpected alert %+v", tc.in, a)
		case tc.sev != "" && (a == nil || a.Severity != tc.sev || a.Subject != "pve1/pve-ssl.pem"):
			t.Errorf("%v: alert %+v, want severity %s", tc.in, a, tc.sev)
		}
	}
	if a := CertAlert("pve1", "pve-ssl.pem", now.Add(-48*time.Hour), now); !strings.Contains(a.Message, "expired 2 days ago") {
		t.Errorf("expired message: %s", a.Message)
	}
}

func TestServiceAlert(t *testing.T) {
	for _, tc := range []struct {
		svc, active, unit string
		sev               Severity
	}{
		{"postfix", "failed", "enabled", SeverityWarning},
		{"pve-cluster", "failed", "enabled", SeverityCritical},
		{"pveproxy", "inactive", "enabled", SeverityCritical},
		{"postfix", "inactive", "enabled", ""},
		{"systemd-timesyncd", "inactive", "not-found", ""},
		{"pvestatd", "active", "enabled", ""},
		{"pve-ha-crm", "inactive", "disabled", ""},
	} {
		a := ServiceAlert("pve1", tc.svc, tc.active, tc.unit)
		if (a == nil) != (tc.sev == "") || (a != nil && a.Severity != tc.sev) {
			t.Errorf("%s %s/%s: %+v, want %q", tc.svc, tc.active, tc.unit, a, tc.sev)
		}
	}
}

func TestReplicationState(t *testing.T) {
	now := time.Date(2026, 2, 23, 14, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		disabled  bool
		lastAgo   time.Duration
		fails     int
		schedule  string
		wantState string
		wantSev   Severity
	}{
		{"ok", false, 7 * time.Minute, 0, "*/15", "ok", ""},
		{"late", false, 50 * time.Minute, 0, "*/15", "late", SeverityWarning},
		{"daily ok", false, 20 * time.Hour, 0, "02:00", "ok", ""},
		{"failing once", false, 20 * time.Minute, 1, "*/15", "failing", SeverityWarning},
		{"failing", false, 140 * time.Minute, 4, "*/30", "failing", SeverityCritical},
		{"never", false, 0, 0, "*/15", "never_synced", SeverityWarning},
		{"disabled", true, 0, 3, "*/15", "disabled", ""},
	} {
		var last time.Time
		if tc.lastAgo > 0 {
			last = now.Add(-tc.lastAgo)
		}
		st, a := ReplicationState("104-0", "pve3", tc.disabled, last, tc.fails, "exit code 255", tc.schedule, now)
		if st != tc.wantState || (a == nil) != (tc.wantSev == "") || (a != nil && a.Severity != tc.wantSev) {
			t.Errorf("%s: %s %+v, want %s %q", tc.name, st, a, tc.wantState, tc.wantSev)
		}
	}
}

func TestEvalInbound(t *testing.T) {
	web := []FWRule{{Level: "group web", Pos: 0, Type: "in", Action: "ACCEPT", Proto: "tcp", DPort: "80,443", Enabled: true}}
	rules := []FWRule{
		{Level: "guest", Pos: 0, Type: "group", Action: "web", Enabled: true, Group: web},
		{Level: "guest", Pos: 1, Type: "in", Action: "ACCEPT", Proto: "tcp", DPort: "22", Source: "+admins", Enabled: true},
		{Level: "guest", Pos: 2, Type: "in", Action: "DROP", Proto: "tcp", DPort: "22", Enabled: true},
		{Level: "guest", Pos: 3, Type: "in", Action: "ACCEPT", Macro: "RDP", Source: "10.0.0.0/8", Enabled: true},
		{Level: "guest", Pos: 4, Type: "in", Action: "ACCEPT", Proto: "tcp", DPort: "8000:8100", Enabled: false},
		{Level: "guest", Pos: 5, Type: "out", Action: "ACCEPT", Proto: "tcp", DPort: "5432", Enabled: true},
	}
	for _, tc := range []struct {
		proto   string
		port    int
		policy  string
		verdict string
		from    string
	}{
		{"tcp", 22, "DROP", "restricted", "+admins"},
		{"tcp", 443, "DROP", "open", ""},
		{"tcp", 80, "DROP", "open", ""},
		{"tcp", 3389, "DROP", "restricted", "10.0.0.0/8"},
		{"tcp", 8050, "DROP", "closed", ""},  // the rule is disabled
		{"tcp", 5432, "DROP", "closed", ""},  // only an outbound rule
		{"tcp", 5432, "ACCEPT", "open", ""},  // the policy lets it in
		{"udp", 443, "REJECT", "closed", ""}, // tcp rule only
	} {
		v := EvalInbound(rules, tc.policy, true, true, true, tc.proto, tc.port)
		if v.Verdict != tc.verdict || strings.Join(v.From, ",") != tc.from {
			t.Errorf("%s/%d policy %s: %+v, want %s from %q", tc.proto, tc.port, tc.policy, v, tc.verdict, tc.from)
		}
	}
	for i, on := range [][3]bool{{false, true, true}, {true, false, true}, {true, true, false}} {
		if v := EvalInbound(rules, "DROP", on[0], on[1], on[2], "tcp", 22); v.Verdict != "unfiltered" || v.Reason == "" {
			t.Errorf("switch %d off: %+v", i, v)
		}
	}
}

func TestNodeHealthChecks(t *testing.T) {
	tests := []struct {
		name string
		got  []Alert
		want string // severity:subject:metric:message, "" for none
	}{
		{"no updates", EvaluateUpdates("n1", 0, 0), ""},
		{"updates", EvaluateUpdates("n1", 12, 3), "info:n1:pending_updates:12 package updates pending on n1 (3 of them PVE packages)"},
		{"subscription active", EvaluateSubscription("n1", "active", ""), ""},
		{"no subscription", EvaluateSubscription("n1", "notfound", "There is no subscription key"), ""},
		{"subscription expired", EvaluateSubscription("n1", "expired", "subscription has expired"), "warning:n1:subscription:subscription on n1 is expired: subscription has expired"},
		{"subscription invalid", EvaluateSubscription("n2", "invalid", "wrong server id"), "warning:n2:subscription:subscription on n2 is invalid: wrong server id"},
		{"DNS", EvaluateDNS("n1", 2), ""},
		{"no DNS", EvaluateDNS("n1", 0), "warning:n1:dns:n1 has no DNS server configured"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			for _, a := range tc.got {
				got += string(a.Severity) + ":" + a.Subject + ":" + a.Metric + ":" + a.Message
				if a.Basis == "" {
					t.Error("no basis")
				}
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	if a := EvaluateUpdates("n1", 12, 3)[0]; a.Value != 12 {
		t.Errorf("value %v", a.Value)
	}
}
