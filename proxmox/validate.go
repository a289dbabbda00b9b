package proxmox

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Limits Proxmox itself enforces; checked here before any request is sent.
const (
	MinVMID = 100
	MaxVMID = 999999999
)

// NodeNamePattern is Proxmox's node name syntax (pve-node format).
const NodeNamePattern = `^[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?$`

var nodeRE = regexp.MustCompile(NodeNamePattern)

// ValidNode reports whether name is a syntactically valid node name.
func ValidNode(name string) bool { return len(name) <= 63 && nodeRE.MatchString(name) }

// ValidVMID reports whether id is in Proxmox's VMID range.
func ValidVMID(id int) bool { return id >= MinVMID && id <= MaxVMID }

// GuestType is "qemu" (VM) or "lxc" (container), as in API paths.
type GuestType string

// Guest types.
const (
	TypeQemu GuestType = "qemu"
	TypeLXC  GuestType = "lxc"
)

// Valid reports a known guest type.
func (t GuestType) Valid() bool { return t == TypeQemu || t == TypeLXC }

func invalidf(format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, msg: fmt.Sprintf(format, args...)}
}

func checkNode(node string) error {
	if !ValidNode(node) {
		return invalidf("invalid node name %q", node)
	}
	return nil
}

func checkGuest(node string, t GuestType, vmid int) error {
	if err := checkNode(node); err != nil {
		return err
	}
	if !t.Valid() {
		return invalidf("invalid guest type %q (want qemu or lxc)", t)
	}
	if !ValidVMID(vmid) {
		return invalidf("invalid VMID %d (must be %d..%d)", vmid, MinVMID, MaxVMID)
	}
	return nil
}

// guestPath is /nodes/{node}/{qemu|lxc}/{vmid}[/rest...]; callers validate first.
func guestPath(node string, t GuestType, vmid int, rest ...string) string {
	return apiPath(append([]string{"nodes", node, string(t), strconv.Itoa(vmid)}, rest...)...)
}

// apiPath joins escaped segments into an API path ("/a/b").
func apiPath(segments ...string) string {
	var b strings.Builder
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// checkPath refuses paths that could leave the API subtree or smuggle a query.
func checkPath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return invalidf("API path %q must start with /", p)
	}
	if strings.ContainsAny(p, "?#\\\x00") {
		return invalidf("API path %q contains a forbidden character", p)
	}
	for _, seg := range strings.Split(p[1:], "/") {
		dec, err := url.PathUnescape(seg)
		if err != nil || seg == "" || dec == "." || dec == ".." || strings.Contains(dec, "/") {
			return invalidf("API path %q has an invalid segment", p)
		}
	}
	return nil
}
