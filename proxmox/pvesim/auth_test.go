package pvesim

import (
	"net/url"
	"sort"
	"strings"
	"testing"
)

func TestACLEvaluation(t *testing.T) {
	st := &state{Roles: builtinRoles(9), Users: map[string]*userRec{
		"u@pve": {ID: "u@pve", Enable: true, Groups: []string{"ops"}},
	}, Tokens: map[string]*tokenRec{
		"u@pve!sep":   {User: "u@pve", Name: "sep", Privsep: true},
		"u@pve!nosep": {User: "u@pve", Name: "nosep", Privsep: false},
	}, Pools: []*Pool{{ID: "prod", VMs: []int{100}}}}
	st.ACL = []aclEntry{
		{Path: "/", Group: "ops", Role: "PVEAuditor", Propagate: true},
		{Path: "/vms", User: "u@pve", Role: "PVEVMAdmin", Propagate: true},
		{Path: "/vms/105", User: "u@pve", Role: "NoAccess", Propagate: true},
		{Path: "/nodes", User: "u@pve", Role: "PVESysAdmin", Propagate: false},
		{Path: "/", User: "u@pve!sep", Role: "PVEAuditor", Propagate: true},
		{Path: "/pool/prod", User: "u@pve!sep", Role: "PVEVMUser", Propagate: true},
	}
	has := func(id, path, priv string) bool {
		user, tok := id, ""
		if i := len("u@pve"); len(id) > i {
			user, tok = id[:i], id[i+1:]
		}
		_, ok := st.effectivePrivs(&principal{UserID: user, TokenID: tok}, path)[priv]
		return ok
	}
	cases := []struct {
		id, path, priv string
		want           bool
	}{
		{"u@pve", "/", "Sys.Audit", true},              // group ACL
		{"u@pve", "/vms/100", "VM.PowerMgmt", true},    // user ACL propagates
		{"u@pve", "/vms/105", "VM.Audit", false},       // NoAccess deeper wins
		{"u@pve", "/nodes", "Sys.Console", true},       // non-propagating applies to its path
		{"u@pve", "/nodes/pve1", "Sys.Console", false}, // ... but not below
		{"u@pve", "/nodes/pve1", "Sys.Audit", true},    // group's / still applies there
		{"u@pve", "/storage/local", "Datastore.Audit", true},
		{"u@pve!nosep", "/vms/100", "VM.PowerMgmt", true}, // non-privsep = user's privileges
		{"u@pve!sep", "/vms/101", "VM.PowerMgmt", false},  // privsep: own ACLs only
		{"u@pve!sep", "/vms/100", "VM.PowerMgmt", true},   // ... including pool membership
		{"u@pve!sep", "/vms/105", "VM.Audit", false},      // intersected with the user's (NoAccess)
		{"u@pve!sep", "/", "Sys.Audit", true},
	}
	for _, c := range cases {
		if got := has(c.id, c.path, c.priv); got != c.want {
			t.Errorf("%s %s %s = %v, want %v", c.id, c.path, c.priv, got, c.want)
		}
	}
}

func TestRolesPerVersion(t *testing.T) {
	r9, r8 := builtinRoles(9), builtinRoles(8)
	keys := func(m map[string]bool) []string {
		var l []string
		for k := range m {
			l = append(l, k)
		}
		sort.Strings(l)
		return l
	}
	want := "[Datastore.Audit Mapping.Audit Pool.Audit SDN.Audit Sys.Audit VM.Audit VM.GuestAgent.Audit]"
	if got := keys(r9["PVEAuditor"]); fmtList(got) != want {
		t.Errorf("PVEAuditor 9 = %v", got)
	}
	if r8["PVEAuditor"]["VM.GuestAgent.Audit"] || !r8["PVEVMAdmin"]["VM.Monitor"] || r9["PVEVMAdmin"]["VM.Monitor"] {
		t.Error("PVE 8 roles must have VM.Monitor instead of VM.GuestAgent.*")
	}
	for _, p := range []string{"VM.Migrate", "VM.Allocate", "VM.PowerMgmt", "VM.Config.Memory", "VM.GuestAgent.Unrestricted"} {
		if !r9["PVEVMAdmin"][p] {
			t.Errorf("PVEVMAdmin lacks %s", p)
		}
	}
	if r9["PVEAdmin"]["Sys.Modify"] || r9["PVEAdmin"]["Permissions.Modify"] || !r9["Administrator"]["Sys.Modify"] || len(r9["NoAccess"]) != 0 {
		t.Error("PVEAdmin/Administrator/NoAccess privileges wrong")
	}
	if !r9["PVETemplateUser"]["VM.Clone"] || len(r9["PVETemplateUser"]) != 2 {
		t.Error("PVETemplateUser")
	}
}

func fmtList(l []string) string {
	s := "["
	for i, x := range l {
		if i > 0 {
			s += " "
		}
		s += x
	}
	return s + "]"
}

