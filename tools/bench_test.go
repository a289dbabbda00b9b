package tools

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"sync"
	"testing"
	"time"

	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
	"github.com/pvemcp/pvemcp/toolkit"
)

// rawGuestBytes returns the bytes of the guest entries in Proxmox's own
// /cluster/resources answer (what a client without pvemcp would read).
func rawGuestBytes(t testing.TB, e *testEnv) (int, int) {
	t.Helper()
	req, _ := http.NewRequest("GET", e.sim.URL()+"/api2/json/cluster/resources?type=vm", nil)
	req.Header.Set("Authorization", "PVEAPIToken="+e.sim.Token("operator"))
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var env struct{ Data []json.RawMessage }
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	n, guests := 2, 0 // the brackets
	for _, r := range env.Data {
		var head struct{ Template int }
		_ = json.Unmarshal(r, &head)
		if head.Template == 1 {
			continue
		}
		n += len(r) + 1
		guests++
	}
	return n, guests
}

// TestListGuestsCompactness checks DESIGN §10: a list_guests result (whole,
// envelope included) is at most 35% of the bytes of Proxmox's JSON for the
// same guests.
func TestListGuestsCompactness(t *testing.T) {
	checkListCompactness(t, newTestEnv(t, "operator"))
}

// checkListCompactness lists every guest of e in one page and holds the
// answer to 35% of Proxmox's JSON for them.
func checkListCompactness(t *testing.T, e *testEnv) {
	t.Helper()
	raw, guests := rawGuestBytes(t, e)
	res, m := e.call(t, "list_guests", `{"limit":1000}`)
	if got := len(m["guests"].([]any)); got != guests {
		t.Fatalf("list_guests returned %d guests, Proxmox lists %d", got, guests)
	}
	ratio := float64(len(res.Structured)) / float64(raw)
	t.Logf("list_guests: %d bytes for %d guests; Proxmox JSON %d bytes; ratio %.1f%%", len(res.Structured), guests, raw, 100*ratio)
	if ratio > 0.35 {
		t.Errorf("list_guests is %.1f%% of the raw JSON, budget 35%%", 100*ratio)
	}
}

// BenchmarkListGuests reports the server's own time per call beyond the API
// time recorded in sources (DESIGN §10: under 0.5 ms), and the compactness.
func BenchmarkListGuests(b *testing.B) {
	e := newTestEnv(b, "operator")
	raw, _ := rawGuestBytes(b, e)
	ctx := context.Background()
	var overheadMS, size float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := e.srv.Call(ctx, "list_guests", json.RawMessage(`{"limit":1000}`))
		if err != nil || res.IsError {
			b.Fatal(err, res.Text)
		}
		b.StopTimer()
		overheadMS -= sourcesMS(res)
		size = float64(len(res.Structured))
		b.StartTimer()
	}
	total := float64(b.Elapsed().Microseconds()) / 1000
	b.ReportMetric((total+overheadMS)/float64(b.N), "overhead-ms/op")
	b.ReportMetric(100*size/float64(raw), "pct-of-raw")
}

// sourcesMS is how long the Proxmox reads behind a tool result took, by its
// envelope's sources.
func sourcesMS(res *toolkit.Result) float64 {
	var m struct{ Sources []struct{ MS float64 } }
	_ = json.Unmarshal(res.Structured, &m)
	ms := 0.0
	for _, s := range m.Sources {
		ms += s.MS
	}
	return ms
}

// BenchmarkCallLayer measures the tool layer alone (decode, envelope,
// encoding) with a tool that makes no Proxmox call.
func BenchmarkCallLayer(b *testing.B) {
	type args struct {
		Node  string `json:"node,omitempty" pve:"node"`
		Limit int    `json:"limit,omitempty" minimum:"1" maximum:"1000" default:"100"`
	}
	type row struct {
		VMID int     `json:"vmid"`
		Mem  float64 `json:"mem_used_gib"`
	}
	type result struct {
		Rows []row `json:"rows"`
	}
	rows := make([]row, 100)
	tool := toolkit.New(toolkit.Meta{Name: "bench_tool", Title: "Bench", Description: "bench", Toolset: toolkit.ToolsetInventory, Hints: &toolkit.ReadHints},
		func(ctx context.Context, a args) (result, error) { return result{Rows: rows}, nil })
	srv := toolkit.NewServer(&toolkit.Env{}, []*toolkit.Tool{tool})
	ctx := context.Background()
	in := json.RawMessage(`{"node":"pve-node01","limit":50}`)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if res, _ := srv.Call(ctx, "bench_tool", in); res.IsError {
			b.Fatal(res.Text)
		}
	}
}

