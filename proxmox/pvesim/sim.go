package pvesim

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Sim is a running Proxmox VE API simulator.
type Sim struct {
	opts Options
	log  zerolog.Logger
	now  func() time.Time
	ver  int
	seed int64

	mu sync.RWMutex // guards st
	st *state

	routes []*route // built in Start, read-only afterwards
	tasks  *TaskStore
	certs  *certSet

	main    *simListener
	nodeLns map[string]*simListener

	execOnce sync.Once
	execT    *execTable // guest agent exec runs (agent.go)

	fmu      sync.Mutex
	faults   map[string]Fault
	faultSeq map[string]uint64

	rmu  sync.Mutex
	reqs []Request

	haMasterName string

	ctl control // harness control plane (control.go)

	closeOnce sync.Once
	closed    chan struct{}
}

const maxRequestLog = 100000

// Start loads the scenario (or generates a cluster), then listens and
// serves TLS in goroutines until ctx is done or Close is called.
func Start(ctx context.Context, opts Options) (*Sim, error) {
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	if opts.PVEVersion == 0 {
		opts.PVEVersion = 9
	}
	if opts.PVEVersion != 8 && opts.PVEVersion != 9 {
		return nil, fmt.Errorf("pvesim: unsupported PVE version %d (8 or 9)", opts.PVEVersion)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Sim{
		opts:     opts,
		log:      opts.Logger,
		now:      opts.Now,
		ver:      opts.PVEVersion,
		nodeLns:  map[string]*simListener{},
		faults:   map[string]Fault{},
		faultSeq: map[string]uint64{},
		closed:   make(chan struct{}),
	}
	s.now = s.simClock(opts.Now)
	var sc *scenario
	var err error
	if opts.Generate != "" {
		sc, err = generateScenario(opts.Generate)
	} else {
		sc, err = loadScenario(opts.Scenario)
	}
	if err != nil {
		return nil, err
	}
	s.seed = sc.Seed
	if opts.Seed != 0 {
		s.seed = opts.Seed
	}
	s.tasks = newTaskStore(s.now, opts.TaskSpeed)
	st, err := s.buildState(sc)
	if err != nil {
		return nil, err
	}
	s.st = st
	for _, f := range sc.Faults {
		s.faults[f.Target] = f.Fault
	}
	for _, n := range st.Nodes {
		s.tasks.SetNodeBoot(n.Name, n.BootTime)
		if n.OfflineAt {
			f := s.faults[n.Name]
			f.Offline = true
			s.faults[n.Name] = f
		}
	}
	s.haMasterName = sc.HA.Master
	s.addBackupHistory(sc)
	s.buildDiag(sc)
	st.finishStorage()
	if opts.Token != "" && s.Token(opts.Token) == "" {
		return nil, fmt.Errorf("pvesim: no token %q in the scenario; its tokens: %s", opts.Token, strings.Join(s.TokenIDs(), ", "))
	}
	for _, setup := range routeSetups {
		setup(s)
	}
	if s.certs, err = newCertSet(st.Name, s.now()); err != nil {
		return nil, err
	}
	s.certs.validFor = st.diag.certValidFor
	s.main = &simListener{s: s, addr: opts.Listen}
	if err := s.main.start(); err != nil {
		return nil, err
	}
	if opts.PerNodePorts {
		for _, n := range st.Nodes {
			l := &simListener{s: s, node: n.Name, addr: "127.0.0.1:0"}
			s.nodeLns[n.Name] = l
			if s.nodeOffline(n.Name) {
				// Reserve a port so NodeURL is stable, then refuse.
				if err := l.start(); err != nil {
					s.Close()
					return nil, err
				}
				l.stop()
				continue
			}
			if err := l.start(); err != nil {
				s.Close()
				return nil, err
			}
		}
	}
	go func() {
		select {
		case <-ctx.Done():
			s.Close()
		case <-s.closed:
		}
	}()
	// A node down from the start is treated as just lost: HA fences and recovers its services.
	for _, n := range st.Nodes {
		if s.nodeOffline(n.Name) {
			s.nodeFaultChanged(n.Name, true)
		}
	}
	s.log.Info().Str("url", s.URL()).Str("cluster", st.Name).Int("pve", s.ver).Int("nodes", len(st.Nodes)).Int("guests", len(st.Guests)).Msg("pvesim listening")
	return s, nil
}

// URL is "https://127.0.0.1:PORT" of the main listener (no /api2/json). It
// serves the first node's certificate and answers as the first online node.
func (s *Sim) URL() string { return "https://" + s.main.addr }

// NodeURL is the URL of node's own listener ("" without PerNodePorts).
func (s *Sim) NodeURL(node string) string {
	if l := s.nodeLns[node]; l != nil {
		return "https://" + l.addr
	}
	return ""
}

// Fingerprint is the SHA-256 fingerprint of the main listener's certificate.
func (s *Sim) Fingerprint() string {
	c, err := s.certs.leaf(s.st.Nodes[0].Name, s.st.Nodes[0].IP, false)
	if err != nil {
		return ""
	}
	return fingerprint(c.Certificate[0])
}

// nodeFingerprint is what /nodes shows as ssl_fingerprint.
func (s *Sim) nodeFingerprint(n *Node) string {
	c, err := s.certs.leaf(n.Name, n.IP, false)
	if err != nil {
		return ""
	}
	return fingerprint(c.Certificate[0])
}

// CACertPEM is the simulator's "PVE Cluster Manager CA" certificate.
func (s *Sim) CACertPEM() []byte { return s.certs.caPEM() }

// Token returns "user@realm!tokenid=secret" for a scenario token, by token
// id ("operator") or full id ("pvemcp@pve!operator"); "" if unknown.
func (s *Sim) Token(name string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if t := s.st.Tokens[name]; t != nil {
		return t.full() + "=" + t.Secret
	}
	for _, id := range sortedKeys(s.st.Tokens) {
		if t := s.st.Tokens[id]; t.Name == name {
			return t.full() + "=" + t.Secret
		}
	}
	return ""
}

// TokenIDs lists the scenario's token ids ("user@realm!name"), sorted.
func (s *Sim) TokenIDs() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return sortedKeys(s.st.Tokens)
}

