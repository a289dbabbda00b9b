package pvesim

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// ControlPrefix is the path prefix of the control plane's endpoints. No
// Proxmox path starts with it, and it is only served on the control
// listener, never on the API's.
const ControlPrefix = "/pvesim/control/v1"

// Control endpoints (all need "Authorization: Bearer SECRET"):
//
//	GET    /journal[?since=N]     Journal as JSON
//	GET    /state[?format=yaml]   ClusterState as JSON (or YAML)
//	POST   /snapshot  {"name"}    SaveSnapshot
//	POST   /reset     {"snapshot"} Reset ("" = the scenario's start)
//	GET    /faults                []FaultState
//	POST   /faults    FaultState  SetFault (all flags false clears it)
//	DELETE /faults[?target=T]     clear one target's fault, or all
//	GET    /clock                 {"now"}
//	POST   /clock     {"advance":"26h"}

type controlListener struct {
	srv    *http.Server
	addr   string
	secret string
}

// StartControl serves the control plane over HTTPS (the simulator's
// certificate, so Fingerprint pins it) on addr, e.g. "127.0.0.1:0",
// protected by a fresh random secret. It returns the base URL (with
// ControlPrefix) and the secret. The listener closes with the simulator.
func (s *Sim) StartControl(addr string) (baseURL, secret string, err error) {
	s.ctl.lmu.Lock()
	defer s.ctl.lmu.Unlock()
	if s.ctl.ln != nil {
		return "", "", errors.New("pvesim: the control plane is already listening")
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	secret = hex.EncodeToString(b)
	tcp, err := net.Listen("tcp", addr)
	if err != nil {
		return "", "", fmt.Errorf("pvesim: control listener: %w", err)
	}
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			n := s.st.Nodes[0]
			return s.certs.leaf(n.Name, n.IP, false)
		},
	}
	cl := &controlListener{addr: tcp.Addr().String(), secret: secret}
	cl.srv = &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serveControl(cl, w, r) }),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	s.ctl.ln = cl
	go cl.srv.Serve(tls.NewListener(tcp, cfg))
	go func() {
		<-s.closed
		cl.srv.Close()
	}()
	s.log.Info().Str("url", "https://"+cl.addr+ControlPrefix).Msg("pvesim control plane listening")
	return "https://" + cl.addr + ControlPrefix, secret, nil
}

type ctlError struct {
	status int
	msg    string
}

func (e *ctlError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &ctlError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func (s *Sim) serveControl(cl *controlListener, w http.ResponseWriter, r *http.Request) {
	auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(auth), []byte(cl.secret)) != 1 {
		writeCtl(w, http.StatusUnauthorized, map[string]string{"error": "missing or wrong secret"})
		return
	}
	res, err := s.controlCall(r)
	if err != nil {
		status := http.StatusInternalServerError
		var ce *ctlError
		if errors.As(err, &ce) {
			status = ce.status
		}
		writeCtl(w, status, map[string]string{"error": err.Error()})
		return
	}
	if b, ok := res.([]byte); ok {
		w.Header().Set("Content-Type", "application/yaml")
		w.Write(b)
		return
	}
	writeCtl(w, http.StatusOK, res)
}

func writeCtl(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("body: %v", err)
	}
	return nil
}

func (s *Sim) controlCall(r *http.Request) (any, error) {
	rel, ok := strings.CutPrefix(r.URL.Path, ControlPrefix)
	if !ok {
		return nil, &ctlError{http.StatusNotFound, "not a control path: " + r.URL.Path}
	}
	q := r.URL.Query()
	switch r.Method + " " + rel {
	case "GET /journal":
		since := 0
		if v := q.Get("since"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, badRequest("since %q: want a journal sequence number", v)
			}
			since = n
		}
		return s.Journal(since), nil
	case "GET /state":
		st := s.State()
		switch q.Get("format") {
		case "", "json":
			return st, nil
		case "yaml":
			return yaml.Marshal(st)
		}
		return nil, badRequest("format %q: want json or yaml", q.Get("format"))
	case "POST /snapshot":
		var in struct{ Name string }
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		if err := s.SaveSnapshot(in.Name); err != nil {
			return nil, badRequest("%v", err)
		}
		return map[string]any{"snapshots": s.Snapshots()}, nil
	case "POST /reset":
		var in struct{ Snapshot string }
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		if err := s.Reset(in.Snapshot); err != nil {
			return nil, badRequest("%v", err)
		}
		return map[string]any{"reset": in.Snapshot, "now": s.Now().UTC()}, nil
	case "GET /faults":
		return s.faultList(), nil
	case "POST /faults":
		var in FaultState
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		if err := s.SetFaultState(in); err != nil {
			var ce *ctlError
			if errors.As(err, &ce) {
				return nil, err
			}
			return nil, badRequest("%v", err)
		}
		return s.faultList(), nil
	case "DELETE /faults":
		if t := q.Get("target"); t != "" {
			if _, ok := s.Faults()[t]; !ok {
				return nil, &ctlError{http.StatusNotFound, fmt.Sprintf("no fault on %q", t)}
			}
			s.SetFault(t, Fault{})
		} else {
			s.ClearFaults()
		}
		return s.faultList(), nil
	case "GET /clock":
		return map[string]any{"now": s.Now().UTC()}, nil
	case "POST /clock":
		var in struct{ Advance string }
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		d, err := time.ParseDuration(in.Advance)
		if err != nil {
			return nil, badRequest("advance %q: want a duration like 26h", in.Advance)
		}
		if err := s.AdvanceClock(d); err != nil {
			return nil, badRequest("%v", err)
		}
		return map[string]any{"now": s.Now().UTC()}, nil
	}
	return nil, &ctlError{http.StatusNotFound, fmt.Sprintf("no control endpoint %s %s", r.Method, rel)}
}

