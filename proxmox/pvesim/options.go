package pvesim

import (
	"time"

	"github.com/rs/zerolog"
)

// Options configure a simulator. The zero value serves the embedded demo
// scenario as PVE 9 on a random loopback port.
type Options struct {
	Scenario      string           // "demo" (embedded default, also when ""), or a YAML file path
	Generate      string           // optional "nodes=64,guests=10000[,seed=N]": synthetic cluster instead of Scenario
	Listen        string           // address of the main listener, default "127.0.0.1:0"
	PerNodePorts  bool             // also give every node its own listener (for failover tests)
	PVEVersion    int              // 9 (default) or 8
	AuthFailDelay time.Duration    // delay of 401 answers (real PVE: 3s); 0 in library default
	Seed          int64            // dynamics seed (scenario may set one)
	Now           func() time.Time // clock; default time.Now
	Logger        zerolog.Logger   // optional
	// Token, when set, is a token id ("operator" or "user@realm!name") the
	// caller will use: Start fails before listening when the scenario lacks
	// it, naming the scenario's tokens.
	Token string
	// TaskSpeed scales task durations: 1 realistic, 0 (zero value) instant
	// so tests are fast by default, 0.1 = ten times faster.
	TaskSpeed float64
}

// Fault describes misbehaviour injected for a node (or one endpoint of a node).
type Fault struct {
	Offline       bool          // connection refused on that node's own listener; 595 when proxied via another node
	Latency       time.Duration // added before answering
	ErrorRate     float64       // 0..1: answer 500 with a realistic message (deterministic sequence from seed)
	Hang          bool          // accept and never answer (until request ctx/close)
	MalformedJSON bool          // a truncated JSON body with status 200
	HTMLPage      bool          // a reverse proxy's 502 HTML page
	ChangedCert   bool          // serve a different (new) certificate on that node's listener; /nodes keeps the old fingerprint, as through a man in the middle
	RevokedToken  string        // tokenid whose requests now get 401
}

func (f Fault) isZero() bool { return f == Fault{} }

// Request is one entry of the request log. It never holds a secret: the
// token is recorded by its id only and secret-like parameters are masked.
type Request struct {
	Time    time.Time
	Method  string
	Path    string // below /api2/json
	Query   string
	Params  map[string]string
	Node    string // node whose listener answered
	Status  int
	TokenID string
}
