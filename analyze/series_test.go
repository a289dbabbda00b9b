package analyze

import (
	"math"
	"math/rand"
	"testing"
)

func TestSummarize(t *testing.T) {
	var pts []Point
	for i := 1; i <= 100; i++ {
		pts = append(pts, Point{Time: int64(i * 60), Value: float64(i)})
	}
	pts = append(pts, Point{Time: 101 * 60, Value: math.NaN()}) // RRD gap
	s, ok := Summarize(pts)
	if !ok {
		t.Fatal("no stats")
	}
	want := Stats{Count: 100, Min: 1, Avg: 50.5, Max: 100, P95: 95, Last: 100, FirstEpoch: 60, LastEpoch: 6000}
	if s != want {
		t.Fatalf("got %+v\nwant %+v", s, want)
	}
	if _, ok := Summarize([]Point{{Time: 1, Value: math.NaN()}}); ok {
		t.Fatal("all-NaN series gave stats")
	}
	if p := Percentile([]float64{5}, 95); p != 5 {
		t.Fatal(p)
	}
	if p := Percentile([]float64{3, 1, 2, 4}, 50); p != 2 {
		t.Fatal(p)
	}
}

func TestSummarizeRows(t *testing.T) {
	rows := []Row{
		{Time: 60, Values: map[string]float64{"cpu": 0.1, "mem": 10}},
		{Time: 120, Values: map[string]float64{"cpu": 0.3}}, // mem undefined, omitted
		{Time: 180, Values: map[string]float64{"cpu": 0.2, "mem": 30}},
	}
	s := SummarizeRows(rows)
	if s["cpu"].Count != 3 || math.Abs(s["cpu"].Avg-0.2) > 1e-12 || s["mem"].Count != 2 || s["mem"].Avg != 20 || s["mem"].Last != 30 {
		t.Fatalf("%+v", s)
	}
}

// downsamplePoints runs DownsampleRows over a single series.
func downsamplePoints(points []Point, maxPoints int) []Point {
	rows := make([]Row, 0, len(points))
	for _, p := range points {
		rows = append(rows, Row{Time: p.Time, Values: map[string]float64{"v": p.Value}})
	}
	var out []Point
	for _, r := range DownsampleRows(rows, maxPoints) {
		if v, ok := r.Values["v"]; ok {
			out = append(out, Point{Time: r.Time, Value: v})
		}
	}
	return out
}

func TestDownsampleAlignedAverages(t *testing.T) {
	// 1440 one-minute points (an RRD day) down to 24: hourly buckets.
	var pts []Point
	base := int64(1755648000) // multiple of 3600
	for i := 0; i < 1440; i++ {
		pts = append(pts, Point{Time: base + int64(i*60), Value: float64(i / 60)})
	}
	ds := downsamplePoints(pts, 24)
	if len(ds) != 24 {
		t.Fatalf("got %d points", len(ds))
	}
	for i, p := range ds {
		if p.Time != base+int64(i*3600) || p.Value != float64(i) {
			t.Fatalf("point %d = %+v", i, p)
		}
	}
}

func TestDownsampleProperties(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for iter := 0; iter < 300; iter++ {
		n := r.Intn(2000)
		step := int64([]int{60, 1800, 21600}[r.Intn(3)])
		start := int64(1_700_000_000) / step * step
		var pts []Point
		for i := 0; i < n; i++ {
			v := r.Float64() * 100
			if r.Intn(10) == 0 {
				v = math.NaN()
			}
			if r.Intn(20) == 0 {
				continue // omitted sample
			}
			pts = append(pts, Point{Time: start + int64(i)*step, Value: v})
		}
		max := 1 + r.Intn(400)
		ds := downsamplePoints(pts, max)
		if len(ds) > max {
			t.Fatalf("iter %d: %d points > max %d", iter, len(ds), max)
		}
		in, _ := Summarize(pts)
		out, ok := Summarize(ds)
		if in.Count > 0 != ok {
			t.Fatalf("iter %d: finite data lost", iter)
		}
		// Averages stay inside the original range, and time is increasing.
		if ok && (out.Min < in.Min-1e-9 || out.Max > in.Max+1e-9) {
			t.Fatalf("iter %d: range %v..%v outside %v..%v", iter, out.Min, out.Max, in.Min, in.Max)
		}
		for i := 1; i < len(ds); i++ {
			if ds[i].Time <= ds[i-1].Time {
				t.Fatalf("iter %d: times not increasing", iter)
			}
		}
	}
}

func TestDownsampleRowsKeepsShortSeries(t *testing.T) {
	rows := []Row{{Time: 0, Values: map[string]float64{"a": 1, "b": math.NaN()}}}
	got := DownsampleRows(rows, 10)
	if len(got) != 1 || got[0].Values["a"] != 1 {
		t.Fatalf("%+v", got)
	}
	if _, ok := got[0].Values["b"]; ok {
		t.Fatal("NaN kept")
	}
}

func BenchmarkDownsampleRowsDay(b *testing.B) {
	rows := make([]Row, 1440)
	for i := range rows {
		rows[i] = Row{Time: int64(i * 60), Values: map[string]float64{"cpu": 0.1, "mem": 1e9, "netin": 1e4}}
	}
	b.ReportAllocs()
	for b.Loop() {
		DownsampleRows(rows, 100)
	}
}

func TestDownsampleRowsMaxKeepsPeaks(t *testing.T) {
	var rows []Row
	for i := 0; i < 120; i++ {
		v := 0.1
		if i == 37 {
			v = 0.9 // a one-minute spike
		}
		rows = append(rows, Row{Time: int64(i * 60), Values: map[string]float64{"cpu": v}})
	}
	mx := DownsampleRowsMax(rows, 4)
	avg := DownsampleRows(rows, 4)
	if len(mx) != 4 || len(avg) != 4 {
		t.Fatalf("%d %d rows", len(mx), len(avg))
	}
	if mx[1].Values["cpu"] != 0.9 || avg[1].Values["cpu"] >= 0.2 || mx[0].Values["cpu"] != 0.1 {
		t.Fatalf("max %+v avg %+v", mx, avg)
	}
}
