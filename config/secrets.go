package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/pvemcp/pvemcp/proxmox"
)

// KeyringService is the service name pvemcp's secrets have in the OS
// keyring; the account is the cluster name.
const KeyringService = "pvemcp"

// SecretKind is where a cluster's token secret comes from.
type SecretKind string

// The secret sources, strongest (explicit) first.
const (
	SecretNone       SecretKind = ""
	SecretEnv        SecretKind = "env"        // PROXMOX_VE_API_TOKEN
	SecretFile       SecretKind = "file"       // PROXMOX_VE_API_TOKEN_FILE or token_file
	SecretCredential SecretKind = "credential" // $CREDENTIALS_DIRECTORY/<name>
	SecretKeyring    SecretKind = "keyring"    // OS keyring, service pvemcp, account <cluster>
)

// SecretRef names a secret's source without holding the secret.
type SecretRef struct {
	Kind SecretKind
	// Name is the variable, file path, credential name or keyring account.
	Name string
}

// String describes the source for people (auth status, doctor).
func (s SecretRef) String() string {
	switch s.Kind {
	case SecretEnv:
		return "environment variable " + s.Name
	case SecretFile:
		return "file " + s.Name
	case SecretCredential:
		return "systemd credential " + s.Name + " ($" + EnvCredentialsDir + "/" + s.Name + ")"
	case SecretKeyring:
		return "OS keyring (service " + KeyringService + ", account " + s.Name + ")"
	}
	return "none"
}

// Keyring stores secrets; OSKeyring in production, a mock in tests.
type Keyring interface {
	Get(service, user string) (string, error)
	Set(service, user, secret string) error
	Delete(service, user string) error
}

// ErrSecretNotFound means the keyring holds no secret for the cluster.
var ErrSecretNotFound = errors.New("no secret stored")

// KeyringTimeout bounds a keyring call: a Secret Service that waits for a
// GUI prompt would otherwise block forever.
var KeyringTimeout = 10 * time.Second

// OSKeyring is the OS credential store through go-keyring (Secret Service
// on Linux, Keychain on macOS, Credential Manager on Windows).
type OSKeyring struct{}

func withTimeout[T any](fn func() (T, error)) (T, error) {
	type res struct {
		v   T
		err error
	}
	ch := make(chan res, 1)
	go func() { v, err := fn(); ch <- res{v, err} }()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-time.After(KeyringTimeout):
		var zero T
		return zero, fmt.Errorf("the OS keyring did not answer within %s (is it locked, or waiting for a prompt?)", KeyringTimeout)
	}
}

func keyringErr(err error) error {
	if errors.Is(err, keyring.ErrNotFound) {
		return ErrSecretNotFound
	}
	return err
}

// Get reads a secret.
func (OSKeyring) Get(service, user string) (string, error) {
	v, err := withTimeout(func() (string, error) { return keyring.Get(service, user) })
	return v, keyringErr(err)
}

// Set stores a secret, replacing an older one.
func (OSKeyring) Set(service, user, secret string) error {
	_, err := withTimeout(func() (struct{}, error) { return struct{}{}, keyring.Set(service, user, secret) })
	return keyringErr(err)
}

// Delete removes a secret.
func (OSKeyring) Delete(service, user string) error {
	_, err := withTimeout(func() (struct{}, error) { return struct{}{}, keyring.Delete(service, user) })
	return keyringErr(err)
}

// Resolve reads the cluster's secret and sets Token.
func (cl *Cluster) Resolve(kr Keyring, getenv Getenv) error {
	if getenv == nil {
		getenv = os.LookupEnv
	}
	if kr == nil {
		kr = OSKeyring{}
	}
	raw, err := ReadSecret(cl.Secret, kr, getenv)
	if err != nil {
		return fmt.Errorf("cluster %s: API token from %s: %w", cl.Name, cl.Secret, err)
	}
	tok, err := CombineToken(cl.TokenID, raw)
	if err != nil {
		return fmt.Errorf("cluster %s: API token from %s: %w", cl.Name, cl.Secret, err)
	}
	cl.Token, cl.resolveErr = tok, nil
	if id, _, err := proxmox.ParseToken(tok); err == nil {
		cl.TokenID = id
	}
	return nil
}

// ReadSecret returns the raw value of a secret source (a whole token or the
// secret part alone).
func ReadSecret(ref SecretRef, kr Keyring, getenv Getenv) (string, error) {
	var v string
	switch ref.Kind {
	case SecretEnv:
		v, _ = getenv(ref.Name)
	case SecretFile:
		b, err := os.ReadFile(ref.Name)
		if err != nil {
			return "", fmt.Errorf("cannot read the file: %w", pathErr(err))
		}
		v = string(b)
	case SecretCredential:
		dir, _ := getenv(EnvCredentialsDir)
		if dir == "" {
			return "", errors.New("$" + EnvCredentialsDir + " is not set (run under systemd with LoadCredential=)")
		}
		b, err := os.ReadFile(filepath.Join(dir, ref.Name))
		if err != nil {
			return "", fmt.Errorf("cannot read the credential: %w", pathErr(err))
		}
		v = string(b)
	case SecretKeyring:
		s, err := kr.Get(KeyringService, ref.Name)
		if errors.Is(err, ErrSecretNotFound) {
			return "", fmt.Errorf("no secret stored; run: pvemcp auth set --cluster %s", ref.Name)
		}
		if err != nil {
			return "", fmt.Errorf("the OS keyring is unavailable (%v); on a host without a desktop session (no D-Bus Secret Service), "+
				"give the token another way: %s or %s_FILE in the environment, token_file, or token_credential (systemd)", err, EnvToken, EnvToken)
		}
		v = s
	default:
		return "", errors.New("no API token configured")
	}
	v = strings.TrimSpace(v)
	if v == "" {
		return "", errors.New("the secret is empty")
	}
	return v, nil
}

// pathErr drops the wrapped error's text that might echo file contents
// (it never does for os errors, but keep only the cause to be sure).
func pathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}

// CombineToken turns a stored value into "user@realm!tokenid=secret": the
// value is either the whole token or the secret alone (then tokenID is
// needed).
func CombineToken(tokenID, v string) (string, error) {
	if strings.Contains(v, "!") && strings.Contains(v, "=") {
		id, _, err := proxmox.ParseToken(v)
		if err != nil {
			return "", err
		}
		if tokenID != "" && id != tokenID {
			return "", fmt.Errorf("the stored token is for %s, not for the configured token_id", id)
		}
		return v, nil
	}
	if tokenID == "" {
		return "", errors.New("it holds only a secret, without the token id: give the whole token user@realm!tokenid=secret (in a config file, token_id can name the id instead)")
	}
	if strings.ContainsAny(v, " \t\r\n") {
		return "", errors.New("the secret contains white space")
	}
	return tokenID + "=" + v, nil
}
