package guard

import (
	"errors"
	"strings"
	"testing"
)

// grants is a PrivilegeChecker for tests: "path priv" pairs.
type grants map[string]bool

func (g grants) Has(path, priv string) bool { return g[path+" "+priv] }

func TestRequireNamesTheMissingPrivilege(t *testing.T) {
	g := grants{"/vms/103 VM.Audit": true, "/storage/local-zfs Datastore.Audit": true}
	if err := Require(g, Need{"/vms/103", []string{"VM.Audit"}}); err != nil {
		t.Fatal(err)
	}
	err := Require(g, Need{"/vms/103", []string{"VM.Audit"}}, Need{"/vms/103", []string{"VM.PowerMgmt"}})
	var mp *MissingPrivilegeError
	if !errors.As(err, &mp) || err.Error() != "the API token lacks VM.PowerMgmt on /vms/103" {
		t.Fatalf("got %v", err)
	}
	// Any one of several privileges is enough.
	if err := Require(g, Need{"/storage/local-zfs", []string{"Datastore.AllocateSpace", "Datastore.Audit"}}); err != nil {
		t.Fatal(err)
	}
	err = Require(g, Need{"/storage/x", []string{"Datastore.AllocateTemplate", "Datastore.Audit"}})
	if err == nil || err.Error() != "the API token lacks Datastore.AllocateTemplate or Datastore.Audit on /storage/x" {
		t.Fatalf("got %v", err)
	}
}

func TestProtection(t *testing.T) {
	p := Protection{VMIDs: []int{100}, Tags: []string{"prod"}}
	if err := p.Check(100, ""); err == nil {
		t.Fatal("protected VMID allowed")
	}
	if err := p.Check(101, "web;PROD"); err == nil || !strings.Contains(err.Error(), "PROD") {
		t.Fatalf("protected tag allowed: %v", err)
	}
	if err := p.Check(101, "production;web"); err != nil {
		t.Fatal(err)
	}
}

func TestParseApprovalMode(t *testing.T) {
	for in, want := range map[string]ApprovalMode{"": ApprovalElicit, "elicit": ApprovalElicit, "NONCE": ApprovalNonce} {
		if got, err := ParseApprovalMode(in); err != nil || got != want {
			t.Fatalf("%q: %v %v", in, got, err)
		}
	}
	if _, err := ParseApprovalMode("off"); err == nil {
		t.Fatal("accepted off")
	}
}

func TestIsSecretParam(t *testing.T) {
	for _, n := range []string{"password", "cipassword", "sshkeys", "ssh-public-keys", "Token", "client-secret"} {
		if !IsSecretParam(n) {
			t.Errorf("%s not treated as secret", n)
		}
	}
	for _, n := range []string{"keyboard", "cores", "memory", "name", "hostname", "net0"} {
		if IsSecretParam(n) {
			t.Errorf("%s treated as secret", n)
		}
	}
}
