package pvesim

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// genericClient is how a plain Proxmox client talks to pveproxy: HTTPS with
// the certificate pinned by its SHA-256 fingerprint, an API token header,
// GET, and the {"data": ...} envelope. It shares nothing with the test
// helpers or with pvemcp's client.
type genericClient struct {
	base, token string
	http        *http.Client
}

func newGenericClient(s *Sim, token string) *genericClient {
	pin := strings.ReplaceAll(s.Fingerprint(), ":", "")
	tr := &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true, // replaced by the pin below, as PVE clients do with a self-signed node certificate
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("no certificate")
			}
			sum := sha256.Sum256(raw[0])
			if !strings.EqualFold(fmt.Sprintf("%X", sum[:]), pin) {
				return errors.New("certificate fingerprint mismatch")
			}
			return nil
		},
	}}
	return &genericClient{base: s.URL() + "/api2/json", token: s.Token(token), http: &http.Client{Timeout: 20 * time.Second, Transport: tr}}
}

func (g *genericClient) get(path string) (int, string, json.RawMessage, error) {
	req, err := http.NewRequest("GET", g.base+path, nil)
	if err != nil {
		return 0, "", nil, err
	}
	req.Header.Set("Authorization", "PVEAPIToken="+g.token)
	resp, err := g.http.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", nil, err
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(b, &env); err != nil {
			return resp.StatusCode, resp.Status, nil, fmt.Errorf("not a Proxmox envelope: %v", err)
		}
	}
	return resp.StatusCode, resp.Status, env.Data, nil
}

// TestGenericClientDiagnosticsReads: the reads a peer built for real
// Proxmox made against the simulator and found missing (501) answer 200 on
// the demo with data of the documented shape. Ceph status answers 200 on a
// cluster with Ceph and, on the demo (no Ceph), what Proxmox answers there.
func TestGenericClientDiagnosticsReads(t *testing.T) {
	s := startSim(t, Options{})
	g := newGenericClient(s, "admin")
	defer g.http.CloseIdleConnections()
	for _, tc := range []struct {
		path string
		want func(json.RawMessage) error
	}{
		{"/nodes/pve-node01/syslog?limit=20", nonEmptyArray},
		{"/nodes/pve-node03/journal?lastentries=20", nonEmptyArray},
		{"/nodes/pve-node01/services", nonEmptyArray},
		{"/nodes/pve-node01/apt/update", nonEmptyArray},
		{"/nodes/pve-node01/apt/versions", nonEmptyArray},
		{"/nodes/pve-node01/network", nonEmptyArray},
		{"/nodes/pve-node01/dns", object},
		{"/nodes/pve-node01/time", object},
		{"/nodes/pve-node01/subscription", object},
		{"/nodes/pve-node02/certificates/info", nonEmptyArray},
		{"/cluster/replication", nonEmptyArray},
		{"/nodes/pve-node03/replication", nonEmptyArray},
		{"/nodes/pve-node03/replication/104-0/status", object},
		{"/cluster/log?max=10", nonEmptyArray},
		{"/cluster/firewall/options", object},
		{"/cluster/firewall/rules", nonEmptyArray},
		{"/cluster/firewall/groups", nonEmptyArray},
		{"/cluster/firewall/ipset", nonEmptyArray},
		{"/cluster/firewall/aliases", nonEmptyArray},
		{"/nodes/pve-node01/firewall/rules", array},
		{"/nodes/pve-node01/qemu/101/firewall/rules", nonEmptyArray},
		{"/nodes/pve-node01/qemu/101/firewall/options", object},
		{"/nodes/pve-node01/lxc/200/firewall/rules", nonEmptyArray},
		{"/nodes/pve-node01/storage/local/content", nonEmptyArray},
		{"/nodes/pve-node01/aplinfo", nonEmptyArray},
		{"/cluster/ceph", nonEmptyArray},
	} {
		code, status, data, err := g.get(tc.path)
		if err != nil || code != 200 {
			t.Errorf("GET %s: %d %s %v", tc.path, code, status, err)
			continue
		}
		if err := tc.want(data); err != nil {
			t.Errorf("GET %s: %v: %.200s", tc.path, err, data)
		}
	}
	code, status, _, _ := g.get("/cluster/ceph/status")
	if code != 500 || !strings.Contains(status, "binary not installed: /usr/bin/ceph-mon") {
		t.Errorf("demo GET /cluster/ceph/status: %d %q, want Proxmox's 500 for a cluster without Ceph", code, status)
	}

	ceph := startSim(t, Options{Generate: "nodes=3,guests=6,ceph=1"})
	cg := newGenericClient(ceph, "admin")
	defer cg.http.CloseIdleConnections()
	for _, p := range []string{"/cluster/ceph/status", "/nodes/pve01/ceph/status", "/nodes/pve01/ceph/osd", "/nodes/pve01/ceph/pool"} {
		code, status, data, err := cg.get(p)
		if err != nil || code != 200 || len(data) < 10 {
			t.Errorf("ceph GET %s: %d %s %v", p, code, status, err)
		}
	}
}

func array(d json.RawMessage) error {
	var l []any
	return json.Unmarshal(d, &l)
}

func nonEmptyArray(d json.RawMessage) error {
	var l []any
	if err := json.Unmarshal(d, &l); err != nil {
		return err
	}
	if len(l) == 0 {
		return errors.New("empty list")
	}
	return nil
}

func object(d json.RawMessage) error {
	var m map[string]any
	if err := json.Unmarshal(d, &m); err != nil {
		return err
	}
	if len(m) == 0 {
		return errors.New("empty object")
	}
	return nil
}
