package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/pvemcp/pvemcp/mcpserver"
)

// OAuth 2.1 resource-server mode, as the MCP authorization spec describes:
// clients get access tokens from the team's identity provider; pvemcp only
// validates them (issuer, audience = this server, expiry, signature by a
// key of the issuer's JWKS) and tells clients where to get one (RFC 9728
// Protected Resource Metadata and the WWW-Authenticate hint).

const oauthMetadataPath = mcpserver.ProtectedResourceWellKnown

// Scopes: pvemcp:write gives a read-write principal, anything else
// (pvemcp:read) a read-only one.
const (
	scopeRead  = "pvemcp:read"
	scopeWrite = "pvemcp:write"
)

type oauthOptions struct {
	issuer   string
	audience string
	jwksURL  string
	// client fetches the issuer's metadata and keys (tests trust their
	// own CA with it); nil uses the system roots.
	client *http.Client
}

// jwksRefresh bounds how often an unknown key id makes pvemcp fetch the
// key set again; keysTTL is how long fetched keys are used.
const (
	jwksRefresh = 30 * time.Second
	keysTTL     = 10 * time.Minute
)

var tokenAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA}

type oauthAuth struct {
	o        oauthOptions
	metadata http.Handler
	metaURL  string

	mu      sync.Mutex
	keys    *jose.JSONWebKeySet
	fetched time.Time
}

func newOAuthAuth(o oauthOptions) (*oauthAuth, error) {
	iss, err := url.Parse(o.issuer)
	if o.issuer == "" || err != nil || iss.Scheme != "https" || iss.Host == "" {
		return nil, errors.New("--oauth-issuer must be the identity provider's https:// issuer URL")
	}
	aud, err := url.Parse(o.audience)
	if o.audience == "" || err != nil || aud.Scheme != "https" || aud.Host == "" {
		return nil, errors.New("--oauth-audience must be this server's https:// URL as clients reach it (e.g. https://mcp.example.com/mcp); access tokens must name it")
	}
	if o.jwksURL != "" {
		if u, err := url.Parse(o.jwksURL); err != nil || u.Scheme != "https" {
			return nil, errors.New("--oauth-jwks-url must be an https:// URL")
		}
	}
	if o.client == nil {
		o.client = &http.Client{Timeout: 10 * time.Second}
	}
	meta := mcpserver.ProtectedResource{
		Resource:               o.audience,
		AuthorizationServers:   []string{o.issuer},
		ScopesSupported:        []string{scopeRead, scopeWrite},
		BearerMethodsSupported: []string{"header"},
		ResourceName:           "pvemcp",
	}
	metaURL := (&url.URL{Scheme: aud.Scheme, Host: aud.Host, Path: mcpserver.ProtectedResourceMetadataPath(o.audience)}).String()
	return &oauthAuth{o: o, metadata: mcpserver.ProtectedResourceHandler(meta), metaURL: metaURL}, nil
}

func (a *oauthAuth) metadataHandler() http.Handler { return a.metadata }

// challenge points the client at the resource metadata (RFC 9728 §5.1).
func (a *oauthAuth) challenge() string {
	return fmt.Sprintf(`Bearer resource_metadata=%q, scope="%s %s"`, a.metaURL, scopeRead, scopeWrite)
}

type accessClaims struct {
	jwt.Claims
	Scope    string `json:"scope"`
	ClientID string `json:"client_id"`
}

