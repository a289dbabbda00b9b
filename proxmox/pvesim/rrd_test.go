package pvesim

import (
	"bytes"
	"encoding/json"
	"math"
	"net/url"
	"sort"
	"testing"
	"time"
)

// The reference encoders below build every row as a map and leave the
// encoding to encoding/json, as the simulator did before it wrote RRD rows
// directly. The direct writer must produce the same bytes.

func refNodeRRD(s *Sim, n *Node, tf, cf string) []map[string]any {
	times, step := s.rrdTimes(tf)
	guests := s.st.guestsOn(n.Name)
	out := make([]map[string]any, 0, len(times))
	for _, t := range times {
		e := map[string]any{"time": t.Unix()}
		if s.nodeOffline(n.Name) && t.Unix() > s.now().Unix()-2*step {
			out = append(out, e)
			continue
		}
		var u nodeUsage
		get := func(tt time.Time) float64 { u = s.nodeUsageAt(n, tt, guests); return u.CPU }
		e["cpu"] = sampleMax(t, step, cf, get)
		memUsed := float64(u.MemUsed)
		if cf != "MAX" {
			memUsed = 0
			for _, off := range []int64{step / 6, step / 2, step * 5 / 6} {
				memUsed += float64(s.nodeUsageAt(n, t.Add(time.Duration(off)*time.Second), guests).MemUsed)
			}
			memUsed /= 3
		}
		e["maxcpu"] = n.CPUs
		e["iowait"] = u.IOWait
		e["loadavg"] = round3(u.Load)
		e["memtotal"] = n.MemTotal
		e["memused"] = memUsed
		e["swaptotal"] = n.SwapTotal
		e["swapused"] = n.SwapUsed
		e["roottotal"] = n.RootTotal
		e["rootused"] = n.RootUsed
		e["netin"] = u.NetIn
		e["netout"] = u.NetOut
		if s.ver >= 9 {
			e["memavailable"] = float64(n.MemTotal+n.ARC) - memUsed
			e["arcsize"] = n.ARC
			e["pressurecpusome"] = round3(math.Max(0, (u.CPU-0.5)*20))
			e["pressureiosome"] = round3(u.IOWait * 10)
			e["pressureiofull"] = round3(u.IOWait * 8)
			mp := math.Max(0, (memUsed/float64(n.MemTotal)-0.85)*10)
			e["pressurememorysome"] = round3(mp)
			e["pressurememoryfull"] = round3(mp * 0.8)
		}
		out = append(out, e)
	}
	return out
}

func refGuestRRD(s *Sim, g *Guest, tf, cf string) []map[string]any {
	times, step := s.rrdTimes(tf)
	out := make([]map[string]any, 0, len(times))
	maxdisk := g.BootDiskSize()
	for _, t := range times {
		if t.Before(g.Created) {
			out = append(out, map[string]any{"time": t.Unix()})
			continue
		}
		e := map[string]any{"time": t.Unix(), "maxcpu": g.Cores(), "maxmem": g.MemBytes(), "maxdisk": maxdisk, "disk": 0}
		mid := t.Add(time.Duration(step/2) * time.Second)
		if s.runningAt(g, mid) {
			var u guestUsage
			e["cpu"] = sampleMax(t, step, cf, func(tt time.Time) float64 { u = s.guestUsageAt(g, tt); return u.CPU })
			mem, memHost := float64(u.Mem), float64(u.MemHost)
			if cf != "MAX" {
				mem, memHost = 0, 0
				for _, off := range []int64{step / 6, step / 2, step * 5 / 6} {
					x := s.guestUsageAt(g, t.Add(time.Duration(off)*time.Second))
					mem += float64(x.Mem)
					memHost += float64(x.MemHost)
				}
				mem, memHost = mem/3, memHost/3
			}
			e["mem"] = mem
			e["disk"] = u.Disk
			e["netin"] = u.NetIn
			e["netout"] = u.NetOut
			e["diskread"] = u.DiskRead
			e["diskwrite"] = u.DiskWrite
			if s.ver >= 9 {
				e["memhost"] = memHost
				e["pressurecpusome"] = round3(math.Max(0, (u.CPU-0.6)*10))
				e["pressurecpufull"] = round3(math.Max(0, (u.CPU-0.7)*8))
				e["pressureiosome"] = 0.0
				e["pressureiofull"] = 0.0
				mp := math.Max(0, (mem/float64(g.MemBytes())-0.9)*20)
				e["pressurememorysome"] = round3(mp)
				e["pressurememoryfull"] = round3(mp * 0.5)
			}
		}
		out = append(out, e)
	}
	return out
}