func TestTokensOnTheWire(t *testing.T) {
	s := startSim(t, Options{})
	// auditor reads, cannot act
	mustOK(t, call(t, s, "auditor", "GET", "/cluster/status", nil))
	if r := call(t, s, "auditor", "GET", "/nodes/pve-node01/qemu/100/agent/network-get-interfaces", nil); r.Status != 200 {
		t.Errorf("auditor agent read: %d %s", r.Status, r.Body)
	}
	// noaccess: 403 on checked paths, empty filtered lists
	if r := call(t, s, "noaccess", "GET", "/cluster/status", nil); r.Status != 403 || r.Reason != "Permission check failed (/, Sys.Audit)" {
		t.Errorf("noaccess cluster/status: %d %q", r.Status, r.Reason)
	}
	if l := decode[[]any](t, call(t, s, "noaccess", "GET", "/nodes/pve-node01/qemu", nil)); len(l) != 0 {
		t.Errorf("noaccess sees %d VMs", len(l))
	}
	if l := decode[[]map[string]any](t, call(t, s, "noaccess", "GET", "/cluster/resources", nil)); len(l) != 3 {
		t.Errorf("noaccess resources: want the 3 nodes without stats, got %v", l)
	} else if _, ok := l[0]["mem"]; ok {
		t.Error("node stats shown without Sys.Audit")
	}
	// prod-operator sees only the pool's guests
	res := decode[[]map[string]any](t, call(t, s, "prod-operator", "GET", "/cluster/resources", url.Values{"type": {"vm"}}))
	var ids []float64
	for _, e := range res {
		ids = append(ids, e["vmid"].(float64))
	}
	if fmtFloats(ids) != "100,101,102,104" {
		t.Errorf("prod-operator sees %v", ids)
	}
	if r := call(t, s, "prod-operator", "GET", "/nodes/pve-node01/qemu/103/status/current", nil); r.Status != 403 || r.Reason != "Permission check failed (/vms/103, VM.Audit)" {
		t.Errorf("prod-operator 103: %d %q", r.Status, r.Reason)
	}
	// permissions dump
	perms := decode[map[string]map[string]int](t, call(t, s, "operator", "GET", "/access/permissions", url.Values{"path": {"/vms/101"}}))
	if perms["/vms/101"]["VM.PowerMgmt"] != 1 || len(perms) != 1 {
		t.Errorf("operator perms on /vms/101: %v", perms)
	}
	perms = decode[map[string]map[string]int](t, call(t, s, "operator", "GET", "/access/permissions", nil))
	if perms["/"]["Sys.Audit"] != 1 || perms["/vms"]["VM.Allocate"] != 1 || perms["/vms"]["Sys.Audit"] != 0 {
		// the /vms ACL replaces the / one there (deeper levels replace upper ones)
		t.Errorf("operator perms: %v", perms)
	}
	if r := call(t, s, "auditor", "GET", "/access/permissions", url.Values{"userid": {"root@pam"}}); r.Status != 200 {
		t.Errorf("auditor has Sys.Audit on /access (propagated): %d", r.Status)
	}
	if r := call(t, s, "noaccess", "GET", "/access/permissions", url.Values{"userid": {"root@pam"}}); r.Status != 403 {
		t.Errorf("noaccess dumping root: %d", r.Status)
	}
	// the log has token ids, never secrets
	for _, rq := range s.Requests() {
		for _, v := range append([]string{rq.Path, rq.Query, rq.TokenID}, mapVals(rq.Params)...) {
			for _, name := range []string{"auditor", "operator", "noaccess", "prod-operator", "admin"} {
				tok := s.Token(name)
				if secret := tok[len(tok)-36:]; strings.Contains(v, secret) {
					t.Fatalf("secret in request log: %+v", rq)
				}
			}
		}
	}
}

func mapVals(m map[string]string) []string {
	var l []string
	for _, v := range m {
		l = append(l, v)
	}
	return l
}

func fmtFloats(l []float64) string {
	s := ""
	for i, f := range l {
		if i > 0 {
			s += ","
		}
		s += itoa(int(f))
	}
	return s
}

func TestTokenExpiryAndParsing(t *testing.T) {
	s := startSim(t, Options{PVEVersion: 8})
	s.mu.Lock()
	s.st.Tokens["pvemcp@pve!auditor"].Expire = fixedNow.Unix() - 1
	s.mu.Unlock()
	if r := call(t, s, "auditor", "GET", "/version", nil); r.Status != 401 || r.Reason != "token 'auditor' access expired" {
		t.Errorf("expired: %d %q", r.Status, r.Reason)
	}
	// "PVEAPIToken <value>" with a space, URI-escaped, split on the last '='
	tok := s.Token("operator")
	for _, hdr := range []string{"PVEAPIToken " + tok, "PVEAPIToken=" + url.PathEscape(tok)} {
		res := rawHeaderCall(t, s, hdr)
		if res != 200 {
			t.Errorf("header %q: %d", hdr, res)
		}
	}
}

func rawHeaderCall(t *testing.T, s *Sim, auth string) int {
	line, _ := rawRequest(t, s, "GET /api2/json/version HTTP/1.1\r\nHost: x\r\nAuthorization: "+auth+"\r\nConnection: close\r\n\r\n")
	if len(line) < 12 {
		return 0
	}
	return atoiDef(line[9:12], 0)
}
