package analyze

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Diagnostics rules: how log lines, certificates, replication jobs and
// services are judged, with the wording of their alerts.

var (
	logErrorRE = regexp.MustCompile(`(?i)(\berror\b|\berrors\b|\bfailed\b|\bfailure\b|\bfatal\b|\bcritical\b|\bpanic\b|\bsegfault\b|out of memory|` +
		`\bkilled process\b|i/o error|\berr=[1-9]|\berror=[1-9]|\bfaulted\b|\bunreachable\b|\bcannot\b|\bcan't\b|\bunable to\b)`)
	logWarnRE = regexp.MustCompile(`(?i)(\bwarn\b|\bwarning\b|\bwarnings\b|\bdegraded\b|\btimeout\b|\btimed out\b|\bretry\b|\bretrying\b|` +
		`\bdeprecated\b|\bclass=(io|checksum)\b|\babort(ing|ed)?\b)`)
	logOKEndRE = regexp.MustCompile(`\bend task \S+ OK$`)
)

// LogLevel classifies a log line as "error", "warning" or "" from its
// text (the API returns no priority): Proxmox's own "ERROR:"/"WARN:"
// prefixes, task ends with a failed status, and the usual kernel, ZFS and
// systemd failure wording.
func LogLevel(line string) string {
	if logOKEndRE.MatchString(line) {
		return ""
	}
	if logErrorRE.MatchString(line) {
		return "error"
	}
	if logWarnRE.MatchString(line) {
		return "warning"
	}
	return ""
}

// Certificate thresholds: warn under 30 days, critical under 7 or expired.
const (
	CertWarnDays     = 30
	CertCriticalDays = 7
)

// CertDaysLeft is the whole days from now to notAfter (negative: expired).
func CertDaysLeft(notAfter, now time.Time) float64 {
	d := notAfter.Sub(now).Hours() / 24
	return float64(int(d*10)) / 10
}

// CertAlert judges a certificate's remaining validity.
func CertAlert(node, file string, notAfter, now time.Time) *Alert {
	days := CertDaysLeft(notAfter, now)
	sev := Severity("")
	switch {
	case days < CertCriticalDays:
		sev = SeverityCritical
	case days < CertWarnDays:
		sev = SeverityWarning
	default:
		return nil
	}
	msg := fmt.Sprintf("certificate %s on %s expires in %.0f days (%s)", file, node, days, notAfter.UTC().Format("2006-01-02"))
	if days < 0 {
		msg = fmt.Sprintf("certificate %s on %s expired %.0f days ago (%s)", file, node, -days, notAfter.UTC().Format("2006-01-02"))
	}
	return &Alert{Severity: sev, Subject: node + "/" + file, Metric: "cert_days_left", Value: days, Threshold: CertWarnDays, Message: msg,
		Basis: "notafter from /nodes/{node}/certificates/info"}
}

// Critical services: a PVE node does not work as a cluster member without
// them (the HA ones only matter where HA resources exist).
var criticalServices = map[string]bool{"pve-cluster": true, "corosync": true, "pveproxy": true, "pvedaemon": true, "pvestatd": true,
	"pve-ha-lrm": true, "pve-ha-crm": true, "pvescheduler": true}

// ServiceAlert judges one service's state: failed units always, and
// critical PVE services that are not running.
func ServiceAlert(node, service, activeState, unitState string) *Alert {
	if unitState == "not-found" || unitState == "disabled" || unitState == "masked" {
		return nil
	}
	switch {
	case activeState == "failed":
		sev := SeverityWarning
		if criticalServices[service] {
			sev = SeverityCritical
		}
		return &Alert{Severity: sev, Subject: node + "/" + service, Metric: "service_state", Message: fmt.Sprintf("service %s on %s has failed", service, node),
			Basis: "active-state from /nodes/{node}/services"}
	case criticalServices[service] && activeState != "active":
		return &Alert{Severity: SeverityCritical, Subject: node + "/" + service, Metric: "service_state",
			Message: fmt.Sprintf("service %s on %s is %s, not running", service, node, activeState), Basis: "active-state from /nodes/{node}/services"}
	}
	return nil
}

