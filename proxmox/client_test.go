package proxmox

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const testSecret = "5e3dd1bd-1234-4abc-9def-0123456789ab"
const testToken = "pvemcp@pve!test=" + testSecret

// rawReply writes a response with an arbitrary reason phrase, as pveproxy
// does (net/http always writes the standard text).
func rawReply(w http.ResponseWriter, status int, reason, contentType, body string) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("no hijacker")
	}
	conn, bw, err := hj.Hijack()
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", status, reason)
	if contentType != "" {
		fmt.Fprintf(bw, "Content-Type: %s\r\n", contentType)
	}
	fmt.Fprintf(bw, "Content-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
	_ = bw.Flush()
}

type fakePVE struct {
	srv     *httptest.Server
	mu      sync.Mutex
	reqs    []*http.Request
	handler func(w http.ResponseWriter, r *http.Request)
}

func newFake(t testing.TB, h func(w http.ResponseWriter, r *http.Request)) *fakePVE {
	t.Helper()
	f := &fakePVE{handler: h}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.reqs = append(f.reqs, r)
		f.mu.Unlock()
		f.handler(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakePVE) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

func (f *fakePVE) fingerprint() string { return FingerprintOf(f.srv.Certificate().Raw, false) }

func (f *fakePVE) client(t testing.TB, mod ...func(*Options)) *Client {
	t.Helper()
	o := Options{Endpoints: []string{f.srv.URL}, Token: testToken, Fingerprint: f.fingerprint()}
	for _, m := range mod {
		m(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func jsonReply(body string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		_, _ = w.Write([]byte(body))
	}
}

// canned serves fixed Proxmox answers by path below /api2/json (query
// ignored); any other path answers 501.
func canned(t *testing.T, answers map[string]string) *Client {
	t.Helper()
	return newFake(t, func(w http.ResponseWriter, r *http.Request) {
		body, ok := answers[strings.TrimPrefix(r.URL.Path, "/api2/json")]
		if !ok {
			http.Error(w, "not found", http.StatusNotImplemented)
			return
		}
		jsonReply(body)(w, r)
	}).client(t)
}

func TestParseToken(t *testing.T) {
	id, secret, err := ParseToken(testToken)
	if err != nil || id != "pvemcp@pve!test" || secret != testSecret {
		t.Fatalf("got %q %q %v", id, secret, err)
	}
	for _, bad := range []string{"", "nouser=abc", "root@pam!x=", "root@pam=abc", "root!x=abc", "root@pam!1x=abc"} {
		_, _, err := ParseToken(bad)
		if err == nil {
			t.Errorf("%q: want error", bad)
			continue
		}
		if strings.Contains(err.Error(), "abc") {
			t.Errorf("%q: error shows the secret: %v", bad, err)
		}
	}
}

func TestNormalizeFingerprintAndEndpoint(t *testing.T) {
	want := "80:D4:F2:DF:64:95:CD:8D:A0:82:82:AC:48:BA:C0:7A:1B:6B:87:8B:FE:B9:83:1C:95:4E:79:58:77:99:69:F5"
	for _, in := range []string{want, strings.ToLower(want), strings.ReplaceAll(want, ":", "")} {
		got, err := NormalizeFingerprint(in)
		if err != nil || got != want {
			t.Errorf("%q: got %q %v", in, got, err)
		}
	}
	if _, err := NormalizeFingerprint("AB:CD"); err == nil {
		t.Error("short fingerprint accepted")
	}
	for in, want := range map[string]string{
		"pve1":                            "https://pve1:8006",
		"pve1:443":                        "https://pve1:443",
		"https://10.0.0.1:8006/":          "https://10.0.0.1:8006",
		"https://10.0.0.1:8006/api2/json": "https://10.0.0.1:8006",
		"https://[::1]:8006/api2/json/":   "https://[::1]:8006",
	} {
		u, err := NormalizeEndpoint(in)
		if err != nil || u.String() != want {
			t.Errorf("%q: got %v %v, want %s", in, u, err, want)
		}
	}
	if _, err := NormalizeEndpoint("ftp://x"); err == nil {
		t.Error("ftp accepted")
	}
}

func TestGetDecodesAndRecords(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); got != "PVEAPIToken="+testToken {
			t.Errorf("auth header %q", got)
		}
		if r.ProtoMajor != 1 {
			t.Errorf("protocol %s, want HTTP/1.1", r.Proto)
		}
		switch r.URL.Path {
		case "/api2/json/version":
			jsonReply(`{"data":{"version":"9.0.3","release":"9.0","repoid":"025864202ebb6109"}}`)(w, r)
		case "/api2/json/cluster/resources":
			if r.URL.Query().Get("type") != "vm" {
				t.Errorf("query %q", r.URL.RawQuery)
			}
			jsonReply(`{"data":[{"id":"qemu/100","type":"qemu","vmid":100,"node":"pve1","name":"web","status":"running","template":0,"maxcpu":4,"cpu":"0.5","maxmem":8589934592,"mem":4294967296,"tags":"a;b"}]}`)(w, r)
		default:
			rawReply(w, 501, "Method 'GET "+r.URL.Path+"' not implemented", "application/json", `{"data":null}`)
		}
	})
	c := f.client(t)
	rec := NewRecorder()
	ctx := WithRecorder(context.Background(), rec)
	v, err := c.Version(ctx)
	if err != nil || v.Version != "9.0.3" || v.Release != "9.0" {
		t.Fatalf("version %+v %v", v, err)
	}
	res, err := c.Resources(ctx, ResourceVM)
	if err != nil || len(res) != 1 {
		t.Fatalf("resources %v %v", res, err)
	}
	r := res[0]
	if r.VMID != 100 || r.CPU != 0.5 || r.MaxMem != 8589934592 || !r.IsGuest() || len(SplitTags(r.Tags)) != 2 {
		t.Errorf("decoded %+v", r)
	}
	calls := rec.Calls()
	if len(calls) != 2 || calls[0].Path != "/version" || calls[1].Path != "/cluster/resources?type=vm" || calls[1].Status != 200 || calls[1].Method != "GET" {
		t.Errorf("calls %+v", calls)
	}
}

