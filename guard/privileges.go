package guard

import (
	"fmt"
	"strings"
)

// Permissions is the token's effective privileges as GET /access/permissions
// returns them: path → privilege → propagate (1) or not (0).
type Permissions map[string]map[string]int

// Has reports whether priv holds on path. /access/permissions evaluates
// every ACL path, so the nearest listed path (path itself, or an ancestor
// whose privilege propagates) decides.
func (p Permissions) Has(path, priv string) bool {
	for cur := path; ; cur = parentPath(cur) {
		if privs, ok := p[cur]; ok {
			v, ok := privs[priv]
			return ok && (cur == path || v == 1)
		}
		if cur == "/" {
			return false
		}
	}
}

func parentPath(path string) string {
	i := strings.LastIndexByte(path, '/')
	if i <= 0 {
		return "/"
	}
	return path[:i]
}

// Need is a privilege requirement: any one of Privs on Path.
type Need struct {
	Path  string
	Privs []string
}

// MissingPrivilegeError names what the token lacks, in Proxmox's own words.
type MissingPrivilegeError struct {
	Need Need
}

func (e *MissingPrivilegeError) Error() string {
	return fmt.Sprintf("the API token lacks %s on %s", strings.Join(e.Need.Privs, " or "), e.Need.Path)
}

// PrivilegeChecker answers whether a privilege holds on an ACL path;
// Permissions and package proxmox's Permissions both implement it.
type PrivilegeChecker interface {
	Has(path, priv string) bool
}

// Require returns a *MissingPrivilegeError for the first unmet need.
func (p Permissions) Require(needs ...Need) error { return Require(p, needs...) }

// Require returns a *MissingPrivilegeError for the first need p does not meet.
func Require(p PrivilegeChecker, needs ...Need) error {
	for _, n := range needs {
		ok := false
		for _, priv := range n.Privs {
			if p.Has(n.Path, priv) {
				ok = true
				break
			}
		}
		if !ok {
			return &MissingPrivilegeError{Need: n}
		}
	}
	return nil
}
