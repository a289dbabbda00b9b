package proxmox

import (
	"context"
	"encoding/json"
	"math"
	"net/url"
	"strings"
	"testing"
)

// sameSeries compares two series, NaN equal to NaN.
func sameSeries(t *testing.T, what string, got, want *RRDSeries) {
	t.Helper()
	if len(got.Time) != len(want.Time) || len(got.Values) != len(want.Values) {
		t.Fatalf("%s: %d rows/%d fields, want %d/%d", what, len(got.Time), len(got.Values), len(want.Time), len(want.Values))
	}
	for i := range want.Time {
		if got.Time[i] != want.Time[i] {
			t.Fatalf("%s: row %d time %d, want %d", what, i, got.Time[i], want.Time[i])
		}
	}
	for f := range want.Values {
		if got.Fields[f] != want.Fields[f] || len(got.Values[f]) != len(want.Values[f]) {
			t.Fatalf("%s: field %d %s/%d, want %s/%d", what, f, got.Fields[f], len(got.Values[f]), want.Fields[f], len(want.Values[f]))
		}
		for i, w := range want.Values[f] {
			g := got.Values[f][i]
			if g != w && !(math.IsNaN(g) && math.IsNaN(w)) {
				t.Fatalf("%s: %s row %d = %v, want %v", what, want.Fields[f], i, g, w)
			}
		}
	}
}

// viaRows decodes a body the general way (rows of maps) into a series.
func viaRows(body []byte, fields []string) (*RRDSeries, error) {
	var rows []RRDRow
	if err := decodeAnswer(body, &rows, "GET", "/x"); err != nil {
		return nil, err
	}
	return SeriesOf(rows, fields...), nil
}

// TestRRDSeriesMatchesRows reads real simulator answers and checks the
// one-pass scanner takes them and agrees with the row decoder.
func TestRRDSeriesMatchesRows(t *testing.T) {
	c, _ := demoClient(t)
	ctx := context.Background()
	for _, tc := range []struct {
		path   string
		tf, cf string
		fields []string
	}{
		{"nodes/pve-node01/qemu/100/rrddata", "week", "", []string{"cpu", "mem"}},
		{"nodes/pve-node01/qemu/100/rrddata", "hour", "MAX", []string{"mem", "cpu", "netin", "nosuch"}},
		{"nodes/pve-node02/lxc/203/rrddata", "day", "", []string{"cpu", "mem", "maxmem"}},
		{"nodes/pve-node03/rrddata", "week", "", []string{"memused"}},
		{"nodes/pve-node03/rrddata", "decade", "AVERAGE", []string{"memused", "cpu", "loadavg", "pressurememoryfull"}},
		{"nodes/pve-node03/storage/local-zfs/rrddata", "month", "", []string{"used", "total"}},
		{"nodes/pve-node03/storage/local-zfs/rrddata", "year", "MAX", nil},
	} {
		q := url.Values{"timeframe": {tc.tf}}
		if tc.cf != "" {
			q.Set("cf", tc.cf)
		}
		_, a, err := c.read(ctx, "/"+tc.path, q)
		if err != nil {
			t.Fatal(err)
		}
		what := tc.path + "/" + tc.tf
		fast := &RRDSeries{Fields: tc.fields, Values: make([][]float64, len(tc.fields))}
		if !scanRRDSeries(a.body, fast) {
			t.Fatalf("%s: the scanner did not take the simulator's answer", what)
		}
		want, err := viaRows(a.body, tc.fields)
		if err != nil {
			t.Fatal(err)
		}
		sameSeries(t, what, fast, want)
		if fast.Len() < 60 {
			t.Errorf("%s: %d rows", what, fast.Len())
		}
		defined := 0
		for _, col := range fast.Values {
			for _, v := range col {
				if !math.IsNaN(v) {
					defined++
				}
			}
		}
		if len(tc.fields) > 0 && defined == 0 {
			t.Errorf("%s: no value read", what)
		}
	}

	s, err := c.GuestRRDSeries(ctx, "pve-node01", TypeQemu, 100, "week", "", "cpu", "mem")
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 336 || len(s.Column("cpu")) != 336 || s.Column("netin") != nil || s.Time[1]-s.Time[0] != 1800 {
		t.Errorf("guest week: %d rows, step %d", s.Len(), s.Time[1]-s.Time[0])
	}
	if _, err := c.NodeRRDSeries(ctx, "pve-node03", "decade", "", "memused"); err != nil {
		t.Error(err)
	}
	if _, err := c.StorageRRDSeries(ctx, "pve-node03", "local-zfs", "week", "", "used"); err != nil {
		t.Error(err)
	}
	for _, bad := range []func() error{
		func() error { _, err := c.NodeRRDSeries(ctx, "pve-node03", "decadeX", ""); return err },
		func() error { _, err := c.GuestRRDSeries(ctx, "pve-node03", TypeQemu, 100, "decade", ""); return err },
		func() error { _, err := c.GuestRRDSeries(ctx, "pve-node03", TypeQemu, 100, "week", "MIN"); return err },
		func() error { _, err := c.StorageRRDSeries(ctx, "pve-node03", "../x", "hour", ""); return err },
	} {
		if err := bad(); KindOf(err) != KindInvalid {
			t.Errorf("want invalid, got %v", err)
		}
	}
	if _, err := c.GuestRRDSeries(ctx, "pve-node01", TypeQemu, 99999, "week", "", "cpu"); KindOf(err) == "" {
		t.Errorf("unknown guest: %v", err)
	}
}

