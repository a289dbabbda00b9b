package proxmox

import (
	"strings"
	"testing"
)

// TestTokenMessagesSayTheTrueCause: a missing secret, a bare secret and a
// token name that is too short each get their own message, without the
// secret.
func TestTokenMessagesSayTheTrueCause(t *testing.T) {
	const secret = "8f1c2d3e-0a1b-4c5d-9e8f-a0b1c2d3e4f5"
	for tok, want := range map[string]string{
		"pvemcp@pve!mcp=":          "API token has no secret after the '='",
		"pvemcp@pve!m=" + secret:   "the token name after '!' is too short (Proxmox token names have at least 2 characters)",
		"pvemcp@pve!1x=" + secret:  "the token name after '!' must start with a letter",
		"pvemcp!mcp=" + secret:     "the part before '!' must be a user like user@realm",
		"pvemcp@pve=" + secret:     `has no '!'`,
		"pvemcp@pve!m x=" + secret: "may hold only letters, digits",
	} {
		_, _, err := ParseToken(tok)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "pvemcp@") {
			t.Errorf("%q: %v, want %q", tok, err, want)
		}
	}
	if _, _, err := ParseToken("pvemcp@pve!mc=" + secret); err != nil {
		t.Errorf("two-character token name refused: %v", err)
	}
}
