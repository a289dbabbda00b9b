package tools

import (
	"encoding/json"
	"reflect"
	"runtime"
	rtmetrics "runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pvemcp/pvemcp/analyze"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
)

// TestCapacityHistoryMatchesRows checks that the capacity report's one-pass
// RRD reading (two columns per guest, reduced as each answer arrives) gives
// exactly what reading every row as a map gives, on a cluster whose clock
// stands still so both reads see the same answers.
func TestCapacityHistoryMatchesRows(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 17, 41, 0, time.UTC)
	c := simEnv(t, pvesim.Options{Generate: "nodes=3,guests=45,seed=3", Listen: "127.0.0.1:0",
		Now: func() time.Time { return now }}, nil).client
	ctx := t.Context()
	res, err := c.Resources(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var in analyze.CapacityInput
	nodeIdx := map[string]int{}
	for _, r := range res {
		if r.Type == "node" {
			nodeIdx[r.Node] = len(in.Nodes)
			in.Nodes = append(in.Nodes, analyze.CapNode{Name: r.Node, Online: r.Status == "online"})
		}
	}
	for _, r := range res {
		switch {
		case r.Type == "storage":
			i := nodeIdx[r.Node]
			in.Nodes[i].Storages = append(in.Nodes[i].Storages, analyze.CapStorage{Storage: r.Storage, TotalBytes: uint64(r.MaxDisk),
				GuestDisks: !bool(r.Shared) && (strings.Contains(r.Content, "images") || strings.Contains(r.Content, "rootdir"))})
		case r.IsGuest():
			in.Guests = append(in.Guests, analyze.CapGuest{VMID: int(r.VMID), Type: r.Type, Node: r.Node, Running: r.Status == "running",
				Template: bool(r.Template)})
		}
	}
	readCapacityHistory(ctx, c, &in, "week")

	// The reference: rows of maps, as the report read them before.
	withHistory := 0
	for _, g := range in.Guests {
		if !g.Running || g.Template {
			if g.HistorySamples != 0 {
				t.Errorf("%d is not running but has history", g.VMID)
			}
			continue
		}
		rows, err := c.GuestRRD(ctx, g.Node, proxmox.GuestType(g.Type), g.VMID, "week", "")
		if err != nil {
			t.Fatal(err)
		}
		var cpu, mem []analyze.Point
		for _, x := range rows {
			if v, ok := x.Values["cpu"]; ok {
				cpu = append(cpu, analyze.Point{Time: x.Time, Value: v})
			}
			if v, ok := x.Values["mem"]; ok {
				mem = append(mem, analyze.Point{Time: x.Time, Value: v})
			}
		}
		want := analyze.CapGuest{VMID: g.VMID}
		cs, okc := analyze.Summarize(cpu)
		ms, okm := analyze.Summarize(mem)
		if okc && okm {
			want.HistorySamples = ms.Count
			want.CPUAvgFraction, want.CPUP95Fraction = cs.Avg, cs.P95
			want.MemAvgBytes, want.MemP95Bytes = ms.Avg, ms.P95
			withHistory++
		}
		got := analyze.CapGuest{VMID: g.VMID, HistorySamples: g.HistorySamples, CPUAvgFraction: g.CPUAvgFraction,
			CPUP95Fraction: g.CPUP95Fraction, MemAvgBytes: g.MemAvgBytes, MemP95Bytes: g.MemP95Bytes}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("guest %d: got %+v, want %+v", g.VMID, got, want)
		}
	}
	if withHistory < 10 {
		t.Errorf("only %d guests with history", withHistory)
	}
	forecasts := 0
	for _, n := range in.Nodes {
		rows, err := c.NodeRRD(ctx, n.Name, "week", "")
		if err != nil {
			t.Fatal(err)
		}
		var want []analyze.Point
		for _, x := range rows {
			if v, ok := x.Values["memused"]; ok {
				want = append(want, analyze.Point{Time: x.Time, Value: v})
			}
		}
		if len(want) == 0 || !reflect.DeepEqual(n.MemHistory, want) {
			t.Errorf("%s memory history: %d points, want %d", n.Name, len(n.MemHistory), len(want))
		}
		for _, s := range n.Storages {
			if !s.GuestDisks || s.TotalBytes == 0 {
				if s.History != nil {
					t.Errorf("%s/%s: history read though it holds no guest disk", n.Name, s.Storage)
				}
				continue
			}
			rows, err := c.StorageRRD(ctx, n.Name, s.Storage, "week", "")
			if err != nil {
				t.Fatal(err)
			}
			var want []analyze.Point
			for _, x := range rows {
				if v, ok := x.Values["used"]; ok {
					want = append(want, analyze.Point{Time: x.Time, Value: v})
				}
			}
			if !reflect.DeepEqual(s.History, want) {
				t.Errorf("%s/%s history: %d points, want %d", n.Name, s.Storage, len(s.History), len(want))
			}
			forecasts++
		}
	}
	if forecasts == 0 {
		t.Error("no storage history compared")
	}
}

// BenchmarkCapacityReportHistoryHeap is BenchmarkCapacityReport32x1000History
// (a week of RRD for every running guest of a generated 32-node, 1,000-guest
// cluster) reporting the peak live heap during a call, simulator included,
// sampled every millisecond: the answers must be reduced as they arrive,
// not held.
func BenchmarkCapacityReportHistoryHeap(b *testing.B) {
	e := generatedEnv(b, "nodes=32,guests=1000")
	sample := []rtmetrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	heap := func() float64 {
		rtmetrics.Read(sample)
		return float64(sample[0].Value.Uint64()) / (1 << 20)
	}
	var peak, idle float64
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		idle = max(idle, heap())
		stop, done := make(chan struct{}), sync.WaitGroup{}
		done.Add(1)
		go func() {
			defer done.Done()
			t := time.NewTicker(time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					peak = max(peak, heap())
				}
			}
		}()
		b.StartTimer()
		res, err := e.srv.Call(b.Context(), "capacity_report", json.RawMessage(`{}`))
		b.StopTimer()
		close(stop)
		done.Wait()
		if err != nil || res.IsError {
			b.Fatal(err, res.Text)
		}
		b.StartTimer()
	}
	b.ReportMetric(peak, "peak-heap-MB")
	b.ReportMetric(idle, "idle-heap-MB")
}
