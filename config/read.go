package config

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/pvemcp/pvemcp/guard"
)

// Options say where Read looks.
type Options struct {
	// Path is the config file (--config); "" means $PVEMCP_CONFIG, else the
	// default path. An explicit file must exist; the default one may not.
	Path string
	// NoFile reads no config file at all.
	NoFile bool
	// Getenv defaults to os.LookupEnv.
	Getenv Getenv
	// Overrides are the command-line flags (strongest).
	Overrides Overrides
	// Keyring defaults to the OS keyring.
	Keyring Keyring
}

func (o Options) getenv() Getenv {
	if o.Getenv != nil {
		return o.Getenv
	}
	return os.LookupEnv
}

func (o Options) keyring() Keyring {
	if o.Keyring != nil {
		return o.Keyring
	}
	return OSKeyring{}
}

// Overrides are settings given on the command line. Empty strings and nil
// pointers mean "not given".
type Overrides struct {
	Cluster     string // selects the default cluster
	Endpoint    string // comma-separated
	CAFile      string
	Fingerprint string
	Insecure    *bool
	ReadOnly    *bool
	Approval    string
	AuditLog    string
	PlanStore   string
}

// Flags binds the configuration flags to a cobra/pflag flag set.
type Flags struct {
	fs   *pflag.FlagSet
	path string
	o    Overrides
	ins  bool
}

// RegisterFlags adds --config, --cluster, --endpoint, --ca-file,
// --fingerprint, --insecure, --approval and --audit-log to fs. The token is never a flag: command
// lines are visible to every user of the machine.
func RegisterFlags(fs *pflag.FlagSet) *Flags {
	f := &Flags{fs: fs}
	fs.StringVar(&f.path, "config", "", "config file (default $PVEMCP_CONFIG or $XDG_CONFIG_HOME/pvemcp/config.yaml)")
	fs.StringVar(&f.o.Cluster, "cluster", "", "default cluster (by its name in the config file)")
	fs.StringVar(&f.o.Endpoint, "endpoint", "", "Proxmox API endpoint(s), comma-separated (overrides "+EnvEndpoint+")")
	fs.StringVar(&f.o.CAFile, "ca-file", "", "PEM file of the cluster CA (overrides "+EnvCAFile+")")
	fs.StringVar(&f.o.Fingerprint, "fingerprint", "", "SHA-256 pin of the node certificate (overrides "+EnvFingerprint+")")
	fs.BoolVar(&f.ins, "insecure", false, "do not verify the Proxmox certificate (overrides "+EnvInsecure+"; not recommended)")
	fs.StringVar(&f.o.Approval, "approval", "", "how confirm_plan gets approval: elicit, nonce or require_human (overrides "+EnvApproval+")")
	fs.StringVar(&f.o.AuditLog, "audit-log", "", "audit log file (overrides "+EnvAuditLog+")")
	fs.StringVar(&f.o.PlanStore, "plan-store", "", "where pending plans are kept: memory, file[:PATH] or a redis:// URL (overrides "+EnvPlanStore+")")
	return f
}

// Options returns the read options the flags describe (nil Flags: defaults).
func (f *Flags) Options() Options {
	if f == nil {
		return Options{}
	}
	o := f.o
	if f.fs != nil && f.fs.Changed("insecure") {
		v := f.ins
		o.Insecure = &v
	}
	return Options{Path: f.path, Overrides: o}
}

// layer is one source of cluster settings (environment or flags).
type layer struct {
	origin      string
	endpoint    string
	caFile      string
	fingerprint string
	insecure    *bool
	timeout     string
	secret      SecretRef
}

func (l layer) touchesCluster() bool {
	return l.endpoint != "" || l.secret.Kind != SecretNone || l.caFile != "" || l.fingerprint != "" ||
		l.insecure != nil || l.timeout != ""
}

