package proxmox

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"time"
)

// Defaults for Options fields left zero.
const (
	DefaultTimeout = 15 * time.Second
	// 32 keeps a cluster of up to 32 nodes in one round of calls, so a
	// fan-out takes about as long as its slowest node.
	DefaultFanOutLimit = 32
)

// Options configures a Client for one Proxmox VE cluster.
type Options struct {
	// Name labels the cluster in results when set (config name); otherwise
	// the name Proxmox reports in /cluster/status is used when a tool read it.
	Name string
	// Endpoints are node API URLs, e.g. "https://pve1.example:8006". Several
	// give failover: when one cannot be reached the next is tried.
	Endpoints []string
	// Token is "user@realm!tokenid=secret".
	Token string
	// CAFile or CAPEM hold the CA that signed the node certificates.
	CAFile string
	CAPEM  []byte
	// Fingerprint pins the leaf certificate by SHA-256 (colon hex, as GET /nodes
	// shows in ssl_fingerprint). It replaces chain verification. Several pins
	// (one per node, comma-separated) allow failover; with a CA as well, a
	// certificate the CA signed is accepted too.
	Fingerprint string
	// Insecure disables certificate verification. Only ever set explicitly.
	Insecure bool
	// Timeout bounds each API call (default 15s); the caller's context still wins.
	Timeout time.Duration
	// FanOutLimit bounds concurrent per-node calls (default 32).
	FanOutLimit int
	// UserAgent is sent with every request.
	UserAgent string
	// UnsafeCleartextHTTP allows http:// endpoints, which send the API
	// token in cleartext (a fingerprint pin does not help: there is no
	// TLS). Only for a test rig; Proxmox VE serves HTTPS only.
	UnsafeCleartextHTTP bool
}

// Client talks to one Proxmox VE cluster. It is safe for concurrent use and
// holds one pooled HTTP/1.1 client; it caches no cluster state.
type Client struct {
	name      string
	endpoints []*url.URL
	current   atomic.Int32 // index of the endpoint that answered last
	tokenID   string
	authValue string // full Authorization header value; never logged
	http      *http.Client
	timeout   time.Duration
	fanOut    int
	userAgent string
	flights   flightGroup[answer]
	// resFlights shares decoded /cluster/resources lists in flight.
	resFlights flightGroup[resourceRead]
}

var tokenIDRE = regexp.MustCompile(`^[^\s@!=]+@[^\s@!=]+![A-Za-z][A-Za-z0-9.\-_]+$`)

// ParseToken splits "user@realm!tokenid=secret" into its id and secret. A
// token id never holds "=", so the first "=" ends it. No error quotes any
// part of the value: a malformed value may be a secret pasted in the wrong
// place (a whole env file, a token with an "=" inside), so errors only
// describe its shape.
func ParseToken(token string) (id, secret string, err error) {
	token = strings.TrimSpace(token)
	if strings.ContainsAny(token, "\r\n") {
		return "", "", errors.New("API token spans several lines (a pasted env file?); give only user@realm!tokenid=secret on one line")
	}
	if strings.HasPrefix(token, "PROXMOX_VE_API_TOKEN=") || strings.HasPrefix(token, "export ") {
		return "", "", errors.New("API token starts with a variable assignment; give only its value user@realm!tokenid=secret")
	}
	i := strings.Index(token, "=")
	if i > 0 && i == len(token)-1 && tokenIDRE.MatchString(token[:i]) {
		return "", "", errors.New("API token has no secret after the '=': give the whole token user@realm!tokenid=secret")
	}
	if i <= 0 || i == len(token)-1 {
		return "", "", errors.New("API token must look like user@realm!tokenid=secret")
	}
	id, secret = token[:i], token[i+1:]
	if err := CheckTokenID(id); err != nil {
		return "", "", err
	}
	if strings.ContainsAny(secret, " \t") {
		return "", "", errors.New("API token secret (the part after the first '=') contains white space")
	}
	return id, secret, nil
}

// NormalizeFingerprint returns a SHA-256 fingerprint as uppercase colon hex,
// accepting colons, no separators or lower case.
func NormalizeFingerprint(fp string) (string, error) {
	h := strings.ToUpper(strings.NewReplacer(":", "", " ", "", "-", "").Replace(strings.TrimSpace(fp)))
	if strings.HasPrefix(h, "SHA256") {
		h = strings.TrimLeft(h[len("SHA256"):], "=")
	}
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != sha256.Size {
		return "", errors.New("fingerprint must be a SHA-256 hash in colon hex (32 bytes, e.g. AB:CD:...)")
	}
	return FingerprintOf(b, true), nil
}

// FingerprintOf formats raw bytes (or, when isHash is false, the SHA-256 of a
// DER certificate) as uppercase colon hex.
func FingerprintOf(b []byte, isHash bool) string {
	if !isHash {
		s := sha256.Sum256(b)
		b = s[:]
	}
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02X", c)
	}
	return strings.Join(parts, ":")
}

