package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// minHTTPTokenLen is the shortest bearer token accepted: shorter ones can
// be guessed.
const minHTTPTokenLen = 16

// httpPrincipal is an authenticated HTTP caller.
type httpPrincipal struct {
	Name      string
	ReadOnly  bool
	Anonymous bool // everyone unauthenticated on loopback
}

// authenticator decides who sent a request.
type authenticator interface {
	// authenticate returns the caller, or an error (its text is safe to
	// show: it never quotes what the client sent).
	authenticate(r *http.Request) (httpPrincipal, error)
	// challenge is the WWW-Authenticate value of a 401.
	challenge() string
}

var errNoBearer = errors.New("send Authorization: Bearer <token>")

func bearer(r *http.Request) (string, error) {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	got = strings.TrimSpace(got)
	if !ok || got == "" {
		return "", errNoBearer
	}
	return got, nil
}

// loopbackAuth: no token on loopback; every caller is the local user.
type loopbackAuth struct{}

func (loopbackAuth) authenticate(*http.Request) (httpPrincipal, error) {
	return httpPrincipal{Name: "http:loopback", Anonymous: true}, nil
}
func (loopbackAuth) challenge() string { return "" }

// staticTokenAuth: one shared token, one read-write principal.
type staticTokenAuth struct {
	want []byte
	name string
}

func newStaticTokenAuth(token string) (*staticTokenAuth, error) {
	if len(token) < minHTTPTokenLen {
		return nil, fmt.Errorf("the HTTP bearer token must have at least %d characters (it has %d); generate one with: openssl rand -hex 32", minHTTPTokenLen, len(token))
	}
	return &staticTokenAuth{want: []byte(token), name: principal(token)}, nil
}

func (a *staticTokenAuth) authenticate(r *http.Request) (httpPrincipal, error) {
	got, err := bearer(r)
	if err != nil {
		return httpPrincipal{}, err
	}
	if subtle.ConstantTimeCompare([]byte(got), a.want) != 1 {
		return httpPrincipal{}, errors.New("the bearer token is not valid")
	}
	return httpPrincipal{Name: a.name}, nil
}
func (a *staticTokenAuth) challenge() string { return `Bearer realm="pvemcp"` }

// tokensFile is the YAML file of named HTTP clients:
//
//	tokens:
//	  - name: alice
//	    role: read-write        # or read-only
//	    sha256: <hex SHA-256 of the token>
//
// Only hashes are stored; the file must not be readable by group or others.
type tokensFile struct {
	Tokens []struct {
		Name   string `yaml:"name"`
		Role   string `yaml:"role"`
		SHA256 string `yaml:"sha256"`
	} `yaml:"tokens"`
}

type namedToken struct {
	hash [32]byte
	who  httpPrincipal
}

// tokensAuth: several named clients, each with its own token and role.
type tokensAuth struct {
	tokens []namedToken
}

var principalNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// loadTokensFile reads and checks a tokens file; errors name the file and
// entry, never a hash.
func loadTokensFile(path string) (*tokensAuth, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("tokens file: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("tokens file %s is readable by others (mode %04o): chmod 600 it", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokens file: %w", err)
	}
	var f tokensFile
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("tokens file %s: %v", path, err)
	}
	a := &tokensAuth{}
	seen := map[string]bool{}
	hashes := map[string]bool{}
	for i, t := range f.Tokens {
		where := fmt.Sprintf("tokens file %s, entry %d", path, i+1)
		if !principalNameRE.MatchString(t.Name) {
			return nil, fmt.Errorf("%s: name must be 1-64 letters, digits, '.', '_', '@' or '-'", where)
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("%s: name %s appears twice", where, t.Name)
		}
		seen[t.Name] = true
		var ro bool
		switch t.Role {
		case "read-only":
			ro = true
		case "read-write":
		default:
			return nil, fmt.Errorf("%s (%s): role must be read-only or read-write", where, t.Name)
		}
		h, err := hex.DecodeString(strings.TrimSpace(t.SHA256))
		if err != nil || len(h) != sha256.Size {
			return nil, fmt.Errorf("%s (%s): sha256 must be the 64 hex digits of the token's SHA-256 (pvemcp http-token prints it)", where, t.Name)
		}
		if hashes[string(h)] {
			return nil, fmt.Errorf("%s (%s): the same token is given to two names", where, t.Name)
		}
		hashes[string(h)] = true
		nt := namedToken{who: httpPrincipal{Name: "http:" + t.Name, ReadOnly: ro}}
		copy(nt.hash[:], h)
		a.tokens = append(a.tokens, nt)
	}
	if len(a.tokens) == 0 {
		return nil, fmt.Errorf("tokens file %s lists no token", path)
	}
	return a, nil
}

func (a *tokensAuth) authenticate(r *http.Request) (httpPrincipal, error) {
	got, err := bearer(r)
	if err != nil {
		return httpPrincipal{}, err
	}
	sum := sha256.Sum256([]byte(got))
	var who httpPrincipal
	found := 0
	for _, t := range a.tokens {
		// Compare against every entry so the time does not tell which.
		if subtle.ConstantTimeCompare(sum[:], t.hash[:]) == 1 {
			who, found = t.who, 1
		}
	}
	if found == 0 {
		return httpPrincipal{}, errors.New("the bearer token is not valid")
	}
	return who, nil
}
func (a *tokensAuth) challenge() string { return `Bearer realm="pvemcp"` }