// DefaultToken is the token a client of the simulator uses unless told
// otherwise: "operator" when the scenario has it, else its first token.
func (s *Sim) DefaultToken() string {
	if t := s.Token("operator"); t != "" {
		return t
	}
	if ids := s.TokenIDs(); len(ids) > 0 {
		return s.Token(ids[0])
	}
	return ""
}

// ClusterName is the scenario's cluster name.
func (s *Sim) ClusterName() string { return s.st.Name }

// Nodes lists the node names.
func (s *Sim) Nodes() []string {
	out := make([]string, len(s.st.Nodes))
	for i, n := range s.st.Nodes {
		out[i] = n.Name
	}
	return out
}

// SetFault sets the fault of a node ("pve-node02") or of one endpoint of a
// node ("pve-node02/nodes/pve-node02/qemu", a path prefix below
// /api2/json). "*" is every node, and "*/prefix" (or "/prefix") an endpoint
// on every node; Offline only works per node. The zero Fault clears it.
func (s *Sim) SetFault(target string, f Fault) {
	s.fmu.Lock()
	wasOffline := s.faults[target].Offline
	// A new fault starts its error sequence afresh, so runs are reproducible.
	node, _, _ := strings.Cut(target, "/")
	delete(s.faultSeq, node)
	if f.isZero() {
		delete(s.faults, target)
	} else {
		s.faults[target] = f
	}
	s.fmu.Unlock()
	if l := s.nodeLns[target]; l != nil {
		if f.Offline {
			l.stop()
		} else {
			l.start()
		}
	}
	if wasOffline != f.Offline && s.isNode(target) {
		s.nodeFaultChanged(target, f.Offline)
	}
}

func (s *Sim) isNode(name string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.st.node(name) != nil
}

// ClearFaults removes every fault, bringing offline nodes back.
func (s *Sim) ClearFaults() {
	s.fmu.Lock()
	var back []string
	for t, f := range s.faults {
		if f.Offline {
			back = append(back, t)
		}
	}
	s.faults = map[string]Fault{}
	s.faultSeq = map[string]uint64{}
	s.fmu.Unlock()
	for _, l := range s.nodeLns {
		l.start()
	}
	sort.Strings(back)
	for _, n := range back {
		if s.isNode(n) {
			s.nodeFaultChanged(n, false)
		}
	}
}

func (s *Sim) nodeOffline(node string) bool {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	return s.faults[node].Offline
}

