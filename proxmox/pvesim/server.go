package pvesim

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// reqCtx is what a handler sees of one API call.
type reqCtx struct {
	s         *Sim
	r         *http.Request
	Method    string
	Path      string            // below /api2/json
	Params    map[string]string // path vars + query + body, validated
	Node      string            // the {node} of the path, "" if none
	Local     string            // the node answering (the path's node, else the listener's)
	Principal *principal
	total     *int
	privCache map[string]map[string]bool
}

func (c *reqCtx) Str(name string) string    { return c.Params[name] }
func (c *reqCtx) Has(name string) bool      { _, ok := c.Params[name]; return ok }
func (c *reqCtx) Int(name string) int       { n, _ := strconv.Atoi(c.Params[name]); return n }
func (c *reqCtx) Int64(name string) int64   { n, _ := strconv.ParseInt(c.Params[name], 10, 64); return n }
func (c *reqCtx) Float(name string) float64 { f, _ := strconv.ParseFloat(c.Params[name], 64); return f }
func (c *reqCtx) Bool(name string) bool {
	v := c.Params[name]
	return v == "1" || v == "true"
}

// User is the full user string of the caller ("user@realm!tokenid"), as
// written into UPIDs.
func (c *reqCtx) User() string { return c.Principal.full() }

// SetTotal adds a top-level "total" to the answer.
func (c *reqCtx) SetTotal(n int) { c.total = &n }

// Can reports whether the caller has priv on path. Results are cached per
// request by the paths that decide them (aclKey of the path and of its
// pool), so filtering a 10,000-guest list evaluates the ACLs a few times.
func (c *reqCtx) Can(path, priv string) bool {
	st := c.s.st
	p, poolPath := st.aclKey(path), ""
	if pool := st.poolOfPath(path); pool != "" {
		poolPath = st.aclKey("/pool/" + pool)
	}
	key := p + "|" + poolPath
	privs, ok := c.privCache[key]
	if !ok {
		privs = st.effectivePrivsAt(c.Principal, p, poolPath)
		if c.privCache == nil {
			c.privCache = map[string]map[string]bool{}
		}
		c.privCache[key] = privs
	}
	_, has := privs[priv]
	return has
}

// Check fails with Proxmox's 403 unless the caller has one of privs on path.
func (c *reqCtx) Check(path string, privs ...string) error {
	for _, p := range privs {
		if c.Can(path, p) {
			return nil
		}
	}
	return errPerm(path, privs...)
}

var secretParams = []string{"password", "cipassword", "secret", "token", "value"}

func isSecretParam(k string) bool {
	lk := strings.ToLower(k)
	for _, s := range secretParams {
		if strings.Contains(lk, s) {
			return true
		}
	}
	return false
}

// serveHTTP is the handler of every listener; ln says which node's listener
// (or the main one) the request came in on.
func (s *Sim) serveHTTP(ln *simListener, w http.ResponseWriter, r *http.Request) {
	lw := &logWriter{ResponseWriter: w, s: s, rec: Request{Time: s.now(), Method: r.Method, Node: ln.nodeName(s)}}
	status := s.serve(ln, lw, r, &lw.rec)
	lw.log(status) // requests that got no answer (hang, cancelled)
}

// logWriter records the request in the log just before the answer goes
// out, so a client that has its answer always finds it in Requests().
type logWriter struct {
	http.ResponseWriter
	s       *Sim
	rec     Request
	logged  bool
	journal func(status int) // set for change requests that reached routing
}

func (lw *logWriter) log(status int) {
	if lw.logged {
		return
	}
	lw.logged = true
	lw.rec.Status = status
	lw.s.logRequest(lw.rec)
	if lw.journal != nil {
		lw.journal(status)
	}
}

func (lw *logWriter) WriteHeader(code int) {
	lw.log(code)
	lw.ResponseWriter.WriteHeader(code)
}

func (lw *logWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(lw.ResponseWriter).Hijack()
}