// NormalizeEndpoint turns "host", "host:8006" or "https://host:8006/api2/json/"
// into "https://host:8006".
func NormalizeEndpoint(ep string) (*url.URL, error) {
	ep = strings.TrimSpace(ep)
	if ep == "" {
		return nil, errors.New("empty endpoint")
	}
	if !strings.Contains(ep, "://") {
		ep = "https://" + ep
	}
	u, err := url.Parse(ep)
	if err != nil {
		return nil, fmt.Errorf("endpoint %q is not a URL: %w", ep, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("endpoint %q must use https", ep)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("endpoint %q has no host", ep)
	}
	if u.Port() == "" {
		u.Host = net.JoinHostPort(u.Hostname(), "8006")
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/api2/json")
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return u, nil
}

// New validates the options and builds a client. It makes no request.
func New(opts Options) (*Client, error) {
	if len(opts.Endpoints) == 0 {
		return nil, errors.New("no Proxmox endpoint configured")
	}
	c := &Client{name: opts.Name, timeout: opts.Timeout, fanOut: opts.FanOutLimit, userAgent: opts.UserAgent}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.fanOut <= 0 {
		c.fanOut = DefaultFanOutLimit
	}
	if c.userAgent == "" {
		c.userAgent = "pvemcp"
	}
	for _, ep := range opts.Endpoints {
		u, err := NormalizeEndpoint(ep)
		if err != nil {
			return nil, err
		}
		if u.Scheme == "http" && !opts.UnsafeCleartextHTTP {
			return nil, fmt.Errorf("endpoint http://%s would send the API token in cleartext: Proxmox VE serves its API over HTTPS only, use https://%s", u.Host, u.Host)
		}
		c.endpoints = append(c.endpoints, u)
	}
	id, secret, err := ParseToken(opts.Token)
	if err != nil {
		return nil, err
	}
	c.tokenID = id
	c.authValue = "PVEAPIToken=" + id + "=" + secret

	tlsConf, err := buildTLS(opts)
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         dialer.DialContext,
		TLSClientConfig:     tlsConf,
		TLSHandshakeTimeout: 10 * time.Second,
		// pveproxy speaks HTTP/1.1 only; a non-nil empty map disables h2.
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
		ForceAttemptHTTP2:   false,
		MaxIdleConns:        64,
		MaxIdleConnsPerHost: 32,
		IdleConnTimeout:     90 * time.Second,
	}
	c.http = &http.Client{Transport: tr}
	return c, nil
}

func buildTLS(opts Options) (*tls.Config, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	var pool *x509.CertPool
	if opts.CAFile != "" || len(opts.CAPEM) > 0 {
		pem := opts.CAPEM
		if opts.CAFile != "" {
			b, err := os.ReadFile(opts.CAFile)
			if err != nil {
				return nil, fmt.Errorf("reading CA file: %w", err)
			}
			pem = b
		}
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("CA file holds no PEM certificate")
		}
	}
	switch {
	case opts.Fingerprint != "":
		pins, err := ParsePins(opts.Fingerprint)
		if err != nil {
			return nil, err
		}
		// The pins replace chain verification: Proxmox certificates are
		// usually self-signed, and the pin is what the admin trusts. Every
		// node has its own certificate, so failover needs one pin per node
		// or a CA as well, which is then accepted too.
		conf.InsecureSkipVerify = true
		conf.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return &PinMismatchError{Endpoint: cs.ServerName, Want: strings.Join(pins, ", "), Got: "no certificate"}
			}
			got := FingerprintOf(cs.PeerCertificates[0].Raw, false)
			for _, p := range pins {
				if got == p {
					return nil
				}
			}
			if pool != nil && verifyChain(cs, pool) == nil {
				return nil
			}
			return &PinMismatchError{Endpoint: cs.ServerName, Want: strings.Join(pins, ", "), Got: got}
		}
	case opts.Insecure:
		conf.InsecureSkipVerify = true
	case pool != nil:
		conf.RootCAs = pool
	}
	return conf, nil
}

func verifyChain(cs tls.ConnectionState, roots *x509.CertPool) error {
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: cs.ServerName})
	return err
}

// ParsePins reads one or more SHA-256 fingerprints separated by commas,
// semicolons or spaces (one per node for failover).
func ParsePins(s string) ([]string, error) {
	var pins []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' }) {
		p, err := NormalizeFingerprint(f)
		if err != nil {
			return nil, err
		}
		pins = append(pins, p)
	}
	if len(pins) == 0 {
		return nil, errors.New("fingerprint must be a SHA-256 hash in colon hex (32 bytes, e.g. AB:CD:...)")
	}
	return pins, nil
}

// Name is the configured cluster label ("" when not configured).
func (c *Client) Name() string { return c.name }

// TokenID is the token's "user@realm!tokenid" (never the secret).
func (c *Client) TokenID() string { return c.tokenID }

// Endpoints returns the configured endpoint URLs.
func (c *Client) Endpoints() []string {
	out := make([]string, len(c.endpoints))
	for i, u := range c.endpoints {
		out[i] = u.String()
	}
	return out
}

// FanOutLimit is the bound on concurrent per-node calls.
func (c *Client) FanOutLimit() int { return c.fanOut }

// CloseIdleConnections releases pooled connections.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }
