// Package config reads pvemcp's configuration. For now: the environment
// variables of DESIGN §7 and their *_FILE variants (systemd credentials,
// Docker secrets). A later step adds the config file, several clusters and
// the OS keyring.
package config

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pvemcp/pvemcp/proxmox"
)

// Environment variable names (the Terraform provider's, which Proxmox users know).
const (
	EnvEndpoint    = "PROXMOX_VE_ENDPOINT"
	EnvToken       = "PROXMOX_VE_API_TOKEN"
	EnvInsecure    = "PROXMOX_VE_INSECURE"
	EnvCAFile      = "PROXMOX_VE_CA_FILE"
	EnvFingerprint = "PROXMOX_VE_FINGERPRINT"
	EnvClusterName = "PVEMCP_CLUSTER_NAME"
	EnvTimeout     = "PVEMCP_TIMEOUT"
	EnvHTTPToken   = "PVEMCP_HTTP_TOKEN"
	EnvRAMPct      = "PVEMCP_THRESHOLD_RAM_PCT"
	EnvStoragePct  = "PVEMCP_THRESHOLD_STORAGE_PCT"
	EnvCPUPct      = "PVEMCP_THRESHOLD_CPU_PCT"
)

// HowToConfigure is the exact list of what to set; every "not configured"
// error ends with it.
const HowToConfigure = "set " + EnvEndpoint + " (e.g. https://pve1.example.com:8006), " +
	EnvToken + " (user@realm!tokenid=secret), and one of " + EnvFingerprint +
	" (SHA-256 of the node certificate, AA:BB:...), " + EnvCAFile + " (PEM of the cluster CA) or " +
	EnvInsecure + "=true; or use --demo to try the built-in simulator"

// ErrNotConfigured means no cluster is configured at all.
var ErrNotConfigured = errors.New("no Proxmox cluster configured: " + HowToConfigure)

// Cluster is one Proxmox VE cluster's connection settings.
type Cluster struct {
	Name        string
	Endpoints   []string
	Token       string // user@realm!tokenid=secret; never printed
	CAFile      string
	Fingerprint string
	Insecure    bool
	Timeout     time.Duration
}

// Options converts the settings for proxmox.New.
func (c Cluster) Options() proxmox.Options {
	return proxmox.Options{Name: c.Name, Endpoints: c.Endpoints, Token: c.Token, CAFile: c.CAFile,
		Fingerprint: c.Fingerprint, Insecure: c.Insecure, Timeout: c.Timeout, UserAgent: "pvemcp"}
}

// Thresholds are alert limits in percent (0 = default).
type Thresholds struct {
	RAMPct     float64
	StoragePct float64
	CPUPct     float64
}

// Config is everything read from the environment.
type Config struct {
	Cluster    *Cluster // nil when no cluster is configured
	HTTPToken  string   // bearer token for the HTTP transport; never printed
	Thresholds Thresholds
}

// Getenv looks up a variable; os.LookupEnv in production.
type Getenv func(string) (string, bool)

// FromEnv reads the configuration from the process environment.
func FromEnv() (*Config, error) { return Load(os.LookupEnv) }

// Load reads the configuration through getenv. A cluster that is partly
// configured is an error naming what is missing; none at all is not (the
// caller decides whether it needs one, and reports ErrNotConfigured).
func Load(getenv Getenv) (*Config, error) {
	cfg := &Config{}
	var errs []error
	get := func(name string) string {
		v, err := lookup(getenv, name)
		if err != nil {
			errs = append(errs, err)
		}
		return v
	}
	endpoint, token := get(EnvEndpoint), get(EnvToken)
	caFile, fp, insecureS := get(EnvCAFile), get(EnvFingerprint), get(EnvInsecure)
	cfg.HTTPToken = get(EnvHTTPToken)
	name, timeoutS := get(EnvClusterName), get(EnvTimeout)
	for _, t := range []struct {
		env string
		dst *float64
	}{{EnvRAMPct, &cfg.Thresholds.RAMPct}, {EnvStoragePct, &cfg.Thresholds.StoragePct}, {EnvCPUPct, &cfg.Thresholds.CPUPct}} {
		if v := get(t.env); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f <= 0 || f > 100 {
				errs = append(errs, fmt.Errorf("%s must be a percentage in (0, 100], got %q", t.env, v))
				continue
			}
			*t.dst = f
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	insecure := false
	if insecureS != "" {
		b, err := strconv.ParseBool(insecureS)
		if err != nil {
			return nil, fmt.Errorf("%s must be true or false, got %q", EnvInsecure, insecureS)
		}
		insecure = b
	}
	if endpoint == "" && token == "" {
		return cfg, nil
	}
	var missing []string
	if endpoint == "" {
		missing = append(missing, EnvEndpoint)
	}
	if token == "" {
		missing = append(missing, EnvToken)
	}
	if fp == "" && caFile == "" && !insecure {
		missing = append(missing, EnvFingerprint+" or "+EnvCAFile+" or "+EnvInsecure+"=true")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("incomplete Proxmox configuration: missing %s; %s", strings.Join(missing, ", "), HowToConfigure)
	}
	if _, _, err := proxmox.ParseToken(token); err != nil {
		return nil, fmt.Errorf("%s: %w", EnvToken, err)
	}
	if fp != "" {
		if _, err := proxmox.NormalizeFingerprint(fp); err != nil {
			return nil, fmt.Errorf("%s: %w", EnvFingerprint, err)
		}
	}
	c := &Cluster{Name: name, Token: token, CAFile: caFile, Fingerprint: fp, Insecure: insecure}
	for _, ep := range strings.Split(endpoint, ",") {
		if ep = strings.TrimSpace(ep); ep != "" {
			if _, err := proxmox.NormalizeEndpoint(ep); err != nil {
				return nil, fmt.Errorf("%s: %w", EnvEndpoint, err)
			}
			c.Endpoints = append(c.Endpoints, ep)
		}
	}
	if timeoutS != "" {
		d, err := time.ParseDuration(timeoutS)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("%s must be a duration like 15s, got %q", EnvTimeout, timeoutS)
		}
		c.Timeout = d
	}
	cfg.Cluster = c
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