func (s *Sim) serve(ln *simListener, w http.ResponseWriter, r *http.Request, rec *Request) int {
	rel := r.URL.Path
	isAPI := rel == "/api2/json" || strings.HasPrefix(rel, "/api2/json/")
	rel = strings.TrimPrefix(rel, "/api2/json")
	if rel == "" {
		rel = "/"
	}
	rec.Path = rel
	listenNode := rec.Node

	// Which node handles the call: /nodes/{n}/... is proxied to n.
	target := listenNode
	if segs := splitPath(rel); len(segs) >= 2 && segs[0] == "nodes" {
		target = segs[1]
	}
	f := s.faultFor(listenNode, target, rel)

	if f.Latency > 0 && !s.sleep(r.Context(), f.Latency) {
		return 0
	}
	if f.Hang {
		select {
		case <-r.Context().Done():
		case <-s.closed:
		}
		return 0
	}
	if f.HTMLPage {
		return s.writeHTML502(w)
	}

	if r.Method == http.MethodGet && r.ContentLength > 0 {
		return s.writeError(w, errStatus(501, "Unexpected content for method 'GET'"))
	}

	// Parameters (before auth, so the log shows them; secrets are masked).
	in, perr := readParams(r)
	rec.Params = maskParams(in)
	rec.Query = maskQuery(r.URL.Query())

	pr, aerr := s.authenticate(r, f)
	if pr != nil {
		rec.TokenID = pr.TokenID
	}
	// The calls HTTPServer.pm lets through without credentials.
	if aerr != nil && aerr.Reason() == "No ticket" && r.Method == http.MethodGet && rel == "/access/domains" {
		pr, aerr = &principal{}, nil
	}
	if aerr != nil {
		if s.opts.AuthFailDelay > 0 {
			s.sleep(r.Context(), s.opts.AuthFailDelay)
		}
		return s.writeError(w, aerr)
	}

	if !isAPI {
		return s.writeError(w, s.notImpl(r.Method, rel))
	}
	rt, vars := s.match(r.Method, rel)
	if rt == nil {
		return s.writeError(w, s.notImpl(r.Method, rel))
	}
	if perr != nil {
		return s.writeError(w, perr)
	}
	for k, v := range vars {
		if old, ok := in[k]; ok && old != v {
			return s.writeError(w, errParam1(k, "duplicate parameter (already defined in URI) with conflicting values!"))
		}
		in[k] = v
	}
	c := &reqCtx{s: s, r: r, Method: r.Method, Path: rel, Params: in, Principal: pr, Local: target}
	var res any
	var err error
	if lw, ok := w.(*logWriter); ok && r.Method != http.MethodGet {
		// Journaled as the answer goes out, so a client that has its answer finds it there.
		lw.journal = func(status int) { s.journalCall(c, res, err, status) }
	}
	if n, ok := vars["node"]; ok {
		c.Node = n
		s.mu.RLock()
		node := s.st.node(n)
		off := node != nil && s.nodeOffline(n)
		s.mu.RUnlock()
		if node == nil {
			return s.writeError(w, errNoNode(n))
		}
		if off && n != listenNode {
			return s.writeError(w, errStatus(595, "Connection refused"))
		}
	}
	if f.ErrorRate > 0 && s.faultRoll(target, f.ErrorRate) {
		return s.writeError(w, err500("got timeout"))
	}
	if err = s.checkPerm(c, rt.perm, vars); err != nil {
		return s.writeError(w, asAPIError(err))
	}
	if errs := validateParams(rt.params, in); errs != nil {
		err = errParam(errs)
		return s.writeError(w, errParam(errs))
	}
	for _, p := range rt.params {
		if _, ok := in[p.name]; !ok && p.defV != "" {
			in[p.name] = p.defV
		}
	}

	if r.Method != http.MethodGet && rel != "/access/ticket" {
		// Without quorum /etc/pve is read-only: every change dies in
		// PVE::Cluster::check_cfs_quorum, as on a real cluster.
		s.mu.RLock()
		q := s.quorate()
		s.mu.RUnlock()
		if !q {
			err = errNoQuorum()
			return s.writeError(w, errNoQuorum())
		}
	}
	func() {
		if r.Method == http.MethodGet {
			s.mu.RLock()
			defer s.mu.RUnlock()
		} else {
			s.mu.Lock()
			defer s.mu.Unlock()
		}
		res, err = rt.h(c)
	}()
	if err != nil {
		return s.writeError(w, asAPIError(err))
	}
	return s.writeData(w, r, res, c.total, f.MalformedJSON)
}