func (a *oauthAuth) authenticate(r *http.Request) (httpPrincipal, error) {
	raw, err := bearer(r)
	if err != nil {
		return httpPrincipal{}, err
	}
	tok, err := jwt.ParseSigned(raw, tokenAlgs)
	if err != nil || len(tok.Headers) != 1 {
		return httpPrincipal{}, errors.New("the access token is not a signed JWT")
	}
	key, err := a.key(r.Context(), tok.Headers[0].KeyID)
	if err != nil {
		return httpPrincipal{}, err
	}
	var c accessClaims
	if err := tok.Claims(key, &c); err != nil {
		return httpPrincipal{}, errors.New("the access token's signature is not valid")
	}
	if c.Expiry == nil {
		return httpPrincipal{}, errors.New("the access token has no expiry")
	}
	if err := c.ValidateWithLeeway(jwt.Expected{Issuer: a.o.issuer, AnyAudience: jwt.Audience{a.o.audience}, Time: time.Now()}, 30*time.Second); err != nil {
		switch {
		case errors.Is(err, jwt.ErrExpired):
			return httpPrincipal{}, errors.New("the access token has expired")
		case errors.Is(err, jwt.ErrInvalidIssuer):
			return httpPrincipal{}, errors.New("the access token is from another issuer")
		case errors.Is(err, jwt.ErrInvalidAudience):
			return httpPrincipal{}, errors.New("the access token is for another resource (audience)")
		}
		return httpPrincipal{}, errors.New("the access token is not valid yet or its times are invalid")
	}
	sub := c.Subject
	if sub == "" {
		sub = c.ClientID
	}
	if !principalNameRE.MatchString(sub) {
		return httpPrincipal{}, errors.New("the access token names no usable subject")
	}
	readOnly := true
	for _, s := range strings.Fields(c.Scope) {
		if s == scopeWrite {
			readOnly = false
		}
	}
	return httpPrincipal{Name: "oauth:" + sub, ReadOnly: readOnly}, nil
}

// key returns the issuer's public key with this id, fetching the key set
// when it is missing or old (at most every jwksRefresh for unknown ids).
func (a *oauthAuth) key(ctx context.Context, kid string) (any, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	find := func() any {
		if a.keys == nil {
			return nil
		}
		for _, k := range a.keys.Keys {
			if (kid == "" || k.KeyID == kid) && k.IsPublic() && (k.Use == "" || k.Use == "sig") {
				return k.Key
			}
		}
		return nil
	}
	if k := find(); k != nil && time.Since(a.fetched) < keysTTL {
		return k, nil
	}
	if a.keys == nil || time.Since(a.fetched) >= jwksRefresh {
		ks, err := a.fetchKeys(ctx)
		if err != nil {
			return nil, fmt.Errorf("the issuer's keys could not be read: %v", err)
		}
		a.keys, a.fetched = ks, time.Now()
	}
	if k := find(); k != nil {
		return k, nil
	}
	return nil, errors.New("the access token is signed by a key the issuer does not publish")
}

func (a *oauthAuth) getJSON(ctx context.Context, u string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := a.o.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out)
}

// fetchKeys reads the JWKS, from --oauth-jwks-url or the jwks_uri of the
// issuer's metadata (RFC 8414, then OpenID Connect discovery).
func (a *oauthAuth) fetchKeys(ctx context.Context) (*jose.JSONWebKeySet, error) {
	jwks := a.o.jwksURL
	if jwks == "" {
		iss := strings.TrimSuffix(a.o.issuer, "/")
		u, _ := url.Parse(iss)
		candidates := []string{
			u.Scheme + "://" + u.Host + "/.well-known/oauth-authorization-server" + u.Path,
			iss + "/.well-known/openid-configuration",
		}
		var lastErr error
		for _, c := range candidates {
			var meta struct {
				Issuer  string `json:"issuer"`
				JWKSURI string `json:"jwks_uri"`
			}
			if err := a.getJSON(ctx, c, &meta); err != nil {
				lastErr = err
				continue
			}
			if meta.Issuer != a.o.issuer || !strings.HasPrefix(meta.JWKSURI, "https://") {
				lastErr = fmt.Errorf("%s names another issuer or no https jwks_uri", c)
				continue
			}
			jwks = meta.JWKSURI
			break
		}
		if jwks == "" {
			return nil, lastErr
		}
	}
	var ks jose.JSONWebKeySet
	if err := a.getJSON(ctx, jwks, &ks); err != nil {
		return nil, err
	}
	return &ks, nil
}
