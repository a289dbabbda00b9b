package pvesim

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// principal is an authenticated caller: a user, or a user's API token.
type principal struct {
	UserID  string // "pvemcp@pve"
	TokenID string // "operator" ("" for a plain user)
}

func (p *principal) full() string {
	if p == nil {
		return ""
	}
	if p.TokenID == "" {
		return p.UserID
	}
	return p.UserID + "!" + p.TokenID
}

type userRec struct {
	ID      string
	Enable  bool
	Expire  int64 // epoch, 0 = never
	Groups  []string
	Comment string
}

type tokenRec struct {
	User    string
	Name    string
	Secret  string
	Privsep bool
	Expire  int64
	Comment string
}

func (t *tokenRec) full() string { return t.User + "!" + t.Name }

type aclEntry struct {
	Path      string
	User      string // user id or "user@realm!token"
	Group     string
	Role      string
	Propagate bool
}

var (
	authHeaderRe = regexp.MustCompile(`(?:^|\s)PVEAPIToken(?:=| )([^;]*)`)
	tokenIDRe    = regexp.MustCompile(`^(\S+@[A-Za-z][A-Za-z0-9.\-_]+)!([A-Za-z][A-Za-z0-9.\-_]+)$`)
)

// authenticate implements the API token part of PVE/HTTPServer.pm and
// AccessControl::verify_token. PVE >= 9.1.5 hides the reason behind
// "Authentication failed!"; PVE 8 puts it into the reason phrase.
func (s *Sim) authenticate(r *http.Request, f Fault) (*principal, *apiError) {
	fail := func(detail string) *apiError {
		if s.ver >= 9 {
			return err401("Authentication failed!")
		}
		return err401(detail)
	}
	m := authHeaderRe.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		if _, err := r.Cookie("PVEAuthCookie"); err == nil {
			return nil, fail("permission denied - invalid PVE ticket")
		}
		return nil, err401("No ticket")
	}
	val, err := url.PathUnescape(m[1])
	if err != nil {
		val = m[1]
	}
	i := strings.LastIndexByte(val, '=')
	if i < 0 {
		return nil, fail("invalid token value!")
	}
	id, secret := val[:i], val[i+1:]
	tm := tokenIDRe.FindStringSubmatch(id)
	if tm == nil {
		return nil, fail("invalid token value!")
	}
	pr := &principal{UserID: tm[1], TokenID: tm[2]}
	s.mu.RLock()
	tok := s.st.Tokens[id]
	user := s.st.Users[tm[1]]
	s.mu.RUnlock()
	now := s.now().Unix()
	switch {
	case user == nil:
		return pr, fail(fmt.Sprintf("no such user ('%s')", tm[1]))
	case tok == nil:
		return pr, fail(fmt.Sprintf("no such token '%s' for user '%s'", tm[2], tm[1]))
	case tok.Expire > 0 && tok.Expire < now:
		return pr, fail(fmt.Sprintf("token '%s' access expired", tm[2]))
	case !user.Enable:
		return pr, fail("user account disabled")
	case user.Expire > 0 && user.Expire < now:
		return pr, fail("account expired")
	case subtle.ConstantTimeCompare([]byte(secret), []byte(tok.Secret)) != 1:
		return pr, fail("invalid token value!")
	case f.RevokedToken != "" && (f.RevokedToken == tm[2] || f.RevokedToken == id):
		return pr, fail(fmt.Sprintf("no such token '%s' for user '%s'", tm[2], tm[1]))
	}
	return pr, nil
}

// Privileges (pve-access-control AccessControl.pm $privgroups, PVE 9).
var privGroups9 = map[string]map[string][]string{
	"VM": {
		"root":  {},
		"admin": {"VM.Config.Disk", "VM.Config.CPU", "VM.Config.Memory", "VM.Config.Network", "VM.Config.HWType", "VM.Config.Options", "VM.Allocate", "VM.Clone", "VM.GuestAgent.Unrestricted", "VM.Migrate", "VM.Replicate", "VM.Snapshot", "VM.Snapshot.Rollback"},
		"user":  {"VM.Config.CDROM", "VM.Config.Cloudinit", "VM.Console", "VM.Backup", "VM.GuestAgent.FileRead", "VM.GuestAgent.FileSystemMgmt", "VM.GuestAgent.FileWrite", "VM.PowerMgmt"},
		"audit": {"VM.Audit", "VM.GuestAgent.Audit"},
	},
	"Sys": {
		"root":  {"Sys.PowerMgmt", "Sys.Modify", "Sys.Incoming", "Sys.AccessNetwork"},
		"admin": {"Sys.Console", "Sys.Syslog"},
		"user":  {},
		"audit": {"Sys.Audit"},
	},
	"Datastore": {
		"admin": {"Datastore.Allocate", "Datastore.AllocateTemplate"},
		"user":  {"Datastore.AllocateSpace"},
		"audit": {"Datastore.Audit"},
	},
	"SDN": {
		"admin": {"SDN.Allocate"},
		"user":  {"SDN.Use"},
		"audit": {"SDN.Audit"},
	},
	"User": {
		"root":  {"Realm.Allocate"},
		"admin": {"User.Modify", "Group.Allocate", "Realm.AllocateUser"},
		"user":  {},
		"audit": {},
	},
	"Pool": {
		"admin": {"Pool.Allocate"},
		"audit": {"Pool.Audit"},
	},
	"Mapping": {
		"admin": {"Mapping.Modify"},
		"user":  {"Mapping.Use"},
		"audit": {"Mapping.Audit"},
	},
	"Permissions": {
		"root": {"Permissions.Modify"},
	},
}

