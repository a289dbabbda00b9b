package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pvemcp/pvemcp/internal/redistest"
	"github.com/pvemcp/pvemcp/internal/simtest"
)

// Load across replicas (run with -benchtime=1x): N stateless clients over
// HTTP against two `pvemcp serve --http` processes sharing a Redis plan
// store, each client alternating between the replicas, mixing reads with
// plan/confirm pairs whose confirm always lands on the other replica. And
// the latency a Redis-backed plan/confirm adds over the in-memory store.

// startReplicaProc runs `pvemcp serve --http 127.0.0.1:0` approving by
// nonce, with extra env, and returns its MCP endpoint's URL.
func startReplicaProc(b *testing.B, simEnv []string, extra ...string) string {
	b.Helper()
	return startServeHTTP(b, simEnv, append([]string{"PVEMCP_APPROVAL=nonce"}, extra...)...).base + "/mcp"
}

func statelessClient(b *testing.B, url string) *client.Client {
	b.Helper()
	return simtest.HTTP(b, url, simtest.MCP{Version: mcp.ProtocolVersion20260728, Name: "bench", Token: loadToken}).Client
}

// call runs one tool; a tool error is an error.
func call(c *client.Client, name string, args map[string]any) (map[string]any, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = name, args
	res, err := c.CallTool(context.Background(), req)
	if err != nil {
		return nil, err
	}
	var text strings.Builder
	for _, ct := range res.Content {
		if tc, ok := ct.(mcp.TextContent); ok {
			text.WriteString(tc.Text)
		}
	}
	if res.IsError {
		return nil, fmt.Errorf("%s: %s", name, text.String())
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(text.String()), &out); err != nil {
		return nil, err
	}
	return out, nil
}

// runningGuests lists n running guests, one per client.
func runningGuests(b *testing.B, c *client.Client, n int) []float64 {
	b.Helper()
	out, err := call(c, "list_guests", map[string]any{"status": "running", "limit": n})
	if err != nil {
		b.Fatal(err)
	}
	var ids []float64
	for _, g := range out["guests"].([]any) {
		ids = append(ids, g.([]any)[0].(float64)) // columnar rows; vmid first
	}
	if len(ids) < n {
		b.Fatalf("only %d running guests, want %d", len(ids), n)
	}
	return ids
}

// planConfirm plans a reboot of vmid on one client and confirms it on
// another.
func planConfirm(planner, confirmer *client.Client, vmid float64) error {
	plan, err := call(planner, "guest_power", map[string]any{"vmid": vmid, "action": "reboot"})
	if err != nil {
		return err
	}
	out, err := call(confirmer, "confirm_plan", map[string]any{"plan_id": plan["plan_id"], "nonce": plan["nonce"]})
	if err != nil {
		return err
	}
	if out["outcome"] != "ok" {
		return fmt.Errorf("outcome %v", out["outcome"])
	}
	return nil
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

// BenchmarkLoadTwoReplicasRedis: 16 clients × 40 rounds; a round is three
// reads (list_guests, get_guest, cluster_overview) and one plan/confirm
// pair across the replicas.
func BenchmarkLoadTwoReplicasRedis(b *testing.B) {
	const clients, rounds = 16, 40
	rs := redistest.Start(b)
	sim := startSimProcess(b, "--generate", "nodes=8,guests=400", "--task-speed", "0")
	urls := []string{startReplicaProc(b, sim, "PVEMCP_PLAN_STORE="+rs.URL()), startReplicaProc(b, sim, "PVEMCP_PLAN_STORE="+rs.URL())}
	type pair struct{ a, b *client.Client }
	cs := make([]pair, clients)
	for i := range cs {
		cs[i] = pair{statelessClient(b, urls[i%2]), statelessClient(b, urls[(i+1)%2])}
	}
	vmids := runningGuests(b, cs[0].a, clients)
	for i := 0; i < b.N; i++ {
		var mu sync.Mutex
		var reads, pairs []time.Duration
		var errs []string
		start := time.Now()
		var wg sync.WaitGroup
		for k, p := range cs {
			wg.Go(func() {
				for r := range rounds {
					c := p.a
					if r%2 == 1 {
						c = p.b
					}
					for _, op := range []struct {
						name string
						args map[string]any
					}{{"list_guests", map[string]any{"limit": 20}}, {"get_guest", map[string]any{"vmid": vmids[k]}}, {"cluster_overview", map[string]any{}}} {
						t0 := time.Now()
						_, err := call(c, op.name, op.args)
						d := time.Since(t0)
						mu.Lock()
						reads = append(reads, d)
						if err != nil {
							errs = append(errs, err.Error())
						}
						mu.Unlock()
					}
					t0 := time.Now()
					err := planConfirm(p.a, p.b, vmids[k])
					d := time.Since(t0)
					mu.Lock()
					pairs = append(pairs, d)
					if err != nil {
						errs = append(errs, err.Error())
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		el := time.Since(start)
		calls := len(reads) + 2*len(pairs)
		b.ReportMetric(float64(calls)/el.Seconds(), "calls/s")
		b.ReportMetric(float64(pct(reads, 0.5).Microseconds())/1000, "read-p50-ms")
		b.ReportMetric(float64(pct(reads, 0.99).Microseconds())/1000, "read-p99-ms")
		b.ReportMetric(float64(pct(pairs, 0.5).Microseconds())/1000, "pair-p50-ms")
		b.ReportMetric(float64(pct(pairs, 0.99).Microseconds())/1000, "pair-p99-ms")
		b.ReportMetric(float64(len(errs)), "errors")
		if len(errs) > 0 {
			b.Errorf("%d errors, first: %s", len(errs), errs[0])
		}
	}
}

// BenchmarkPlanConfirmStore: one client, 200 sequential plan/confirm pairs
// on one replica, with the in-memory store and with Redis: the difference
// of the medians is what Redis adds.
func BenchmarkPlanConfirmStore(b *testing.B) {
	const n = 200
	rs := redistest.Start(b)
	sim := startSimProcess(b, "--generate", "nodes=2,guests=20", "--task-speed", "0")
	for _, store := range []string{"memory", "redis"} {
		b.Run(store, func(b *testing.B) {
			spec := "memory"
			if store == "redis" {
				spec = rs.URL()
			}
			c := statelessClient(b, startReplicaProc(b, sim, "PVEMCP_PLAN_STORE="+spec))
			vmid := runningGuests(b, c, 1)[0]
			for i := 0; i < b.N; i++ {
				var d []time.Duration
				for range n {
					t0 := time.Now()
					if err := planConfirm(c, c, vmid); err != nil {
						b.Fatal(err)
					}
					d = append(d, time.Since(t0))
				}
				b.ReportMetric(float64(pct(d, 0.5).Microseconds())/1000, "pair-p50-ms")
				b.ReportMetric(float64(pct(d, 0.99).Microseconds())/1000, "pair-p99-ms")
			}
		})
	}
}
