package pvesim

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"testing"
)

// BenchmarkClusterResources10k is one /cluster/resources?type=vm of a
// 64-node, 10,000-guest cluster, seen by a privilege-separated token.
func BenchmarkClusterResources10k(b *testing.B) {
	s := startSim(b, Options{Generate: "nodes=64,guests=10000"})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := call(b, s, "operator", "GET", "/cluster/resources", url.Values{"type": {"vm"}})
		if r.Status != 200 {
			b.Fatal(r.Status)
		}
	}
}

// BenchmarkRoundTripNodeStatus is one keep-alive GET of a node's status:
// the simulator's own cost per API call.
func BenchmarkRoundTripNodeStatus(b *testing.B) {
	s := startSim(b, Options{})
	c := insecureClient()
	req, _ := http.NewRequest("GET", s.URL()+"/api2/json/nodes/pve-node01/status", nil)
	req.Header.Set("Authorization", "PVEAPIToken="+s.Token("operator"))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
}

// BenchmarkStartDemo is the cost of starting the demo simulator, which
// most tests of the project do.
func BenchmarkStartDemo(b *testing.B) {
	for i := 0; i < b.N; i++ {
		s, err := Start(context.Background(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}
