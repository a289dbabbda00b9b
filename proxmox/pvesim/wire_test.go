package pvesim

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// rawGET sends a request over a raw TLS connection and returns the status
// line and the whole response, so reason phrases are seen as sent.
func rawRequest(t *testing.T, s *Sim, req string) (statusLine string, resp string) {
	t.Helper()
	u, _ := url.Parse(s.URL())
	conn, err := tls.Dial("tcp", u.Host, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if p := conn.ConnectionState().NegotiatedProtocol; p == "h2" {
		t.Fatalf("negotiated %q: pveproxy speaks HTTP/1.1 only", p)
	}
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(conn)
	line, _, _ := strings.Cut(string(b), "\r\n")
	return line, string(b)
}

func TestWireStatusLineReasons(t *testing.T) {
	s := startSim(t, Options{})
	tok := s.Token("operator")
	cases := []struct {
		req, line string
	}{
		{"GET /api2/json/version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "HTTP/1.1 401 No ticket"},
		{"GET /api2/json/version HTTP/1.1\r\nHost: x\r\nAuthorization: PVEAPIToken=pvemcp@pve!operator=wrong\r\nConnection: close\r\n\r\n", "HTTP/1.1 401 Authentication failed!"},
		{"GET /api2/json/nodes/pve-node01/foo HTTP/1.1\r\nHost: x\r\nAuthorization: PVEAPIToken=" + tok + "\r\nConnection: close\r\n\r\n", "HTTP/1.1 501 Method 'GET /nodes/pve-node01/foo' not implemented"},
		{"GET /api2/json/nodes/pve-node01/qemu/999/config HTTP/1.1\r\nHost: x\r\nAuthorization: PVEAPIToken=" + tok + "\r\nConnection: close\r\n\r\n", "HTTP/1.1 500 Configuration file 'nodes/pve-node01/qemu-server/999.conf' does not exist"},
		{"GET /api2/json/nodes/nosuch/status HTTP/1.1\r\nHost: x\r\nAuthorization: PVEAPIToken=" + tok + "\r\nConnection: close\r\n\r\n", "HTTP/1.1 500 hostname lookup 'nosuch' failed - failed to get address info for: nosuch: Name or service not known"},
		{"GET /api2/json/cluster/nextid?vmid=abc HTTP/1.1\r\nHost: x\r\nAuthorization: PVEAPIToken=" + tok + "\r\nConnection: close\r\n\r\n", "HTTP/1.1 400 Parameter verification failed."},
		{"GET /api2/json/version HTTP/1.1\r\nHost: x\r\nAuthorization: PVEAPIToken=" + tok + "\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc", "HTTP/1.1 501 Unexpected content for method 'GET'"},
	}
	for _, c := range cases {
		line, resp := rawRequest(t, s, c.req)
		if line != c.line {
			t.Errorf("got %q, want %q\n%s", line, c.line, resp)
		}
		if !strings.Contains(resp, "Connection: close\r\n") || !strings.Contains(resp, "Server: pve-api-daemon/3.0\r\n") {
			t.Errorf("%s: missing error headers\n%s", c.line, resp)
		}
	}
	// 403 through the auditor token
	aud := s.Token("auditor")
	line, resp := rawRequest(t, s, "POST /api2/json/nodes/pve-node01/qemu/100/status/start HTTP/1.1\r\nHost: x\r\nAuthorization: PVEAPIToken="+aud+"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	if line != "HTTP/1.1 403 Permission check failed (/vms/100, VM.PowerMgmt)" {
		t.Errorf("403: %q\n%s", line, resp)
	}
	if !strings.HasSuffix(resp, `{"data":null,"message":"Permission check failed (/vms/100, VM.PowerMgmt)\n"}`) {
		t.Errorf("403 body: %s", resp)
	}
}

func TestWire401EmptyBodyAndVersions(t *testing.T) {
	for _, tc := range []struct {
		ver    int
		reason string
	}{{9, "Authentication failed!"}, {8, "no such token 'nope' for user 'pvemcp@pve'"}} {
		s := startSim(t, Options{PVEVersion: tc.ver})
		r := callURL(t, s.URL(), "pvemcp@pve!nope=x", "GET", "/version", nil)
		if r.Status != 401 || r.Reason != tc.reason || len(r.Body) != 0 || r.Header.Get("Content-Type") != "" {
			t.Errorf("pve%d: %d %q body %q ct %q", tc.ver, r.Status, r.Reason, r.Body, r.Header.Get("Content-Type"))
		}
		r = callURL(t, s.URL(), "", "GET", "/version", nil)
		if r.Status != 401 || r.Reason != "No ticket" || len(r.Body) != 0 {
			t.Errorf("pve%d no auth: %d %q %q", tc.ver, r.Status, r.Reason, r.Body)
		}
		// the login box's realm list needs no credentials
		if r := callURL(t, s.URL(), "", "GET", "/access/domains", nil); r.Status != 200 {
			t.Errorf("pve%d /access/domains without auth: %d", tc.ver, r.Status)
		}
	}
	// PVE 8.4 (>= 8.3, NOTES §1.5): errors carry "message" too.
	s := startSim(t, Options{PVEVersion: 8})
	r := call(t, s, "operator", "GET", "/cluster/nextid", url.Values{"vmid": {"100"}})
	if r.Status != 400 || string(r.Body) != `{"data":null,"message":"Parameter verification failed.\n","errors":{"vmid":"VM 100 already exists"}}` {
		t.Errorf("pve8 400: %d %s", r.Status, r.Body)
	}
}

func TestWireTypesAndEnvelope(t *testing.T) {
	s := startSim(t, Options{})
	r := call(t, s, "operator", "GET", "/cluster/nextid", nil)
	if string(r.Body) != `{"data":"106"}` {
		t.Errorf("nextid: %s", r.Body)
	}
	h := r.Header
	for k, v := range map[string]string{"Server": "pve-api-daemon/3.0", "Cache-Control": "max-age=0", "Pragma": "no-cache", "Content-Type": "application/json;charset=UTF-8"} {
		if h.Get(k) != v {
			t.Errorf("header %s = %q, want %q", k, h.Get(k), v)
		}
	}
	if h.Get("Expires") == "" || h.Get("Expires") != h.Get("Date") {
		t.Errorf("Expires %q Date %q", h.Get("Expires"), h.Get("Date"))
	}
	r = call(t, s, "operator", "GET", "/cluster/nextid", url.Values{"vmid": {"200"}})
	if r.Status != 400 || r.Errors["vmid"] != "VM 200 already exists" || r.Msg == nil || *r.Msg != "Parameter verification failed.\n" {
		t.Errorf("nextid taken: %d %s", r.Status, r.Body)
	}
	// 0/1 integers, never true/false
	st := decode[[]map[string]any](t, call(t, s, "operator", "GET", "/cluster/status", nil))
	for _, e := range st {
		for _, k := range []string{"quorate", "online", "local"} {
			if v, ok := e[k]; ok {
				if f, isNum := v.(float64); !isNum || (f != 0 && f != 1) {
					t.Errorf("cluster/status %s = %#v", k, v)
				}
			}
		}
	}
	// template only when 1 in guest lists; 0/1 in resources
	list := decode[[]map[string]any](t, call(t, s, "operator", "GET", "/nodes/pve-node02/qemu", nil))
	for _, g := range list {
		if tpl, ok := g["template"]; ok && tpl != float64(1) {
			t.Errorf("qemu list template %v", tpl)
		}
		if g["vmid"] == float64(9000) && g["template"] != float64(1) {
			t.Errorf("9000 must be a template: %v", g)
		}
	}
	// loadavg strings, memory config string, rpm/wearout mixed types
	ns := decode[map[string]any](t, call(t, s, "operator", "GET", "/nodes/pve-node01/status", nil))
	if la, ok := ns["loadavg"].([]any); !ok || len(la) != 3 {
		t.Errorf("loadavg %v", ns["loadavg"])
	} else if _, ok := la[0].(string); !ok {
		t.Errorf("loadavg not strings: %v", la)
	}
	cfg := decode[map[string]any](t, call(t, s, "operator", "GET", "/nodes/pve-node01/qemu/100/config", nil))
	if cfg["memory"] != "8192" || cfg["cores"] != float64(4) || cfg["agent"] != "1" || len(cfg["digest"].(string)) != 40 {
		t.Errorf("config types: %v", cfg)
	}
	disks := decode[[]map[string]any](t, call(t, s, "operator", "GET", "/nodes/pve-node01/disks/list", nil))
	var sawRPMString, sawWearNum, sawWearNA bool
	for _, d := range disks {
		if d["rpm"] == "7200" {
			sawRPMString = true
		}
		if _, ok := d["wearout"].(float64); ok {
			sawWearNum = true
		}
		if d["wearout"] == "N/A" {
			sawWearNA = true
		}
	}
	if !sawRPMString || !sawWearNum || !sawWearNA {
		t.Errorf("disks/list mixed types missing: %v", disks)
	}
	// top-level total on task lists
	r = call(t, s, "operator", "GET", "/nodes/pve-node01/tasks", url.Values{"limit": {"2"}})
	if r.Total == nil || *r.Total < 2 {
		t.Errorf("tasks total: %s", r.Body)
	}
}

func TestWireGzipBodiesAndUPIDPaths(t *testing.T) {
	s := startSim(t, Options{})
	req, _ := http.NewRequest("GET", s.URL()+"/api2/json/cluster/resources", nil)
	req.Header.Set("Authorization", "PVEAPIToken="+s.Token("operator"))
	req.Header.Set("Accept-Encoding", "gzip")
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableCompression: true}
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.Header.Get("Content-Encoding") != "gzip" || res.ProtoMajor != 1 {
		t.Fatalf("want gzip over HTTP/1.1, got %q %s", res.Header.Get("Content-Encoding"), res.Proto)
	}
	zr, err := gzip.NewReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]json.RawMessage
	if err := json.NewDecoder(zr).Decode(&env); err != nil {
		t.Fatal(err)
	}
	// small bodies are not compressed
	req.URL.Path = "/api2/json/version"
	res2, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res2.Body.Close()
	if res2.Header.Get("Content-Encoding") != "" {
		t.Error("small body compressed")
	}

	// form and JSON bodies: unknown parameters are refused the same way.
	for _, ct := range []string{"application/json", "application/x-www-form-urlencoded"} {
		body := "bogus=1"
		if ct == "application/json" {
			body = `{"bogus":true}`
		}
		req, _ := http.NewRequest("POST", s.URL()+"/api2/json/nodes/pve-node01/qemu/100/status/start", bytes.NewBufferString(body))
		req.Header.Set("Authorization", "PVEAPIToken="+s.Token("operator"))
		req.Header.Set("Content-Type", ct)
		res, err := insecureClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(bufio.NewReader(res.Body))
		res.Body.Close()
		if res.StatusCode != 400 || !strings.Contains(string(b), `"bogus":"property is not defined in schema`) {
			t.Errorf("%s: %d %s", ct, res.StatusCode, b)
		}
	}

	// raw and %3A-escaped UPIDs both address the task
	upid := anyUPID(t, s)
	for _, p := range []string{upid, strings.ReplaceAll(upid, ":", "%3A")} {
		req, _ := http.NewRequest("GET", s.URL()+"/api2/json/nodes/pve-node01/tasks/"+p+"/status", nil)
		req.Header.Set("Authorization", "PVEAPIToken="+s.Token("operator"))
		res, err := insecureClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(b), `"exitstatus"`) {
			t.Errorf("UPID path %q: %d %s", p, res.StatusCode, b)
		}
	}
}