// builtinRoles builds the built-in roles the way create_roles does. PVE 8
// had VM.Monitor where PVE 9 has the VM.GuestAgent.* privileges.
func builtinRoles(ver int) map[string]map[string]bool {
	groups := map[string]map[string][]string{}
	for g, m := range privGroups9 {
		c := map[string][]string{}
		for k, v := range m {
			c[k] = append([]string(nil), v...)
		}
		groups[g] = c
	}
	if ver < 9 {
		vm := groups["VM"]
		vm["admin"] = filterOut(vm["admin"], "VM.GuestAgent.")
		vm["admin"] = append(vm["admin"], "VM.Monitor")
		vm["user"] = filterOut(vm["user"], "VM.GuestAgent.")
		vm["audit"] = []string{"VM.Audit"}
	}
	set := func(lists ...[]string) map[string]bool {
		m := map[string]bool{}
		for _, l := range lists {
			for _, p := range l {
				m[p] = true
			}
		}
		return m
	}
	roles := map[string]map[string]bool{"NoAccess": {}}
	all, admin, audit := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for g, m := range groups {
		for _, k := range []string{"root", "admin", "user", "audit"} {
			for _, p := range m[k] {
				all[p] = true
			}
		}
		if g == "Permissions" {
			continue
		}
		roles["PVE"+g+"Admin"] = set(m["admin"], m["user"], m["audit"])
		if len(m["user"]) > 0 || g == "VM" || g == "Datastore" {
			roles["PVE"+g+"User"] = set(m["user"], m["audit"])
		}
		for _, k := range []string{"admin", "user", "audit"} {
			for _, p := range m[k] {
				if p != "Mapping.Modify" {
					admin[p] = true
				}
			}
		}
		for _, p := range m["audit"] {
			audit[p] = true
		}
	}
	delete(roles, "PVEPermissionsAdmin")
	roles["PVEPoolUser"] = set([]string{"Pool.Audit"})
	roles["PVEAuditor"] = audit
	roles["PVEAdmin"] = admin
	roles["Administrator"] = all
	roles["PVETemplateUser"] = set([]string{"VM.Clone", "VM.Audit"})
	return roles
}

func filterOut(l []string, prefix string) []string {
	var out []string
	for _, p := range l {
		if !strings.HasPrefix(p, prefix) {
			out = append(out, p)
		}
	}
	return out
}

// pathChain lists "/", "/a", "/a/b" for "/a/b".
func pathChain(path string) []string {
	out := []string{"/"}
	cur := ""
	for _, sg := range splitPath(path) {
		cur += "/" + sg
		out = append(out, cur)
	}
	return out
}

