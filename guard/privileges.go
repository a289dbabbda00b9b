package guard

import (
	"fmt"
	"strings"
)

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

// PrivilegeChecker answers whether a privilege holds on an ACL path, e.g.
// package proxmox's Permissions. Proxmox's evaluation of the exact path
// (GET /access/permissions?path=...) is authoritative; inferring a path from
// an ancestor must honour the propagate flag.
type PrivilegeChecker interface {
	Has(path, priv string) bool
}

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
