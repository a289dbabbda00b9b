package proxmox

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// MaxAttemptWait bounds how long one endpoint may take to start answering
// when another endpoint could still be tried: a node that accepts the
// connection and then hangs must not eat the whole call timeout.
const MaxAttemptWait = 5 * time.Second

// attemptWait is the per-endpoint wait for response headers: the call
// timeout shared among the endpoints, at most MaxAttemptWait. With one
// endpoint only the call timeout applies.
func (c *Client) attemptWait() time.Duration {
	n := len(c.endpoints)
	if n < 2 {
		return 0
	}
	w := c.timeout / time.Duration(n)
	if w > MaxAttemptWait {
		w = MaxAttemptWait
	}
	return w
}

// sendFailover tries the endpoints in turn, starting with the one that
// answered last. It moves on when an endpoint does not answer (connection
// refused, no answer within attemptWait) or, for reads, when a proxy in
// front of it fails (502/503/504, an HTML error page). A write moves on only
// when the request cannot have reached Proxmox (the connection was refused),
// so it is never sent twice. Every failed attempt is recorded in the
// request's sources with its endpoint; the caller records the final one.
// A certificate that does not match is never skipped over: it is refused.
func (c *Client) sendFailover(ctx context.Context, method, pq string, body []byte) answer {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	n := len(c.endpoints)
	first := int(c.current.Load())
	wait := c.attemptWait()
	rec := RecorderFrom(ctx)
	var failed []string
	var a answer
	var next bool
	for i := 0; i < n; i++ {
		idx := (first + i) % n
		ep := c.endpoints[idx]
		a, next = c.attempt(ctx, method, pq, body, ep, wait)
		if n > 1 {
			a.endpoint = ep.String()
		}
		if !next || ctx.Err() != nil {
			if !next && a.status > 0 {
				c.current.Store(int32(idx)) // Proxmox answered there
			}
			break
		}
		if i == n-1 {
			break
		}
		rec.Add(callOf(method, pq, a))
		failed = append(failed, ep.String()+": "+attemptReason(a))
	}
	if len(failed) > 0 && a.err != nil && (next || ctx.Err() != nil) {
		// Every endpoint failed: say so, naming each one's failure.
		a.err.msg = fmt.Sprintf("no endpoint of the cluster answered (%s; %s: %s)",
			strings.Join(failed, "; "), a.endpoint, attemptReason(a))
	}
	return a
}

func attemptReason(a answer) string {
	if a.err != nil {
		return a.err.msg
	}
	return fmt.Sprintf("status %d", a.status)
}

// attempt performs one exchange with one endpoint. next reports a failure
// after which another endpoint should be tried.
func (c *Client) attempt(ctx context.Context, method, pq string, body []byte, ep *url.URL, wait time.Duration) (a answer, next bool) {
	start := time.Now()
	defer func() { a.ms = msSince(start) }()
	actx, acancel := context.WithCancel(ctx)
	defer acancel()
	read := method == http.MethodGet || method == http.MethodHead
	var waited atomic.Bool
	var timer *time.Timer
	// A write is never cut short to try elsewhere: it may be under way.
	if wait > 0 && read {
		timer = time.AfterFunc(wait, func() { waited.Store(true); acancel() })
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(actx, method, ep.String()+"/api2/json"+pq, rd)
	if err != nil {
		return answer{err: &Error{Kind: KindInvalid, Method: method, Path: pq, msg: "cannot build request: " + err.Error()}}, false
	}
	req.Header.Set("Authorization", c.authValue)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.http.Do(req)
	// Once headers arrived the body is read under the call's own timeout.
	if timer != nil && !timer.Stop() && err == nil {
		resp.Body.Close()
		err = context.Canceled
	}
	// An answer racing the deadline (a hung server writes one when the
	// client hangs up) is not an answer.
	if err == nil && actx.Err() != nil {
		resp.Body.Close()
		err = actx.Err()
	}
	if err != nil {
		if waited.Load() && ctx.Err() == nil {
			return answer{err: &Error{Kind: KindTimeout, Method: method, Path: pq, Node: nodeOfPath(pq),
				msg: fmt.Sprintf("Proxmox at %s did not answer within %s", ep, wait), err: err}}, read
		}
		e := c.transportError(ctx, method, pq, ep, err)
		switch {
		case ctx.Err() != nil, e.Kind == KindTLS && !isNotTLS(err):
			return answer{err: e}, false
		case isDialError(err):
			return answer{err: e}, true
		}
		// Reset or closed before an answer: safe to repeat for a read only.
		return answer{err: e}, read
	}
	a = c.readAnswer(method, pq, resp)
	return a, read && proxyFailed(a)
}

// proxyFailed reports an answer from a proxy in front of Proxmox rather
// than from Proxmox (595 is Proxmox's own "node unreachable" and is final).
func proxyFailed(a answer) bool {
	switch a.status {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return a.err != nil && a.err.Kind == KindNotProxmox && a.status >= 500
}

// isNotTLS reports an endpoint that does not speak TLS (a wrong port):
// unlike a certificate problem, trying another endpoint is right.
func isNotTLS(err error) bool {
	var rec tls.RecordHeaderError
	return errors.As(err, &rec)
}
