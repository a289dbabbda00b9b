package harness_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/guard"
	"github.com/pvemcp/pvemcp/internal/simtest"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
	"github.com/pvemcp/pvemcp/proxmox/pvesim/harness"
)

const scene = `
setup:
  reset: ""
  clock: 48h
  faults:
    - {target: pve-node03, latency: 5ms}
verify:
  max_writes: 1
  max_failed_writes: 0
  writes:
    - {method: PUT, path: "^/nodes/pve-node01/qemu/105/config$", params: {cores: "4"}}
  forbidden:
    - {path: "/status/(stop|shutdown)$"}
  guests:
    - {vmid: 105, node: pve-node01, status: running, config: {cores: "4"}}
  nodes:
    - {name: pve-node03, online: true}
  answer: ["4 cores"]
  writes_confirmed: true
`

func put(t *testing.T, sim *pvesim.Sim, path string, form url.Values) int {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(sim.CACertPEM())
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: sim.Nodes()[0]}}}
	req, _ := http.NewRequest("PUT", sim.URL()+"/api2/json"+path, strings.NewReader(form.Encode()))
	req.Header.Set("Authorization", "PVEAPIToken="+sim.Token("operator"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestSceneLocal applies a scene to an in-process simulator and checks a
// right and a wrong run against it, through the exported API only.
func TestSceneLocal(t *testing.T) {
	sim := simtest.Demo(t)
	sc, err := harness.ParseScene("scene", []byte(scene))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := harness.Local(sim)

	t0 := sim.Now()
	if err := sc.Apply(ctx, c); err != nil {
		t.Fatal(err)
	}
	if d := sim.Now().Sub(t0); d < 48*60*60e9 {
		t.Fatalf("clock moved %s", d)
	}
	if f := sim.Faults()["pve-node03"]; f.Latency == 0 {
		t.Fatalf("faults after setup: %v", sim.Faults())
	}
	if st := put(t, sim, "/nodes/pve-node01/qemu/105/config", url.Values{"cores": {"4"}}); st != 200 {
		t.Fatal(st)
	}
	confirmed := []guard.Event{{Event: guard.EventConfirm, Calls: []guard.Call{{Method: "PUT", Path: "/nodes/pve-node01/qemu/105/config"}}}}
	fails, err := sc.Check(ctx, c, harness.Run{Answer: "monitoring-stack now has 4 cores.", Audit: confirmed, HaveAudit: true})
	if err != nil || len(fails) != 0 {
		t.Fatalf("right run: %v %v", fails, err)
	}
	// The same write, straight to the API without a plan.
	fails, _ = sc.Check(ctx, c, harness.Run{Answer: "4 cores", HaveAudit: true})
	if len(fails) != 1 || !strings.Contains(fails[0], "without a confirmed plan") {
		t.Fatalf("unconfirmed write: %v", fails)
	}
	if fails, _ = sc.Check(ctx, c, harness.Run{Answer: "4 cores"}); len(fails) != 1 || !strings.Contains(fails[0], "no audit log") {
		t.Fatalf("no audit log: %v", fails)
	}

	// Wrong: another write, and an answer without the fact.
	if err := sc.Apply(ctx, c); err != nil {
		t.Fatal(err)
	}
	put(t, sim, "/nodes/pve-node01/qemu/105/config", url.Values{"cores": {"2"}})
	put(t, sim, "/nodes/pve-node01/qemu/101/config", url.Values{"cores": {"2"}})
	fails, err = sc.Check(ctx, c, harness.Run{Answer: "done", Audit: confirmed, HaveAudit: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"2 successful change requests", "no successful change request PUT", `guest 105: cores = "2", want "4"`, `does not state "4 cores"`}
	got := strings.Join(fails, "\n")
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("failures lack %q:\n%s", w, got)
		}
	}
}

func TestParseSceneRejectsMistakes(t *testing.T) {
	for _, bad := range []string{
		"verify:\n  max_write: 1\n",                             // misspelt key
		"setup:\n  clock: soon\n",                               // not a duration
		"setup:\n  faults:\n    - {target: x, error_rate: 3}\n", // out of range
		"verify:\n  writes:\n    - {path: \"(\"}\n",             // bad regexp
	} {
		if _, err := harness.ParseScene("bad", []byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}