func (s *Sim) notImpl(method, rel string) *apiError {
	e := errStatus(501, fmt.Sprintf("Method '%s %s' not implemented", method, rel))
	e.noNL = true
	return e
}

func (s *Sim) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-s.closed:
	}
	return false
}

// readParams merges the query string and a form or JSON body into strings,
// the way the Perl server sees them (JSON true/false become 1/0).
func readParams(r *http.Request) (map[string]string, *apiError) {
	in := map[string]string{}
	for k, v := range r.URL.Query() {
		if len(v) > 0 {
			in[k] = v[len(v)-1]
		}
	}
	if r.Body == nil || r.Method == http.MethodGet {
		return in, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil || len(bytes.TrimSpace(body)) == 0 {
		return in, nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			return in, err500("malformed JSON string, at character offset 0")
		}
		for k, v := range m {
			switch x := v.(type) {
			case nil:
				continue
			case string:
				in[k] = x
			case bool:
				if x {
					in[k] = "1"
				} else {
					in[k] = "0"
				}
			case json.Number:
				in[k] = x.String()
			default:
				b, _ := json.Marshal(x)
				in[k] = string(b)
			}
		}
		return in, nil
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return in, errStatus(400, "Parameter verification failed.")
	}
	for k, v := range vals {
		if len(v) > 1 {
			// decode_urlencoded turns a repeated key into an array (array parameters such as agent/exec's
			// command); reqCtx.List reads it back.
			b, _ := json.Marshal(v)
			in[k] = string(b)
		} else if len(v) == 1 {
			in[k] = v[0]
		}
	}
	return in, nil
}

func maskParams(in map[string]string) map[string]string {
	out := make(map[string]string, len(in))
	for k, v := range in {
		if isSecretParam(k) {
			v = "**********"
		}
		out[k] = v
	}
	return out
}

func maskQuery(q url.Values) string {
	for k := range q {
		if isSecretParam(k) {
			q[k] = []string{"**********"}
		}
	}
	return q.Encode()
}

func stdHeaders(h http.Header, now time.Time) {
	d := now.UTC().Format(http.TimeFormat)
	h.Set("Cache-Control", "max-age=0")
	h.Set("Date", d)
	h.Set("Expires", d)
	h.Set("Pragma", "no-cache")
	h.Set("Server", "pve-api-daemon/3.0")
}

// gzipPool reuses compressors: a new one allocates about a megabyte.
var gzipPool = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return w
}}

// writeData writes {"data":...} (plus "total") with the headers of
// pve-http-server, gzip-compressed when asked and larger than 1024 bytes.
func (s *Sim) writeData(w http.ResponseWriter, r *http.Request, res any, total *int, malformed bool) int {
	if rr, ok := res.(rawResponder); ok {
		return s.writeRaw(w, r, rr)
	}
	var buf bytes.Buffer
	buf.WriteString(`{"data":`)
	b, err := marshalData(res)
	if err != nil {
		return s.writeError(w, err500("%s", err.Error()))
	}
	buf.Write(b)
	if total != nil {
		fmt.Fprintf(&buf, `,"total":%d`, *total)
	}
	buf.WriteString("}")
	body := buf.Bytes()
	if malformed {
		body = body[:len(body)/2]
	}
	h := w.Header()
	stdHeaders(h, time.Now())
	h.Set("Connection", "Keep-Alive")
	h.Set("Content-Type", "application/json;charset=UTF-8")
	body, zipped := gzipBody(r, body)
	if zipped {
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(200)
	w.Write(body)
	return 200
}

// gzipBody compresses a body worth compressing when the client accepts
// gzip, as pveproxy does; zipped tells whether it did.
func gzipBody(r *http.Request, body []byte) (out []byte, zipped bool) {
	if len(body) <= 1024 || !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		return body, false
	}
	var zb bytes.Buffer
	zw := gzipPool.Get().(*gzip.Writer)
	zw.Reset(&zb)
	zw.Write(body)
	zw.Close()
	gzipPool.Put(zw)
	return zb.Bytes(), true
}