func TestWireCAChainAndHandlerErrors(t *testing.T) {
	s := startSim(t, Options{})
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CACertPEM()) {
		t.Fatal("CACertPEM is not a PEM certificate")
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ := http.NewRequest("GET", s.URL()+"/api2/json/version", nil)
	req.Header.Set("Authorization", "PVEAPIToken="+s.Token("auditor"))
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("verifying against the sim's CA: %v", err)
	}
	res.Body.Close()
	leaf := res.TLS.PeerCertificates[0]
	if leaf.Subject.OrganizationalUnit[0] != "PVE Cluster Node" || leaf.Issuer.Organization[0] != "PVE Cluster Manager CA" {
		t.Errorf("subjects: %v / %v", leaf.Subject, leaf.Issuer)
	}

	for _, tc := range []struct{ path, reason string }{
		{"/nodes/pve-node01/qemu/103/agent/network-get-interfaces", "QEMU guest agent is not running"},
		{"/nodes/pve-node03/qemu/112/agent/network-get-interfaces", "No QEMU guest agent configured"},
		{"/nodes/pve-node02/qemu/100/status/current", "Configuration file 'nodes/pve-node02/qemu-server/100.conf' does not exist"},
		{"/nodes/pve-node01/lxc/100/config", "Configuration file 'nodes/pve-node01/lxc/100.conf' does not exist"},
		{"/cluster/ha/groups", "cannot index groups: ha groups have been migrated to rules"},
	} {
		r := call(t, s, "operator", "GET", tc.path, nil)
		if r.Status != 500 || r.Reason != tc.reason || r.Msg == nil || *r.Msg != tc.reason+"\n" {
			t.Errorf("%s: %d %q %s", tc.path, r.Status, r.Reason, r.Body)
		}
	}
	r := call(t, s, "operator", "GET", "/cluster/resources", url.Values{"type": {"pool"}})
	if r.Status != 400 || r.Errors["type"] != "value 'pool' does not have a value in the enumeration 'vm, storage, node, sdn'" {
		t.Errorf("bad resources type: %d %s", r.Status, r.Body)
	}
	r = call(t, s, "operator", "GET", "/nodes/pve-node01/rrddata", url.Values{"timeframe": {"hour"}, "cf": {"avg"}})
	if r.Status != 400 || r.Errors["cf"] == "" {
		t.Errorf("bad cf: %d %s", r.Status, r.Body)
	}
	r = call(t, s, "operator", "GET", "/nodes/pve-node01/qemu/abc/config", nil)
	if r.Status != 403 && r.Status != 400 {
		t.Errorf("vmid abc: %d %s", r.Status, r.Body)
	}
	r = call(t, s, "admin", "GET", "/nodes/pve-node01/qemu/abc/config", nil)
	if r.Status != 400 || r.Errors["vmid"] != "type check ('integer') failed - got 'abc'" {
		t.Errorf("vmid abc as root: %d %s", r.Status, r.Body)
	}
}

