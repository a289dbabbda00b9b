package proxmox_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pvemcp/pvemcp/internal/simtest"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
)

func startNodeSim(t *testing.T) *pvesim.Sim {
	t.Helper()
	sim := simtest.Start(t, pvesim.Options{PerNodePorts: true})
	return sim
}

// One endpoint refuses connections and one accepts and never answers; the
// third answers. A read succeeds within the call timeout (so the hang was
// cut short), and sources show both failures with their endpoints.
func TestFailoverRefusedAndHanging(t *testing.T) {
	sim := startNodeSim(t)
	nodes := sim.Nodes()
	refused, hanging, good := sim.NodeURL(nodes[0]), sim.NodeURL(nodes[1]), sim.NodeURL(nodes[2])
	sim.SetFault(nodes[0], pvesim.Fault{Offline: true})
	sim.SetFault(nodes[1], pvesim.Fault{Hang: true})

	// The call timeout would be eaten whole by the hang if the per-endpoint
	// wait were not bounded: then the call would fail.
	c, err := proxmox.New(proxmox.Options{Endpoints: []string{refused, hanging, good}, Token: sim.Token("operator"),
		CAPEM: sim.CACertPEM(), Timeout: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rec := proxmox.NewRecorder()
	ctx := proxmox.WithRecorder(context.Background(), rec)
	v, err := c.Version(ctx)
	if err != nil {
		t.Fatalf("read failed despite a healthy endpoint: %v", err)
	}
	if v.Version == "" {
		t.Fatal("empty version")
	}
	calls := rec.Calls()
	if len(calls) != 3 {
		t.Fatalf("want 3 recorded attempts, got %+v", calls)
	}
	want := []struct {
		ep, err string
		status  int
	}{{refused, "unreachable", 0}, {hanging, "timeout", 0}, {good, "", 200}}
	for i, w := range want {
		if calls[i].Endpoint != w.ep || calls[i].Error != w.err || calls[i].Status != w.status {
			t.Errorf("attempt %d: got %+v, want endpoint %s error %q status %d", i, calls[i], w.ep, w.err, w.status)
		}
	}
	// The endpoint that answered is tried first next time.
	rec2 := proxmox.NewRecorder()
	if _, err := c.Version(proxmox.WithRecorder(context.Background(), rec2)); err != nil {
		t.Fatal(err)
	}
	if calls := rec2.Calls(); len(calls) != 1 || calls[0].Endpoint != good {
		t.Errorf("second call: %+v", calls)
	}
}

func TestFailoverAllDownNamesEveryEndpoint(t *testing.T) {
	sim := startNodeSim(t)
	nodes := sim.Nodes()
	sim.SetFault(nodes[0], pvesim.Fault{Offline: true})
	sim.SetFault(nodes[1], pvesim.Fault{Hang: true})
	a, b := sim.NodeURL(nodes[0]), sim.NodeURL(nodes[1])
	c, err := proxmox.New(proxmox.Options{Endpoints: []string{a, b}, Token: sim.Token("operator"),
		CAPEM: sim.CACertPEM(), Timeout: 3 * time.Second}) // room for a slow refusal on a loaded machine: the hang must meet its own 1.5 s wait, not the call's deadline
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Version(context.Background())
	if err == nil {
		t.Fatal("no error with every endpoint down")
	}
	msg := err.Error()
	for _, w := range []string{"no endpoint of the cluster answered", a, b, "unreachable", "did not answer within"} {
		if !strings.Contains(msg, w) {
			t.Errorf("message lacks %q: %s", w, msg)
		}
	}
	if !proxmox.IsNodeUnreachable(err) {
		t.Errorf("kind %s", proxmox.KindOf(err))
	}
}

// A reverse proxy's 502 page makes a read move on; Proxmox's own errors
// (here a 401) do not.
func TestFailoverProxyPageButNotProxmoxErrors(t *testing.T) {
	sim := startNodeSim(t)
	nodes := sim.Nodes()
	sim.SetFault(nodes[0], pvesim.Fault{HTMLPage: true})
	c, err := proxmox.New(proxmox.Options{Endpoints: []string{sim.NodeURL(nodes[0]), sim.NodeURL(nodes[1])},
		Token: sim.Token("operator"), CAPEM: sim.CACertPEM()})
	if err != nil {
		t.Fatal(err)
	}
	rec := proxmox.NewRecorder()
	if _, err := c.Version(proxmox.WithRecorder(context.Background(), rec)); err != nil {
		t.Fatal(err)
	}
	if calls := rec.Calls(); len(calls) != 2 || calls[0].Status != 502 || calls[1].Status != 200 {
		t.Errorf("calls %+v", calls)
	}

	bad, err := proxmox.New(proxmox.Options{Endpoints: []string{sim.NodeURL(nodes[1]), sim.NodeURL(nodes[2])},
		Token: "pvemcp@pve!operator=00000000-0000-0000-0000-000000000000", CAPEM: sim.CACertPEM()})
	if err != nil {
		t.Fatal(err)
	}
	rec = proxmox.NewRecorder()
	_, err = bad.Version(proxmox.WithRecorder(context.Background(), rec))
	if !proxmox.IsUnauthorized(err) {
		t.Fatalf("want 401, got %v", err)
	}
	if calls := rec.Calls(); len(calls) != 1 {
		t.Errorf("a 401 must not fail over: %+v", calls)
	}
}

// A write is never repeated on another endpoint once it may have reached
// Proxmox; a 502 answer ends it.
func TestFailoverNeverRepeatsAWrite(t *testing.T) {
	hits := 0
	proxy := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		w.Write([]byte("<html>502 Bad Gateway</html>"))
	}))
	defer proxy.Close()
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("write repeated on the second endpoint: %s %s", r.Method, r.URL)
	}))
	defer other.Close()
	c, err := proxmox.New(proxmox.Options{Endpoints: []string{proxy.URL, other.URL},
		Token: "root@pam!tk=11111111-2222-3333-4444-555555555555", Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	err = proxmox.PostForTest(context.Background(), c, "/nodes/n1/qemu/100/status/start")
	if err == nil || hits != 1 {
		t.Fatalf("err %v, hits %d", err, hits)
	}
	if proxmox.KindOf(err) != proxmox.KindNotProxmox {
		t.Errorf("kind %s: %v", proxmox.KindOf(err), err)
	}
}