// rolesAt is AccessControl::roles: walking from / to path, ACLs at a deeper
// level replace those above; user (or token) ACLs beat group ACLs at the
// same level; non-propagating ACLs apply only to their own path.
func (st *state) rolesAt(ugid string, groups []string, path string) map[string]bool {
	roles := map[string]bool{} // role -> propagate
	for _, p := range pathChain(path) {
		final := p == path || (path == "" && p == "/")
		var userNew, groupNew map[string]bool
		for _, a := range st.ACL {
			if a.Path != p || !(final || a.Propagate) {
				continue
			}
			if a.User != "" && a.User == ugid {
				if userNew == nil {
					userNew = map[string]bool{}
				}
				userNew[a.Role] = a.Propagate
			} else if a.Group != "" && contains(groups, a.Group) {
				if groupNew == nil {
					groupNew = map[string]bool{}
				}
				groupNew[a.Role] = a.Propagate
			}
		}
		if userNew != nil {
			roles = userNew
		} else if groupNew != nil {
			roles = groupNew
		}
	}
	return roles
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// privsOf returns the privileges (-> propagate flag) of a user or token id
// on path, including the roles its pool membership grants.
func (st *state) privsOf(ugid string, groups []string, path, poolPath string) map[string]bool {
	roles := st.rolesAt(ugid, groups, path)
	if poolPath != "" {
		for r, p := range st.rolesAt(ugid, groups, poolPath) {
			roles[r] = roles[r] || p
		}
	}
	if _, ok := roles["NoAccess"]; ok {
		return map[string]bool{}
	}
	privs := map[string]bool{}
	for r, prop := range roles {
		for p := range st.Roles[r] {
			privs[p] = privs[p] || prop
		}
	}
	return privs
}

// aclKey maps a path to the path whose ACL evaluation decides it: a path
// with no ACL entry of its own behaves like any child of its deepest
// ancestor that has one ("/vms/100" -> "/vms/\x00" when only /vms has ACLs).
func (st *state) aclKey(path string) string {
	chain := pathChain(path)
	deepest := -1
	for i, p := range chain {
		for _, a := range st.ACL {
			if a.Path == p {
				deepest = i
				break
			}
		}
	}
	if deepest == len(chain)-1 {
		return path
	}
	parent := "/"
	if deepest > 0 {
		parent = chain[deepest]
	}
	return strings.TrimSuffix(parent, "/") + "/\x00"
}

// poolOfPath is the pool a /vms/<id> or /storage/<id> path belongs to.
func (st *state) poolOfPath(path string) string {
	segs := splitPath(path)
	if len(segs) < 2 {
		return ""
	}
	switch segs[0] {
	case "vms":
		id := atoiDef(segs[1], -1)
		if g := st.Guests[id]; g != nil {
			return g.Pool
		}
		for _, p := range st.Pools {
			if containsInt(p.VMs, id) {
				return p.ID
			}
		}
	case "storage":
		for _, p := range st.Pools {
			if contains(p.Storages, segs[1]) {
				return p.ID
			}
		}
	}
	return ""
}

// effectivePrivs is RPCEnvironment::permissions for a principal: root@pam has
// everything; a privilege-separated token gets the intersection of its own
// and its user's privileges, a non-separated token its user's.
func (st *state) effectivePrivs(pr *principal, path string) map[string]bool {
	poolPath := ""
	if pool := st.poolOfPath(path); pool != "" {
		poolPath = "/pool/" + pool
	}
	return st.effectivePrivsAt(pr, path, poolPath)
}

// effectivePrivsAt evaluates path with the pool path it belongs to ("" if none).
func (st *state) effectivePrivsAt(pr *principal, path, poolPath string) map[string]bool {
	if pr == nil {
		return map[string]bool{}
	}
	if pr.UserID == "root@pam" {
		out := map[string]bool{}
		for p := range st.Roles["Administrator"] {
			out[p] = true
		}
		return out
	}
	var groups []string
	if u := st.Users[pr.UserID]; u != nil {
		groups = u.Groups
	}
	userPrivs := st.privsOf(pr.UserID, groups, path, poolPath)
	if pr.TokenID == "" {
		return userPrivs
	}
	tok := st.Tokens[pr.full()]
	if tok == nil || !tok.Privsep {
		return userPrivs
	}
	tokPrivs := st.privsOf(pr.full(), nil, path, poolPath)
	out := map[string]bool{}
	for p, prop := range tokPrivs {
		if up, ok := userPrivs[p]; ok {
			out[p] = prop && up
		}
	}
	return out
}

func (s *Sim) can(pr *principal, path, priv string) bool {
	_, ok := s.st.effectivePrivs(pr, path)[priv]
	return ok
}

// perm is a route's permission check, the "permissions" of the schema.
type perm struct {
	kind  string // "none", "all", "any", "func"
	path  string
	privs []string
	fn    func(c *reqCtx) error
}

func permNone() perm                             { return perm{kind: "none"} }
func permPath(path string, privs ...string) perm { return perm{kind: "all", path: path, privs: privs} }
func permAny(path string, privs ...string) perm  { return perm{kind: "any", path: path, privs: privs} }
func permFunc(fn func(c *reqCtx) error) perm     { return perm{kind: "func", fn: fn} }

func (s *Sim) checkPerm(c *reqCtx, pm perm, vars map[string]string) error {
	path := pm.path
	for k, v := range vars {
		path = strings.ReplaceAll(path, "{"+k+"}", v)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	switch pm.kind {
	case "all":
		for _, p := range pm.privs {
			if !s.can(c.Principal, path, p) {
				return errPerm(path, p)
			}
		}
	case "any":
		for _, p := range pm.privs {
			if s.can(c.Principal, path, p) {
				return nil
			}
		}
		return errPerm(path, pm.privs...)
	case "func":
		return pm.fn(c)
	}
	return nil
}

// permissionsMap is GET /access/permissions for one principal.
func (st *state) permissionsMap(pr *principal, onlyPath string) map[string]map[string]int {
	paths := map[string]bool{}
	if onlyPath != "" {
		paths[onlyPath] = true
	} else {
		for _, p := range []string{"/", "/access", "/access/groups", "/nodes", "/pool", "/sdn", "/storage", "/vms"} {
			paths[p] = true
		}
		for _, a := range st.ACL {
			paths[a.Path] = true
		}
		for _, p := range st.Pools {
			paths["/pool/"+p.ID] = true
			for _, id := range p.VMs {
				paths[fmt.Sprintf("/vms/%d", id)] = true
			}
			for _, sid := range p.Storages {
				paths["/storage/"+sid] = true
			}
		}
	}
	out := map[string]map[string]int{}
	for _, p := range sortedKeys(paths) {
		privs := st.effectivePrivs(pr, p)
		if len(privs) == 0 {
			continue
		}
		m := map[string]int{}
		for k, prop := range privs {
			m[k] = b2i(prop)
		}
		out[p] = m
	}
	return out
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