// rrdBodies are answers in and outside the plain shape: the scanner takes
// the plain ones, the rest go the general way; all must agree.
var rrdBodies = []string{
	`{"data":[{"time":60,"cpu":0.5,"mem":1024},{"time":120,"mem":2048},{"time":180}]}`,
	` { "data" : [ { "cpu" : 1e-7 , "time" : 60 } , {"time":120,"cpu":-0.0,"mem":1E+3} ] } ` + "\n",
	`{"data":[]}`,
	`{"data":[{}]}`,
	`{"data":[{"time":"100","cpu":"0.5","mem":3,"x":"","y":null,"z":"N/A","w":true,"v":false}]}`,
	`{"data":[{"time":100,"cpu":" 0.25 ","mem":"NaN","netin":"Inf"}]}`,
	`{"data":[{"time":100,"cpu":0.5,"cpu":null},{"time":160,"mem":1,"mem":2}]}`,
	`{"data":[{"time":100,"cpu":1e400,"mem":-1e400}]}`,
	`{"data":[{"time":1.7e9,"cpu":0.1}]}`,
	`{"data":[{"time":"x","cpu":0.1}]}`,
	`{"data":[{"time":null,"cpu":0.1}]}`,
	`{"data":[{"time":100,"c\u0070u":0.25}]}`,
	`{"data":[{"time":100,"cpu":"0.\u0035"}]}`,
	`{"data":[{"time":100,"cpu":{"x":1},"mem":[1]}]}`,
	`{"data":[{"time":100,"cpu":0.5}],"total":1}`,
	`{"total":1,"data":[{"time":100,"cpu":0.5}]}`,
	`{"data":null}`,
	`{"data":[null,{"time":1}]}`,
	`{"data":[{"time":100,"cpu":0.5}]`,
	`{"data":[{"time":100,"cpu":0.5},]}`,
	`{"data":[{"time":100,"cpu":01}]}`,
	`{"data":[{"time":100,"cpu":.5}]}`,
	`{"data":[{"time":100,"cpu":1.}]}`,
	`{"data":[{"time":100,"cpu":0.5}]}x`,
	`{"data":[{"time":100,"cpu":"a` + "\x01" + `b"}]}`,
	`{"data":[{"time":100,"cpu":"` + "\xff" + `"}]}`,
	`{"data":[{"time":100,"cpu":nul}]}`,
	`{"data":{"time":100}}`,
	`[]`,
	``,
}

func TestRRDSeriesEdgeCases(t *testing.T) {
	fields := []string{"cpu", "mem", "netin"}
	scanned := 0
	for _, b := range rrdBodies {
		got, gerr := decodeRRDSeries([]byte(b), fields, "GET", "/x")
		want, werr := viaRows([]byte(b), fields)
		if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
			t.Fatalf("%q: err %v, want %v", b, gerr, werr)
		}
		if werr == nil {
			sameSeries(t, b, got, want)
		} else if KindOf(gerr) != KindNotProxmox {
			t.Errorf("%q: kind %s", b, KindOf(gerr))
		}
		if scanRRDSeries([]byte(b), &RRDSeries{Fields: fields, Values: make([][]float64, 3)}) {
			scanned++
			if werr != nil {
				t.Errorf("scanner took %q, which the general decoder refuses: %v", b, werr)
			}
		}
	}
	if scanned < 8 {
		t.Errorf("scanner took only %d bodies", scanned)
	}
	s, err := decodeRRDSeries([]byte(rrdBodies[0]), fields, "GET", "/x")
	if err != nil {
		t.Fatal(err)
	}
	if s.Column("cpu")[0] != 0.5 || !math.IsNaN(s.Column("cpu")[1]) || s.Column("mem")[1] != 2048 || s.Time[2] != 180 {
		t.Errorf("%+v", s)
	}
}

// FuzzRRDSeries checks that whatever the scanner takes, the general decoder
// takes too and reads the same way; and that the scanner never panics.
func FuzzRRDSeries(f *testing.F) {
	for _, b := range rrdBodies {
		f.Add(b)
	}
	fields := []string{"cpu", "mem", "time"}
	f.Fuzz(func(t *testing.T, b string) {
		got := &RRDSeries{Fields: fields, Values: make([][]float64, len(fields))}
		if !scanRRDSeries([]byte(b), got) {
			return
		}
		if !json.Valid([]byte(b)) {
			t.Fatalf("scanner took invalid JSON %q", b)
		}
		want, err := viaRows([]byte(b), fields)
		if err != nil {
			t.Fatalf("scanner took %q, the general decoder refuses: %v", b, err)
		}
		sameSeries(t, b, got, want)
	})
}

func BenchmarkRRDSeriesDecode(b *testing.B) {
	row := `{"cpu":0.0241803278688525,"disk":0,"diskread":15324.4833333333,"diskwrite":9876.1,"maxcpu":4,"maxdisk":34359738368,` +
		`"maxmem":8589934592,"mem":4123456789,"memhost":4223456789,"netin":15324.4833333333,"netout":9876.1,"pressurecpufull":0,` +
		`"pressurecpusome":0,"pressureiofull":0,"pressureiosome":0,"pressurememoryfull":0,"pressurememorysome":0,"time":1755693480}`
	body := []byte(`{"data":[` + strings.TrimSuffix(strings.Repeat(row+",", 336), ",") + `]}`)
	b.SetBytes(int64(len(body)))
	b.Run("series", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if s, err := decodeRRDSeries(body, []string{"cpu", "mem"}, "GET", "/x"); err != nil || s.Len() != 336 {
				b.Fatal(err)
			}
		}
	})
	b.Run("rows", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var rows []RRDRow
			if err := decodeAnswer(body, &rows, "GET", "/x"); err != nil || len(rows) != 336 {
				b.Fatal(err)
			}
		}
	})
}
