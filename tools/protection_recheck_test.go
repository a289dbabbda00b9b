package tools

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/guard"
)

// simPut changes a guest's config behind pvemcp's back, as an administrator
// would in the web UI.
func simPut(t *testing.T, w *writeEnv, path string, form url.Values) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(w.sim.CACertPEM())
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, err := http.NewRequest("PUT", w.sim.URL()+"/api2/json"+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "PVEAPIToken="+w.sim.Token("operator"))
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT %s: %s", path, resp.Status)
	}
}

// TestProtectionRecheckedAtConfirm: a guest that gained a protected tag, or
// Proxmox's protection flag, after the plan is refused at confirm and
// nothing is sent.
func TestProtectionRecheckedAtConfirm(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		prot guard.Protection
		set  url.Values
		want string
	}{
		{"tag", guard.Protection{Tags: []string{"frozen"}}, url.Values{"tags": {"frozen"}}, `tag "frozen"`},
		{"proxmox flag", guard.Protection{ProxmoxFlag: true}, url.Values{"protection": {"1"}}, "protection flag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWriteEnv(t, "operator")
			w.gate.Protection = tc.prot
			plan := w.plan("s1", "guest_power", map[string]any{"vmid": 203, "action": "start"})
			g := w.guest(203)
			simPut(t, w, "/nodes/"+g.Node+"/lxc/203/config", tc.set)
			_, errText := w.confirm("s1", plan)
			if !strings.Contains(errText, tc.want) || !strings.Contains(errText, "since the plan was made") || !strings.Contains(errText, "nothing was sent") {
				t.Fatalf("confirm after protection: %q", errText)
			}
			for _, r := range w.writes() {
				if strings.Contains(r.Path, "/status/") {
					t.Fatalf("sent %s %s", r.Method, r.Path)
				}
			}
			// And a new plan is refused at once.
			if _, errText := w.call("s1", "guest_power", map[string]any{"vmid": 203, "action": "start"}); !strings.Contains(errText, tc.want) {
				t.Fatalf("plan of a protected guest: %q", errText)
			}
		})
	}
}
