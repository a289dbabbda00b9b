package analyze

import (
	"math"
	"math/rand"
	"strings"
	"testing"
)

// growing returns n samples every step seconds of used = u0 + rate·days.
func growing(n int, step int64, u0, ratePerDay, noise float64, seed int64) []Point {
	r := rand.New(rand.NewSource(seed))
	pts := make([]Point, n)
	for i := range pts {
		tm := int64(1_760_000_000) + int64(i)*step
		v := u0 + ratePerDay*float64(int64(i)*step)/86400
		if noise > 0 {
			v += r.NormFloat64() * noise
		}
		pts[i] = Point{Time: tm, Value: v}
	}
	return pts
}

func TestFillForecastKnownRate(t *testing.T) {
	const total = 3.6e12
	// Demo-like: 78% used, +1.2 GB/day, threshold 90% → (0.12·3.6e12)/1.2e9 days from the start.
	u0 := 0.78 * total
	rate := 1.2e9
	pts := growing(1440, 1800, u0, rate, 0, 0) // RRD month: 30 days of 30-min points
	f := FillForecast(pts, total, 90, ForecastOptions{})
	last := pts[len(pts)-1].Value
	truth := (0.9*total - last) / rate
	if !f.Available {
		t.Fatalf("no forecast: %s", f.Reason)
	}
	if rel := math.Abs(f.DaysToThreshold-truth) / truth; rel > 0.01 {
		t.Fatalf("days %v, truth %v (%.2f%% off)", f.DaysToThreshold, truth, 100*rel)
	}
	if f.Points != 1440 || math.Abs(f.SlopeBytesPerDay-rate) > 1 || f.R2 < 0.999 || f.WindowDays < 29.9 {
		t.Fatalf("fit figures %+v", f)
	}
}

func TestFillForecastNoisy(t *testing.T) {
	const total = 1e12
	rate := 2e9
	for seed := int64(1); seed <= 20; seed++ {
		pts := growing(336, 1800, 0.5*total, rate, 5e8, seed) // RRD week, σ = 0.5 GB
		f := FillForecast(pts, total, 90, ForecastOptions{})
		truthNow := 0.5*total + rate*float64(335*1800)/86400
		truth := (0.9*total - truthNow) / rate
		if !f.Available {
			t.Fatalf("seed %d: %s", seed, f.Reason)
		}
		if rel := math.Abs(f.DaysToThreshold-truth) / truth; rel > 0.05 {
			t.Fatalf("seed %d: days %v, truth %v", seed, f.DaysToThreshold, truth)
		}
	}
}

func TestFillForecastNoForecast(t *testing.T) {
	const total = 1e12
	nan := Point{Time: 1_760_000_000 + 1800*10, Value: math.NaN()}
	tests := []struct {
		name   string
		pts    []Point
		total  float64
		thr    float64
		reason string
	}{
		{"flat", growing(100, 1800, 0.5*total, 0, 0, 0), total, 90, ReasonFlat},
		{"shrinking", growing(100, 1800, 0.5*total, -1e9, 0, 0), total, 90, ReasonShrinking},
		{"too few", growing(3, 1800, 0.5*total, 1e9, 0, 0), total, 90, ReasonTooFewPoints},
		{"NaN do not count", append(growing(5, 1800, 0.5*total, 1e9, 0, 0), nan), total, 90, ReasonTooFewPoints},
		{"already past", growing(100, 1800, 0.95*total, 1e9, 0, 0), total, 90, ReasonAlreadyPast},
		{"beyond horizon", growing(100, 1800, 0.1*total, 2e7, 0, 0), total, 90, ReasonBeyondHorizon},
		{"no total", growing(100, 1800, 1, 1, 0, 0), 0, 90, ReasonNoCapacity},
		{"bad threshold", growing(100, 1800, 1, 1, 0, 0), total, 0, ReasonInvalidPercent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := FillForecast(tc.pts, tc.total, tc.thr, ForecastOptions{})
			if f.Available || !strings.HasPrefix(f.Reason, tc.reason) {
				t.Fatalf("available=%v reason=%q, want %q", f.Available, f.Reason, tc.reason)
			}
		})
	}
}

func TestFitLine(t *testing.T) {
	f := FitLine([]float64{0, 1, 2, 3}, []float64{1, 3, 5, 7})
	if f.Slope != 2 || f.Intercept != 1 || f.R2 != 1 || f.N != 4 {
		t.Fatalf("%+v", f)
	}
}

func BenchmarkFillForecastMonth(b *testing.B) {
	pts := growing(1440, 1800, 5e11, 1e9, 1e8, 1)
	for b.Loop() {
		FillForecast(pts, 1e12, 90, ForecastOptions{})
	}
}

func TestFillForecastRows(t *testing.T) {
	var rows []Row
	for i := 0; i < 50; i++ {
		r := Row{Time: int64(1_760_000_000 + i*86400), Values: map[string]float64{"used": 100e9 + float64(i)*1e9, "total": 500e9}}
		if i == 49 {
			r.Values["total"] = 1000e9 // resized: the last total counts
		}
		rows = append(rows, r)
	}
	f := FillForecastRows(rows, "used", "total", 90, ForecastOptions{})
	want := (900e9 - 149e9) / 1e9
	if !f.Available || math.Abs(f.DaysToThreshold-want) > 0.1 || f.TotalBytes != 1000e9 {
		t.Fatalf("%+v (want %.1f days)", f, want)
	}
}

func TestEvaluateStorageForecast(t *testing.T) {
	const total = 1000 * gib
	// 10 GiB/day from 50%: 90% in 40 days less the 9 days elapsed, etc.
	at := func(days float64) Forecast {
		f := Forecast{Available: true, DaysToThreshold: days, ThresholdPct: 90, SlopeBytesPerDay: 10.26 * gib, Points: 48, WindowDays: 6.96, TotalBytes: total}
		return f
	}
	tests := []struct {
		name string
		f    Forecast
		want string // severity, "" for no alert
	}{
		{"no forecast", Forecast{Reason: ReasonFlat, DaysToThreshold: 3}, ""},
		{"beyond 30 days", at(30.1), ""},
		{"30 days", at(30), "warning"},
		{"8 days", at(8), "warning"},
		{"7 days", at(7), "critical"},
		{"hours", at(0.2), "critical"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := EvaluateStorageForecast("pve-node03", "local-zfs", "week", tc.f)
			if tc.want == "" {
				if len(got) != 0 {
					t.Fatalf("alert %+v", got)
				}
				return
			}
			if len(got) != 1 || string(got[0].Severity) != tc.want || got[0].Subject != "pve-node03/local-zfs" || got[0].Value != tc.f.DaysToThreshold || got[0].Threshold != 30 {
				t.Fatalf("got %+v, want one %s alert", got, tc.want)
			}
		})
	}
	a := EvaluateStorageForecast("pve-node03", "local-zfs", "week", at(8))[0]
	if a.Message != "pve-node03/local-zfs will reach 90% in about 8 days at 10.3 GiB/day" ||
		a.Basis != "linear fit over 48 RRD points (week, 7.0 days) of 1000 GiB total" {
		t.Errorf("wording: %q / %q", a.Message, a.Basis)
	}
}
