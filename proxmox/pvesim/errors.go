package pvesim

import (
	"fmt"
	"strings"
)

// apiError is a Proxmox error answer: the status line's reason phrase is the
// first line of Msg, as pve-http-server does it.
type apiError struct {
	Status int
	Msg    string            // without trailing newline
	Errors map[string]string // 400 parameter errors
	empty  bool              // 401: no body at all
	noNL   bool              // 501: message without the trailing newline
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.Status, e.reason()) }

// Reason is the status line's reason phrase.
func (e *apiError) Reason() string { return e.reason() }

func (e *apiError) reason() string {
	r, _, _ := strings.Cut(e.Msg, "\n")
	return r
}

// errParam is Proxmox's 400 "Parameter verification failed.".
func errParam(errs map[string]string) *apiError {
	return &apiError{Status: 400, Msg: "Parameter verification failed.", Errors: errs}
}

func errParam1(param, msg string) *apiError { return errParam(map[string]string{param: msg}) }

// err500 is a plain `die "...\n"` inside a handler.
func err500(format string, args ...any) *apiError {
	return &apiError{Status: 500, Msg: fmt.Sprintf(format, args...)}
}

func errStatus(code int, msg string) *apiError { return &apiError{Status: code, Msg: msg} }

// errPerm is raise_perm_exc: privileges are joined with '|' like check_any.
func errPerm(path string, privs ...string) *apiError {
	return &apiError{Status: 403, Msg: fmt.Sprintf("Permission check failed (%s, %s)", path, strings.Join(privs, "|"))}
}

// errNoConfig is AbstractConfig::load_config's message for a missing guest.
func errNoConfig(node, typ string, vmid int) *apiError {
	dir := "qemu-server"
	if typ == "lxc" {
		dir = "lxc"
	}
	return err500("Configuration file 'nodes/%s/%s/%d.conf' does not exist", node, dir, vmid)
}

func errNoNode(node string) *apiError {
	return err500("hostname lookup '%s' failed - failed to get address info for: %s: Name or service not known", node, node)
}

func err401(reason string) *apiError { return &apiError{Status: 401, Msg: reason, empty: true} }

func asAPIError(err error) *apiError {
	if ae, ok := err.(*apiError); ok {
		return ae
	}
	return err500("%s", err.Error())
}

// errNoQuorum is what every change gets while the cluster is not quorate
// (PVE::Cluster::check_cfs_quorum: "cluster not ready - no quorum?\n").
func errNoQuorum() *apiError { return err500("cluster not ready - no quorum?") }
