package pvesim

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// param is one parameter of a route, in the terms of the official JSON
// schema (type, optional, enum, minimum, maximum, pattern, format). The
// fidelity test compares every route's list with apidata.json.
type param struct {
	name       string
	typ        string // string, integer, number, boolean
	optional   bool
	enumV      []string
	minV, maxV *float64
	reV        *regexp.Regexp
	format     string
	maxLen     int
	defV       string
}

func pStr(name string) param  { return param{name: name, typ: "string"} }
func pInt(name string) param  { return param{name: name, typ: "integer"} }
func pNum(name string) param  { return param{name: name, typ: "number"} }
func pBool(name string) param { return param{name: name, typ: "boolean"} }

// pArr is an array of strings: repeated form keys or a JSON array (reqCtx.List).
func pArr(name string) param { return param{name: name, typ: "array"} }

func pNode() param { return pStr("node").fmt("pve-node") }
func pVMID() param { return pInt("vmid").fmt("pve-vmid").min(100).max(999999999) }
func pStorage() param {
	return pStr("storage").fmt("pve-storage-id")
}

func (p param) opt() param { p.optional = true; return p }
func (p param) min(v float64) param {
	p.minV = &v
	return p
}
func (p param) max(v float64) param {
	p.maxV = &v
	return p
}
func (p param) enum(v ...string) param { p.enumV = v; return p }

// re sets a pattern; Perl's "(?^:" groups (as apidata.json shows them) are
// accepted, and a pattern RE2 cannot compile is ignored rather than fatal.
func (p param) re(expr string) param {
	if r, err := regexp.Compile(strings.ReplaceAll(expr, "(?^:", "(?:")); err == nil {
		p.reV = r
	}
	return p
}

func (p param) fmt(f string) param    { p.format = f; return p }
func (p param) maxLength(n int) param { p.maxLen = n; return p }
func (p param) def(v string) param    { p.defV = v; return p }

