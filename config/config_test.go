package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/zalando/go-keyring"

	"github.com/pvemcp/pvemcp/guard"
)

const (
	fp1 = "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99"
	fp2 = "11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11"
)

func envOf(m map[string]string) Getenv {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// loadEnv reads the configuration from getenv alone (no config file), with
// secrets resolved from the environment, files and systemd credentials,
// never from a keyring.
func loadEnv(getenv Getenv) (*Config, error) {
	return LoadAll(Options{Getenv: getenv, NoFile: true, Keyring: memKeyring{}})
}

// memKeyring is an in-memory Keyring.
type memKeyring map[string]string

func (m memKeyring) Get(s, u string) (string, error) {
	v, ok := m[s+"/"+u]
	if !ok {
		return "", ErrSecretNotFound
	}
	return v, nil
}
func (m memKeyring) Set(s, u, v string) error { m[s+"/"+u] = v; return nil }
func (m memKeyring) Delete(s, u string) error { delete(m, s+"/"+u); return nil }

const twoClusters = `# two clusters
default_cluster: prod
clusters:
  - name: prod
    endpoints: [https://pve1.example:8006, pve2.example]
    token_id: pvemcp@pve!mcp
    fingerprint: ` + fp1 + `
  - name: lab
    endpoints: [https://lab1.example:8006]
    token_file: %LABTOKEN%
    insecure: true
    timeout: 3s
thresholds:
  ram_pct: 80
  storage_pct: 95
protected:
  vmids: [100, 101]
  tags: [critical]
approval: nonce
audit_log: /var/log/pvemcp/audit.jsonl
read_only: true
toolsets: [default, diagnostics]
`

func twoClusterFile(t *testing.T) string {
	tok := writeFile(t, "lab.token", "root@pam!lab=aaaa-bbbb\n")
	return writeFile(t, "config.yaml", strings.ReplaceAll(twoClusters, "%LABTOKEN%", tok))
}

func TestFileClustersAndPolicy(t *testing.T) {
	path := twoClusterFile(t)
	kr := memKeyring{}
	kr.Set(KeyringService, "prod", "prod-secret-1234")
	cfg, err := LoadAll(Options{Path: path, Getenv: envOf(nil), Keyring: kr})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Cluster == nil || cfg.Cluster.Name != "prod" || len(cfg.Clusters) != 2 {
		t.Fatalf("clusters: %+v", cfg.Clusters)
	}
	prod, lab := cfg.Clusters[0], cfg.Clusters[1]
	if prod.Token != "pvemcp@pve!mcp=prod-secret-1234" || prod.Secret.Kind != SecretKeyring || len(prod.Endpoints) != 2 {
		t.Errorf("prod: %+v", prod)
	}
	if lab.Token != "root@pam!lab=aaaa-bbbb" || lab.TokenID != "root@pam!lab" || lab.Secret.Kind != SecretFile ||
		!lab.Insecure || lab.Timeout != 3*time.Second {
		t.Errorf("lab: %+v", lab)
	}
	if cfg.Thresholds != (Thresholds{RAMPct: 80, StoragePct: 95}) || cfg.Approval != guard.ApprovalNonce ||
		cfg.AuditLog != "/var/log/pvemcp/audit.jsonl" || !cfg.ReadOnly ||
		len(cfg.Protected.VMIDs) != 2 || cfg.Protected.Tags[0] != "critical" || strings.Join(cfg.Toolsets, ",") != "default,diagnostics" {
		t.Errorf("policy: %+v", cfg)
	}
	if c, err := cfg.ClusterByName("lab"); err != nil || c != lab {
		t.Errorf("by name: %v", err)
	}
	if _, err := cfg.ClusterByName("nope"); err == nil || !strings.Contains(err.Error(), "prod, lab") {
		t.Errorf("unknown cluster: %v", err)
	}
	if strings.Contains(prod.Origin, path+":") == false {
		t.Errorf("origin %q", prod.Origin)
	}
}

// Flags beat the environment, which beats the file.
func TestPrecedence(t *testing.T) {
	path := twoClusterFile(t)
	kr := memKeyring{}
	kr.Set(KeyringService, "prod", "file-secret")
	kr.Set(KeyringService, "lab", "unused")

	// File alone.
	cfg, err := LoadAll(Options{Path: path, Getenv: envOf(nil), Keyring: kr})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Cluster.Endpoints[0] != "https://pve1.example:8006" || cfg.Cluster.Fingerprint != fp1 {
		t.Fatalf("file: %+v", cfg.Cluster)
	}

	// Environment over the file: endpoint, token, TLS, thresholds, policy.
	env := map[string]string{
		EnvEndpoint: "https://env1:8006,https://env2:8006", EnvToken: "env@pve!tok=env-secret",
		EnvFingerprint: fp2, EnvRAMPct: "70", EnvApproval: "elicit", EnvReadOnly: "false", EnvAuditLog: "/var/lib/pvemcp/a.jsonl",
		EnvToolsets: "inventory, snapshots",
	}
	cfg, err = LoadAll(Options{Path: path, Getenv: envOf(env), Keyring: kr})
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Cluster
	if c.Name != "prod" || strings.Join(c.Endpoints, ",") != "https://env1:8006,https://env2:8006" ||
		c.Token != "env@pve!tok=env-secret" || c.Fingerprint != fp2 || c.Secret.Kind != SecretEnv {
		t.Errorf("env over file: %+v", c)
	}
	if cfg.Thresholds.RAMPct != 70 || cfg.Thresholds.StoragePct != 95 || cfg.Approval != guard.ApprovalElicit ||
		cfg.ReadOnly || cfg.AuditLog != "/var/lib/pvemcp/a.jsonl" || strings.Join(cfg.Toolsets, ",") != "inventory,snapshots" {
		t.Errorf("env policy: %+v", cfg)
	}
	if cfg.Clusters[1].Endpoints[0] != "https://lab1.example:8006" {
		t.Error("environment changed a cluster that is not the default")
	}

	// Flags over the environment; a TLS flag replaces the TLS choice below it.
	ins, ro := true, true
	cfg, err = LoadAll(Options{Path: path, Getenv: envOf(env), Keyring: kr, Overrides: Overrides{
		Endpoint: "https://flag:8006", Insecure: &ins, ReadOnly: &ro, Approval: "nonce"}})
	if err != nil {
		t.Fatal(err)
	}
	c = cfg.Cluster
	if c.Endpoints[0] != "https://flag:8006" || len(c.Endpoints) != 1 || !c.Insecure || c.Fingerprint != "" ||
		c.Token != "env@pve!tok=env-secret" || !cfg.ReadOnly || cfg.Approval != guard.ApprovalNonce {
		t.Errorf("flags over env: %+v %+v", c, cfg)
	}

	// --cluster selects which cluster is the default (and gets the overrides).
	cfg, err = LoadAll(Options{Path: path, Getenv: envOf(map[string]string{EnvEndpoint: "https://x:8006"}), Keyring: kr,
		Overrides: Overrides{Cluster: "lab"}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Cluster.Name != "lab" || cfg.Cluster.Endpoints[0] != "https://x:8006" || cfg.Clusters[0].Endpoints[0] != "https://pve1.example:8006" {
		t.Errorf("--cluster: %+v", cfg.Cluster)
	}
	// The environment can select too.
	cfg, err = Read(Options{Path: path, Getenv: envOf(map[string]string{EnvClusterName: "lab"})})
	if err != nil || cfg.Cluster.Name != "lab" {
		t.Errorf("env selection: %v %+v", err, cfg)
	}
	if _, err := Read(Options{Path: path, Overrides: Overrides{Cluster: "nope"}, Getenv: envOf(nil)}); err == nil ||
		!strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown --cluster: %v", err)
	}
}

func TestEnvironmentOnly(t *testing.T) {
	tokFile := writeFile(t, "tok", "root@pam!mcp=from-file\n")
	cfg, err := loadEnv(envOf(map[string]string{EnvEndpoint: "pve1, pve2:8007", EnvToken + "_FILE": tokFile,
		EnvInsecure: "true", EnvClusterName: "home", EnvTimeout: "4s"}))
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Cluster
	if c.Name != "home" || c.Token != "root@pam!mcp=from-file" || len(c.Endpoints) != 2 || !c.Insecure ||
		c.Timeout != 4*time.Second || c.Secret != (SecretRef{Kind: SecretFile, Name: tokFile}) {
		t.Errorf("%+v", c)
	}
	// Nothing set: no cluster and no error.
	cfg, err = loadEnv(envOf(nil))
	if err != nil || cfg.Cluster != nil || len(cfg.Clusters) != 0 {
		t.Errorf("empty: %v %+v", err, cfg)
	}
	// Partly set: names what is missing.
	_, err = loadEnv(envOf(map[string]string{EnvEndpoint: "https://pve1:8006"}))
	if err == nil || !strings.Contains(err.Error(), "missing "+EnvToken+";") {
		t.Errorf("partial: %v", err)
	}
	for name, env := range map[string]map[string]string{
		"both":        {EnvEndpoint: "a", EnvToken: "root@pam!mcp=s", EnvToken + "_FILE": tokFile, EnvInsecure: "1"},
		"bad bool":    {EnvEndpoint: "a", EnvToken: "root@pam!mcp=s", EnvInsecure: "maybe"},
		"bad pct":     {EnvRAMPct: "120"},
		"bad token":   {EnvEndpoint: "a", EnvToken: "nonsense", EnvInsecure: "1"},
		"bad fp":      {EnvEndpoint: "a", EnvToken: "root@pam!mcp=s", EnvFingerprint: "12:34"},
		"bad url":     {EnvEndpoint: "ftp://a", EnvToken: "root@pam!mcp=s", EnvInsecure: "1"},
		"bad timeout": {EnvEndpoint: "a", EnvToken: "root@pam!mcp=s", EnvInsecure: "1", EnvTimeout: "soon"},
		"approval":    {EnvApproval: "yolo"},
	} {
		if _, err := loadEnv(envOf(env)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestStrictYAMLNamesFileAndLine(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"unknown key":     {"clusters:\n  - name: a\n    endpoint: x\n", ":3: unknown key \"endpoint\""},
		"secret inline":   {"clusters:\n  - name: a\n    token: root@pam!x=y\n", ":3: unknown key \"token\" (secrets are never read"},
		"top unknown":     {"read_only: true\nthreshold:\n  ram_pct: 3\n", ":2: unknown key \"threshold\""},
		"type":            {"thresholds:\n  ram_pct: lots\n", ":2: cannot unmarshal"},
		"bad pct":         {"thresholds:\n  cpu_pct: 150\n", "thresholds.cpu_pct must be a percentage"},
		"no endpoint":     {"read_only: false\nclusters:\n  - name: a\n    insecure: true\n", ":3: cluster a: no endpoint"},
		"dup":             {"clusters:\n  - {name: a, endpoints: [x], insecure: true}\n  - {name: a, endpoints: [y], insecure: true}\n", ":3: cluster \"a\" is defined twice"},
		"bad name":        {"clusters:\n  - {name: 'a b', endpoints: [x], insecure: true}\n", ":2: cluster name"},
		"bad default":     {"default_cluster: z\nclusters:\n  - {name: a, endpoints: [x], insecure: true}\n", "default_cluster \"z\""},
		"several":         {"clusters:\n  - {name: a, endpoints: [x], insecure: true}\n  - {name: b, endpoints: [y], insecure: true}\n", "set default_cluster"},
		"two sources":     {"clusters:\n  - {name: a, endpoints: [x], insecure: true, token_file: f, token_credential: c}\n", "not both"},
		"credential path": {"clusters:\n  - {name: a, endpoints: [x], insecure: true, token_credential: ../x}\n", "not a path"},
		"approval":        {"approval: always\n", "approval must be elicit, nonce or require_human"},
		"vmid":            {"protected:\n  vmids: [5]\n", "not a valid VMID"},
		"two documents":   {"read_only: true\n---\nread_only: false\n", ":2: only one YAML document"},
		"bad token id":    {"clusters:\n  - {name: a, endpoints: [x], insecure: true, token_id: root}\n", "token_id: API token id has no '!'"},
	} {
		path := writeFile(t, "config.yaml", tc.yaml)
		_, err := Read(Options{Path: path, Getenv: envOf(nil)})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: want %q in error, got %v", name, tc.want, err)
		}
	}
	// An empty file is an empty configuration.
	cfg, err := Read(Options{Path: writeFile(t, "c.yaml", ""), Getenv: envOf(nil)})
	if err != nil || cfg.Cluster != nil || cfg.Approval != guard.ApprovalElicit {
		t.Errorf("empty file: %v %+v", err, cfg)
	}
}

func TestFileLocation(t *testing.T) {
	dir := t.TempDir()
	// The default path may be missing; an explicit one may not.
	if _, err := Read(Options{Getenv: envOf(map[string]string{"XDG_CONFIG_HOME": dir})}); err != nil {
		t.Errorf("missing default file: %v", err)
	}
	if _, err := Read(Options{Path: filepath.Join(dir, "nope.yaml"), Getenv: envOf(nil)}); err == nil {
		t.Error("missing explicit file accepted")
	}
	if _, err := Read(Options{Getenv: envOf(map[string]string{EnvConfig: filepath.Join(dir, "nope.yaml")})}); err == nil {
		t.Error("missing $PVEMCP_CONFIG file accepted")
	}
	os.MkdirAll(filepath.Join(dir, "pvemcp"), 0o700)
	os.WriteFile(filepath.Join(dir, "pvemcp", "config.yaml"), []byte("read_only: true\n"), 0o600)
	cfg, err := Read(Options{Getenv: envOf(map[string]string{"XDG_CONFIG_HOME": dir})})
	if err != nil || !cfg.ReadOnly || cfg.Path != filepath.Join(dir, "pvemcp", "config.yaml") {
		t.Errorf("default file: %v %+v", err, cfg)
	}
}

func TestSecretSources(t *testing.T) {
	credDir := t.TempDir()
	os.WriteFile(filepath.Join(credDir, "pve-token"), []byte("cred-secret\n"), 0o600)
	secretFile := writeFile(t, "s", "root@pam!mcp=whole-token")
	yaml := `clusters:
  - {name: cred, endpoints: [a], insecure: true, token_id: "svc@pve!mcp", token_credential: pve-token}
  - {name: file, endpoints: [b], insecure: true, token_file: ` + secretFile + `}
  - {name: ring, endpoints: [c], insecure: true, token_id: "svc@pve!ring"}
default_cluster: ring
`
	path := writeFile(t, "config.yaml", yaml)
	kr := memKeyring{}
	kr.Set(KeyringService, "ring", "svc@pve!ring=ring-secret")
	env := envOf(map[string]string{EnvCredentialsDir: credDir})
	cfg, err := LoadAll(Options{Path: path, Getenv: env, Keyring: kr})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"cred": "svc@pve!mcp=cred-secret", "file": "root@pam!mcp=whole-token", "ring": "svc@pve!ring=ring-secret"}
	for _, c := range cfg.Clusters {
		if c.Token != want[c.Name] {
			t.Errorf("%s: token from %s wrong", c.Name, c.Secret)
		}
	}

	// Failures name the cluster and the source, and how to fix it.
	cfg, _ = Read(Options{Path: path, Getenv: envOf(nil)})
	for name, want := range map[string][]string{"cred": {"cluster cred", CredentialsHint()}, "ring": {"cluster ring", "pvemcp auth set --cluster ring"}} {
		c, _ := cfg.ClusterByName(name)
		err := c.Resolve(memKeyring{}, envOf(nil))
		for _, w := range want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("resolve error of %s lacks %q: %v", name, w, err)
			}
		}
	}
	// A stored token for another id is refused.
	kr.Set(KeyringService, "ring", "other@pve!x=zz")
	c, _ := cfg.ClusterByName("ring")
	if err := c.Resolve(kr, env); err == nil || strings.Contains(err.Error(), "zz") {
		t.Errorf("mismatched token id: %v", err)
	}
	// A bare secret without token_id cannot make a token.
	if _, err := CombineToken("", "bare"); err == nil {
		t.Error("bare secret without token id accepted")
	}
}

