package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// File is the YAML config file's shape (examples/config.yaml documents it).
// Unknown keys are errors, so a typo never silently changes behaviour.
type File struct {
	DefaultCluster string        `yaml:"default_cluster"`
	Clusters       []FileCluster `yaml:"clusters"`
	Thresholds     struct {
		RAMPct     float64 `yaml:"ram_pct"`
		StoragePct float64 `yaml:"storage_pct"`
		CPUPct     float64 `yaml:"cpu_pct"`
	} `yaml:"thresholds"`
	Protected struct {
		VMIDs       []int    `yaml:"vmids"`
		Tags        []string `yaml:"tags"`
		ProxmoxFlag bool     `yaml:"proxmox_flag"`
	} `yaml:"protected"`
	Approval string `yaml:"approval"`
	AuditLog string `yaml:"audit_log"`
	// PlanStore and PlanStorePrefix: see Config.
	PlanStore       string   `yaml:"plan_store"`
	PlanStorePrefix string   `yaml:"plan_store_prefix"`
	ReadOnly        bool     `yaml:"read_only"`
	Toolsets        []string `yaml:"toolsets"`
}

// FileCluster is one entry of clusters:.
type FileCluster struct {
	Name      string   `yaml:"name"`
	Endpoints []string `yaml:"endpoints"`
	// TokenID is user@realm!tokenid; the secret comes from TokenFile,
	// TokenCredential or the OS keyring (pvemcp auth set --cluster NAME).
	TokenID         string `yaml:"token_id"`
	TokenFile       string `yaml:"token_file"`
	TokenCredential string `yaml:"token_credential"`
	CAFile          string `yaml:"ca_file"`
	Fingerprint     string `yaml:"fingerprint"`
	Insecure        bool   `yaml:"insecure"`
	Timeout         string `yaml:"timeout"`
}

// DefaultPath is $XDG_CONFIG_HOME/pvemcp/config.yaml (~/.config when unset).
func DefaultPath(getenv Getenv) string {
	dir, _ := getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "pvemcp", "config.yaml")
}

var yamlLineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
var unknownFieldRE = regexp.MustCompile(`^field (\S+) not found in type \S+$`)

// ParseFile decodes a config file strictly. Errors name the file and line.
func ParseFile(name string, b []byte) (*File, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return &f, nil // an empty file is an empty configuration
		}
		return nil, yamlError(name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("%s:%d: only one YAML document is allowed", name, extra.Line)
	}
	return &f, nil
}

func yamlError(name string, err error) error {
	var te *yaml.TypeError
	lines := []string{err.Error()}
	if errors.As(err, &te) {
		lines = te.Errors
	}
	var out []string
	for _, l := range lines {
		m := yamlLineRE.FindStringSubmatch(l)
		if m == nil {
			out = append(out, name+": "+strings.TrimPrefix(l, "yaml: "))
			continue
		}
		msg := m[2]
		if u := unknownFieldRE.FindStringSubmatch(msg); u != nil {
			msg = "unknown key " + strconv.Quote(u[1])
			if u[1] == "token" || u[1] == "secret" || u[1] == "password" {
				msg += " (secrets are never read from the config file: use token_file, token_credential or pvemcp auth set)"
			}
		}
		out = append(out, name+":"+m[1]+": "+msg)
	}
	return errors.New(strings.Join(out, "; "))
}

// clusterLines returns the line of each clusters: entry, for error messages.
func clusterLines(b []byte) []int {
	var root yaml.Node
	if yaml.Unmarshal(b, &root) != nil || len(root.Content) == 0 {
		return nil
	}
	m := root.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "clusters" && m.Content[i+1].Kind == yaml.SequenceNode {
			var out []int
			for _, it := range m.Content[i+1].Content {
				out = append(out, it.Line)
			}
			return out
		}
	}
	return nil
}