func TestPVE8Mode(t *testing.T) {
	s := startSim(t, Options{PVEVersion: 8})
	v := decode[map[string]any](t, call(t, s, "operator", "GET", "/version", nil))
	if v["release"] != "8.4" {
		t.Errorf("version %v", v)
	}
	res := decode[[]map[string]any](t, call(t, s, "operator", "GET", "/cluster/resources", nil))
	var sdn, network int
	for _, e := range res {
		switch e["type"] {
		case "sdn":
			sdn++
		case "network":
			network++
		case "qemu":
			if _, ok := e["memhost"]; ok {
				t.Errorf("PVE 8 resources have memhost: %v", e)
			}
		}
	}
	if sdn != 3 || network != 0 {
		t.Errorf("PVE 8: %d sdn, %d network entries", sdn, network)
	}
	hr := decode[[]map[string]any](t, call(t, s, "operator", "GET", "/cluster/ha/resources", nil))
	if hr[0]["group"] == nil {
		t.Errorf("PVE 8 HA resources carry their group: %v", hr[0])
	}
	if r := call(t, s, "operator", "GET", "/cluster/ha/rules", nil); r.Status != 501 {
		t.Errorf("PVE 8 has no HA rules endpoint: %d", r.Status)
	}
	pts := decode[[]map[string]any](t, call(t, s, "operator", "GET", "/nodes/pve-node01/rrddata", url.Values{"timeframe": {"hour"}}))
	if _, ok := pts[len(pts)-1]["memavailable"]; ok || len(pts[0]) != 13 {
		t.Errorf("PVE 8 node RRD fields: %v", pts[len(pts)-1])
	}
	perms := decode[map[string]map[string]int](t, call(t, s, "operator", "GET", "/access/permissions", url.Values{"path": {"/vms/100"}}))
	if perms["/vms/100"]["VM.Monitor"] != 1 || perms["/vms/100"]["VM.GuestAgent.Audit"] != 0 {
		t.Errorf("PVE 8 privileges: %v", perms)
	}
}

