package analyze

import (
	"math"
	"strings"
	"testing"
	"time"
)

// TestScrubAgeLimitBoundary: a scrub exactly at the limit (default 35 days)
// is fine, a few hours past it is a warning; an explicit limit replaces the
// default.
func TestScrubAgeLimitBoundary(t *testing.T) {
	now := time.Date(2026, 2, 23, 12, 0, 0, 0, time.UTC)
	pool := func(scrubbed time.Time) ZFSPool {
		return ZFSPool{Node: "n", Name: "tank", Health: "ONLINE", SizeBytes: 100, AllocBytes: 10,
			Detail: &ZFSPoolDetail{State: "ONLINE", Errors: "No known data errors",
				Scan:     "scrub repaired 0B in 00:10:00 with 0 errors on " + scrubbed.Format("Mon Jan 2 15:04:05 2006"),
				Children: mirror("tank", "ONLINE", ZFSVdev{Name: "a", State: "ONLINE", Leaf: true})}}
	}
	for _, tc := range []struct {
		name   string
		age    time.Duration
		maxAge float64
		warn   bool
	}{
		{"default limit, exactly 35 days", 35 * 24 * time.Hour, 0, false},
		{"default limit, 35 days 3 hours", 35*24*time.Hour + 3*time.Hour, 0, true},
		{"default limit, 34 days", 34 * 24 * time.Hour, 0, false},
		{"limit 10, exactly 10 days", 10 * 24 * time.Hour, 10, false},
		{"limit 10, 11 days", 11 * 24 * time.Hour, 10, true},
		{"limit 40, 36 days", 36 * 24 * time.Hour, 40, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := EvaluatePool(pool(now.Add(-tc.age)), now.Unix(), ZFSOptions{ScrubMaxAgeDays: tc.maxAge})
			warned := strings.Contains(strings.Join(v.Reasons, " | "), "last scrub")
			if warned != tc.warn {
				t.Fatalf("warned %v, want %v: severity %s, reasons %v, age %v days", warned, tc.warn, v.Severity, v.Reasons, v.ScrubAgeDays)
			}
			if want := SeverityOK; !tc.warn && v.Severity != want {
				t.Fatalf("severity %s, want %s: %v", v.Severity, want, v.Reasons)
			}
			if want := SeverityWarning; tc.warn && v.Severity != want {
				t.Fatalf("severity %s, want %s: %v", v.Severity, want, v.Reasons)
			}
		})
	}
}

// TestFillForecastCountsFromTheFittedNow: days are counted from the fitted
// level at the last sample's time, not from the last (noisy) sample nor
// from the window's start, and the threshold date is the last sample's time
// plus those days. The last sample here is a spike 50 GB above the trend.
func TestFillForecastCountsFromTheFittedNow(t *testing.T) {
	const total, day = 1000e9, int64(86400)
	start := int64(1_760_000_000)
	var pts []Point
	for i := int64(0); i <= 30; i++ {
		pts = append(pts, Point{Time: start + i*day, Value: 500e9 + 2e9*float64(i)})
	}
	pts[len(pts)-1].Value += 50e9
	f := FillForecast(pts, total, 90, ForecastOptions{})
	if !f.Available {
		t.Fatalf("no forecast: %s", f.Reason)
	}
	// Least squares by hand over x = 0..30 days.
	var sx, sy, sxx, sxy float64
	n := float64(len(pts))
	for i, p := range pts {
		x := float64(i)
		sx += x
		sy += p.Value
		sxx += x * x
		sxy += x * p.Value
	}
	slope := (n*sxy - sx*sy) / (n*sxx - sx*sx)
	intercept := (sy - slope*sx) / n
	fittedNow := intercept + slope*30
	days := (900e9 - fittedNow) / slope
	if f.DaysToThreshold != math.Round(days*10)/10 {
		t.Errorf("days %v, want %.1f from the fitted level %.4g (last sample %.4g, window start %.4g)",
			f.DaysToThreshold, days, fittedNow, pts[len(pts)-1].Value, intercept)
	}
	if want := pts[len(pts)-1].Time + int64(days*86400); f.ThresholdEpoch < want-1 || f.ThresholdEpoch > want+1 {
		t.Errorf("threshold epoch %d, want %d (last sample + %.2f days)", f.ThresholdEpoch, want, days)
	}
	// The alternatives differ by days, so the check above tells them apart.
	fromLast := (900e9 - pts[len(pts)-1].Value) / slope
	fromStart := (900e9 - intercept) / slope
	if math.Abs(fromLast-days) < 1 || math.Abs(fromStart-days) < 1 {
		t.Fatalf("test series does not separate the fitted now (%.1f) from the last sample (%.1f) or the start (%.1f)", days, fromLast, fromStart)
	}
}