// CredentialsHint is what a credential error says when systemd did not set
// the directory.
func CredentialsHint() string { return "$" + EnvCredentialsDir + " is not set" }

// The OS keyring through go-keyring's mock provider: the same code path as
// production, minus D-Bus.
func TestOSKeyringWithMock(t *testing.T) {
	keyring.MockInit()
	kr := OSKeyring{}
	if _, err := kr.Get(KeyringService, "c1"); !errors.Is(err, ErrSecretNotFound) {
		t.Fatalf("empty keyring: %v", err)
	}
	if err := kr.Set(KeyringService, "c1", "s3cr3t"); err != nil {
		t.Fatal(err)
	}
	if v, err := kr.Get(KeyringService, "c1"); err != nil || v != "s3cr3t" {
		t.Fatalf("get: %q %v", v, err)
	}
	if err := kr.Delete(KeyringService, "c1"); err != nil {
		t.Fatal(err)
	}
	if err := kr.Delete(KeyringService, "c1"); !errors.Is(err, ErrSecretNotFound) {
		t.Errorf("second delete: %v", err)
	}
	keyring.MockInitWithError(errors.New("dbus: no session bus"))
	if _, err := ReadSecret(SecretRef{Kind: SecretKeyring, Name: "c1"}, kr, envOf(nil)); err == nil ||
		!strings.Contains(err.Error(), "keyring is unavailable") || !strings.Contains(err.Error(), "PROXMOX_VE_API_TOKEN_FILE") {
		t.Errorf("broken keyring: %v", err)
	}
}