func TestErrorMapping(t *testing.T) {
	cases := []struct {
		path, reason, ctype, body string
		status                    int
		kind                      ErrorKind
		want                      []string
	}{
		{"/cluster/status", "Authentication failed!", "", "", 401, KindAuth, []string{"Proxmox rejected the API token (pvemcp@pve!test)", "Authentication failed!"}},
		{"/nodes/pve1/qemu/100/config", "Permission check failed (/vms/100, VM.Audit)", "application/json", `{"data":null,"message":"Permission check failed (/vms/100, VM.Audit)\n"}`, 403, KindPermission, []string{"missing privilege VM.Audit on /vms/100", "GET /nodes/pve1/qemu/100/config"}},
		{"/nodes/pve-node03/qemu", "No route to host", "", "", 595, KindNodeUnreachable, []string{"node pve-node03 is unreachable from the cluster"}},
		{"/nodes/pve1/qemu/999/status/current", "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist", "application/json", `{"data":null}`, 500, KindNotFound, []string{"does not exist"}},
		{"/nodes/pve1/storage", "Parameter verification failed.", "application/json", `{"data":null,"errors":{"storage":"No such storage."}}`, 400, KindBadRequest, []string{"storage: No such storage."}},
		{"/nodes/pve1/foo", "Method 'GET /nodes/pve1/foo' not implemented", "application/json", `{"data":null}`, 501, KindNotImplemented, []string{"not implemented"}},
		{"/version", "Bad Gateway", "text/html", "<html><body>502 Bad Gateway</body></html>", 502, KindNotProxmox, []string{"not a Proxmox API answer (HTML from a proxy?)"}},
		{"/nodes", "OK", "application/json", `{"data":[{"node":`, 200, KindNotProxmox, []string{"not a Proxmox API answer"}},
		{"/nodes/pve1/status", "Internal Server Error", "application/json", `{"data":null,"message":"VM is locked (backup)\n"}`, 500, KindServer, []string{"VM is locked (backup)"}},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
				rawReply(w, tc.status, tc.reason, tc.ctype, tc.body)
			})
			c := f.client(t)
			var out any
			err := c.get(context.Background(), tc.path, nil, &out)
			if err == nil {
				t.Fatal("no error")
			}
			if k := KindOf(err); k != tc.kind {
				t.Errorf("kind %q, want %q (%v)", k, tc.kind, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Errorf("secret in error: %v", err)
			}
		})
	}
}

func TestMissingPrivilegeNamed(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		rawReply(w, 403, "Permission check failed (/storage/local, Datastore.Audit|Datastore.AllocateSpace)", "", "")
	})
	_, err := f.client(t).Nodes(context.Background())
	var e *Error
	if !errors.As(err, &e) || e.Privilege != "Datastore.Audit|Datastore.AllocateSpace" || e.PrivPath != "/storage/local" || !IsForbidden(err) {
		t.Fatalf("got %+v (%v)", e, err)
	}
	if !strings.Contains(err.Error(), "Datastore.Audit or Datastore.AllocateSpace") {
		t.Errorf("message %v", err)
	}
}

