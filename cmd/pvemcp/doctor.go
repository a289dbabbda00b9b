package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pvemcp/pvemcp/config"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/toolkit"
	"github.com/pvemcp/pvemcp/tools"
)

// doctor check outcomes.
const (
	statusOK   = "ok"
	statusWarn = "warn"
	statusFail = "FAIL"
)

type doctorFlags struct {
	timeout time.Duration
	probes  int
}

func newDoctorCmd(a *app) *cobra.Command {
	f := &doctorFlags{}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the configuration, secrets, endpoints, TLS, token privileges and Proxmox version",
		Long: "Check everything pvemcp needs, cluster by cluster: the configuration, where the token secret comes\n" +
			"from, that every node endpoint answers, its TLS certificate, the token's identity and privileges (which\n" +
			"tools will work) and the Proxmox VE version. Prints a report; exits 1 when a problem was found.\n" +
			"Checks every configured cluster, or only the one named by --cluster.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d := &doctor{a: a, f: f, out: a.stdout, kr: config.OSKeyring{}}
			if n := d.run(cmd.Context()); n > 0 {
				return &exitError{code: 1, msg: fmt.Sprintf("doctor found %d problem(s)", n)}
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&f.timeout, "timeout", 5*time.Second, "how long each endpoint may take to answer")
	cmd.Flags().IntVar(&f.probes, "probes", 10, "requests per endpoint (to catch intermittent errors)")
	return cmd
}

type doctor struct {
	a        *app
	f        *doctorFlags
	out      io.Writer
	kr       config.Keyring
	problems int
	readOnly bool // the configuration serves no write tool
}

func (d *doctor) line(indent, status, subject, detail string) {
	if status == statusFail {
		d.problems++
	}
	fmt.Fprintf(d.out, "%s%-6s %-11s %s\n", indent, "["+status+"]", subject, detail)
}

// run prints the report and returns the number of problems.
func (d *doctor) run(ctx context.Context) int {
	opts := d.a.configOptions()
	cfg, err := config.Read(opts)
	if err != nil {
		d.line("", statusFail, "config", err.Error())
		return d.problems
	}
	if len(cfg.Clusters) == 0 {
		d.line("", statusFail, "config", config.ErrNotConfigured.Error())
		return d.problems
	}
	where := cfg.Path
	if where == "" {
		where = "environment only (no config file)"
	}
	def := ""
	if cfg.Cluster != nil {
		def = fmt.Sprintf(", default cluster %q", cfg.Cluster.Name)
	}
	d.readOnly = cfg.ReadOnly
	d.line("", statusOK, "config", fmt.Sprintf("%s: %d cluster(s)%s; approval %s; read-only %t", where, len(cfg.Clusters), def, cfg.Approval, cfg.ReadOnly))
	d.planStore(ctx, cfg)
	for _, cl := range cfg.Clusters {
		if opts.Overrides.Cluster != "" && cl.Name != opts.Overrides.Cluster {
			continue
		}
		d.cluster(ctx, cl)
	}
	if d.problems == 0 {
		fmt.Fprintln(d.out, "no problems found")
	}
	return d.problems
}

