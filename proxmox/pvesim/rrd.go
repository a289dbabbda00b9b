package pvesim

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
)

// rrdFrame is the step and point count of one RRD timeframe (NOTES §2.9).
func (s *Sim) rrdFrame(tf string) (step int64, points int) {
	if s.ver >= 9 {
		switch tf {
		case "hour":
			return 60, 60
		case "day":
			return 60, 1440
		case "week":
			return 1800, 336
		case "month":
			return 1800, 1440
		case "year":
			return 21600, 1440
		case "decade":
			return 604800, 570
		}
	}
	switch tf {
	case "hour":
		return 60, 60
	case "day":
		return 1800, 70
	case "week":
		return 10800, 70
	case "month":
		return 43200, 70
	case "year", "decade":
		return 604800, 70
	}
	return 60, 60
}

// rrdTimes lists the bucket times, aligned to the step, oldest first; the
// current (incomplete) bucket is left out as PVE drops it.
func (s *Sim) rrdTimes(tf string) ([]time.Time, int64) {
	step, n := s.rrdFrame(tf)
	end := s.now().Unix() / step * step
	out := make([]time.Time, n)
	for i := 0; i < n; i++ {
		out[i] = time.Unix(end-int64(n-i)*step, 0)
	}
	return out, step
}

// sampleMax evaluates f over a bucket: the average is f at the bucket's
// middle; MAX takes the largest of a few samples.
func sampleMax(t time.Time, step int64, cf string, f func(time.Time) float64) float64 {
	mid := t.Add(time.Duration(step/2) * time.Second)
	if cf != "MAX" {
		return f(mid)
	}
	m := math.Inf(-1)
	for i := int64(0); i < 4; i++ {
		m = math.Max(m, f(t.Add(time.Duration(step*i/4)*time.Second)))
	}
	return m
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// avgSamples is how many primary points an AVERAGE row of the simulator
// consolidates. rrdtool averages the primary data points of a step, so
// byte gauges come out fractional ("mem": 8468508117.03333) although
// every sample was a whole number of bytes.
const avgSamples = 3 // guestMemAvg computes exactly three

// bucketAvg is the mean of f at avgSamples points spread evenly over the
// bucket (the middle one is the bucket's middle).
func bucketAvg(t time.Time, step int64, f func(time.Time) float64) float64 {
	sum := 0.0
	for i := int64(0); i < avgSamples; i++ {
		sum += f(t.Add(time.Duration(step*(2*i+1)/(2*avgSamples)) * time.Second))
	}
	return sum / avgSamples
}

// guestMemAvg is a guest's average mem and memhost over a bucket, at the
// points bucketAvg uses; mid is its usage at the bucket's middle, already
// known, so only the memory of the other two points is computed.
func (s *Sim) guestMemAvg(g *Guest, t time.Time, step, maxmem int64, mid guestUsage) (mem, memHost float64) {
	a, ah := s.guestMemAt(g, t.Add(time.Duration(step/(2*avgSamples))*time.Second), maxmem)
	c, ch := s.guestMemAt(g, t.Add(time.Duration(step*(2*avgSamples-1)/(2*avgSamples))*time.Second), maxmem)
	return (float64(a) + float64(mid.Mem) + float64(c)) / avgSamples, (float64(ah) + float64(mid.MemHost) + float64(ch)) / avgSamples
}

// RRD answers are the simulator's largest (a capacity report reads a week
// of every running guest: 1,000 × 336 rows), so they are written straight
// to JSON instead of through a map per row. The bytes are those
// encoding/json wrote for the maps: keys in sorted order (each builder
// below writes them so), encoding/json's number format. The tests compare
// both encoders over every kind of row.

// rrdWriter accumulates the rows of one answer.
type rrdWriter struct {
	b     []byte
	first bool // no field written yet in the current row
	// bad is the first value that is not finite, in encoding order:
	// encoding/json refuses those, and so must the answer.
	bad *map[string]any
}

func newRRDWriter(rows, fields int) *rrdWriter {
	return &rrdWriter{b: make([]byte, 0, 2+rows*(fields*22+8))}
}

func (w *rrdWriter) begin() {
	if len(w.b) == 0 {
		w.b = append(w.b, '[', '{')
	} else {
		w.b = append(w.b, ',', '{')
	}
	w.first = true
}

func (w *rrdWriter) key(k string) {
	if !w.first {
		w.b = append(w.b, ',')
	}
	w.first = false
	w.b = append(w.b, '"')
	w.b = append(w.b, k...) // data-source names need no escaping
	w.b = append(w.b, '"', ':')
}

func (w *rrdWriter) int(k string, v int64) {
	w.key(k)
	w.b = strconv.AppendInt(w.b, v, 10)
}

func (w *rrdWriter) float(k string, v float64) {
	if (math.IsNaN(v) || math.IsInf(v, 0)) && w.bad == nil {
		w.bad = &map[string]any{k: v}
	}
	w.key(k)
	w.b = appendJSONFloat(w.b, v)
}

// fixed writes fields encoded once per answer (a guest's allocation).
func (w *rrdWriter) fixed(enc []byte) {
	if !w.first {
		w.b = append(w.b, ',')
	}
	w.first = false
	w.b = append(w.b, enc...)
}

func (w *rrdWriter) end() { w.b = append(w.b, '}') }

// encodeFixed encodes integer fields for rrdWriter.fixed.
func encodeFixed(kv ...any) []byte {
	var w rrdWriter
	w.first = true
	for i := 0; i < len(kv); i += 2 {
		w.int(kv[i].(string), kv[i+1].(int64))
	}
	return w.b
}

// rrdJSON is an encoded RRD answer (an array of row objects).
type rrdJSON []byte

// MarshalJSON returns the bytes already written.
func (r rrdJSON) MarshalJSON() ([]byte, error) { return r, nil }

// result is the answer. After a value that is not finite it is a map
// holding that value, which encoding/json refuses with the very error it
// gave when every row was a map.
func (w *rrdWriter) result() any {
	if w.bad != nil {
		return []map[string]any{*w.bad}
	}
	if len(w.b) == 0 {
		return rrdJSON("[]")
	}
	return rrdJSON(append(w.b, ']'))
}

// appendJSONFloat formats f as encoding/json formats a float64: shortest
// representation, 'f' form between 1e-6 and 1e21, else 'e' form with a
// one-digit negative exponent written without padding (1e-7, not 1e-07).
func appendJSONFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	// Whole numbers (zero pressures, byte counts) print as integers; below
	// 1e15 a float64 holds them exactly, so the digits are the same.
	if abs < 1e15 && f == math.Trunc(f) {
		if f == 0 && math.Signbit(f) {
			return append(b, '-', '0')
		}
		return strconv.AppendInt(b, int64(f), 10)
	}
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

func (s *Sim) nodeRRD(n *Node, tf, cf string) any {
	times, step := s.rrdTimes(tf)
	guests := s.st.guestsOn(n.Name)
	w := newRRDWriter(len(times), 20)
	roots := encodeFixed("roottotal", n.RootTotal, "rootused", n.RootUsed, "swaptotal", n.SwapTotal, "swapused", n.SwapUsed)
	offline := s.nodeOffline(n.Name)
	nowUnix := s.now().Unix()
	for _, t := range times {
		w.begin()
		if offline && t.Unix() > nowUnix-2*step {
			w.int("time", t.Unix())
			w.end()
			continue
		}
		var u nodeUsage
		get := func(tt time.Time) float64 { u = s.nodeUsageAt(n, tt, guests); return u.CPU }
		cpu := sampleMax(t, step, cf, get)
		memUsed := float64(u.MemUsed)
		if cf != "MAX" {
			memUsed = bucketAvg(t, step, func(tt time.Time) float64 { return float64(s.nodeUsageAt(n, tt, guests).MemUsed) })
		}
		if s.ver >= 9 {
			w.int("arcsize", n.ARC)
		}
		w.float("cpu", cpu)
		w.float("iowait", u.IOWait)
		w.float("loadavg", round3(u.Load))
		w.int("maxcpu", int64(n.CPUs))
		if s.ver >= 9 {
			w.float("memavailable", float64(n.MemTotal+n.ARC)-memUsed)
		}
		w.int("memtotal", n.MemTotal)
		w.float("memused", memUsed)
		w.float("netin", u.NetIn)
		w.float("netout", u.NetOut)
		if s.ver >= 9 {
			w.float("pressurecpusome", round3(math.Max(0, (u.CPU-0.5)*20)))
			w.float("pressureiofull", round3(u.IOWait*8))
			w.float("pressureiosome", round3(u.IOWait*10))
			mp := math.Max(0, (memUsed/float64(n.MemTotal)-0.85)*10)
			w.float("pressurememoryfull", round3(mp*0.8))
			w.float("pressurememorysome", round3(mp))
		}
		w.fixed(roots)
		w.int("time", t.Unix())
		w.end()
	}
	return w.result()
}

func (s *Sim) guestRRD(g *Guest, tf, cf string) any {
	times, step := s.rrdTimes(tf)
	w := newRRDWriter(len(times), 18)
	maxmem := g.MemBytes()
	alloc := encodeFixed("maxcpu", int64(g.Cores()), "maxdisk", g.BootDiskSize(), "maxmem", maxmem)
	for _, t := range times {
		w.begin()
		if t.Before(g.Created) {
			w.int("time", t.Unix())
			w.end()
			continue
		}
		mid := t.Add(time.Duration(step/2) * time.Second)
		if !s.runningAt(g, mid) {
			w.int("disk", 0)
			w.fixed(alloc)
			w.int("time", t.Unix())
			w.end()
			continue
		}
		var u guestUsage
		cpu := sampleMax(t, step, cf, func(tt time.Time) float64 { u = s.guestUsageAt(g, tt); return u.CPU })
		mem, memHost := float64(u.Mem), float64(u.MemHost)
		if cf != "MAX" {
			mem, memHost = s.guestMemAvg(g, t, step, maxmem, u)
		}
		w.float("cpu", cpu)
		w.int("disk", u.Disk)
		w.float("diskread", u.DiskRead)
		w.float("diskwrite", u.DiskWrite)
		w.fixed(alloc)
		w.float("mem", mem)
		if s.ver >= 9 {
			w.float("memhost", memHost)
		}
		w.float("netin", u.NetIn)
		w.float("netout", u.NetOut)
		if s.ver >= 9 {
			w.float("pressurecpufull", round3(math.Max(0, (u.CPU-0.7)*8)))
			w.float("pressurecpusome", round3(math.Max(0, (u.CPU-0.6)*10)))
			w.float("pressureiofull", 0)
			w.float("pressureiosome", 0)
			mp := math.Max(0, (mem/float64(maxmem)-0.9)*20)
			w.float("pressurememoryfull", round3(mp*0.5))
			w.float("pressurememorysome", round3(mp))
		}
		w.int("time", t.Unix())
		w.end()
	}
	return w.result()
}

func (s *Sim) storageRRD(si *StorageInst, tf, cf string) any {
	times, step := s.rrdTimes(tf)
	w := newRRDWriter(len(times), 3)
	oldest := s.now().Unix() - int64(10*365*86400)
	for _, t := range times {
		w.begin()
		mid := t.Add(time.Duration(step/2) * time.Second)
		if mid.Unix() < oldest {
			w.int("time", t.Unix())
			w.end()
			continue
		}
		used := sampleMax(t, step, cf, func(tt time.Time) float64 { return float64(s.instUsedAt(si, tt)) })
		w.int("time", t.Unix())
		w.float("total", float64(s.instTotal(si, mid)))
		w.float("used", used)
		w.end()
	}
	return w.result()
}

var _ json.Marshaler = rrdJSON(nil)