// The documented example parses, with the secrets coming from their sources.
func TestExampleConfig(t *testing.T) {
	cfg, err := Read(Options{Path: filepath.Join("..", "examples", "config.yaml"), Getenv: envOf(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Cluster.Name != "prod" || len(cfg.Cluster.Endpoints) != 3 || cfg.Cluster.Secret.Kind != SecretKeyring ||
		cfg.Clusters[1].Secret != (SecretRef{Kind: SecretCredential, Name: "pvemcp-lab-token"}) ||
		cfg.Thresholds.RAMPct != 85 || cfg.Approval != guard.ApprovalElicit || len(cfg.Protected.Tags) != 2 {
		t.Errorf("%+v", cfg)
	}
}

func TestFlags(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	f := RegisterFlags(fs)
	if o := f.Options(); o.Overrides.Insecure != nil || o.Path != "" {
		t.Errorf("defaults: %+v", o)
	}
	if err := fs.Parse([]string{"--config", "c.yaml", "--cluster", "lab", "--endpoint", "a,b", "--insecure=false",
		"--fingerprint", fp1, "--ca-file", "ca.pem", "--approval", "nonce", "--audit-log", "a.jsonl"}); err != nil {
		t.Fatal(err)
	}
	o := f.Options()
	ov := o.Overrides
	if o.Path != "c.yaml" || ov.Cluster != "lab" || ov.Endpoint != "a,b" || ov.Insecure == nil || *ov.Insecure ||
		ov.Fingerprint != fp1 || ov.CAFile != "ca.pem" || ov.Approval != "nonce" || ov.AuditLog != "a.jsonl" {
		t.Errorf("%+v", o)
	}
	if (*Flags)(nil).Options().Path != "" {
		t.Error("nil flags")
	}
}

// TestSystemRootsByDefault: endpoint and token are enough (a certificate a
// CA the system trusts signed, as with ACME); the file form too.
func TestSystemRootsByDefault(t *testing.T) {
	cfg, err := loadEnv(envOf(map[string]string{EnvEndpoint: "https://pve1.example.com:8006", EnvToken: "pvemcp@pve!mcp=s3cret-value"}))
	if err != nil || cfg.Cluster == nil || cfg.Cluster.Fingerprint != "" || cfg.Cluster.CAFile != "" || cfg.Cluster.Insecure {
		t.Fatalf("endpoint and token only: %v %+v", err, cfg)
	}
	path := writeFile(t, "config.yaml", "clusters:\n  - {name: a, endpoints: [https://pve1.example.com:8006], token_id: \"pvemcp@pve!mcp\"}\n")
	if _, err := Read(Options{Path: path, Getenv: envOf(nil)}); err != nil {
		t.Errorf("file cluster without TLS settings: %v", err)
	}
}
