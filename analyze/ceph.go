package analyze

import "fmt"

// CephPoolWarnPct: a Ceph pool at or above this share of its capacity is a
// warning (Ceph's default nearfull ratio is 85 %).
const CephPoolWarnPct = 85

// EvaluateCephCheck turns one of Ceph's health checks (GET
// /cluster/ceph/status, health.checks) into an alert: HEALTH_ERR is
// critical, anything else a warning; a muted check gives none.
func EvaluateCephCheck(code, severity, message string, count int, muted bool) []Alert {
	if muted {
		return nil
	}
	sev := SeverityWarning
	if severity == "HEALTH_ERR" {
		sev = SeverityCritical
	}
	return []Alert{{Severity: sev, Subject: "ceph", Metric: code, Value: float64(count), Message: "Ceph " + code + ": " + message,
		Basis: "health.checks from /cluster/ceph/status"}}
}

// EvaluateCephPool warns when a pool's use (percent) reaches
// CephPoolWarnPct.
func EvaluateCephPool(pool string, usedPct float64) []Alert {
	if usedPct < CephPoolWarnPct {
		return nil
	}
	return []Alert{{Severity: SeverityWarning, Subject: "ceph/" + pool, Metric: "pool_used_pct", Value: usedPct, Threshold: CephPoolWarnPct,
		Message: fmt.Sprintf("Ceph pool %s is %.1f%% full", pool, usedPct), Basis: "percent_used from /nodes/{node}/ceph/pool"}}
}
