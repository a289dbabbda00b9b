package guard

import (
	"errors"
	"strings"
	"testing"
)

func TestPermissionsHas(t *testing.T) {
	auditor := Permissions{
		"/":     {"Sys.Audit": 1, "VM.Audit": 1},
		"/vms":  {"Sys.Audit": 1, "VM.Audit": 1},
		"/pool": {"VM.Audit": 1},
	}
	admin := Permissions{
		"/":         {"Sys.Audit": 1},
		"/vms":      {"VM.PowerMgmt": 1, "VM.Audit": 1},
		"/vms/103":  {"VM.Audit": 1},
		"/vms/105":  {"VM.Audit": 0, "VM.PowerMgmt": 0},
		"/storage":  {"Datastore.AllocateSpace": 0},
		"/nodes/n1": {"Sys.Audit": 1},
	}
	cases := []struct {
		p    Permissions
		path string
		priv string
		want bool
	}{
		{auditor, "/vms/103", "VM.Audit", true},
		{auditor, "/vms/103", "VM.PowerMgmt", false},
		{admin, "/vms/104", "VM.PowerMgmt", true},
		{admin, "/vms/103", "VM.PowerMgmt", false}, // the nearest listed path decides
		{admin, "/vms/105", "VM.PowerMgmt", true},  // exact path, no propagation needed
		{admin, "/storage/local-zfs", "Datastore.AllocateSpace", false},
		{admin, "/storage", "Datastore.AllocateSpace", true},
		{admin, "/nodes/n1", "Sys.Audit", true},
		{Permissions{}, "/vms/1", "VM.Audit", false},
	}
	for _, c := range cases {
		if got := c.p.Has(c.path, c.priv); got != c.want {
			t.Errorf("Has(%s, %s) = %v, want %v", c.path, c.priv, got, c.want)
		}
	}
	err := auditor.Require(Need{"/vms/103", []string{"VM.Audit"}}, Need{"/vms/103", []string{"VM.PowerMgmt"}})
	var mp *MissingPrivilegeError
	if !errors.As(err, &mp) || err.Error() != "the API token lacks VM.PowerMgmt on /vms/103" {
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
