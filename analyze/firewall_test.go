package analyze

import "testing"

func TestEvaluateFirewall(t *testing.T) {
	if got := EvaluateFirewall(true); len(got) != 0 {
		t.Errorf("enabled: %+v", got)
	}
	got := EvaluateFirewall(false)
	if len(got) != 1 || got[0].Severity != SeverityInfo || got[0].Subject != "firewall" || got[0].Metric != "enabled" ||
		got[0].Message != "the datacenter firewall is disabled: no host or guest rule is applied" {
		t.Errorf("disabled: %+v", got)
	}
}
