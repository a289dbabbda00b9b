package analyze

import (
	"fmt"
	"math"
)

// Forecast reasons when no forecast is given (Forecast.Reason).
const (
	ReasonTooFewPoints   = "too few points"
	ReasonFlat           = "flat trend"
	ReasonShrinking      = "shrinking trend"
	ReasonAlreadyPast    = "already at or past the threshold"
	ReasonBeyondHorizon  = "threshold not reached within the horizon"
	ReasonNoCapacity     = "total size unknown"
	ReasonInvalidPercent = "threshold out of range"
)

// ForecastOptions tune FillForecast. Zero values take the defaults.
type ForecastOptions struct {
	// MinPoints is the least number of finite points to fit (default 6).
	MinPoints int
	// FlatFractionPerDay: a slope below this fraction of the total per day is
	// flat (default 0.00001, i.e. 0.001 %/day: > 270 years to fill).
	FlatFractionPerDay float64
	// HorizonDays: crossings further away are not forecast (default 3650).
	HorizonDays float64
}

func (o ForecastOptions) withDefaults() ForecastOptions {
	if o.MinPoints <= 0 {
		o.MinPoints = 6
	}
	if o.FlatFractionPerDay <= 0 {
		o.FlatFractionPerDay = 0.00001
	}
	if o.HorizonDays <= 0 {
		o.HorizonDays = 3650
	}
	return o
}

// Forecast is a linear fill forecast of a used/total series.
type Forecast struct {
	// Available is true when DaysToThreshold is a forecast; otherwise Reason
	// says why there is none.
	Available bool   `json:"available"`
	Reason    string `json:"reason,omitempty"`
	// The window fitted: first and last sample times and the point count.
	WindowStartEpoch int64   `json:"window_start_epoch"`
	WindowEndEpoch   int64   `json:"window_end_epoch"`
	WindowDays       float64 `json:"window_days"`
	Points           int     `json:"points"`
	// SlopeBytesPerDay is the least-squares growth rate; R2 its fit quality.
	SlopeBytesPerDay float64 `json:"slope_bytes_per_day"`
	R2               float64 `json:"r2"`
	TotalBytes       float64 `json:"total_bytes"`
	UsedBytes        float64 `json:"used_bytes"`
	UsedPct          float64 `json:"used_pct"`
	ThresholdPct     float64 `json:"threshold_pct"`
	// DaysToThreshold counts from WindowEndEpoch; ThresholdEpoch is the
	// crossing time.
	DaysToThreshold float64 `json:"days_to_threshold,omitempty"`
	ThresholdEpoch  int64   `json:"threshold_epoch,omitempty"`
	Basis           string  `json:"basis"`
}

// LinearFit is a least-squares line y = Intercept + Slope·x.
type LinearFit struct {
	Slope, Intercept, R2 float64
	N                    int
}

// FitLine fits y = a + b·x by least squares over pairs with finite y. R2 is
// 1 when all y are equal (a perfect, flat fit).
func FitLine(xs, ys []float64) LinearFit {
	var n, sx, sy float64
	for i := range xs {
		if !finite(ys[i]) || !finite(xs[i]) {
			continue
		}
		n++
		sx += xs[i]
		sy += ys[i]
	}
	if n == 0 {
		return LinearFit{}
	}
	mx, my := sx/n, sy/n
	var sxx, sxy, syy float64
	for i := range xs {
		if !finite(ys[i]) || !finite(xs[i]) {
			continue
		}
		dx, dy := xs[i]-mx, ys[i]-my
		sxx += dx * dx
		sxy += dx * dy
		syy += dy * dy
	}
	f := LinearFit{N: int(n), Intercept: my}
	if sxx == 0 {
		return f
	}
	f.Slope = sxy / sxx
	f.Intercept = my - f.Slope*mx
	switch {
	case syy == 0:
		f.R2 = 1
	default:
		f.R2 = (sxy * sxy) / (sxx * syy)
	}
	return f
}

