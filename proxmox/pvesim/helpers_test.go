package pvesim

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"
)

// fixedNow pins the clock so figures are reproducible in tests.
var fixedNow = time.Date(2026, 2, 23, 14, 30, 0, 0, time.UTC)

func startSim(t testing.TB, opts Options) *Sim {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return fixedNow }
	}
	s, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		s.Close()
		sharedClient.CloseIdleConnections() // a later sim may get the same port
	})
	return s
}

// sharedClient keeps connections alive across calls: a TLS handshake per
// call (RSA signing) dominated the tests' time under -race.
var sharedClient = &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
	TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, MaxIdleConnsPerHost: 4}}

func insecureClient() *http.Client { return sharedClient }

type apiResp struct {
	Status int
	Reason string
	Header http.Header
	Body   []byte
	Data   json.RawMessage
	Total  *int
	Msg    *string
	Errors map[string]string
}

// call performs one request with the named token ("" = no auth).
func call(t testing.TB, s *Sim, token, method, path string, params url.Values) apiResp {
	t.Helper()
	return callURL(t, s.URL(), s.Token(token), method, path, params)
}

func callURL(t testing.TB, base, token, method, path string, params url.Values) apiResp {
	t.Helper()
	u := base + "/api2/json" + path
	var body io.Reader
	if method == "GET" || method == "DELETE" {
		if len(params) > 0 {
			u += "?" + params.Encode()
		}
	} else if params != nil {
		body = strings.NewReader(params.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		req.Header.Set("Authorization", "PVEAPIToken="+token)
	}
	res, err := insecureClient().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := apiResp{Status: res.StatusCode, Reason: strings.TrimPrefix(res.Status, res.Status[:4]), Header: res.Header, Body: b}
	var env struct {
		Data    json.RawMessage   `json:"data"`
		Total   *int              `json:"total"`
		Message *string           `json:"message"`
		Errors  map[string]string `json:"errors"`
	}
	if len(b) > 0 && json.Unmarshal(b, &env) == nil {
		r.Data, r.Total, r.Msg, r.Errors = env.Data, env.Total, env.Message, env.Errors
	}
	return r
}

func mustOK(t testing.TB, r apiResp) {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("status %d %q body %s", r.Status, r.Reason, r.Body)
	}
}

func decode[T any](t testing.TB, r apiResp) T {
	t.Helper()
	mustOK(t, r)
	var v T
	if err := json.Unmarshal(r.Data, &v); err != nil {
		t.Fatalf("decode %s: %v", r.Data, err)
	}
	return v
}

// routeList lists the registered routes sorted by pattern, then method, for
// the fidelity tests.
func (s *Sim) routeList() []*route {
	out := append([]*route(nil), s.routes...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].pattern != out[j].pattern {
			return out[i].pattern < out[j].pattern
		}
		return out[i].method < out[j].method
	})
	return out
}