func TestWireParamMerging(t *testing.T) {
	s := startSim(t, Options{})
	// a body value conflicting with the path
	r := call(t, s, "admin", "POST", "/nodes/pve-node01/qemu/100/status/start", url.Values{"vmid": {"101"}})
	if r.Status != 400 || r.Errors["vmid"] != "duplicate parameter (already defined in URI) with conflicting values!" {
		t.Errorf("conflicting vmid: %d %s", r.Status, r.Body)
	}
	// query and body are merged: an unknown key in the query of a POST is refused too
	req, _ := http.NewRequest("POST", s.URL()+"/api2/json/nodes/pve-node01/qemu/100/status/start?bogus=1", strings.NewReader("timeout=5"))
	req.Header.Set("Authorization", "PVEAPIToken="+s.Token("admin"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := insecureClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 400 || !strings.Contains(string(b), `"bogus"`) || strings.Contains(string(b), `"timeout"`) {
		t.Errorf("merged params: %d %s", res.StatusCode, b)
	}
	// the request log masks secrets and records token ids
	s.ResetRequests()
	call(t, s, "operator", "GET", "/version", url.Values{"password": {"hunter2"}})
	reqs := s.Requests()
	if len(reqs) != 1 || reqs[0].TokenID != "operator" || reqs[0].Path != "/version" || strings.Contains(reqs[0].Query, "hunter2") || reqs[0].Params["password"] == "hunter2" {
		t.Errorf("request log: %+v", reqs)
	}
}