func generatedEnv(t testing.TB, spec string) *testEnv {
	t.Helper()
	return simEnv(t, pvesim.Options{Generate: spec, Listen: "127.0.0.1:0"}, nil)
}

// The same budget on a larger generated cluster, where the envelope's fixed
// part matters less.
func TestListGuestsCompactnessGenerated(t *testing.T) {
	checkListCompactness(t, generatedEnv(t, "nodes=8,guests=400"))
}

// BenchmarkListGuestsScale: the first page and exact totals of a 64-node,
// 10,000-guest cluster (DESIGN §10: under 300 ms for pvemcp plus the API
// call). Besides ns/op (the whole call: the simulator's work, the transfer
// and pvemcp's), it reports sim-ms/op, the simulator's server time (request
// written to first byte of the answer: the simulator builds and compresses
// the whole answer before it sends a byte), api-ms/op, the API call as
// pvemcp records it in sources, and pvemcp-ms/op, the call minus the
// simulator's server time (transfer, decompression, decoding, the tool,
// the envelope). B/op and allocs/op include the simulator's, which runs in
// this process; `make bench` measures pvemcp's RSS apart
// (cmd/pvemcp BenchmarkProcessListGuestsRSS).
func BenchmarkListGuestsScale(b *testing.B) {
	e := generatedEnv(b, "nodes=64,guests=10000")
	for _, bc := range []struct{ name, args string }{
		{"default", `{}`},
		{"sort=mem", `{"sort":"mem","desc":true,"limit":50}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var st serverTimer
			ctx := st.context(context.Background())
			var apiMS float64
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res, err := e.srv.Call(ctx, "list_guests", json.RawMessage(bc.args))
				if err != nil || res.IsError {
					b.Fatal(err, res.Text)
				}
				b.StopTimer()
				apiMS += sourcesMS(res)
				b.StartTimer()
			}
			total := float64(b.Elapsed().Microseconds()) / 1000
			sim := float64(st.total().Microseconds()) / 1000
			n := float64(b.N)
			b.ReportMetric(sim/n, "sim-ms/op")
			b.ReportMetric(apiMS/n, "api-ms/op")
			b.ReportMetric((total-sim)/n, "pvemcp-ms/op")
		})
	}
}

// serverTimer sums, over the HTTP exchanges made with its context, the time
// from the request written to the first byte of the answer. The exchanges
// must be sequential (list_guests makes one).
type serverTimer struct {
	mu    sync.Mutex
	wrote time.Time
	sum   time.Duration
}

func (t *serverTimer) context(ctx context.Context) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) {
			t.mu.Lock()
			t.wrote = time.Now()
			t.mu.Unlock()
		},
		GotFirstResponseByte: func() {
			t.mu.Lock()
			t.sum += time.Since(t.wrote)
			t.mu.Unlock()
		},
	})
}

func (t *serverTimer) total() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sum
}

// BenchmarkCallOverhead isolates the server's own time per list_guests call
// (argument decoding, answer decoding, the tool, the envelope, encoding):
// Proxmox is a canned answer captured from the demo simulator, so the
// simulator's work does not blur the figure. DESIGN §10: under 0.5 ms.
func BenchmarkCallOverhead(b *testing.B) {
	e := newTestEnv(b, "operator")
	req, _ := http.NewRequest("GET", e.sim.URL()+"/api2/json/cluster/resources", nil)
	req.Header.Set("Authorization", "PVEAPIToken="+e.sim.Token("operator"))
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fake := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		_, _ = w.Write(body)
	}))
	defer fake.Close()
	c, err := proxmox.New(proxmox.Options{Endpoints: []string{fake.URL}, Token: e.sim.Token("operator"), Insecure: true})
	if err != nil {
		b.Fatal(err)
	}
	srv := toolkit.NewServer(&toolkit.Env{Client: c}, toolkit.Select(true, nil))
	ctx := context.Background()
	var apiMS float64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := srv.Call(ctx, "list_guests", json.RawMessage(`{"limit":1000}`))
		if err != nil || res.IsError {
			b.Fatal(err, res.Text)
		}
		b.StopTimer()
		apiMS += sourcesMS(res)
		b.StartTimer()
	}
	total := float64(b.Elapsed().Microseconds()) / 1000
	b.ReportMetric((total-apiMS)/float64(b.N), "overhead-ms/op")
}