func (d *doctor) cluster(ctx context.Context, cl *config.Cluster) {
	fmt.Fprintf(d.out, "cluster %s (%s)\n", cl.Name, cl.Origin)
	const in = "  "
	haveToken := true
	if err := cl.Resolve(d.kr, nil); err != nil {
		d.line(in, statusFail, "secret", err.Error())
		haveToken = false
		// Endpoints and TLS can still be checked; Proxmox will refuse the
		// placeholder token, which proves it answers.
		cl.Token = "pvemcp@pve!doctor=placeholder"
	} else {
		d.line(in, statusOK, "secret", fmt.Sprintf("from %s; token %s", cl.Secret, cl.TokenID))
	}
	switch {
	case cl.Fingerprint != "":
		tlsNote := "certificate pinned by SHA-256 fingerprint"
		if len(cl.Endpoints) > 1 {
			tlsNote += " (every node has its own certificate: for several endpoints prefer ca_file with /etc/pve/pve-root-ca.pem)"
		}
		d.line(in, statusOK, "tls", tlsNote)
	case cl.CAFile != "":
		if msg := caFileProblem(cl.CAFile); msg != "" {
			// Every endpoint would fail on it: say it once, here.
			d.line(in, statusFail, "tls", msg)
			return
		}
		d.line(in, statusOK, "tls", "verified against CA file "+cl.CAFile)
	case cl.Insecure:
		d.line(in, statusWarn, "tls", proxmox.InsecureWarning)
	default:
		d.line(in, statusOK, "tls", "verified against the system CA roots")
	}

	var version *proxmox.Version
	answered := 0
	members := map[string][]string{} // cluster name an endpoint reports -> endpoints
	for _, ep := range cl.Endpoints {
		v, ok := d.endpoint(ctx, cl, ep, haveToken, members)
		if ok {
			answered++
			if version == nil {
				version = v
			}
		}
	}
	if !haveToken || answered == 0 {
		return
	}
	if len(members) > 1 {
		var parts []string
		for name, eps := range members {
			parts = append(parts, fmt.Sprintf("%s in cluster %q", strings.Join(eps, ", "), name))
		}
		sort.Strings(parts)
		d.line(in, statusFail, "endpoints", "the endpoints belong to different clusters: "+strings.Join(parts, "; ")+
			"; list only nodes of one cluster (a second cluster is its own clusters: entry)")
	}
	c, err := proxmox.New(cl.Options())
	if err != nil {
		d.line(in, statusFail, "token", err.Error())
		return
	}
	defer c.CloseIdleConnections()
	d.quorum(ctx, c)
	d.privileges(ctx, c)
	d.version(version)
}

// quorum reports the cluster's name, quorum and members online.
func (d *doctor) quorum(ctx context.Context, c *proxmox.Client) {
	const in = "  "
	st, err := c.ClusterStatus(ctx)
	if err != nil {
		d.line(in, statusWarn, "quorum", "cannot read /cluster/status: "+err.Error())
		return
	}
	online := 0
	for _, m := range st.Members {
		if m.Online {
			online++
		}
	}
	name := st.Name
	if !st.Clustered {
		name = "stand-alone node"
	}
	detail := fmt.Sprintf("%s: %d of %d nodes online", name, online, len(st.Members))
	if !st.Quorate {
		d.line(in, statusWarn, "quorum", detail+"; NOT quorate: Proxmox refuses most changes until quorum is back")
		return
	}
	d.line(in, statusOK, "quorum", detail+", quorate")
}

// endpoint checks one node endpoint alone: reachability, TLS, the token and
// intermittent errors. It reports whether the endpoint works.
func (d *doctor) endpoint(ctx context.Context, cl *config.Cluster, ep string, haveToken bool, members map[string][]string) (*proxmox.Version, bool) {
	const in = "  "
	subject := "endpoint"
	opts := cl.Options()
	opts.Endpoints = []string{ep}
	opts.Timeout = d.f.timeout
	c, err := proxmox.New(opts)
	if err != nil {
		d.line(in, statusFail, subject, fmt.Sprintf("%s: %v", ep, err))
		return nil, false
	}
	defer c.CloseIdleConnections()
	probes := max(d.f.probes, 1)
	var version *proxmox.Version
	var ok, serverErrs int
	var serverReason string
	var lastMS float64
	for i := 0; i < probes; i++ {
		rec := proxmox.NewRecorder()
		v, err := c.Version(proxmox.WithRecorder(ctx, rec))
		if calls := rec.Calls(); len(calls) > 0 {
			lastMS = calls[len(calls)-1].MS
		}
		if err == nil {
			ok++
			if version == nil {
				version = v
			}
			continue
		}
		var pe *proxmox.Error
		if errors.As(err, &pe) && pe.Kind == proxmox.KindServer {
			serverErrs++
			serverReason = fmt.Sprintf("HTTP %d %s", pe.Status, pe.Reason)
			continue
		}
		if !haveToken && proxmox.IsUnauthorized(err) {
			d.line(in, statusWarn, subject, ep+": answers (token not checked: no secret)")
			return nil, false
		}
		d.line(in, statusFail, subject, ep+": "+d.diagnose(ctx, ep, cl, err))
		return nil, false
	}
	switch {
	case serverErrs == probes:
		d.line(in, statusFail, subject, fmt.Sprintf("%s: every request failed with %s: Proxmox answers but cannot serve the API (check pveproxy/pvedaemon and the cluster file system on that node)", ep, serverReason))
		return nil, false
	case serverErrs > 0:
		d.line(in, statusFail, subject, fmt.Sprintf("%s: intermittent errors: %d of %d requests failed with %s (overloaded node or a failing service); pvemcp reports such failures per call", ep, serverErrs, probes, serverReason))
		return version, true
	}
	// Which cluster answers here (needs Sys.Audit; skipped without it).
	if st, err := c.ClusterStatus(ctx); err == nil && st.Clustered {
		members[st.Name] = append(members[st.Name], ep)
	}
	detail := fmt.Sprintf("%s: answers, token accepted, Proxmox VE %s (%.1f ms)", ep, version.Version, lastMS)
	if cl.Fingerprint == "" {
		if fp := presentedFingerprint(ctx, ep, d.f.timeout); fp != "" {
			detail += "; certificate SHA-256 " + fp
		}
	}
	d.line(in, statusOK, subject, detail)
	return version, true
}

