package analyze

import (
	"math"
	"sort"
)

// Point is one sample of a time series: Time in Unix epoch seconds and a
// value in the unit of the series. RRD omits undefined samples; a NaN or Inf
// Value is treated the same way (ignored).
type Point struct {
	Time  int64   `json:"time"`
	Value float64 `json:"value"`
}

// Stats summarises the finite values of a series.
type Stats struct {
	// Count is the number of finite samples used; 0 means the other fields are
	// meaningless.
	Count int     `json:"count"`
	Min   float64 `json:"min"`
	Avg   float64 `json:"avg"`
	Max   float64 `json:"max"`
	// P95 is the 95th percentile by the nearest-rank method (the smallest
	// sample with at least 95% of samples at or below it).
	P95  float64 `json:"p95"`
	Last float64 `json:"last"`
	// FirstEpoch and LastEpoch are the times of the first and last finite samples.
	FirstEpoch int64 `json:"first_epoch"`
	LastEpoch  int64 `json:"last_epoch"`
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Summarize computes Stats over the finite values of points, which must be in
// time order (as RRD returns them). The second result is false when no value
// is finite.
func Summarize(points []Point) (Stats, bool) {
	vals := make([]float64, 0, len(points))
	var s Stats
	var sum float64
	for _, p := range points {
		if !finite(p.Value) {
			continue
		}
		if len(vals) == 0 {
			s.Min, s.Max, s.FirstEpoch = p.Value, p.Value, p.Time
		}
		s.Min = math.Min(s.Min, p.Value)
		s.Max = math.Max(s.Max, p.Value)
		s.Last, s.LastEpoch = p.Value, p.Time
		sum += p.Value
		vals = append(vals, p.Value)
	}
	if len(vals) == 0 {
		return Stats{}, false
	}
	s.Count = len(vals)
	s.Avg = sum / float64(len(vals))
	s.P95 = Percentile(vals, 95)
	return s, true
}

// Percentile returns the p-th percentile (0 < p ≤ 100) of the finite values
// by the nearest-rank method; NaN when there are none. vals is not modified.
func Percentile(vals []float64, p float64) float64 {
	sorted := make([]float64, 0, len(vals))
	for _, v := range vals {
		if finite(v) {
			sorted = append(sorted, v)
		}
	}
	if len(sorted) == 0 {
		return math.NaN()
	}
	sort.Float64s(sorted)
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	if rank > len(sorted) {
		rank = len(sorted)
	}
	return sorted[rank-1]
}

// Row is one RRD record: its time and the fields it holds. Fields RRD
// omitted (undefined) are simply absent.
type Row struct {
	Time   int64              `json:"time"`
	Values map[string]float64 `json:"values"`
}

// SummarizeRows returns Stats per field over rows.
func SummarizeRows(rows []Row) map[string]Stats {
	series := map[string][]Point{}
	for _, r := range rows {
		for k, v := range r.Values {
			series[k] = append(series[k], Point{Time: r.Time, Value: v})
		}
	}
	out := make(map[string]Stats, len(series))
	for k, pts := range series {
		if s, ok := Summarize(pts); ok {
			out[k] = s
		}
	}
	return out
}

// Downsampling: bucket averages aligned to wall-clock multiples of the bucket
// width (not LTTB). Averages keep what RRD itself does when it consolidates
// (AVERAGE), so a downsampled "cpu" is still a mean CPU fraction, and aligned
// buckets give the same point times for every field and every node, which lets
// a client plot several series on one axis. Each output point's time is the
// start of its bucket. Empty buckets are omitted, never invented.

// bucketWidth returns the smallest width, a multiple of the series step, whose
// aligned buckets over [first, last] number at most maxPoints.
func bucketWidth(times []int64, maxPoints int) int64 {
	step := int64(0)
	for i := 1; i < len(times); i++ {
		if d := times[i] - times[i-1]; d > 0 && (step == 0 || d < step) {
			step = d
		}
	}
	if step == 0 {
		step = 1
	}
	first, last := times[0], times[len(times)-1]
	span := last - first
	w := step * ((span/int64(maxPoints))/step + 1)
	for {
		if floorDiv(last, w)-floorDiv(first, w)+1 <= int64(maxPoints) {
			return w
		}
		w += step
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// DownsampleRows reduces rows (in time order) to at most maxPoints rows, each
// the per-field average of the finite values in its bucket. A field with no
// finite value in a bucket is absent from that row; a bucket with no row is
// omitted.
func DownsampleRows(rows []Row, maxPoints int) []Row {
	return downsampleRows(rows, maxPoints, false)
}

// DownsampleRowsMax is DownsampleRows keeping each bucket's maximum instead
// of its mean: the right reduction for RRD data read with cf=MAX, whose
// peaks an average would hide.
func DownsampleRowsMax(rows []Row, maxPoints int) []Row {
	return downsampleRows(rows, maxPoints, true)
}

func downsampleRows(rows []Row, maxPoints int, useMax bool) []Row {
	if maxPoints < 1 {
		maxPoints = 1
	}
	if len(rows) <= maxPoints {
		out := make([]Row, 0, len(rows))
		for _, r := range rows {
			vals := make(map[string]float64, len(r.Values))
			for k, v := range r.Values {
				if finite(v) {
					vals[k] = v
				}
			}
			out = append(out, Row{Time: r.Time, Values: vals})
		}
		return out
	}
	times := make([]int64, len(rows))
	for i, r := range rows {
		times[i] = r.Time
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	w := bucketWidth(times, maxPoints)

	type acc struct {
		sum map[string]float64
		n   map[string]int
	}
	var out []Row
	var cur *acc
	curBucket := int64(math.MinInt64)
	flush := func() {
		if cur == nil {
			return
		}
		vals := make(map[string]float64, len(cur.sum))
		for k, s := range cur.sum {
			if useMax {
				vals[k] = s
			} else {
				vals[k] = s / float64(cur.n[k])
			}
		}
		out = append(out, Row{Time: curBucket * w, Values: vals})
		cur = nil
	}
	// Rows may arrive unsorted in theory; sort a copy of indexes by time so
	// buckets stay contiguous.
	idx := make([]int, len(rows))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return rows[idx[a]].Time < rows[idx[b]].Time })
	for _, i := range idx {
		r := rows[i]
		b := floorDiv(r.Time, w)
		if cur == nil || b != curBucket {
			flush()
			cur = &acc{sum: map[string]float64{}, n: map[string]int{}}
			curBucket = b
		}
		for k, v := range r.Values {
			if !finite(v) {
				continue
			}
			switch {
			case !useMax:
				cur.sum[k] += v
			case cur.n[k] == 0 || v > cur.sum[k]:
				cur.sum[k] = v
			}
			cur.n[k]++
		}
	}
	flush()
	return out
}