// apply overrides cl's fields with those the layer sets. TLS settings are
// one choice: a layer that sets any of them replaces the lower layer's.
func (l layer) apply(cl *Cluster) error {
	if l.endpoint != "" {
		cl.Endpoints = splitEndpoints(l.endpoint)
	}
	if l.secret.Kind != SecretNone {
		cl.Secret = l.secret
		cl.TokenID = ""
	}
	if l.caFile != "" || l.fingerprint != "" || l.insecure != nil {
		cl.CAFile, cl.Fingerprint, cl.Insecure = l.caFile, l.fingerprint, false
		if l.insecure != nil {
			cl.Insecure = *l.insecure
		}
	}
	if l.timeout != "" {
		d, err := parseTimeout(EnvTimeout, l.timeout)
		if err != nil {
			return err
		}
		cl.Timeout = d
	}
	return nil
}

// Read merges flags, environment and config file without reading secrets
// (see Config.Resolve). A partly configured cluster is an error naming what
// is missing; none at all is not (the caller decides whether it needs one).
func Read(opts Options) (*Config, error) {
	getenv := opts.getenv()
	cfg := &Config{Approval: guard.ApprovalElicit}

	// 1. The file.
	fileClusters, err := readFile(cfg, opts, getenv)
	if err != nil {
		return nil, err
	}

	// 2. The environment.
	var errs []error
	get := func(name string) string {
		v, err := lookup(getenv, name)
		if err != nil {
			errs = append(errs, err)
		}
		return v
	}
	env := layer{origin: "environment", endpoint: get(EnvEndpoint), caFile: get(EnvCAFile),
		fingerprint: get(EnvFingerprint), timeout: get(EnvTimeout)}
	if v := get(EnvInsecure); v != "" {
		b, err := parseBool(EnvInsecure, v)
		if err != nil {
			errs = append(errs, err)
		}
		env.insecure = &b
	}
	tv, tok := getenv(EnvToken)
	tf, fok := getenv(EnvToken + "_FILE")
	switch {
	case tok && strings.TrimSpace(tv) != "" && fok && tf != "":
		errs = append(errs, fmt.Errorf("set either %s or %s_FILE, not both", EnvToken, EnvToken))
	case fok && tf != "":
		env.secret = SecretRef{Kind: SecretFile, Name: tf}
	case tok && strings.TrimSpace(tv) != "":
		env.secret = SecretRef{Kind: SecretEnv, Name: EnvToken}
	}
	cfg.HTTPToken = get(EnvHTTPToken)
	var unsafeHTTP bool
	if v := get(EnvUnsafeCleartextHTTP); v != "" {
		b, err := parseBool(EnvUnsafeCleartextHTTP, v)
		if err != nil {
			errs = append(errs, err)
		}
		unsafeHTTP = b
	}
	envName := get(EnvClusterName)
	for _, t := range []struct {
		env string
		dst *float64
	}{{EnvRAMPct, &cfg.Thresholds.RAMPct}, {EnvStoragePct, &cfg.Thresholds.StoragePct}, {EnvCPUPct, &cfg.Thresholds.CPUPct}} {
		if v := get(t.env); v != "" {
			f, err := parsePct(t.env, v)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			*t.dst = f
		}
	}
	if v := get(EnvReadOnly); v != "" {
		b, err := parseBool(EnvReadOnly, v)
		if err != nil {
			errs = append(errs, err)
		}
		cfg.ReadOnly = b
	}
	if v := get(EnvToolsets); v != "" {
		cfg.Toolsets = nil
		for _, n := range strings.Split(v, ",") {
			if n = strings.TrimSpace(n); n != "" {
				cfg.Toolsets = append(cfg.Toolsets, n)
			}
		}
	}
	if v := get(EnvApproval); v != "" {
		m, err := guard.ParseApprovalMode(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", EnvApproval, err))
		}
		cfg.Approval = m
	}
	if v := get(EnvAuditLog); v != "" {
		cfg.AuditLog = v
	}
	if v := get(EnvPlanStore); v != "" {
		cfg.PlanStore = v
	}
	if v := get(EnvPlanStorePrefix); v != "" {
		cfg.PlanStorePrefix = v
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	// 3. The flags.
	ov := opts.Overrides
	flags := layer{origin: "command line", endpoint: ov.Endpoint, caFile: ov.CAFile, fingerprint: ov.Fingerprint, insecure: ov.Insecure}
	if ov.ReadOnly != nil {
		cfg.ReadOnly = *ov.ReadOnly
	}
	if ov.Approval != "" {
		m, err := guard.ParseApprovalMode(ov.Approval)
		if err != nil {
			return nil, fmt.Errorf("--approval: %w", err)
		}
		cfg.Approval = m
	}
	if ov.PlanStore != "" {
		cfg.PlanStore = ov.PlanStore
	}
	if ov.AuditLog != "" {
		cfg.AuditLog = ov.AuditLog
	}

	// Which cluster is the default: flag, environment, file, the only one.
	cfg.Clusters = fileClusters
	selected := ov.Cluster
	if selected == "" && len(fileClusters) > 0 {
		selected = envName
	}
	if selected == "" {
		selected = cfg.defaultName
	}
	var def *Cluster
	switch {
	case selected != "":
		for _, cl := range fileClusters {
			if cl.Name == selected {
				def = cl
			}
		}
		if def == nil && len(fileClusters) > 0 {
			return nil, fmt.Errorf("cluster %q is not defined in %s (defined: %s)", selected, cfg.Path, strings.Join(cfg.Names(), ", "))
		}
	case len(fileClusters) == 1:
		def = fileClusters[0]
	}

	if env.touchesCluster() || flags.touchesCluster() {
		if def == nil && len(fileClusters) > 1 {
			return nil, fmt.Errorf("%s defines several clusters: set default_cluster, --cluster or %s to say which one %s overrides",
				cfg.Path, EnvClusterName, strings.Join(setNames(env, flags), ", "))
		}
		if def == nil {
			name := ov.Cluster
			if name == "" {
				name = envName
			}
			if name == "" {
				name = "default"
			}
			def = &Cluster{Name: name, Origin: "environment"}
			if err := env.apply(def); err != nil {
				return nil, err
			}
			if err := flags.apply(def); err != nil {
				return nil, err
			}
			if err := checkEnvCluster(def); err != nil {
				return nil, err
			}
			cfg.Clusters = append(cfg.Clusters, def)
		} else {
			if err := env.apply(def); err != nil {
				return nil, err
			}
			if err := flags.apply(def); err != nil {
				return nil, err
			}
			if err := validateCluster(def); err != nil {
				return nil, fmt.Errorf("cluster %s (%s, with overrides from the environment or flags): %w", def.Name, def.Origin, err)
			}
		}
	}
	if def == nil && len(cfg.Clusters) > 1 {
		return nil, fmt.Errorf("%s defines several clusters: set default_cluster (or --cluster, %s)", cfg.Path, EnvClusterName)
	}
	cfg.Cluster = def
	if unsafeHTTP {
		for _, cl := range cfg.Clusters {
			cl.UnsafeCleartextHTTP = true
		}
	}
	return cfg, nil
}

func setNames(ls ...layer) []string {
	var out []string
	for _, l := range ls {
		if l.touchesCluster() {
			out = append(out, "the "+l.origin)
		}
	}
	return out
}

// checkEnvCluster validates a cluster defined without a file, naming the
// environment variables to set.
func checkEnvCluster(c *Cluster) error {
	var missing []string
	if len(c.Endpoints) == 0 {
		missing = append(missing, EnvEndpoint)
	}
	if c.Secret.Kind == SecretNone {
		missing = append(missing, EnvToken)
	}
	if len(missing) > 0 {
		return fmt.Errorf("incomplete Proxmox configuration: missing %s; %s", strings.Join(missing, ", "), HowToConfigure)
	}
	if err := validateCluster(c); err != nil {
		return fmt.Errorf("proxmox configuration from the environment: %w", err)
	}
	return nil
}

// readFile reads and validates the config file into cfg and returns its
// clusters.
func readFile(cfg *Config, opts Options, getenv Getenv) ([]*Cluster, error) {
	if opts.NoFile {
		return nil, nil
	}
	path, explicit := opts.Path, opts.Path != ""
	if !explicit {
		if p, _ := getenv(EnvConfig); p != "" {
			path, explicit = p, true
		} else {
			path = DefaultPath(getenv)
		}
	}
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if !explicit && errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("config file: %w", pathErr(err))
	}
	cfg.Path = path
	f, err := ParseFile(path, b)
	if err != nil {
		return nil, err
	}
	return applyFile(cfg, f, path, clusterLines(b))
}

