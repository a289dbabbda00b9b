package pvesim

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestFaultOfflineNode(t *testing.T) {
	s := startSim(t, Options{PerNodePorts: true})
	n3 := s.NodeURL("pve-node03")
	if n3 == "" || n3 == s.URL() {
		t.Fatalf("NodeURL %q", n3)
	}
	mustOK(t, callURL(t, n3, s.Token("operator"), "GET", "/version", nil))
	s.SetFault("pve-node03", Fault{Offline: true})

	u, _ := url.Parse(n3)
	if c, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
		c.Close()
		t.Fatal("offline node's listener still accepts connections")
	}
	// proxied through another node: 595
	r := call(t, s, "operator", "GET", "/nodes/pve-node03/status", nil)
	if r.Status != 595 {
		t.Errorf("proxied to offline node: %d %q", r.Status, r.Reason)
	}
	// any other node answers for the whole cluster
	mustOK(t, callURL(t, s.NodeURL("pve-node02"), s.Token("operator"), "GET", "/nodes/pve-node01/status", nil))
	nodes := decode[[]map[string]any](t, call(t, s, "operator", "GET", "/nodes", nil))
	for _, n := range nodes {
		if n["node"] == "pve-node03" {
			if n["status"] != "offline" || n["mem"] != nil || n["maxmem"] == nil {
				t.Errorf("offline node entry: %v", n)
			}
		}
	}
	st := decode[[]map[string]any](t, call(t, s, "operator", "GET", "/cluster/status", nil))
	for _, e := range st {
		if e["name"] == "pve-node03" && e["online"] != float64(0) {
			t.Errorf("cluster/status: %v", e)
		}
		if e["type"] == "cluster" && e["quorate"] != float64(1) {
			t.Errorf("2 of 3 nodes keep quorum: %v", e)
		}
	}
	res := decode[[]map[string]any](t, call(t, s, "operator", "GET", "/cluster/resources", url.Values{"type": {"vm"}}))
	for _, e := range res {
		if e["node"] == "pve-node03" && (e["status"] != "unknown" || e["cpu"] != nil) {
			t.Errorf("guest on offline node: %v", e)
		}
	}
	s.SetFault("pve-node03", Fault{})
	mustOK(t, callURL(t, n3, s.Token("operator"), "GET", "/version", nil))
	mustOK(t, call(t, s, "operator", "GET", "/nodes/pve-node03/status", nil))
}

func TestFaultLatencyErrorsHang(t *testing.T) {
	s := startSim(t, Options{Seed: 7})
	s.SetFault("pve-node02", Fault{Latency: 60 * time.Millisecond})
	start := time.Now()
	mustOK(t, call(t, s, "operator", "GET", "/nodes/pve-node02/status", nil))
	if d := time.Since(start); d < 60*time.Millisecond {
		t.Errorf("latency fault not applied: %v", d)
	}
	s.ClearFaults()

	s.SetFault("pve-node02", Fault{ErrorRate: 1})
	r := call(t, s, "operator", "GET", "/nodes/pve-node02/qemu", nil)
	if r.Status != 500 || r.Reason != "got timeout" {
		t.Errorf("error rate 1: %d %q", r.Status, r.Reason)
	}
	mustOK(t, call(t, s, "operator", "GET", "/nodes/pve-node01/qemu", nil))
	// a rate of 0.5 gives a deterministic sequence with some of each
	s.SetFault("pve-node02", Fault{ErrorRate: 0.5})
	var seq []int
	for i := 0; i < 20; i++ {
		seq = append(seq, call(t, s, "operator", "GET", "/nodes/pve-node02/qemu", nil).Status)
	}
	s2 := startSim(t, Options{Seed: 7})
	s2.SetFault("pve-node02", Fault{ErrorRate: 0.5})
	fails := 0
	for i := 0; i < 20; i++ {
		st := call(t, s2, "operator", "GET", "/nodes/pve-node02/qemu", nil).Status
		if st != seq[i] {
			t.Fatalf("error sequence not deterministic at %d: %v", i, seq)
		}
		if st == 500 {
			fails++
		}
	}
	if fails == 0 || fails == 20 {
		t.Errorf("rate 0.5 gave %d/20 failures", fails)
	}
	s.ClearFaults()

	// endpoint fault: only that path of that node
	s.SetFault("pve-node01/cluster/resources", Fault{ErrorRate: 1})
	if r := call(t, s, "operator", "GET", "/cluster/resources", nil); r.Status != 500 {
		t.Errorf("endpoint fault: %d", r.Status)
	}
	mustOK(t, call(t, s, "operator", "GET", "/cluster/status", nil))
	s.ClearFaults()

	s.SetFault("pve-node01", Fault{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL()+"/api2/json/version", nil)
	req.Header.Set("Authorization", "PVEAPIToken="+s.Token("operator"))
	if _, err := insecureClient().Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hang: %v", err)
	}
}

func TestFaultBadBodiesCertAndRevokedToken(t *testing.T) {
	s := startSim(t, Options{PerNodePorts: true})
	s.SetFault("pve-node01", Fault{MalformedJSON: true})
	r := call(t, s, "operator", "GET", "/cluster/resources", nil)
	var v any
	if r.Status != 200 || json.Unmarshal(r.Body, &v) == nil {
		t.Errorf("malformed JSON fault: %d %s", r.Status, r.Body)
	}
	s.SetFault("pve-node01", Fault{HTMLPage: true})
	r = call(t, s, "operator", "GET", "/version", nil)
	if r.Status != 502 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(r.Body), "<html>") {
		t.Errorf("HTML fault: %d %v %s", r.Status, r.Header, r.Body)
	}
	s.ClearFaults()

	served := func(u string) string {
		host := strings.TrimPrefix(u, "https://")
		c, err := tls.Dial("tcp", host, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return fingerprint(c.ConnectionState().PeerCertificates[0].Raw)
	}
	if got := served(s.URL()); got != s.Fingerprint() {
		t.Errorf("served %s, Fingerprint() %s", got, s.Fingerprint())
	}
	nodes := decode[[]map[string]any](t, call(t, s, "operator", "GET", "/nodes", nil))
	want2 := ""
	for _, n := range nodes {
		if n["node"] == "pve-node02" {
			want2 = n["ssl_fingerprint"].(string)
		}
	}
	if got := served(s.NodeURL("pve-node02")); got != want2 {
		t.Errorf("node02 served %s, /nodes says %s", got, want2)
	}
	s.SetFault("pve-node02", Fault{ChangedCert: true})
	if got := served(s.NodeURL("pve-node02")); got == want2 {
		t.Error("changed certificate fault serves the old certificate")
	}

	s.SetFault("pve-node01", Fault{RevokedToken: "operator"})
	if r := call(t, s, "operator", "GET", "/version", nil); r.Status != 401 {
		t.Errorf("revoked token: %d", r.Status)
	}
	mustOK(t, call(t, s, "auditor", "GET", "/version", nil))
}
