package proxmox

import (
	"strings"
	"testing"
)

// leakSecret is a Proxmox-shaped token secret (a UUID).
const leakSecret = "4f1c9e2a-7d3b-4c8e-9a61-0b5e2f7c8d90"

// MalformedTokens are token values of every broken shape that carry
// leakSecret somewhere: a pasted env file, an assignment, an "=" inside
// the secret or the id, white space, missing parts.
func malformedTokens() []string {
	s := leakSecret
	return []string{
		"PROXMOX_VE_ENDPOINT=https://pve:8006\nPROXMOX_VE_API_TOKEN=root@pam!pvemcp=" + s + "\nPROXMOX_VE_FINGERPRINT=AB:CD",
		"PROXMOX_VE_API_TOKEN=root@pam!pvemcp=" + s,
		"export PROXMOX_VE_API_TOKEN=root@pam!pvemcp=" + s,
		s + "=root@pam!pvemcp",
		"root@pam" + s + "=x",
		"root@pam!" + s + "!x=y",
		"root@pam!pvemcp " + s + "=z",
		"root@pam!pvemcp=" + s + " trailing",
		"root" + s + "!pvemcp=abc",
		s,
		s + "=",
		"=" + s,
		"root@pam!pvemcp" + s,
		"root@pam!pvemcp\t" + s,
		"root@pam!pvemcp=" + s + "\r\n" + s,
	}
}

// secretSlices are every 8-character slice of leakSecret: no output may
// hold any of them.
func secretSlices() []string {
	var out []string
	for i := 0; i+8 <= len(leakSecret); i++ {
		out = append(out, leakSecret[i:i+8])
	}
	return out
}

func TestParseTokenNeverQuotesTheValue(t *testing.T) {
	for _, bad := range malformedTokens() {
		_, _, err := ParseToken(bad)
		if err == nil {
			t.Errorf("%q: want an error", bad)
			continue
		}
		for _, sl := range secretSlices() {
			if strings.Contains(err.Error(), sl) {
				t.Errorf("%q: the error quotes part of the secret: %v", bad, err)
				break
			}
		}
		if _, err := New(Options{Endpoints: []string{"https://127.0.0.1:8006"}, Token: bad, Insecure: true}); err == nil {
			t.Errorf("%q: New accepted it", bad)
		} else if strings.Contains(err.Error(), leakSecret[:8]) || strings.Contains(err.Error(), leakSecret[len(leakSecret)-8:]) {
			t.Errorf("%q: New's error quotes the secret: %v", bad, err)
		}
	}
	// An "=" in the secret is the secret's: the id ends at the first "=".
	id, sec, err := ParseToken("root@pam!pvemcp=" + leakSecret + "=")
	if err != nil || id != "root@pam!pvemcp" || sec != leakSecret+"=" {
		t.Errorf("got %q %q %v", id, sec, err)
	}
}
