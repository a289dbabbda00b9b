package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pvemcp/pvemcp/internal/simtest"
)

// testIssuer is a local OAuth authorization server: its metadata and JWKS
// over HTTPS, and a signer for access tokens.
type testIssuer struct {
	srv    *httptest.Server
	key    *ecdsa.PrivateKey
	kid    string
	issuer string
}

func startIssuer(t *testing.T) *testIssuer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	is := &testIssuer{key: key, kid: "k1"}
	mux := http.NewServeMux()
	is.srv = httptest.NewTLSServer(mux)
	t.Cleanup(is.srv.Close)
	is.issuer = is.srv.URL + "/realms/team"
	mux.HandleFunc("/.well-known/oauth-authorization-server/realms/team", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": is.issuer, "jwks_uri": is.srv.URL + "/jwks"})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: is.kid, Algorithm: "ES256", Use: "sig"}}})
	})
	return is
}

func (is *testIssuer) token(t *testing.T, key *ecdsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", is.kid))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestOAuthResourceServer: JWT access tokens from a local issuer are
// validated (issuer, audience, expiry, signature by the issuer's JWKS);
// the scope gives the role; a 401 points at the Protected Resource
// Metadata, which names the issuer.
func TestOAuthResourceServer(t *testing.T) {
	is := startIssuer(t)
	sim := simtest.Demo(t)
	const aud = "https://mcp.example.com/mcp"
	base := startHTTP(t, writeMCPServer(t, sim, filepath.Join(t.TempDir(), "audit.jsonl")),
		httpOptions{oauth: &oauthOptions{issuer: is.issuer, audience: aud, client: is.srv.Client()}})
	url := base + "/mcp"

	// The discovery path: 401 with the metadata URL, then the metadata.
	req, _ := http.NewRequest("POST", url, strings.NewReader(initBody))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	wa := resp.Header.Get("WWW-Authenticate")
	if resp.StatusCode != 401 || !strings.Contains(wa, `resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"`) {
		t.Fatalf("no token: %d %q", resp.StatusCode, wa)
	}
	resp, err = http.Get(base + "/.well-known/oauth-protected-resource/mcp")
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := json.Unmarshal(b, &meta); err != nil || meta["resource"] != aud || meta["authorization_servers"].([]any)[0] != is.issuer {
		t.Fatalf("metadata %d %s", resp.StatusCode, b)
	}

	now := time.Now()
	claims := func(mod func(map[string]any)) map[string]any {
		c := map[string]any{"iss": is.issuer, "aud": aud, "sub": "alice", "exp": now.Add(5 * time.Minute).Unix(),
			"iat": now.Unix(), "scope": "pvemcp:read pvemcp:write"}
		if mod != nil {
			mod(c)
		}
		return c
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	bad := map[string]string{
		"expired":        is.token(t, is.key, claims(func(c map[string]any) { c["exp"] = now.Add(-time.Hour).Unix() })),
		"another issuer": is.token(t, is.key, claims(func(c map[string]any) { c["iss"] = "https://evil.example" })),
		"audience":       is.token(t, is.key, claims(func(c map[string]any) { c["aud"] = "https://other.example/mcp" })),
		"signature":      is.token(t, other, claims(nil)),
		"no expiry":      is.token(t, is.key, claims(func(c map[string]any) { delete(c, "exp") })),
		"not a JWT":      "abcdefghijklmnopqrstuvwxyz",
	}
	for name, tok := range bad {
		code := postMCP(t, url, strings.NewReader(initBody), int64(len(initBody)), map[string]string{"Authorization": "Bearer " + tok})
		if code != 401 {
			t.Errorf("%s: %d, want 401", name, code)
		}
	}

	for _, version := range []string{"2025-11-25", mcp.ProtocolVersion20260728} {
		reader := httpClient(t, url, is.token(t, is.key, claims(func(c map[string]any) { c["sub"] = "bob"; c["scope"] = "pvemcp:read" })), version)
		if _, e := callTool(t, reader, "list_guests", map[string]any{}); e != "" {
			t.Fatalf("read scope cannot read: %s", e)
		}
		if _, e := callTool(t, reader, "guest_power", map[string]any{"vmid": 203, "action": "start"}); !strings.Contains(e, "oauth:bob has a read-only role") {
			t.Fatalf("read scope planned: %q", e)
		}
		writer := httpClient(t, url, is.token(t, is.key, claims(nil)), version)
		plan, e := callTool(t, writer, "guest_power", map[string]any{"vmid": 203, "action": "start"})
		if e != "" || plan["plan_id"] == nil {
			t.Fatalf("write scope cannot plan: %s", e)
		}
	}
}