// diagnose turns a failed probe into a specific cause and what to do.
func (d *doctor) diagnose(ctx context.Context, ep string, cl *config.Cluster, err error) string {
	var pe *proxmox.Error
	if !errors.As(err, &pe) {
		return err.Error()
	}
	var pin *proxmox.PinMismatchError
	switch pe.Kind {
	case proxmox.KindUnreachable:
		if strings.Contains(pe.Message(), "refused") {
			_, port, _ := net.SplitHostPort(hostPort(ep))
			msg := fmt.Sprintf("connection refused: nothing listens on port %s there (the node is down, pveproxy is stopped, or a firewall rejects the port)", port)
			if port != "8006" {
				msg += "; Proxmox's API listens on 8006: is the port in the endpoint right?"
			}
			return msg
		}
		return pe.Message() + " (check the host name, the port and the network path)"
	case proxmox.KindTimeout:
		if tcpOpen(ctx, ep, d.f.timeout) {
			return fmt.Sprintf("accepts connections but did not answer within %s: pveproxy or the node hangs (or is badly overloaded)", d.f.timeout)
		}
		return fmt.Sprintf("no connection within %s: the host is down or a firewall drops the traffic", d.f.timeout)
	case proxmox.KindTLS:
		if errors.As(err, &pin) {
			return fmt.Sprintf("the TLS certificate changed: pinned %s, the server presented %s. If the certificate was renewed on purpose, set fingerprint to the new value; otherwise something may be intercepting the connection", pin.Want, pin.Got)
		}
		return pe.Message()
	case proxmox.KindNotProxmox:
		if strings.Contains(pe.Message(), "HTML") {
			return fmt.Sprintf("answered HTTP %d with an HTML page instead of the Proxmox API: a reverse proxy in front of Proxmox is failing, or the URL does not point at the API", pe.Status)
		}
		return fmt.Sprintf("answered HTTP %d with malformed JSON: the answer was cut off or mangled (a broken proxy or load balancer), or this is not the Proxmox API", pe.Status)
	case proxmox.KindAuth:
		return fmt.Sprintf("the API token %s was rejected (HTTP 401 %s): it was revoked or deleted, has expired, or the secret is wrong. Create or regenerate it under Datacenter > Permissions > API Tokens, then %s", cl.TokenID, pe.Reason, storeAgain(cl))
	case proxmox.KindPermission:
		return "the token may not read /version: " + pe.Message()
	}
	return pe.Message()
}

// storeAgain says where a new token goes, for the source this cluster's
// secret comes from.
func storeAgain(cl *config.Cluster) string {
	switch cl.Secret.Kind {
	case config.SecretEnv:
		return "set " + cl.Secret.Name + " to the new token"
	case config.SecretFile:
		return "write the new secret to " + cl.Secret.Name
	case config.SecretCredential:
		return "update the systemd credential " + cl.Secret.Name
	}
	return "store it again (pvemcp auth set --cluster " + cl.Name + ")"
}

// caFileProblem says why a CA file cannot verify anything, or "".
func caFileProblem(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("CA file %s cannot be read (%v): no certificate can be verified; fix ca_file / %s (or pin fingerprint)", path, errors.Unwrap(err), config.EnvCAFile)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(b) {
		return fmt.Sprintf("CA file %s holds no PEM certificate: copy /etc/pve/pve-root-ca.pem from a node", path)
	}
	return ""
}

