package proxmox

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/pvemcp/pvemcp/guard"
)

func TestSendOnlyWithApproval(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+" "+r.PostForm.Encode())
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.Write([]byte(`{"data":"UPID:pve1:000B5212:0062A3F4:68A5C1D2:qmstart:103:root@pam!mcp:"}`))
	}))
	defer srv.Close()
	c, err := New(Options{Endpoints: []string{srv.URL}, Token: "root@pam!mcp=00000000-0000-0000-0000-000000000000", Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	call := guard.Call{Method: "POST", Path: "/nodes/pve1/qemu/103/status/start", Params: map[string]string{"timeout": "30"}}
	ctx := context.Background()

	if _, err := c.Send(ctx, guard.Approval{}, call); err == nil {
		t.Fatal("sent without approval")
	}
	store := guard.NewStore()
	prop, err := store.Propose(guard.Plan{Tool: "guest_power", Summary: "start 103", Caller: "c", Calls: []guard.Call{call}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := store.Confirm(ctx, guard.Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "c"})
	if err != nil {
		t.Fatal(err)
	}
	other := guard.Call{Method: "POST", Path: "/nodes/pve1/qemu/104/status/start", Params: map[string]string{"timeout": "30"}}
	if _, err := c.Send(ctx, a, other); err == nil {
		t.Fatal("approval for 103 sent a call for 104")
	}
	res, err := c.Send(ctx, a, call)
	if err != nil {
		t.Fatal(err)
	}
	if res.UPID == "" {
		t.Fatalf("no UPID in %+v", res)
	}
	if _, err := c.Send(ctx, a, call); err == nil {
		t.Fatal("approved call sent twice")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != "POST /api2/json/nodes/pve1/qemu/103/status/start timeout=30" {
		t.Fatalf("requests: %q", got)
	}
}

// An approval for one cluster's plan does not let another cluster's client
// send its calls, and the refused attempt does not use the call up.
func TestSendOnlyToThePlansCluster(t *testing.T) {
	var mu sync.Mutex
	hits := map[string]int{}
	clients := map[string]*Client{}
	for _, name := range []string{"alpha", "beta"} {
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			hits[name]++
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json;charset=UTF-8")
			w.Write([]byte(`{"data":"UPID:pve1:000B5212:0062A3F4:68A5C1D2:qmshutdown:101:root@pam!mcp:"}`))
		}))
		t.Cleanup(srv.Close)
		c, err := New(Options{Name: name, Endpoints: []string{srv.URL}, Token: "root@pam!mcp=00000000-0000-0000-0000-000000000000", Insecure: true})
		if err != nil {
			t.Fatal(err)
		}
		clients[name] = c
	}
	call := guard.Call{Method: "POST", Path: "/nodes/pve1/qemu/101/status/shutdown"}
	store := guard.NewStore()
	prop, err := store.Propose(guard.Plan{Tool: "guest_power", Summary: "shutdown 101", Caller: "c", Cluster: "beta", Calls: []guard.Call{call}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, _, err := store.Confirm(ctx, guard.Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "c"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := clients["alpha"].Send(ctx, a, call); err == nil || !strings.Contains(err.Error(), `"beta"`) {
		t.Fatalf("alpha's client sent beta's plan: %v", err)
	}
	if _, err := clients["beta"].Send(ctx, a, call); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if hits["alpha"] != 0 || hits["beta"] != 1 {
		t.Fatalf("requests: %v", hits)
	}
}