var (
	reInt    = regexp.MustCompile(`^-?\d+$`)
	reNumber = regexp.MustCompile(`^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$`)
	reNode   = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?$`)
	reSID    = regexp.MustCompile(`^[a-z][a-z0-9\-_.]*[a-z0-9]$`)
	reUserID = regexp.MustCompile(`^[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+$`)
	reSizeG  = regexp.MustCompile(`^\+?\d+(\.\d+)?[KMGT]?$`)
	// JSONSchema.pm: pve-configid, pve-poolid, HA resource ids
	reConfigID = regexp.MustCompile(`(?i)^[a-z][a-z0-9_-]+$`)
	rePoolID   = regexp.MustCompile(`^[A-Za-z0-9_\-]+$`)
	reHASID    = regexp.MustCompile(`^((vm|ct):)?\d+$`)
)

// formatCheck validates the few pve formats the simulator's routes use; the
// messages are JSONSchema.pm's.
func formatCheck(format, v string) string {
	switch format {
	case "pve-node":
		if !reNode.MatchString(v) {
			return "invalid format - value does not look like a valid node name"
		}
	case "pve-storage-id":
		if !reSID.MatchString(v) {
			return fmt.Sprintf("invalid format - storage ID '%s' contains illegal characters", v)
		}
	case "pve-userid":
		if !reUserID.MatchString(v) {
			return "invalid format - value does not look like a valid user name"
		}
	case "pve-vmid-list":
		for _, s := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' || r == ' ' }) {
			if n, err := strconv.Atoi(s); err != nil || n < 100 {
				return "invalid format - value does not look like a valid VM ID list"
			}
		}
	case "pve-configid":
		if !reConfigID.MatchString(v) {
			return fmt.Sprintf("invalid format - invalid configuration ID '%s'", v)
		}
	case "pve-poolid":
		if !rePoolID.MatchString(v) {
			return fmt.Sprintf("invalid format - invalid pool ID '%s'", v)
		}
	case "pve-ha-resource-or-vm-id":
		if !reHASID.MatchString(v) {
			return fmt.Sprintf("invalid format - unable to parse HA resource id '%s'", v)
		}
	case "pve-storage-content", "pve-storage-content-list":
		for _, ct := range strings.Split(v, ",") {
			switch ct {
			case "images", "rootdir", "iso", "vztmpl", "backup", "snippets", "import", "none":
			default:
				return fmt.Sprintf("invalid format - invalid content type '%s'", ct)
			}
		}
	case "disk-size":
		if !reSizeG.MatchString(v) {
			return "invalid format - unable to parse size"
		}
	}
	return ""
}

// validateParams checks the merged request parameters against a route's
// spec, producing JSONSchema.pm's per-parameter messages.
func validateParams(specs []param, in map[string]string) map[string]string {
	errs := map[string]string{}
	known := make(map[string]*param, len(specs))
	for i := range specs {
		known[specs[i].name] = &specs[i]
	}
	for k, v := range in {
		if known[k] != nil {
			continue
		}
		// Indexed properties ("scsi[n]" in the schema) accept scsi0..scsiMAX.
		if m := reIndexed.FindStringSubmatch(k); m != nil {
			if p := known[m[1]+"[n]"]; p != nil {
				if n, _ := strconv.Atoi(m[2]); n <= maxIndex(m[1]) && (len(m[2]) == 1 || m[2][0] != '0') {
					if msg := p.check(v); msg != "" {
						errs[k] = msg
					}
					continue
				}
			}
		}
		errs[k] = "property is not defined in schema and the schema does not allow additional properties"
	}
	for _, p := range specs {
		if strings.HasSuffix(p.name, "[n]") {
			continue
		}
		v, ok := in[p.name]
		if !ok {
			if !p.optional {
				errs[p.name] = "property is missing and it is not optional"
			}
			continue
		}
		if msg := p.check(v); msg != "" {
			errs[p.name] = msg
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

func (p *param) check(v string) string {
	switch p.typ {
	case "integer":
		if !reInt.MatchString(v) {
			return fmt.Sprintf("type check ('integer') failed - got '%s'", v)
		}
	case "number":
		if !reNumber.MatchString(v) {
			return fmt.Sprintf("type check ('number') failed - got '%s'", v)
		}
	case "boolean":
		if v != "0" && v != "1" {
			return fmt.Sprintf("type check ('boolean') failed - got '%s'", v)
		}
	}
	if p.typ == "integer" || p.typ == "number" {
		f, _ := strconv.ParseFloat(v, 64)
		if p.minV != nil && f < *p.minV {
			return fmt.Sprintf("value must have a minimum value of %s", fnum(*p.minV))
		}
		if p.maxV != nil && f > *p.maxV {
			return fmt.Sprintf("value must have a maximum value of %s", fnum(*p.maxV))
		}
	}
	if len(p.enumV) > 0 {
		found := false
		for _, e := range p.enumV {
			if e == v {
				found = true
				break
			}
		}
		if !found {
			return fmt.Sprintf("value '%s' does not have a value in the enumeration '%s'", v, strings.Join(p.enumV, ", "))
		}
	}
	if p.maxLen > 0 && len(v) > p.maxLen {
		return fmt.Sprintf("value may only be %d characters long", p.maxLen)
	}
	if p.reV != nil && !p.reV.MatchString(v) {
		return "value does not match the regex pattern"
	}
	if p.format != "" {
		return formatCheck(p.format, v)
	}
	return ""
}

var reIndexed = regexp.MustCompile(`^([a-z_\-]*[a-z_\-])(\d+)$`)

// maxIndex is the highest index of an indexed property (qemu-server, pve-container).
func maxIndex(prefix string) int {
	switch prefix {
	case "ide":
		return 3
	case "sata":
		return 5
	case "scsi":
		return 30
	case "virtio", "hostpci":
		return 15
	case "net", "ipconfig":
		return 31
	case "usb":
		return 14
	case "serial":
		return 3
	case "parallel":
		return 2
	case "numa":
		return 7
	case "virtiofs":
		return 9
	}
	return 255
}

func fnum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