// rawResponder is a handler result sent as is instead of the JSON
// envelope (e.g. a task log with download=1).
type rawResponder interface {
	rawResponse() (contentType, disposition string, body []byte)
}

func (s *Sim) writeRaw(w http.ResponseWriter, r *http.Request, rr rawResponder) int {
	ct, disp, body := rr.rawResponse()
	h := w.Header()
	stdHeaders(h, time.Now())
	h.Set("Connection", "Keep-Alive")
	h.Set("Content-Type", ct)
	if disp != "" {
		h.Set("Content-Disposition", disp)
	}
	body, zipped := gzipBody(r, body)
	if zipped {
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(200)
	w.Write(body)
	return 200
}

// errorBody is the JSON body of an error: message only on PVE >= 8.3 (both
// of the simulator's versions, 8.4 and 9.1), errors for 400.
func (s *Sim) errorBody(e *apiError) []byte {
	var buf bytes.Buffer
	buf.WriteString(`{"data":null`)
	if v, _, _ := s.versionInfo(); versionAtLeast(v, 8, 3) {
		msg := e.Msg
		if !e.noNL {
			msg += "\n"
		}
		m, _ := json.Marshal(msg)
		buf.WriteString(`,"message":`)
		buf.Write(m)
	}
	if len(e.Errors) > 0 {
		keys := sortedKeys(e.Errors)
		buf.WriteString(`,"errors":{`)
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			vb, _ := json.Marshal(e.Errors[k])
			buf.Write(kb)
			buf.WriteByte(':')
			buf.Write(vb)
		}
		buf.WriteString("}")
	}
	buf.WriteString("}")
	return buf.Bytes()
}

// writeError hijacks the connection because net/http cannot send a custom
// reason phrase, and Proxmox puts the error's first line there.
func (s *Sim) writeError(w http.ResponseWriter, e *apiError) int {
	var body []byte
	if !e.empty {
		body = s.errorBody(e)
	}
	reason := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, e.reason())
	hj, ok := w.(http.Hijacker)
	if !ok {
		w.Header().Set("Connection", "close")
		w.WriteHeader(e.Status)
		w.Write(body)
		return e.Status
	}
	if lw, ok := w.(*logWriter); ok {
		lw.log(e.Status)
	}
	conn, bw, err := hj.Hijack()
	if err != nil {
		return e.Status
	}
	defer conn.Close()
	h := http.Header{}
	stdHeaders(h, time.Now())
	h.Set("Connection", "close")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if !e.empty {
		h.Set("Content-Type", "application/json;charset=UTF-8")
	}
	writeRaw(bw, e.Status, reason, h, body)
	return e.Status
}

func writeRaw(bw *bufio.ReadWriter, status int, reason string, h http.Header, body []byte) {
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", status, reason)
	h.Write(bw)
	bw.WriteString("\r\n")
	bw.Write(body)
	bw.Flush()
}

const html502 = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"

func (s *Sim) writeHTML502(w http.ResponseWriter) int {
	h := w.Header()
	h.Set("Server", "nginx")
	h.Set("Content-Type", "text/html")
	h.Set("Connection", "close")
	h.Set("Content-Length", strconv.Itoa(len(html502)))
	w.WriteHeader(502)
	io.WriteString(w, html502)
	return 502
}