// privileges maps the token's permissions to the tools that will work.
func (d *doctor) privileges(ctx context.Context, c *proxmox.Client) {
	const in = "  "
	srv := toolkit.NewServer(&toolkit.Env{Client: c, Log: d.a.log}, toolkit.All())
	res, err := srv.Call(ctx, "check_permissions", nil)
	if err != nil || res.IsError {
		msg := ""
		if err != nil {
			msg = err.Error()
		} else {
			msg = res.Text
		}
		d.line(in, statusFail, "privileges", msg)
		return
	}
	var r struct {
		Token string             `json:"token"`
		Tools []tools.ToolAccess `json:"tools"`
	}
	if err := json.Unmarshal(res.Structured, &r); err != nil {
		d.line(in, statusFail, "privileges", "cannot read check_permissions: "+err.Error())
		return
	}
	// Count the tools pvemcp serves with this configuration (what `pvemcp
	// tools` lists): a served tool check_permissions does not assess
	// (confirm_plan: it runs what another tool planned) needs no privilege
	// of its own.
	write := map[string]bool{}
	served := toolkit.Select(d.readOnly, nil)
	assessed := map[string]bool{}
	for _, t := range r.Tools {
		assessed[t.Tool] = true
	}
	var free []string
	for _, t := range served {
		write[t.Name] = t.Write()
		if !assessed[t.Name] {
			free = append(free, t.Name)
		}
	}
	var works, partial int
	var noRead, noWrite []string
	works = len(free)
	for _, t := range r.Tools {
		if _, ok := write[t.Tool]; !ok {
			continue // not served (read-only)
		}
		switch t.Works {
		case "yes":
			works++
		case "partial":
			partial++
		default:
			s := t.Tool + " (needs " + strings.Join(t.Missing, ", ") + ")"
			if write[t.Tool] {
				noWrite = append(noWrite, s)
			} else {
				noRead = append(noRead, s)
			}
		}
	}
	summary := fmt.Sprintf("token %s: %d of %d tools work", r.Token, works, len(served))
	if len(free) > 0 {
		summary += fmt.Sprintf(" (%s needs no privilege of its own)", strings.Join(free, ", "))
	}
	if partial > 0 {
		summary += fmt.Sprintf(", %d only on some guests/storages", partial)
	}
	switch {
	case works == 0 && partial == 0:
		d.line(in, statusFail, "privileges", summary+"; give the token at least the PVEAuditor role on /")
	case len(noRead) > 0:
		d.line(in, statusWarn, "privileges", summary+"; read tools that will not work: "+strings.Join(noRead, "; "))
	default:
		d.line(in, statusOK, "privileges", summary)
	}
	if len(noWrite) > 0 {
		d.line(in, statusWarn, "writes", "write tools that will not work: "+strings.Join(noWrite, "; ")+" (fine for read-only use)")
	}
}

func (d *doctor) version(v *proxmox.Version) {
	const in = "  "
	if v == nil {
		return
	}
	major := 0
	fmt.Sscanf(v.Version, "%d", &major)
	if major < 8 {
		d.line(in, statusWarn, "version", fmt.Sprintf("Proxmox VE %s: pvemcp is built for Proxmox VE 8 and 9; some tools may fail", v.Version))
		return
	}
	d.line(in, statusOK, "version", fmt.Sprintf("Proxmox VE %s (release %s)", v.Version, v.Release))
}

func hostPort(ep string) string {
	u, err := proxmox.NormalizeEndpoint(ep)
	if err != nil {
		return ""
	}
	return u.Host
}

func tcpOpen(ctx context.Context, ep string, timeout time.Duration) bool {
	dl := net.Dialer{Timeout: timeout}
	conn, err := dl.DialContext(ctx, "tcp", hostPort(ep))
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// presentedFingerprint reads the endpoint's leaf certificate without
// sending anything (no token): what to pin when moving off insecure.
func presentedFingerprint(ctx context.Context, ep string, timeout time.Duration) string {
	u, err := url.Parse(ep)
	if err != nil || !strings.EqualFold(u.Scheme, "https") && u.Scheme != "" {
		return ""
	}
	dl := &tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout},
		Config: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}} // only reads the certificate
	conn, err := dl.DialContext(ctx, "tcp", hostPort(ep))
	if err != nil {
		return ""
	}
	defer conn.Close()
	cs := conn.(*tls.Conn).ConnectionState()
	if len(cs.PeerCertificates) == 0 {
		return ""
	}
	return proxmox.FingerprintOf(cs.PeerCertificates[0].Raw, false)
}
