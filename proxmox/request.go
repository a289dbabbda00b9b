package proxmox

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxBody bounds what is read from one answer; large clusters' resource lists
// stay far below it.
const maxBody = 64 << 20

// envelope is Proxmox's success body: {"data": ..., "total": N}.
type envelope struct {
	Data  json.RawMessage `json:"data"`
	Total *int64          `json:"total,omitempty"`
}

// answer is the outcome of one HTTP exchange.
type answer struct {
	status int
	body   []byte
	ms     float64
	err    *Error
	// endpoint that gave this answer, set when there are several (failover.go)
	endpoint string
}

// get performs a read and decodes the "data" member into out (a pointer, or
// nil). Concurrent identical reads share one request; nothing is kept
// afterwards. The answer is decoded in one pass (envelope and data).
func (c *Client) get(ctx context.Context, path string, query url.Values, out any) error {
	pq, a, err := c.read(ctx, path, query)
	if err != nil {
		return err
	}
	return decodeAnswer(a.body, out, "GET", pq)
}

// nodeRead checks the node name, then reads GET /nodes/{node}/<rest...>
// into a T: the shape of every per-node read without parameters. On error
// it returns T's zero value.
func nodeRead[T any](ctx context.Context, c *Client, node string, rest ...string) (T, error) {
	var out T
	if err := checkNode(node); err != nil {
		return out, err
	}
	if err := c.get(ctx, apiPath(append([]string{"nodes", node}, rest...)...), nil, &out); err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}

// nodeReadRef is nodeRead for an answer handed out by reference (nil on
// error).
func nodeReadRef[T any](ctx context.Context, c *Client, node string, rest ...string) (*T, error) {
	out, err := nodeRead[T](ctx, c, node, rest...)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// getEnvelope performs a read and returns the whole envelope (for "total").
func (c *Client) getEnvelope(ctx context.Context, path string, query url.Values) (*envelope, error) {
	pq, a, err := c.read(ctx, path, query)
	if err != nil {
		return nil, err
	}
	return parseEnvelope("GET", pq, a.body)
}

// read validates the path, performs (or joins) the GET and records it.
func (c *Client) read(ctx context.Context, path string, query url.Values) (string, answer, error) {
	if err := checkPath(path); err != nil {
		return "", answer{}, err
	}
	pq := withQuery(path, query)
	a := c.sharedGet(ctx, pq)
	RecorderFrom(ctx).Add(callOf("GET", pq, a))
	if a.err != nil {
		return pq, a, a.err
	}
	return pq, a, nil
}

// decodeAnswer decodes {"data": ...} straight into out: encoding/json
// decodes into the pointer an interface field holds.
func decodeAnswer(b []byte, out any, method, pq string) error {
	if out == nil {
		_, err := parseEnvelope(method, pq, b)
		return err
	}
	env := struct {
		Data any `json:"data"`
	}{Data: out}
	err := json.Unmarshal(b, &env)
	var syn *json.SyntaxError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &syn):
		return &Error{Kind: KindNotProxmox, Method: method, Path: pq, Status: 200, Node: nodeOfPath(pq),
			msg: "not a Proxmox API answer (malformed JSON)", err: err}
	}
	return &Error{Kind: KindNotProxmox, Method: method, Path: pq, Status: 200, Node: nodeOfPath(pq),
		msg: "unexpected shape of the Proxmox answer: " + err.Error(), err: err}
}

// do sends a request with any method. It stays unexported: mutating calls
// are only reachable through the approval gate's typed methods.
func (c *Client) do(ctx context.Context, method, path string, params url.Values, out any) error {
	if err := checkPath(path); err != nil {
		return err
	}
	var body []byte
	pq := path
	if method == http.MethodGet || method == http.MethodDelete {
		pq = withQuery(path, params)
	} else if len(params) > 0 {
		body = []byte(params.Encode())
	}
	a := c.send(ctx, method, pq, body)
	RecorderFrom(ctx).Add(callOf(method, pq, a))
	if a.err != nil {
		return a.err
	}
	return decodeAnswer(a.body, out, method, pq)
}

func callOf(method, pq string, a answer) Call {
	c := Call{Method: method, Path: pq, Status: a.status, MS: roundMS(a.ms), Endpoint: a.endpoint}
	if a.status == 0 && a.err != nil {
		c.Error = string(a.err.Kind)
	}
	return c
}

func roundMS(ms float64) float64 {
	return float64(int64(ms*10+0.5)) / 10
}