// EvaluateUpdates notes pending package updates (pending of them, pve of
// those PVE packages), from the last package list the node fetched.
func EvaluateUpdates(node string, pending, pve int) []Alert {
	if pending <= 0 {
		return nil
	}
	return []Alert{{Severity: SeverityInfo, Subject: node, Metric: "pending_updates", Value: float64(pending),
		Message: fmt.Sprintf("%d package updates pending on %s (%d of them PVE packages)", pending, node, pve), Basis: "GET /nodes/{node}/apt/update (not refreshed)"}}
}

// EvaluateSubscription warns about a subscription that is neither active
// nor absent ("notfound": no subscription is a choice, not a fault), e.g.
// expired or invalid; message is Proxmox's.
func EvaluateSubscription(node, status, message string) []Alert {
	switch status {
	case "active", "notfound":
		return nil
	}
	return []Alert{{Severity: SeverityWarning, Subject: node, Metric: "subscription", Message: fmt.Sprintf("subscription on %s is %s: %s", node, status, message),
		Basis: "GET /nodes/{node}/subscription"}}
}

// EvaluateDNS warns about a node without a DNS server.
func EvaluateDNS(node string, servers int) []Alert {
	if servers > 0 {
		return nil
	}
	return []Alert{{Severity: SeverityWarning, Subject: node, Metric: "dns", Message: node + " has no DNS server configured", Basis: "GET /nodes/{node}/dns"}}
}

var (
	everyRE = regexp.MustCompile(`^\*/(\d+)$`)
	dailyRE = regexp.MustCompile(`^\d{1,2}:\d{2}$`)
)

// ScheduleInterval is the interval of a simple "*/N" (minutes) or "HH:MM"
// (daily) replication schedule; 0 when it cannot be told.
func ScheduleInterval(schedule string) time.Duration {
	if schedule == "" {
		schedule = "*/15"
	}
	if m := everyRE.FindStringSubmatch(schedule); m != nil {
		var n int
		fmt.Sscan(m[1], &n)
		return time.Duration(n) * time.Minute
	}
	if dailyRE.MatchString(schedule) {
		return 24 * time.Hour
	}
	return 0
}

// ReplicationState judges a job: "disabled", "failing" (fail_count > 0),
// "never_synced", "late" (last sync older than three intervals) or "ok",
// with an alert for the bad ones.
func ReplicationState(id, guestNode string, disabled bool, lastSync time.Time, failCount int, lastErr, schedule string, now time.Time) (string, *Alert) {
	subject := "replication/" + id
	switch {
	case disabled:
		return "disabled", nil
	case failCount > 0:
		sev := SeverityWarning
		if failCount >= 3 {
			sev = SeverityCritical
		}
		msg := fmt.Sprintf("replication job %s (from %s) failed %d times in a row", id, guestNode, failCount)
		if !lastSync.IsZero() {
			msg += fmt.Sprintf("; last good sync %s ago", roundDur(now.Sub(lastSync)))
		}
		if lastErr != "" {
			msg += ": " + firstLineOf(lastErr, 240)
		}
		return "failing", &Alert{Severity: sev, Subject: subject, Metric: "fail_count", Value: float64(failCount), Threshold: 1, Message: msg,
			Basis: "fail_count and error from /nodes/{node}/replication"}
	case lastSync.IsZero():
		return "never_synced", &Alert{Severity: SeverityWarning, Subject: subject, Metric: "last_sync", Message: fmt.Sprintf("replication job %s has never synced", id),
			Basis: "last_sync 0 in /nodes/{node}/replication"}
	}
	if iv := ScheduleInterval(schedule); iv > 0 && now.Sub(lastSync) > 3*iv {
		age := now.Sub(lastSync)
		return "late", &Alert{Severity: SeverityWarning, Subject: subject, Metric: "sync_age_min", Value: float64(int(age.Minutes())), Threshold: float64(int((3 * iv).Minutes())),
			Message: fmt.Sprintf("replication job %s last synced %s ago, schedule %s", id, roundDur(age), schedule), Basis: "last_sync vs. three schedule intervals"}
	}
	return "ok", nil
}

func roundDur(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%.0fd", d.Hours()/24)
	case d >= time.Hour:
		return fmt.Sprintf("%.1fh", d.Hours())
	}
	return fmt.Sprintf("%.0fmin", d.Minutes())
}

func firstLineOf(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
