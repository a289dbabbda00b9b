package proxmox_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/internal/simtest"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
)

// The pin accepts the certificate it names and refuses a changed one,
// showing both fingerprints.
func TestFingerprintPinAcceptAndRefuse(t *testing.T) {
	sim := simtest.Demo(t)
	pin := sim.Fingerprint()
	c, err := proxmox.New(proxmox.Options{Endpoints: []string{sim.URL()}, Token: sim.Token("operator"),
		Fingerprint: strings.ToLower(strings.ReplaceAll(pin, ":", ""))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Version(context.Background()); err != nil {
		t.Fatalf("pinned certificate refused: %v", err)
	}
	if c.InsecureTLS() || c.TLSWarning() != "" {
		t.Error("a pinned client reported as insecure")
	}

	sim.SetFault(sim.Nodes()[0], pvesim.Fault{ChangedCert: true})
	c.CloseIdleConnections() // a new handshake sees the new certificate
	_, err = c.Version(context.Background())
	if proxmox.KindOf(err) != proxmox.KindTLS {
		t.Fatalf("changed certificate accepted or wrong error: %v", err)
	}
	var pm *proxmox.PinMismatchError
	if !errors.As(err, &pm) {
		t.Fatalf("not a PinMismatchError: %T %v", err, err)
	}
	if pm.Want != pin || pm.Got == "" || pm.Got == pin {
		t.Errorf("fingerprints: want %s got %s", pm.Want, pm.Got)
	}
	for _, w := range []string{pin, pm.Got, sim.URL()} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("message lacks %s: %v", w, err)
		}
	}
}

func TestInsecureIsReported(t *testing.T) {
	c, err := proxmox.New(proxmox.Options{Endpoints: []string{"https://127.0.0.1:1"}, Token: "root@pam!tk=x", Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	if !c.InsecureTLS() || c.TLSWarning() != proxmox.InsecureWarning {
		t.Error("insecure client not reported")
	}
	// A pin with insecure set still verifies (the pin wins).
	c, err = proxmox.New(proxmox.Options{Endpoints: []string{"https://127.0.0.1:1"}, Token: "root@pam!tk=x", Insecure: true,
		Fingerprint: strings.Repeat("AB:", 31) + "AB"})
	if err != nil {
		t.Fatal(err)
	}
	if c.InsecureTLS() {
		t.Error("pinned client reported as insecure")
	}
}
