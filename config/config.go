// Package config reads pvemcp's configuration: command-line flags, then the
// environment (the Terraform provider's PROXMOX_VE_* names and their *_FILE
// variants), then a YAML file ($XDG_CONFIG_HOME/pvemcp/config.yaml or
// --config). The file can hold several clusters, each with several node
// endpoints, and the policy other packages read: thresholds, protected
// guests, approval mode, audit log and read-only mode.
//
// Token secrets are never in the file. They come from the environment, a
// file (*_FILE, token_file), a systemd credential ($CREDENTIALS_DIRECTORY) or
// the OS keyring (pvemcp auth set); Cluster.Token is filled by Resolve.
package config

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pvemcp/pvemcp/guard"
	"github.com/pvemcp/pvemcp/proxmox"
)

// Environment variable names (the Terraform provider's, which Proxmox users know).
const (
	EnvEndpoint    = "PROXMOX_VE_ENDPOINT"
	EnvToken       = "PROXMOX_VE_API_TOKEN"
	EnvInsecure    = "PROXMOX_VE_INSECURE"
	EnvCAFile      = "PROXMOX_VE_CA_FILE"
	EnvFingerprint = "PROXMOX_VE_FINGERPRINT"
	// EnvClusterName names the cluster the environment defines, or, when the
	// config file defines clusters, selects the default one.
	EnvClusterName = "PVEMCP_CLUSTER_NAME"
	EnvTimeout     = "PVEMCP_TIMEOUT"
	EnvHTTPToken   = "PVEMCP_HTTP_TOKEN"
	EnvRAMPct      = "PVEMCP_THRESHOLD_RAM_PCT"
	EnvStoragePct  = "PVEMCP_THRESHOLD_STORAGE_PCT"
	EnvCPUPct      = "PVEMCP_THRESHOLD_CPU_PCT"
	EnvConfig      = "PVEMCP_CONFIG"
	EnvReadOnly    = "PVEMCP_READ_ONLY"
	EnvApproval    = "PVEMCP_APPROVAL"
	EnvAuditLog    = "PVEMCP_AUDIT_LOG"
	// EnvToolsets names the toolsets served from the start (comma-separated).
	EnvToolsets = "PVEMCP_TOOLSETS"
	// EnvPlanStore selects where pending plans are kept (see Config.PlanStore).
	EnvPlanStore = "PVEMCP_PLAN_STORE"
	// EnvPlanStorePrefix starts the plan store's Redis keys.
	EnvPlanStorePrefix = "PVEMCP_PLAN_STORE_PREFIX"
	// EnvRedisUsername and EnvRedisPassword authenticate to a Redis plan
	// store (never in the URL).
	EnvRedisUsername = "PVEMCP_REDIS_USERNAME"
	EnvRedisPassword = "PVEMCP_REDIS_PASSWORD"
	// EnvRedisCAFile is the CA of a rediss:// plan store's certificate.
	EnvRedisCAFile = "PVEMCP_REDIS_CA_FILE"
	// EnvUnsafeCleartextHTTP=true lets http:// endpoints send the API token
	// in cleartext: for a test rig behind its own proxy, never for a real
	// cluster (Proxmox VE serves its API over HTTPS only).
	EnvUnsafeCleartextHTTP = "PVEMCP_UNSAFE_CLEARTEXT_HTTP"
	// EnvCredentialsDir is set by systemd for a unit with LoadCredential=.
	EnvCredentialsDir = "CREDENTIALS_DIRECTORY"
)

// HowToConfigure is the exact list of what to set; every "not configured"
// error ends with it.
const HowToConfigure = "set " + EnvEndpoint + " (e.g. https://pve1.example.com:8006), " +
	EnvToken + " (user@realm!tokenid=secret), and, unless the certificate is signed by a CA the system trusts" +
	" (e.g. ACME), one of " + EnvFingerprint +
	" (SHA-256 of the node certificate, AA:BB:...), " + EnvCAFile + " (PEM of the cluster CA) or " +
	EnvInsecure + "=true; or describe clusters in $XDG_CONFIG_HOME/pvemcp/config.yaml (see examples/config.yaml);" +
	" or use --demo to try the built-in simulator"

// ErrNotConfigured means no cluster is configured at all.
var ErrNotConfigured = errors.New("no Proxmox cluster configured: " + HowToConfigure)

// Cluster is one Proxmox VE cluster's connection settings.
type Cluster struct {
	Name        string
	Endpoints   []string
	Token       string // user@realm!tokenid=secret, set by Resolve; never printed
	CAFile      string
	Fingerprint string
	Insecure    bool
	Timeout     time.Duration
	// UnsafeCleartextHTTP allows http:// endpoints (EnvUnsafeCleartextHTTP).
	UnsafeCleartextHTTP bool

	// TokenID is "user@realm!tokenid" when known without the secret.
	TokenID string
	// Secret says where the token (or its secret) comes from.
	Secret SecretRef
	// Origin says where the cluster was defined ("config.yaml:12", "environment").
	Origin string

	resolveErr error // why Token could not be read (LoadAll), for Clients.Get
}

// Options converts the settings for proxmox.New.
func (c Cluster) Options() proxmox.Options {
	return proxmox.Options{Name: c.Name, Endpoints: c.Endpoints, Token: c.Token, CAFile: c.CAFile,
		Fingerprint: c.Fingerprint, Insecure: c.Insecure, Timeout: c.Timeout, UserAgent: "pvemcp",
		UnsafeCleartextHTTP: c.UnsafeCleartextHTTP}
}

