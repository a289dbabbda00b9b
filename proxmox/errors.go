package proxmox

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// ErrorKind classifies a failed Proxmox call so callers can react without
// parsing messages.
type ErrorKind string

// The kinds of failure a Proxmox call can end in.
const (
	KindAuth            ErrorKind = "auth"             // 401: token rejected
	KindPermission      ErrorKind = "permission"       // 403: missing privilege
	KindNodeUnreachable ErrorKind = "node_unreachable" // 595: the cluster cannot reach a node
	KindNotFound        ErrorKind = "not_found"        // 500 "... does not exist"
	KindBadRequest      ErrorKind = "bad_request"      // 400 parameter verification
	KindNotImplemented  ErrorKind = "not_implemented"  // 501
	KindServer          ErrorKind = "server"           // other 5xx / unexpected status
	KindUnreachable     ErrorKind = "unreachable"      // no TCP/TLS connection to the endpoint
	KindTimeout         ErrorKind = "timeout"          // per-call timeout elapsed
	KindCanceled        ErrorKind = "canceled"         // the caller canceled
	KindTLS             ErrorKind = "tls"              // certificate not trusted or pin mismatch
	KindNotProxmox      ErrorKind = "not_proxmox"      // HTML or non-JSON answer
	KindInvalid         ErrorKind = "invalid"          // rejected before any request was sent
)

// Error is the error every Proxmox call returns. Its message is plain language
// naming what failed; it never contains the token secret.
type Error struct {
	Kind   ErrorKind
	Method string // HTTP method of the failed call
	Path   string // path below /api2/json, query included
	Status int    // HTTP status, 0 when no HTTP answer arrived
	Reason string // Proxmox's reason phrase (first line of its message)
	Node   string // node the call was about, when the path names one

	// Privilege and PrivPath are set for KindPermission when Proxmox named them.
	Privilege string
	PrivPath  string
	// Params holds Proxmox's per-parameter messages for KindBadRequest.
	Params map[string]string

	msg string
	err error
}

func (e *Error) Error() string {
	if e.Method != "" && e.Path != "" {
		return e.msg + " (" + e.Method + " " + e.Path + ")"
	}
	return e.msg
}

// Message is the plain message without the failed call appended.
func (e *Error) Message() string { return e.msg }

// Unwrap returns the underlying transport error, if any.
func (e *Error) Unwrap() error { return e.err }

// KindOf returns the kind of a Proxmox error, or "" for other errors.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

// IsUnauthorized reports a rejected API token (401).
func IsUnauthorized(err error) bool { return KindOf(err) == KindAuth }

// IsForbidden reports a missing privilege (403).
func IsForbidden(err error) bool { return KindOf(err) == KindPermission }

// IsNodeUnreachable reports a node the cluster could not reach (595) or an
// endpoint pvemcp could not connect to.
func IsNodeUnreachable(err error) bool {
	k := KindOf(err)
	return k == KindNodeUnreachable || k == KindUnreachable || k == KindTimeout
}

// PinMismatchError is returned when the server's leaf certificate does not
// have the configured SHA-256 fingerprint.
type PinMismatchError struct {
	Endpoint string
	Want     string
	Got      string
}

func (e *PinMismatchError) Error() string {
	return fmt.Sprintf("TLS certificate of %s does not match the pinned fingerprint: expected %s, server presented %s", e.Endpoint, e.Want, e.Got)
}

var permRE = regexp.MustCompile(`^Permission check failed \(([^,()]+), ([^()]+)\)`)

// newHTTPError maps a non-2xx Proxmox answer to an *Error.
func newHTTPError(method, path string, status int, reason, tokenID string, params map[string]string) *Error {
	for k := range params {
		if IsSecretKey(k) {
			// Proxmox may echo the rejected value: never keep a secret.
			params[k] = "invalid value (not shown)"
		}
	}
	e := &Error{Method: method, Path: path, Status: status, Reason: reason, Node: nodeOfPath(path), Params: params}
	switch {
	case status == 401:
		e.Kind = KindAuth
		e.msg = fmt.Sprintf("Proxmox rejected the API token (%s): %s", tokenID, orDefault(reason, "authentication failed"))
	case status == 403:
		e.Kind = KindPermission
		if m := permRE.FindStringSubmatch(reason); m != nil {
			e.PrivPath, e.Privilege = m[1], m[2]
			e.msg = fmt.Sprintf("missing privilege %s on %s for token %s", strings.ReplaceAll(e.Privilege, "|", " or "), e.PrivPath, tokenID)
		} else {
			e.msg = fmt.Sprintf("permission denied for token %s: %s", tokenID, orDefault(reason, "Permission check failed"))
		}
	case status == 595:
		e.Kind = KindNodeUnreachable
		if e.Node != "" {
			e.msg = fmt.Sprintf("node %s is unreachable from the cluster: %s", e.Node, orDefault(reason, "no answer"))
		} else {
			e.msg = "a node is unreachable from the cluster: " + orDefault(reason, "no answer")
		}
	case status == 400:
		e.Kind = KindBadRequest
		msg := "Proxmox refused the parameters: " + orDefault(reason, "parameter verification failed")
		if len(params) > 0 {
			msg += " " + formatParams(params)
		}
		e.msg = msg
	case status == 501:
		e.Kind = KindNotImplemented
		e.msg = "not implemented by this Proxmox VE version: " + orDefault(reason, "not implemented")
	case strings.Contains(reason, "does not exist") || strings.HasPrefix(reason, "no such "):
		e.Kind = KindNotFound
		e.msg = "not found: " + reason
	default:
		e.Kind = KindServer
		e.msg = fmt.Sprintf("Proxmox answered %d: %s", status, orDefault(reason, "error"))
	}
	return e
}

func formatParams(params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+strings.TrimSpace(params[k]))
	}
	return "(" + strings.Join(parts, "; ") + ")"
}

func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

// nodeOfPath returns the node a /nodes/{node}/... path is about.
func nodeOfPath(path string) string {
	rest, ok := strings.CutPrefix(path, "/nodes/")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		rest = rest[:i]
	}
	return rest
}