func refStorageRRD(s *Sim, si *StorageInst, tf, cf string) []map[string]any {
	times, step := s.rrdTimes(tf)
	out := make([]map[string]any, 0, len(times))
	for _, t := range times {
		mid := t.Add(time.Duration(step/2) * time.Second)
		if mid.Unix() < s.now().Unix()-int64(10*365*86400) {
			out = append(out, map[string]any{"time": t.Unix()})
			continue
		}
		used := sampleMax(t, step, cf, func(tt time.Time) float64 { return float64(s.instUsedAt(si, tt)) })
		out = append(out, map[string]any{"time": t.Unix(), "total": float64(s.instTotal(si, mid)), "used": used})
	}
	return out
}

// sameRRDBytes encodes both forms the way the server does and compares.
func sameRRDBytes(t *testing.T, what string, got any, want []map[string]any) {
	t.Helper()
	g, err := marshalData(got)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	w, err := marshalData(want)
	if err != nil {
		t.Fatalf("%s reference: %v", what, err)
	}
	if !bytes.Equal(g, w) {
		i := 0
		for i < len(g) && i < len(w) && g[i] == w[i] {
			i++
		}
		lo := max(0, i-80)
		t.Fatalf("%s: bytes differ at %d of %d/%d:\n got %s\nwant %s", what, i, len(g), len(w), g[lo:min(len(g), i+80)], w[lo:min(len(w), i+80)])
	}
}

func TestRRDWriterMatchesEncodingJSON(t *testing.T) {
	frames := []string{"hour", "day", "week", "month", "year"}
	for _, tc := range []struct {
		name string
		opts Options
		full bool // every frame for the first targets
	}{
		{"demo-pve9", Options{}, true},
		{"demo-pve8", Options{PVEVersion: 8}, true},
		{"generated-pve9", Options{Generate: "nodes=3,guests=40,seed=7"}, false},
		{"generated-pve8", Options{Generate: "nodes=3,guests=40,seed=11", PVEVersion: 8}, true},
		{"unaligned-clock", Options{Generate: "nodes=2,guests=12", Now: func() time.Time { return fixedNow.Add(17*time.Minute + 23*time.Second) }}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startSim(t, tc.opts)
			nodes := s.Nodes()
			s.SetFault(nodes[len(nodes)-1], Fault{Offline: true})
			s.mu.Lock()
			defer s.mu.Unlock()
			// Stopped guests first, then running ones; one guest created
			// inside every window, so rows before its creation (time only)
			// are covered too.
			guests := s.st.sortedGuests()
			sort.SliceStable(guests, func(i, j int) bool { return guests[i].Status != "running" && guests[j].Status == "running" })
			guests = guests[:min(len(guests), 8)]
			guests[len(guests)-1].Created = s.now().Add(-26 * time.Hour)
			// Every frame and consolidation for the first target of each
			// kind, one short frame each for the rest: the rows are the same
			// code whatever the frame, and the race detector is slow.
			type combo struct{ tf, cf string }
			short := []combo{{"hour", ""}, {"hour", "MAX"}, {"week", ""}, {"week", "MAX"}}
			all := append([]combo(nil), short...)
			for _, tf := range frames {
				if tf != "hour" && tf != "week" {
					all = append(all, combo{tf, ""}) // long: MAX is covered above
				}
			}
			pick := func(i int) []combo {
				if i == 0 && tc.full {
					return all
				}
				return []combo{short[i%len(short)]}
			}
			kinds := map[string]bool{}
			for i, g := range guests {
				kinds[g.Status] = true
				for _, c := range pick(i) {
					sameRRDBytes(t, g.Type+"/"+itoa(g.VMID)+"/"+c.tf+"/"+c.cf, s.guestRRD(g, c.tf, c.cf), refGuestRRD(s, g, c.tf, c.cf))
				}
				sameRRDBytes(t, "week of every guest", s.guestRRD(g, "week", ""), refGuestRRD(s, g, "week", ""))
			}
			if !kinds["running"] || !kinds["stopped"] {
				t.Errorf("guest states covered: %v", kinds)
			}
			for i, n := range nodes {
				// The last node is offline: its newest rows hold only time.
				cs := append(pick(i), combo{"hour", "MAX"})
				if i == 1 {
					cs = append(cs, combo{"decade", ""})
				}
				for _, c := range cs {
					sameRRDBytes(t, n+"/"+c.tf+"/"+c.cf, s.nodeRRD(s.st.node(n), c.tf, c.cf), refNodeRRD(s, s.st.node(n), c.tf, c.cf))
				}
			}
			ids := make([]string, 0, len(s.st.insts))
			for id := range s.st.insts {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			for i, id := range ids {
				si := s.st.insts[id]
				for _, c := range pick(i) {
					sameRRDBytes(t, id+"/"+c.tf+"/"+c.cf, s.storageRRD(si, c.tf, c.cf), refStorageRRD(s, si, c.tf, c.cf))
				}
			}
		})
	}
}