// Thresholds are alert limits in percent (0 = default).
type Thresholds struct {
	RAMPct     float64
	StoragePct float64
	CPUPct     float64
}

// Config is the merged configuration.
type Config struct {
	// Cluster is the default cluster (nil when none is configured).
	Cluster *Cluster
	// Clusters are all configured clusters: the file's in file order, then
	// the one the environment defines when there is no file cluster.
	Clusters []*Cluster
	// HTTPToken is the bearer token of the HTTP transport; never printed.
	HTTPToken  string
	Thresholds Thresholds
	// Protected guests: plans touching them are refused.
	Protected guard.Protection
	// Approval is the confirm_plan policy (elicit by default).
	Approval guard.ApprovalMode
	// AuditLog is the audit log path ("" = the guard's default).
	AuditLog string
	// PlanStore is where pending plans are kept: "memory" (one process),
	// "file" or "file:PATH" (the CLI's default, under $XDG_STATE_HOME/pvemcp),
	// or a redis:// / rediss:// URL shared by replicas. "" = the command's
	// default.
	PlanStore string
	// PlanStorePrefix starts the Redis keys ("" = guard.DefaultRedisPrefix).
	PlanStorePrefix string
	// ReadOnly registers no write tool.
	ReadOnly bool
	// Toolsets served from the start (nil = the default toolsets); serve
	// checks the names.
	Toolsets []string
	// Path is the config file that was read ("" when none).
	Path string

	defaultName string // default_cluster from the file
}

// ClusterByName returns the named cluster, or the default one for "".
func (c *Config) ClusterByName(name string) (*Cluster, error) {
	if name == "" {
		if c.Cluster == nil {
			return nil, ErrNotConfigured
		}
		return c.Cluster, nil
	}
	for _, cl := range c.Clusters {
		if cl.Name == name {
			return cl, nil
		}
	}
	return nil, fmt.Errorf("no cluster named %q is configured (configured: %s)", name, strings.Join(c.Names(), ", "))
}

// Names lists the configured cluster names.
func (c *Config) Names() []string {
	out := make([]string, len(c.Clusters))
	for i, cl := range c.Clusters {
		out[i] = cl.Name
	}
	return out
}

// Getenv looks up a variable; os.LookupEnv in production.
type Getenv func(string) (string, bool)

// LoadAll reads the configuration and resolves every cluster's secret. A
// default cluster without its secret is an error; another cluster's missing
// secret is reported when a call is routed to it (Clients.Get), so one
// broken cluster does not stop the others.
func LoadAll(opts Options) (*Config, error) {
	cfg, err := Read(opts)
	if err != nil {
		return nil, err
	}
	for _, cl := range cfg.Clusters {
		err := cl.Resolve(opts.keyring(), opts.getenv())
		if err != nil && cl == cfg.Cluster {
			return nil, err
		}
		cl.resolveErr = err
	}
	return cfg, nil
}

// lookup reads NAME, or the file named by NAME_FILE (trailing newline
// trimmed). Setting both is an error.
func lookup(getenv Getenv, name string) (string, error) {
	v, ok := getenv(name)
	f, fok := getenv(name + "_FILE")
	if ok && v != "" && fok && f != "" {
		return "", fmt.Errorf("set either %s or %s_FILE, not both", name, name)
	}
	if fok && f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("%s_FILE: %w", name, err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return strings.TrimSpace(v), nil
}

func parsePct(name, v string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f <= 0 || f > 100 {
		return 0, fmt.Errorf("%s must be a percentage in (0, 100], got %q", name, v)
	}
	return f, nil
}

func parseBool(name, v string) (bool, error) {
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		return false, fmt.Errorf("%s must be true or false, got %q", name, v)
	}
	return b, nil
}

func parseTimeout(name, v string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s must be a duration like 15s, got %q", name, v)
	}
	return d, nil
}

// validateCluster checks one cluster's settings (not its secret).
func validateCluster(c *Cluster) error {
	if len(c.Endpoints) == 0 {
		return errors.New("no endpoint")
	}
	for _, ep := range c.Endpoints {
		if _, err := proxmox.NormalizeEndpoint(ep); err != nil {
			return err
		}
	}
	if c.Fingerprint != "" {
		fp, err := proxmox.NormalizeFingerprint(c.Fingerprint)
		if err != nil {
			return err
		}
		c.Fingerprint = fp
	}
	// Neither fingerprint, ca_file nor insecure: the system's trusted roots
	// verify the certificate (ACME / Let's Encrypt clusters need nothing
	// more; a self-signed one is refused with its fingerprint to pin).
	if c.TokenID != "" && !tokenIDOK(c.TokenID) {
		return fmt.Errorf("token_id: %w", proxmox.CheckTokenID(c.TokenID))
	}
	return nil
}

func tokenIDOK(id string) bool {
	_, _, err := proxmox.ParseToken(id + "=x")
	return err == nil
}

var clusterNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

func splitEndpoints(s string) []string {
	var out []string
	for _, ep := range strings.Split(s, ",") {
		if ep = strings.TrimSpace(ep); ep != "" {
			out = append(out, ep)
		}
	}
	return out
}

// ValidClusterName reports whether name can name a cluster (it is also the
// keyring account).
func ValidClusterName(name string) bool { return clusterNameRE.MatchString(name) }