func (s *Sim) faultList() []FaultState {
	out := []FaultState{}
	faults := s.Faults()
	for _, t := range sortedKeys(faults) {
		out = append(out, faultState(t, faults[t]))
	}
	return out
}

// checkFaultTarget accepts what SetFault does: a node, "*", or an
// endpoint "node/prefix", "*/prefix", "/prefix"; Offline only per node.
func (s *Sim) checkFaultTarget(target string, offline bool) error {
	if target == "" {
		return badRequest("target: required (a node, \"*\", or node/path-prefix)")
	}
	node, _, endpoint := strings.Cut(target, "/")
	if offline && (endpoint || node == "*") {
		return badRequest("target %q: offline applies to one node only", target)
	}
	if node != "" && node != "*" && !s.isNode(node) {
		return badRequest("target %q: no node %q in the cluster (nodes: %s)", target, node, strings.Join(s.Nodes(), ", "))
	}
	return nil
}

// ControlClient talks to a control plane started with StartControl (for
// harnesses outside the simulator's process, and the CLI).
type ControlClient struct {
	URL    string // base URL, ending in ControlPrefix
	Secret string
	http   *http.Client
}

// NewControlClient pins the server's certificate by its SHA-256
// fingerprint ("AB:CD:..." as Sim.Fingerprint prints it).
func NewControlClient(baseURL, secret, fingerprint string) (*ControlClient, error) {
	if baseURL == "" || secret == "" || fingerprint == "" {
		return nil, errors.New("control plane: URL, secret and fingerprint are all needed")
	}
	if _, err := url.Parse(baseURL); err != nil {
		return nil, fmt.Errorf("control plane URL: %w", err)
	}
	want := strings.ToLower(strings.ReplaceAll(fingerprint, ":", ""))
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // replaced by the fingerprint pin below
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("control plane: no certificate")
			}
			sum := sha256.Sum256(raw[0])
			if hex.EncodeToString(sum[:]) != want {
				return errors.New("control plane: certificate fingerprint does not match")
			}
			return nil
		},
	}
	return &ControlClient{URL: strings.TrimSuffix(baseURL, "/"), Secret: secret,
		http: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}}, nil
}

// Do calls one control endpoint; body (if not nil) is sent as JSON and the
// answer decoded into out (if not nil).
func (c *ControlClient) Do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.URL+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Secret)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("control plane: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return fmt.Errorf("control plane: %s", e.Error)
		}
		return fmt.Errorf("control plane: HTTP %d", resp.StatusCode)
	}
	if out == nil {
		return nil
	}
	if p, ok := out.(*[]byte); ok {
		*p = b
		return nil
	}
	return json.Unmarshal(b, out)
}

// Journal fetches the journal from sequence number since on.
func (c *ControlClient) Journal(ctx context.Context, since int) (Journal, error) {
	var j Journal
	err := c.Do(ctx, "GET", "/journal?since="+strconv.Itoa(since), nil, &j)
	return j, err
}

// State fetches the cluster state.
func (c *ControlClient) State(ctx context.Context) (ClusterState, error) {
	var st ClusterState
	err := c.Do(ctx, "GET", "/state", nil, &st)
	return st, err
}

// Reset resets to the start ("") or a saved snapshot.
func (c *ControlClient) Reset(ctx context.Context, snapshot string) error {
	return c.Do(ctx, "POST", "/reset", map[string]string{"snapshot": snapshot}, nil)
}

// SaveSnapshot saves the state under name.
func (c *ControlClient) SaveSnapshot(ctx context.Context, name string) error {
	return c.Do(ctx, "POST", "/snapshot", map[string]string{"name": name}, nil)
}

// SetFault sets (or with no flag, clears) a fault.
func (c *ControlClient) SetFault(ctx context.Context, f FaultState) error {
	return c.Do(ctx, "POST", "/faults", f, nil)
}

// ClearFaults clears one target's fault, or all with "".
func (c *ControlClient) ClearFaults(ctx context.Context, target string) error {
	p := "/faults"
	if target != "" {
		p += "?target=" + url.QueryEscape(target)
	}
	return c.Do(ctx, "DELETE", p, nil, nil)
}

// AdvanceClock moves the simulated clock forward and returns the new time.
func (c *ControlClient) AdvanceClock(ctx context.Context, d time.Duration) (time.Time, error) {
	var out struct{ Now time.Time }
	err := c.Do(ctx, "POST", "/clock", map[string]string{"advance": d.String()}, &out)
	return out.Now, err
}