// faultFor merges the faults that apply to one request: the listening
// node's, the handling node's and matching endpoint faults.
func (s *Sim) faultFor(listenNode, target, rel string) Fault {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	var out Fault
	merge := func(f Fault) {
		out.Offline = out.Offline || f.Offline
		if f.Latency > out.Latency {
			out.Latency = f.Latency
		}
		if f.ErrorRate > out.ErrorRate {
			out.ErrorRate = f.ErrorRate
		}
		out.Hang = out.Hang || f.Hang
		out.MalformedJSON = out.MalformedJSON || f.MalformedJSON
		out.HTMLPage = out.HTMLPage || f.HTMLPage
		out.ChangedCert = out.ChangedCert || f.ChangedCert
		if out.RevokedToken == "" {
			out.RevokedToken = f.RevokedToken
		}
	}
	for t, f := range s.faults {
		node, prefix, isEndpoint := strings.Cut(t, "/")
		if !isEndpoint {
			if t == "*" || t == listenNode || t == target {
				f.Offline = false // handled by the listener and the proxy check
				merge(f)
			}
			continue
		}
		prefix = "/" + prefix
		if (node == "" || node == "*" || node == target || node == listenNode) && hasPathPrefix(rel, prefix) {
			merge(f)
		}
	}
	return out
}

func hasPathPrefix(p, prefix string) bool {
	prefix = strings.TrimSuffix(prefix, "/")
	return p == prefix || strings.HasPrefix(p, prefix+"/") || prefix == ""
}

// faultRoll draws from a deterministic sequence per target.
func (s *Sim) faultRoll(target string, rate float64) bool {
	s.fmu.Lock()
	n := s.faultSeq[target]
	s.faultSeq[target] = n + 1
	s.fmu.Unlock()
	return unit(hash64(s.seed, "fault/"+target, int64(n))) < rate
}

func (s *Sim) changedCert(node string) bool {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	return s.faults[node].ChangedCert
}

// Requests returns a copy of the request log, oldest first.
func (s *Sim) Requests() []Request {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	out := append([]Request(nil), s.reqs...)
	for i := range out {
		if out[i].Params != nil {
			p := make(map[string]string, len(out[i].Params))
			for k, v := range out[i].Params {
				p[k] = v
			}
			out[i].Params = p
		}
	}
	return out
}

// ResetRequests empties the request log.
func (s *Sim) ResetRequests() {
	s.rmu.Lock()
	s.reqs = nil
	s.rmu.Unlock()
}

func (s *Sim) logRequest(r Request) {
	s.rmu.Lock()
	if len(s.reqs) >= maxRequestLog {
		s.reqs = s.reqs[len(s.reqs)-maxRequestLog/2:]
	}
	s.reqs = append(s.reqs, r)
	s.rmu.Unlock()
	s.log.Debug().Str("method", r.Method).Str("path", r.Path).Str("node", r.Node).Int("status", r.Status).Str("tokenid", r.TokenID).Msg("pvesim request")
}

// Close stops every listener and running task.
func (s *Sim) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		if s.main != nil {
			s.main.stop()
		}
		for _, l := range s.nodeLns {
			l.stop()
		}
		if s.tasks != nil {
			s.tasks.close()
		}
	})
	return nil
}

// mainNode is the node the main listener speaks as: the first online one.
func (s *Sim) mainNode() string {
	for _, n := range s.st.Nodes {
		if !s.nodeOffline(n.Name) {
			return n.Name
		}
	}
	return s.st.Nodes[0].Name
}

// simListener is one TLS listener: the main one (node "") or a node's own.
type simListener struct {
	s    *Sim
	node string
	addr string

	mu  sync.Mutex
	srv *http.Server
}

func (l *simListener) nodeName(s *Sim) string {
	if l.node != "" {
		return l.node
	}
	return s.mainNode()
}

func (l *simListener) start() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.srv != nil {
		return nil
	}
	select {
	case <-l.s.closed:
		return errors.New("pvesim: closed")
	default:
	}
	tcp, err := net.Listen("tcp", l.addr)
	if err != nil {
		return err
	}
	l.addr = tcp.Addr().String()
	s := l.s
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			// The main listener always shows the first node's certificate
			// (what Fingerprint reports), whichever node answers behind it.
			n := s.st.Nodes[0]
			if l.node != "" {
				n = s.st.node(l.node)
			}
			return s.certs.leaf(n.Name, n.IP, s.changedCert(n.Name))
		},
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.serveHTTP(l, w, r)
		}),
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	l.srv = srv
	go srv.Serve(tls.NewListener(tcp, cfg))
	return nil
}

func (l *simListener) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.srv != nil {
		l.srv.Close()
		l.srv = nil
	}
}