func applyFile(cfg *Config, f *File, path string, lines []int) ([]*Cluster, error) {
	at := func(i int) string {
		if i < len(lines) {
			return fmt.Sprintf("%s:%d", path, lines[i])
		}
		return path
	}
	var errs []error
	for _, t := range []struct {
		key string
		v   float64
		dst *float64
	}{{"thresholds.ram_pct", f.Thresholds.RAMPct, &cfg.Thresholds.RAMPct},
		{"thresholds.storage_pct", f.Thresholds.StoragePct, &cfg.Thresholds.StoragePct},
		{"thresholds.cpu_pct", f.Thresholds.CPUPct, &cfg.Thresholds.CPUPct}} {
		if t.v != 0 {
			if t.v < 0 || t.v > 100 {
				errs = append(errs, fmt.Errorf("%s: %s must be a percentage in (0, 100], got %v", path, t.key, t.v))
				continue
			}
			*t.dst = t.v
		}
	}
	for _, id := range f.Protected.VMIDs {
		if id < 100 || id > 999999999 {
			errs = append(errs, fmt.Errorf("%s: protected.vmids: %d is not a valid VMID (100..999999999)", path, id))
		}
	}
	cfg.Protected = guard.Protection{VMIDs: f.Protected.VMIDs, Tags: f.Protected.Tags, ProxmoxFlag: f.Protected.ProxmoxFlag}
	if f.Approval != "" {
		m, err := guard.ParseApprovalMode(f.Approval)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
		}
		cfg.Approval = m
	}
	cfg.AuditLog = f.AuditLog
	cfg.PlanStore, cfg.PlanStorePrefix = f.PlanStore, f.PlanStorePrefix
	cfg.ReadOnly = f.ReadOnly
	cfg.Toolsets = f.Toolsets
	cfg.defaultName = f.DefaultCluster

	var out []*Cluster
	seen := map[string]bool{}
	for i, fc := range f.Clusters {
		where := at(i)
		if !clusterNameRE.MatchString(fc.Name) {
			errs = append(errs, fmt.Errorf("%s: cluster name %q must be letters, digits, '.', '_' or '-' (it is also the keyring account)", where, fc.Name))
			continue
		}
		if seen[fc.Name] {
			errs = append(errs, fmt.Errorf("%s: cluster %q is defined twice", where, fc.Name))
			continue
		}
		seen[fc.Name] = true
		cl := &Cluster{Name: fc.Name, Endpoints: fc.Endpoints, CAFile: fc.CAFile, Fingerprint: fc.Fingerprint,
			Insecure: fc.Insecure, TokenID: strings.TrimSpace(fc.TokenID), Origin: where}
		switch {
		case fc.TokenFile != "" && fc.TokenCredential != "":
			errs = append(errs, fmt.Errorf("%s: cluster %s: set token_file or token_credential, not both", where, fc.Name))
			continue
		case fc.TokenFile != "":
			cl.Secret = SecretRef{Kind: SecretFile, Name: fc.TokenFile}
		case fc.TokenCredential != "":
			if strings.ContainsAny(fc.TokenCredential, "/\\") {
				errs = append(errs, fmt.Errorf("%s: cluster %s: token_credential is a credential name, not a path", where, fc.Name))
				continue
			}
			cl.Secret = SecretRef{Kind: SecretCredential, Name: fc.TokenCredential}
		default:
			cl.Secret = SecretRef{Kind: SecretKeyring, Name: fc.Name}
		}
		if fc.Timeout != "" {
			d, err := parseTimeout("timeout", fc.Timeout)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: cluster %s: %w", where, fc.Name, err))
				continue
			}
			cl.Timeout = d
		}
		if err := validateCluster(cl); err != nil {
			errs = append(errs, fmt.Errorf("%s: cluster %s: %w", where, fc.Name, err))
			continue
		}
		out = append(out, cl)
	}
	if f.DefaultCluster != "" && !seen[f.DefaultCluster] && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("%s: default_cluster %q is not one of the clusters", path, f.DefaultCluster))
	}
	return out, errors.Join(errs...)
}