// TestRRDOverHTTP checks the answer as a client reads it: the envelope
// around the rows, and rows that decode to the documented shape.
func TestRRDOverHTTP(t *testing.T) {
	s := startSim(t, Options{})
	r := call(t, s, "operator", "GET", "/nodes/pve-node01/qemu/100/rrddata", url.Values{"timeframe": {"week"}})
	mustOK(t, r)
	if !bytes.HasPrefix(r.Body, []byte(`{"data":[{"`)) || !bytes.HasSuffix(r.Body, []byte(`}]}`)) {
		t.Fatalf("body %.80s … %s", r.Body, r.Body[max(0, len(r.Body)-40):])
	}
	s.mu.RLock()
	want, err := json.Marshal(refGuestRRD(s, s.st.guest(100), "week", ""))
	s.mu.RUnlock()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.Data, want) {
		t.Errorf("data differs from encoding/json's")
	}
	rows := decode[[]map[string]any](t, r)
	if len(rows) != 336 {
		t.Fatalf("%d rows", len(rows))
	}
	last := rows[len(rows)-1]
	for _, k := range []string{"time", "cpu", "mem", "maxmem", "maxcpu", "netin", "memhost"} {
		if _, ok := last[k]; !ok {
			t.Errorf("newest row lacks %s: %v", k, last)
		}
	}
}

func TestAppendJSONFloat(t *testing.T) {
	vals := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e-6, 9.99999e-7, 1e-7, 1.5e-7, 1e-10, 1e-100, 1e20, 1e21, 1.234e21,
		123456789012345678, 999999999999999, 1e15, 1e15 + 1, 9007199254740993, 4.9e-324, 3, -3, 0.5, -2.5, math.MaxFloat64, -math.MaxFloat64, 0.0241803278688525, 15324.4833333333, 67219447808, -2.5e-8}
	for _, v := range vals {
		want, _ := json.Marshal(v)
		if got := appendJSONFloat(nil, v); string(got) != string(want) {
			t.Errorf("%v: got %s want %s", v, got, want)
		}
	}
	// Many values from the simulator's own ranges.
	x := 0.000123
	for i := 0; i < 20000; i++ {
		x = x*1.37 + float64(i%7)*1e-9
		if x > 1e25 {
			x = x / 3.3e27
		}
		for _, v := range []float64{x, -x, math.Round(x), -math.Round(x), x * 1e-6, math.Trunc(x * 1e9)} {
			want, _ := json.Marshal(v)
			if got := appendJSONFloat(nil, v); string(got) != string(want) {
				t.Fatalf("%v: got %s want %s", v, got, want)
			}
		}
	}
}

// A value that is not finite fails the answer as encoding/json did (500,
// same message) instead of writing invalid JSON.
func TestRRDWriterNonFinite(t *testing.T) {
	rows := []map[string]any{{"cpu": 0.5, "time": 60}, {"cpu": math.Inf(1), "mem": math.NaN(), "time": 120}}
	_, want := json.Marshal(rows)
	w := newRRDWriter(2, 2)
	for _, r := range rows {
		w.begin()
		w.float("cpu", r["cpu"].(float64))
		if v, ok := r["mem"]; ok {
			w.float("mem", v.(float64))
		}
		w.int("time", int64(r["time"].(int)))
		w.end()
	}
	_, err := marshalData(w.result())
	if want == nil || err == nil || err.Error() != want.Error() {
		t.Fatalf("err %v, want %v", err, want)
	}
	w = newRRDWriter(1, 3)
	w.begin()
	w.fixed(encodeFixed("a", int64(2), "b", int64(-1)))
	w.int("time", 60)
	w.end()
	w.begin()
	w.fixed(encodeFixed("a", int64(2)))
	w.end()
	if b, err := marshalData(w.result()); err != nil || string(b) != `[{"a":2,"b":-1,"time":60},{"a":2}]` {
		t.Fatalf("%s %v", b, err)
	}
	if b, _ := marshalData(newRRDWriter(0, 1).result()); string(b) != "[]" {
		t.Errorf("empty: %s", b)
	}
}

// BenchmarkGuestRRDWeek is one guest's week answer, built and encoded as
// the server does (the bulk of a capacity report's reads).
func BenchmarkGuestRRDWeek(b *testing.B) {
	s := startSim(b, Options{})
	g := s.st.guest(100)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := marshalData(s.guestRRD(g, "week", "")); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGuestRRDWeekBuildOnly is the same answer without the encoding
// step: the difference is encoding/json re-validating the bytes it gets
// from rrdJSON.MarshalJSON.
func BenchmarkGuestRRDWeekBuildOnly(b *testing.B) {
	s := startSim(b, Options{})
	g := s.st.guest(100)
	b.ReportAllocs()
	for b.Loop() {
		_ = s.guestRRD(g, "week", "")
	}
}

// BenchmarkGuestRRDWeekMaps is the same answer built as maps and encoded by
// encoding/json, as before.
func BenchmarkGuestRRDWeekMaps(b *testing.B) {
	s := startSim(b, Options{})
	g := s.st.guest(100)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := marshalData(refGuestRRD(s, g, "week", "")); err != nil {
			b.Fatal(err)
		}
	}
}