func TestTLS(t *testing.T) {
	f := newFake(t, jsonReply(`{"data":[]}`))
	t.Run("pin mismatch shows both fingerprints", func(t *testing.T) {
		wrong := strings.Repeat("AB:", 31) + "AB"
		c := f.client(t, func(o *Options) { o.Fingerprint = wrong })
		_, err := c.Nodes(context.Background())
		var pin *PinMismatchError
		if KindOf(err) != KindTLS || !errors.As(err, &pin) {
			t.Fatalf("got %v", err)
		}
		if !strings.Contains(err.Error(), wrong) || !strings.Contains(err.Error(), f.fingerprint()) {
			t.Errorf("message %v lacks a fingerprint", err)
		}
	})
	t.Run("untrusted chain names the fingerprint to pin", func(t *testing.T) {
		c := f.client(t, func(o *Options) { o.Fingerprint = "" })
		_, err := c.Nodes(context.Background())
		if KindOf(err) != KindTLS || !strings.Contains(err.Error(), "PROXMOX_VE_FINGERPRINT") || !strings.Contains(err.Error(), f.fingerprint()) {
			t.Fatalf("got %v", err)
		}
		if f.count() != 0 {
			t.Errorf("a request reached the server without TLS trust")
		}
	})
	t.Run("CA PEM", func(t *testing.T) {
		pemCA := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
		c := f.client(t, func(o *Options) { o.Fingerprint = ""; o.CAPEM = pemCA })
		if _, err := c.Nodes(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("insecure", func(t *testing.T) {
		c := f.client(t, func(o *Options) { o.Fingerprint = ""; o.Insecure = true })
		if _, err := c.Nodes(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestUnreachableAndFailover(t *testing.T) {
	dead := "https://" + closedAddr(t)
	c, err := New(Options{Endpoints: []string{dead}, Token: testToken, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	rec := NewRecorder()
	_, err = c.Nodes(WithRecorder(context.Background(), rec))
	if KindOf(err) != KindUnreachable || !strings.Contains(err.Error(), "is unreachable") || !strings.Contains(err.Error(), dead) {
		t.Fatalf("got %v", err)
	}
	if calls := rec.Calls(); len(calls) != 1 || calls[0].Status != 0 || calls[0].Error != "unreachable" {
		t.Errorf("calls %+v", calls)
	}

	f := newFake(t, jsonReply(`{"data":[{"node":"pve1","status":"online"}]}`))
	c = f.client(t, func(o *Options) { o.Endpoints = []string{dead, f.srv.URL} })
	nodes, err := c.Nodes(context.Background())
	if err != nil || len(nodes) != 1 {
		t.Fatalf("failover: %v %v", nodes, err)
	}
	// The answering endpoint is remembered: the dead one is not retried first.
	if _, err := c.Nodes(context.Background()); err != nil || c.current.Load() != 1 {
		t.Fatalf("second call: %v, current %d", err, c.current.Load())
	}
}

func TestTimeoutAndCancel(t *testing.T) {
	release := make(chan struct{})
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	c := f.client(t, func(o *Options) { o.Timeout = 50 * time.Millisecond })
	_, err := c.Nodes(context.Background())
	if KindOf(err) != KindTimeout || !IsNodeUnreachable(err) {
		t.Fatalf("got %v", err)
	}
	c = f.client(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for f.count() < 2 {
			runtime.Gosched()
		}
		cancel()
	}()
	_, err = c.Nodes(ctx)
	if KindOf(err) != KindCanceled {
		t.Fatalf("got %v", err)
	}
}

func TestIdenticalGETsShareOneRequest(t *testing.T) {
	release := make(chan struct{})
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		jsonReply(`{"data":[{"node":"pve1","status":"online"}]}`)(w, r)
	})
	c := f.client(t)
	const n = 8
	recs := make([]*Recorder, n)
	var wg sync.WaitGroup
	var ok atomic.Int32
	for i := range n {
		recs[i] = NewRecorder()
		wg.Add(1)
		go func() {
			defer wg.Done()
			nodes, err := c.Nodes(WithRecorder(context.Background(), recs[i]))
			if err == nil && len(nodes) == 1 {
				ok.Add(1)
			}
		}()
	}
	// Wait until every caller joined the flight, then let the server answer.
	for c.flights.waiting("/nodes") < n-1 {
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	if ok.Load() != n {
		t.Fatalf("%d of %d callers succeeded", ok.Load(), n)
	}
	if got := f.count(); got != 1 {
		t.Errorf("server saw %d requests, want 1", got)
	}
	for i, r := range recs {
		if calls := r.Calls(); len(calls) != 1 || calls[0].Path != "/nodes" {
			t.Errorf("caller %d recorded %+v", i, calls)
		}
	}
	// Nothing is cached: the next call is a new request.
	if _, err := c.Nodes(context.Background()); err != nil || f.count() != 2 {
		t.Errorf("after return: %v, %d requests", err, f.count())
	}
}

func TestInvalidInputNeverSent(t *testing.T) {
	f := newFake(t, jsonReply(`{"data":{}}`))
	c := f.client(t)
	ctx := context.Background()
	checks := []error{
		func() error { _, err := c.NodeStatus(ctx, "../../access"); return err }(),
		func() error { _, err := c.GuestStatus(ctx, "pve1", TypeQemu, -1); return err }(),
		func() error { _, err := c.GuestStatus(ctx, "pve1", TypeQemu, 1_000_000_000_000); return err }(),
		func() error { _, err := c.GuestConfig(ctx, "pve1", "../x", 100); return err }(),
		func() error { _, err := c.Resources(ctx, "all"); return err }(),
		func() error { _, err := c.Permissions(ctx, "/vms/../access"); return err }(),
		c.get(ctx, "/nodes/../access", nil, nil),
		c.get(ctx, "/nodes/%2e%2e/access", nil, nil),
		c.get(ctx, "/nodes/a%2Fb/status", nil, nil),
	}
	for i, err := range checks {
		if KindOf(err) != KindInvalid {
			t.Errorf("check %d: got %v, want invalid", i, err)
		}
	}
	if f.count() != 0 {
		t.Errorf("%d requests reached the server", f.count())
	}
}

// TestFanOutBoundAndPartial: at most limit calls run at once, and the bound
// is also reached (a serial fan-out fails: the first calls wait until three
// are in flight); one node's error leaves the others' answers in place.
func TestFanOutBoundAndPartial(t *testing.T) {
	nodes := []string{"n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9", "n10"}
	const limit = 3
	var inFlight, peak, started atomic.Int32
	full := make(chan struct{})
	var fullOnce sync.Once
	res := FanOut(context.Background(), nodes, limit, func(ctx context.Context, node string) (string, error) {
		cur := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if cur <= p || peak.CompareAndSwap(p, cur) {
				break
			}
		}
		if cur == limit {
			fullOnce.Do(func() { close(full) })
		}
		if started.Add(1) <= limit {
			select {
			case <-full:
			case <-time.After(2 * time.Second): // never reached unless the fan-out is serial
			}
		}
		runtime.Gosched()
		if node == "n3" {
			return "", errors.New("boom")
		}
		return "ok:" + node, nil
	})
	if peak.Load() != limit {
		t.Errorf("peak concurrency %d, want the bound %d", peak.Load(), limit)
	}
	for i, r := range res {
		if r.Node != nodes[i] {
			t.Errorf("order: %d is %s", i, r.Node)
		}
		if (r.Err != nil) != (r.Node == "n3") || (r.Err == nil && r.Value != "ok:"+r.Node) {
			t.Errorf("result %+v", r)
		}
	}
}

// TestFanOutCanceledIsAnError: nodes not asked because the request was
// canceled carry an error, never an empty value that reads as "nothing
// there".
func TestFanOutCanceledIsAnError(t *testing.T) {
	nodes := []string{"n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int32
	res := FanOut(ctx, nodes, 1, func(ctx context.Context, node string) ([]string, error) {
		if calls.Add(1) == 1 {
			// The others are queued behind the bound of one by now.
			time.Sleep(20 * time.Millisecond)
			cancel()
			return []string{"first"}, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return []string{"late:" + node}, nil
	})
	answered := 0
	for _, r := range res {
		switch {
		case r.Err == nil && len(r.Value) > 0:
			answered++
		case r.Err == nil:
			t.Errorf("%s: no value and no error after the cancel", r.Node)
		case !errors.Is(r.Err, context.Canceled) && KindOf(r.Err) != KindCanceled:
			t.Errorf("%s: error %v does not say canceled", r.Node, r.Err)
		}
	}
	if answered != 1 {
		t.Errorf("%d nodes answered, want only the first", answered)
	}
	// Canceled before the call: every node gets the error.
	res = FanOut(ctx, nodes, 2, func(ctx context.Context, node string) ([]string, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return []string{node}, nil
	})
	for _, r := range res {
		if r.Err == nil {
			t.Errorf("%s: canceled request gave %v and no error", r.Node, r.Value)
		}
	}
}

func TestLooseValues(t *testing.T) {
	var v struct {
		A, B, C    Num
		D, E, F    Int
		G, H, I, J Bool
	}
	err := jsonUnmarshal(`{"A":1.5,"B":"2.5","C":"","D":100,"E":"200","F":3.0,"G":1,"H":"0","I":true,"J":"1"}`, &v)
	if err != nil {
		t.Fatal(err)
	}
	if v.A != 1.5 || v.B != 2.5 || v.C != 0 || v.D != 100 || v.E != 200 || v.F != 3 || !bool(v.G) || bool(v.H) || !bool(v.I) || !bool(v.J) {
		t.Errorf("%+v", v)
	}
	if err := jsonUnmarshal(`{"A":"N/A"}`, &v); err == nil {
		t.Error(`"N/A" accepted as a number`)
	}
}

func TestRedactConfig(t *testing.T) {
	gc := redactConfig(map[string]any{
		"digest": "abc", "name": "web", "cores": float64(2), "memory": "4096",
		"cipassword": "**********", "sshkeys": "ssh-ed25519%20AAAA", "agent": float64(1),
		"mp0": "nfs:share,password=hunter2,size=8G",
	})
	if gc.Digest != "abc" || gc.Values["cores"] != "2" || gc.Values["memory"] != "4096" || gc.Values["name"] != "web" {
		t.Errorf("values %+v", gc.Values)
	}
	for _, k := range []string{"cipassword", "sshkeys"} {
		if gc.Values[k] != RedactedValue {
			t.Errorf("%s = %q", k, gc.Values[k])
		}
	}
	if strings.Contains(gc.Values["mp0"], "hunter2") || !strings.Contains(gc.Values["mp0"], "size=8G") {
		t.Errorf("mp0 = %q", gc.Values["mp0"])
	}
	if strings.Join(gc.Redacted, ",") != "cipassword,mp0,sshkeys" {
		t.Errorf("redacted %v", gc.Redacted)
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func TestResourcesFastAndTolerantDecode(t *testing.T) {
	for _, body := range []string{
		`{"data":[{"id":"qemu/100","type":"qemu","vmid":100,"cpu":0.25,"maxcpu":4,"mem":1073741824,"template":0,"shared":1}]}`,
		`{"data":[{"id":"qemu/100","type":"qemu","vmid":"100","cpu":"0.25","maxcpu":"4","mem":"1073741824","template":"0","shared":true}]}`,
	} {
		f := newFake(t, jsonReply(body))
		res, err := f.client(t).Resources(context.Background(), "")
		if err != nil || len(res) != 1 {
			t.Fatalf("%s: %v %v", body, res, err)
		}
		r := res[0]
		if r.VMID != 100 || r.CPU != 0.25 || r.MaxCPU != 4 || r.Mem != 1073741824 || r.Template || !r.Shared {
			t.Errorf("%s: decoded %+v", body, r)
		}
	}
}

func TestSeveralPinsAndPinWithCA(t *testing.T) {
	f := newFake(t, jsonReply(`{"data":[]}`))
	other := strings.Repeat("CD:", 31) + "CD"
	c := f.client(t, func(o *Options) { o.Fingerprint = other + ", " + f.fingerprint() })
	if _, err := c.Nodes(context.Background()); err != nil {
		t.Fatalf("second pin not accepted: %v", err)
	}
	// A certificate matching no pin is still accepted when the CA signed it
	// (failover to a node whose pin was not configured).
	pemCA := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
	c = f.client(t, func(o *Options) { o.Fingerprint = other; o.CAPEM = pemCA })
	if _, err := c.Nodes(context.Background()); err != nil {
		t.Fatalf("CA fallback: %v", err)
	}
	if _, err := ParsePins("AB:CD, nonsense"); err == nil {
		t.Error("bad pin list accepted")
	}
}

func TestBadRequestNeverEchoesSecretParams(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		rawReply(w, 400, "Parameter verification failed.", "application/json",
			`{"data":null,"errors":{"password":"value 'hunter2' is too short","cores":"type check ('integer') failed - got 'x'"}}`)
	})
	err := f.client(t).get(context.Background(), "/nodes/pve1/lxc", nil, nil)
	if strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "password: invalid value (not shown)") || !strings.Contains(err.Error(), "got 'x'") {
		t.Errorf("message %v", err)
	}
	var pe *Error
	if !errors.As(err, &pe) || strings.Contains(pe.Params["password"], "hunter2") || pe.Params["cores"] == "" {
		t.Errorf("params %v", pe)
	}
}