func withQuery(path string, q url.Values) string {
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// sharedGet joins an identical in-flight GET or starts one.
func (c *Client) sharedGet(ctx context.Context, pq string) answer {
	a, shared, canceled := c.flights.do(ctx, pq, func() answer { return c.send(ctx, http.MethodGet, pq, nil) })
	if canceled != nil {
		a = answer{err: canceled}
	}
	// The leader's cancellation must not fail a follower that is still wanted.
	if shared && a.err != nil && a.err.Kind == KindCanceled && ctx.Err() == nil {
		return c.send(ctx, http.MethodGet, pq, nil)
	}
	return a
}

// send performs one exchange with per-call timeout and endpoint failover
// (failover.go).
func (c *Client) send(ctx context.Context, method, pq string, body []byte) answer {
	return c.sendFailover(ctx, method, pq, body)
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }

func (c *Client) readAnswer(method, pq string, resp *http.Response) answer {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	a := answer{status: resp.StatusCode, body: b}
	if err != nil {
		a.err = &Error{Kind: KindUnreachable, Method: method, Path: pq, Status: resp.StatusCode, msg: "reading Proxmox answer failed: " + err.Error(), err: err}
		return a
	}
	if looksHTML(resp.Header.Get("Content-Type"), b) {
		a.err = &Error{Kind: KindNotProxmox, Method: method, Path: pq, Status: resp.StatusCode, Node: nodeOfPath(pq),
			msg: fmt.Sprintf("not a Proxmox API answer (HTML from a proxy?), status %d", resp.StatusCode)}
		return a
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return a
	}
	reason := strings.TrimSpace(strings.TrimPrefix(resp.Status, strconv.Itoa(resp.StatusCode)))
	var eb struct {
		Message string            `json:"message"`
		Errors  map[string]string `json:"errors"`
	}
	if len(b) > 0 {
		_ = json.Unmarshal(b, &eb)
	}
	if reason == "" || reason == http.StatusText(resp.StatusCode) {
		if m := firstLine(eb.Message); m != "" {
			reason = m
		}
	}
	a.err = newHTTPError(method, pq, resp.StatusCode, reason, c.tokenID, eb.Errors)
	return a
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

func looksHTML(contentType string, b []byte) bool {
	if strings.Contains(strings.ToLower(contentType), "text/html") {
		return true
	}
	t := bytes.TrimSpace(b)
	return len(t) > 0 && t[0] == '<'
}

func parseEnvelope(method, pq string, b []byte) (*envelope, error) {
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, &Error{Kind: KindNotProxmox, Method: method, Path: pq, Status: 200, Node: nodeOfPath(pq),
			msg: "not a Proxmox API answer (malformed JSON)", err: err}
	}
	return &env, nil
}

func decodeInto(data json.RawMessage, out any, method, pq string) error {
	if out == nil || len(data) == 0 || string(data) == "null" {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &Error{Kind: KindNotProxmox, Method: method, Path: pq, Status: 200, Node: nodeOfPath(pq),
			msg: "unexpected shape of the Proxmox answer: " + err.Error(), err: err}
	}
	return nil
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func (c *Client) transportError(ctx context.Context, method, pq string, ep *url.URL, err error) *Error {
	e := &Error{Method: method, Path: pq, Node: nodeOfPath(pq), err: err}
	var pin *PinMismatchError
	var unknown x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verr *tls.CertificateVerificationError
	var rec tls.RecordHeaderError
	switch {
	case errors.As(err, &pin):
		e.Kind = KindTLS
		pin.Endpoint = ep.String()
		e.msg = pin.Error()
	case errors.As(err, &verr), errors.As(err, &unknown), errors.As(err, &hostErr), errors.As(err, &invalid):
		e.Kind = KindTLS
		fp := ""
		if verr != nil && len(verr.UnverifiedCertificates) > 0 {
			fp = " Its SHA-256 fingerprint is " + FingerprintOf(verr.UnverifiedCertificates[0].Raw, false) + "."
		}
		e.msg = fmt.Sprintf("TLS certificate of %s is not trusted (%s).%s Set PROXMOX_VE_FINGERPRINT to pin it, PROXMOX_VE_CA_FILE to the cluster CA, or PROXMOX_VE_INSECURE=true", ep, shortTLS(err), fp)
	case errors.As(err, &rec):
		e.Kind = KindTLS
		e.msg = fmt.Sprintf("%s does not speak TLS", ep)
	case errors.Is(err, context.Canceled):
		e.Kind = KindCanceled
		e.msg = "request canceled"
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		e.Kind = KindTimeout
		if ctx.Err() != nil {
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= 0 {
				e.msg = fmt.Sprintf("Proxmox at %s did not answer in time (limit %s)", ep, c.timeout)
				break
			}
		}
		e.msg = fmt.Sprintf("Proxmox at %s did not answer in time", ep)
	default:
		e.Kind = KindUnreachable
		e.msg = fmt.Sprintf("Proxmox endpoint %s is unreachable: %s", ep, shortNet(err))
	}
	return e
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func shortTLS(err error) string {
	s := err.Error()
	if i := strings.Index(s, "tls: "); i >= 0 {
		return s[i:]
	}
	if i := strings.Index(s, "x509: "); i >= 0 {
		return s[i:]
	}
	return s
}

func shortNet(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		s := op.Err.Error()
		if i := strings.LastIndex(s, ": "); i >= 0 {
			return s[i+2:]
		}
		return s
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// flightGroup lets concurrent identical reads share one call in flight.
// Results are handed to the waiters and dropped: nothing is cached.
type flightGroup[T any] struct {
	mu sync.Mutex
	m  map[string]*flight[T]
}

type flight[T any] struct {
	done    chan struct{}
	res     T
	waiters int // followers joined, for tests; guarded by flightGroup.mu
}

// do runs fn for key, or joins the call already in flight for it; shared
// reports a joined call. A follower whose context ends first gets the zero
// T and a canceled error.
func (g *flightGroup[T]) do(ctx context.Context, key string, fn func() T) (res T, shared bool, canceled *Error) {
	g.mu.Lock()
	if f, ok := g.m[key]; ok {
		f.waiters++
		g.mu.Unlock()
		select {
		case <-f.done:
			return f.res, true, nil
		case <-ctx.Done():
			return res, true, &Error{Kind: KindCanceled, Method: http.MethodGet, Path: key, msg: "request canceled", err: ctx.Err()}
		}
	}
	if g.m == nil {
		g.m = map[string]*flight[T]{}
	}
	f := &flight[T]{done: make(chan struct{})}
	g.m[key] = f
	g.mu.Unlock()

	defer func() {
		g.mu.Lock()
		delete(g.m, key)
		g.mu.Unlock()
		close(f.done)
	}()
	f.res = fn()
	return f.res, false, nil
}
