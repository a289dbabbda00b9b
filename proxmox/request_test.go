package proxmox

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// TestNodeRead: the per-node read checks the node before any request,
// builds /nodes/{node}/<rest> with escaped segments, and hands out nothing
// of an answer that failed to decode.
func TestNodeRead(t *testing.T) {
	answers := map[string]string{
		"/nodes/pve1/apt/versions":  `{"data":[{"Package":"pve-manager","OldVersion":"9.0.3"}]}`,
		"/nodes/pve1/time":          `{"data":{"time":1760000000,"localtime":1760007200,"timezone":"Europe/Vienna"}}`,
		"/nodes/pve1/services":      `{"data":[{"service":"pveproxy","state":"running"},{"service":17}]}`,
		"/nodes/pve1/disks/zfs/a:b": `{"data":{"name":"a:b","state":"ONLINE"}}`,
	}
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		body, ok := answers[strings.TrimPrefix(r.URL.Path, "/api2/json")]
		if !ok {
			http.Error(w, "no such path "+r.URL.Path, http.StatusNotImplemented)
			return
		}
		jsonReply(body)(w, r)
	})
	c := f.client(t)
	ctx := context.Background()
	pkgs, err := c.AptVersions(ctx, "pve1")
	if err != nil || len(pkgs) != 1 || pkgs[0].OldVersion != "9.0.3" {
		t.Fatalf("AptVersions %+v %v", pkgs, err)
	}
	tm, err := c.Time(ctx, "pve1")
	if err != nil || tm.Timezone != "Europe/Vienna" || tm.Time != 1760000000 {
		t.Fatalf("Time %+v %v", tm, err)
	}
	if zp, err := c.ZFSPoolDetail(ctx, "pve1", "a:b"); err != nil || zp.Name != "a:b" {
		t.Fatalf("ZFSPoolDetail %+v %v", zp, err)
	}
	// A list that fails half-way is not handed out half decoded.
	if svcs, err := c.Services(ctx, "pve1"); KindOf(err) != KindNotProxmox || svcs != nil {
		t.Fatalf("Services on a bad answer: %+v %v", svcs, err)
	}
	if dns, err := c.DNS(ctx, "pve1"); KindOf(err) != KindNotImplemented || dns != nil {
		t.Fatalf("DNS on a failed read: %+v %v", dns, err)
	}
	n := f.count()
	for _, node := range []string{"", "../access", "pve1/..", "a b"} {
		if _, err := c.Network(ctx, node); KindOf(err) != KindInvalid {
			t.Errorf("node %q: %v, want invalid", node, err)
		}
		if _, err := c.Subscription(ctx, node); KindOf(err) != KindInvalid {
			t.Errorf("node %q: %v, want invalid", node, err)
		}
	}
	if f.count() != n {
		t.Errorf("%d requests with an invalid node reached the server", f.count()-n)
	}
}

// waiting reports how many callers wait on the call in flight for key, so
// tests can start the shared call's answer once every follower joined.
func (g *flightGroup[T]) waiting(key string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f, ok := g.m[key]; ok {
		return f.waiters
	}
	return 0
}
