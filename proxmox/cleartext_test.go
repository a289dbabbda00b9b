package proxmox

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestHTTPEndpointRefused: an http:// endpoint would send the token in
// cleartext, fingerprint pinned or not; it is refused before any request
// unless the loudly named test-rig option allows it.
func TestHTTPEndpointRefused(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":{"version":"9.0.3","release":"9.0","repoid":"x"}}`))
	}))
	defer srv.Close()
	fp := strings.Repeat("AB:", 31) + "AB"
	for _, opts := range []Options{
		{Endpoints: []string{srv.URL}, Token: testToken, Fingerprint: fp},
		{Endpoints: []string{srv.URL}, Token: testToken, Insecure: true},
		{Endpoints: []string{"https://127.0.0.1:1", srv.URL}, Token: testToken, Insecure: true},
	} {
		_, err := New(opts)
		if err == nil || !strings.Contains(err.Error(), "cleartext") || !strings.Contains(err.Error(), "use https://") {
			t.Fatalf("%v: %v", opts.Endpoints, err)
		}
	}
	if hits.Load() != 0 {
		t.Fatal("a request reached the cleartext endpoint")
	}
	c, err := New(Options{Endpoints: []string{srv.URL}, Token: testToken, UnsafeCleartextHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Version(context.Background()); err != nil {
		t.Fatal(err)
	}
}