// FillForecast fits a line through used bytes over time (points, epoch
// seconds) and returns the days until used/totalBytes reaches thresholdPct.
// The fitted line, not the last noisy sample, gives the current level; but a
// last sample already at the threshold means "already past". No forecast is
// returned when there are too few points, the trend is flat or shrinking, or
// the crossing is beyond the horizon.
func FillForecast(points []Point, totalBytes, thresholdPct float64, opt ForecastOptions) Forecast {
	opt = opt.withDefaults()
	f := Forecast{TotalBytes: totalBytes, ThresholdPct: thresholdPct,
		Basis: "least-squares linear fit of used bytes over time; days counted from the last sample"}
	var xs, ys []float64
	var t0 int64
	for _, p := range points {
		if !finite(p.Value) {
			continue
		}
		if len(xs) == 0 {
			t0 = p.Time
			f.WindowStartEpoch = p.Time
		}
		f.WindowEndEpoch = p.Time
		f.UsedBytes = p.Value
		xs = append(xs, float64(p.Time-t0)/86400)
		ys = append(ys, p.Value)
	}
	f.Points = len(xs)
	f.WindowDays = round2(float64(f.WindowEndEpoch-f.WindowStartEpoch) / 86400)
	if totalBytes > 0 {
		f.UsedPct = round1(Pct(f.UsedBytes, totalBytes))
	}
	switch {
	case thresholdPct <= 0 || thresholdPct > 100 || !finite(thresholdPct):
		f.Reason = ReasonInvalidPercent
		return f
	case totalBytes <= 0 || !finite(totalBytes):
		f.Reason = ReasonNoCapacity
		return f
	case len(xs) < opt.MinPoints || f.WindowEndEpoch == f.WindowStartEpoch:
		f.Reason = fmt.Sprintf("%s (%d, need %d over more than one instant)", ReasonTooFewPoints, len(xs), opt.MinPoints)
		return f
	}
	fit := FitLine(xs, ys)
	f.SlopeBytesPerDay = math.Round(fit.Slope)
	f.R2 = math.Round(fit.R2*1000) / 1000
	limit := totalBytes * thresholdPct / 100
	if f.UsedBytes >= limit {
		f.Reason = ReasonAlreadyPast
		return f
	}
	flat := opt.FlatFractionPerDay * totalBytes
	switch {
	case fit.Slope < -flat:
		f.Reason = ReasonShrinking
		return f
	case fit.Slope <= flat:
		f.Reason = ReasonFlat
		return f
	}
	now := fit.Intercept + fit.Slope*xs[len(xs)-1]
	days := (limit - now) / fit.Slope
	if days <= 0 {
		// The fitted line is already past though the last sample is not:
		// the series is noisy right at the threshold.
		f.Reason = ReasonAlreadyPast
		return f
	}
	if days > opt.HorizonDays {
		f.Reason = fmt.Sprintf("%s (%.0f days)", ReasonBeyondHorizon, opt.HorizonDays)
		return f
	}
	f.Available = true
	f.DaysToThreshold = round1(days)
	f.ThresholdEpoch = f.WindowEndEpoch + int64(days*86400)
	return f
}

// FillForecastRows forecasts from RRD rows holding a used and a total field
// (storage RRD: "used"/"total"; node RRD: "memused"/"memtotal"). The total
// is the last finite total in the rows, since a storage can be resized.
func FillForecastRows(rows []Row, usedField, totalField string, thresholdPct float64, opt ForecastOptions) Forecast {
	var pts []Point
	total := 0.0
	for _, r := range rows {
		if v, ok := r.Values[usedField]; ok && finite(v) {
			pts = append(pts, Point{Time: r.Time, Value: v})
		}
		if v, ok := r.Values[totalField]; ok && finite(v) && v > 0 {
			total = v
		}
	}
	return FillForecast(pts, total, thresholdPct, opt)
}

// Fill forecast alert horizons: a storage that reaches its threshold within
// ForecastWarnDays is a warning, within ForecastCriticalDays critical.
const (
	ForecastWarnDays     = 30
	ForecastCriticalDays = 7
)

// EvaluateStorageForecast alerts when a storage's fill forecast (fitted
// over window, e.g. "month") reaches the threshold within ForecastWarnDays.
func EvaluateStorageForecast(node, storage, window string, f Forecast) []Alert {
	if !f.Available || f.DaysToThreshold <= 0 || f.DaysToThreshold > ForecastWarnDays {
		return nil
	}
	sev := SeverityWarning
	if f.DaysToThreshold <= ForecastCriticalDays {
		sev = SeverityCritical
	}
	const gib = 1 << 30
	return []Alert{{Severity: sev, Subject: node + "/" + storage, Metric: "days_to_storage_threshold", Value: f.DaysToThreshold, Threshold: ForecastWarnDays,
		Message: fmt.Sprintf("%s/%s will reach %.0f%% in about %.0f days at %.1f GiB/day", node, storage, f.ThresholdPct, f.DaysToThreshold, round2(f.SlopeBytesPerDay/gib)),
		Basis:   fmt.Sprintf("linear fit over %d RRD points (%s, %.1f days) of %.0f GiB total", f.Points, window, round1(f.WindowDays), f.TotalBytes/gib)}}
}
