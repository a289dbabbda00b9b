package proxmox

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Resource is one entry of GET /cluster/resources (guest, node, storage, pool,
// sdn or network). Sizes are bytes, CPU is a fraction of MaxCPU.
type Resource struct {
	ID         string `json:"id"`
	Type       string `json:"type"` // qemu, lxc, node, storage, pool, sdn, network
	Node       string `json:"node"`
	Name       string `json:"name"`
	Status     string `json:"status"`
	VMID       Int    `json:"vmid"`
	Template   Bool   `json:"template"`
	CPU        Num    `json:"cpu"`
	MaxCPU     Num    `json:"maxcpu"`
	Mem        Int    `json:"mem"`
	MaxMem     Int    `json:"maxmem"`
	MemHost    Int    `json:"memhost"`
	Disk       Int    `json:"disk"`
	MaxDisk    Int    `json:"maxdisk"`
	NetIn      Int    `json:"netin"`
	NetOut     Int    `json:"netout"`
	DiskRead   Int    `json:"diskread"`
	DiskWrite  Int    `json:"diskwrite"`
	Uptime     Int    `json:"uptime"`
	Tags       string `json:"tags"`
	Lock       string `json:"lock"`
	Pool       string `json:"pool"`
	HAState    string `json:"hastate"`
	Storage    string `json:"storage"`
	PluginType string `json:"plugintype"`
	Content    string `json:"content"`
	Shared     Bool   `json:"shared"`
	Level      string `json:"level"`
}

// IsGuest reports a VM or container entry.
func (r Resource) IsGuest() bool { return r.Type == "qemu" || r.Type == "lxc" }

// Resource type filters accepted by /cluster/resources.
const (
	ResourceVM      = "vm"
	ResourceNode    = "node"
	ResourceStorage = "storage"
	ResourceSDN     = "sdn"
)

// Resources reads GET /cluster/resources, filtered by type ("vm", "node",
// "storage", "sdn") or everything when typ is "".
func (c *Client) Resources(ctx context.Context, typ string) ([]Resource, error) {
	var q url.Values
	if typ != "" {
		switch typ {
		case ResourceVM, ResourceNode, ResourceStorage, ResourceSDN:
		default:
			return nil, invalidf("invalid resource type %q (want vm, node, storage or sdn)", typ)
		}
		q = url.Values{"type": {typ}}
	}
	pq := withQuery("/cluster/resources", q)
	fetch := func() resourceRead {
		a := c.sharedGet(ctx, pq)
		if a.err != nil {
			return resourceRead{a: a, err: a.err}
		}
		rs, err := decodeResourceList(a.body, pq)
		return resourceRead{a: a, rs: rs, err: err}
	}
	r, shared, canceled := c.resFlights.do(ctx, pq, fetch)
	if canceled != nil {
		r = resourceRead{a: answer{err: canceled}, err: canceled}
	}
	if shared && ctx.Err() == nil {
		// The leader's cancellation must not fail a follower still wanted.
		var e *Error
		if errors.As(r.err, &e) && e.Kind == KindCanceled {
			r = fetch()
		}
	}
	a, rs, err := r.a, r.rs, r.err
	RecorderFrom(ctx).Add(callOf("GET", pq, a))
	if err != nil {
		return nil, err
	}
	// Each caller gets its own copy of the list (callers sort and filter
	// in place); the strings stay shared.
	return slices.Clone(rs), nil
}

func decodeResourceList(body []byte, pq string) ([]Resource, error) {
	if out, ok := decodeResources(body); ok {
		return out, nil
	}
	// Anything the fast decoder does not take (another value form, invalid
	// JSON) goes through encoding/json, which also words the errors.
	var out []Resource
	if err := decodeAnswer(body, &out, "GET", pq); err != nil {
		return nil, err
	}
	return out, nil
}

// decodeResources decodes a /cluster/resources answer ({"data":[{...},...]})
// without reflection: a 10,000-guest cluster answers with megabytes, and
// encoding/json spends most of a list_guests call on it. Strings without
// escapes share one copy of the body instead of one allocation each. It
// takes only what it decodes exactly as encoding/json into []Resource would
// (flat entries, known keys spelled exactly, valid UTF-8, valid JSON) and
// reports false for anything else, which the caller then hands to
// encoding/json.
func decodeResources(body []byte) ([]Resource, bool) {
	d := resDecoder{s: string(body)}
	out, ok := d.envelope()
	if !ok || d.ws(d.i) != len(d.s) {
		return nil, false
	}
	return out, true
}

type resDecoder struct {
	s string
	i int
}

func (d *resDecoder) ws(i int) int {
	for i < len(d.s) && isSpace(d.s[i]) {
		i++
	}
	return i
}

// next skips white space and consumes c.
func (d *resDecoder) next(c byte) bool {
	d.i = d.ws(d.i)
	if d.i < len(d.s) && d.s[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *resDecoder) peek() byte {
	d.i = d.ws(d.i)
	if d.i < len(d.s) {
		return d.s[d.i]
	}
	return 0
}

// envelope reads {"data":[...], other members skipped}.
func (d *resDecoder) envelope() ([]Resource, bool) {
	if !d.next('{') {
		return nil, false
	}
	var out []Resource
	seen := false
	if d.next('}') {
		return nil, false // no data: encoding/json's answer is nil too, but let it say so
	}
	for {
		key, ok := d.key()
		if !ok {
			return nil, false
		}
		if key == "data" {
			if seen {
				return nil, false
			}
			seen = true
			if out, ok = d.list(); !ok {
				return nil, false
			}
		} else if strings.EqualFold(key, "data") || !d.skip(0) {
			return nil, false
		}
		if d.next(',') {
			continue
		}
		if d.next('}') && seen {
			return out, true
		}
		return nil, false
	}
}

// key reads a member name without escapes and the colon after it.
func (d *resDecoder) key() (string, bool) {
	if d.peek() != '"' {
		return "", false
	}
	k, raw, ok := d.str()
	if !ok || raw || !d.next(':') {
		return "", false
	}
	return k, true
}

// str reads a string at d.i (the quote). raw reports escapes: then the
// returned text is the quoted token, to decode with encoding/json.
func (d *resDecoder) str() (string, bool, bool) {
	start := d.i + 1
	ascii := true
	for i := start; i < len(d.s); i++ {
		c := d.s[i]
		switch {
		case c == '"':
			d.i = i + 1
			v := d.s[start:i]
			if !ascii && !utf8.ValidString(v) {
				return "", false, false // encoding/json substitutes U+FFFD
			}
			return v, false, true
		case c == '\\':
			return d.escaped()
		case c < 0x20:
			return "", false, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", false, false
}

// escaped finds the end of a string with escapes and decodes it.
func (d *resDecoder) escaped() (string, bool, bool) {
	start := d.i
	for i := start + 1; i < len(d.s); i++ {
		switch c := d.s[i]; {
		case c == '\\':
			i++
		case c == '"':
			var v string
			if err := json.Unmarshal([]byte(d.s[start:i+1]), &v); err != nil || !utf8.ValidString(d.s[start:i+1]) {
				return "", false, false
			}
			d.i = i + 1
			return v, true, true
		case c < 0x20:
			return "", false, false
		}
	}
	return "", false, false
}

func (d *resDecoder) list() ([]Resource, bool) {
	if !d.next('[') {
		return nil, false
	}
	// About 300 bytes per entry on the wire.
	out := make([]Resource, 0, (len(d.s)-d.i)/300+1)
	if d.next(']') {
		return out, true
	}
	for {
		out = append(out, Resource{})
		if !d.entry(&out[len(out)-1]) {
			return nil, false
		}
		if d.next(',') {
			continue
		}
		if d.next(']') {
			return out, true
		}
		return nil, false
	}
}

func (d *resDecoder) entry(r *Resource) bool {
	if !d.next('{') {
		return false
	}
	if d.next('}') {
		return true
	}
	for {
		key, ok := d.key()
		if !ok || !d.field(r, key) {
			return false
		}
		if d.next(',') {
			continue
		}
		return d.next('}')
	}
}

// field decodes one member into r.
func (d *resDecoder) field(r *Resource, key string) bool {
	var sp *string
	var ip *Int
	var np *Num
	var bp *Bool
	switch key {
	case "id":
		sp = &r.ID
	case "type":
		sp = &r.Type
	case "node":
		sp = &r.Node
	case "name":
		sp = &r.Name
	case "status":
		sp = &r.Status
	case "tags":
		sp = &r.Tags
	case "lock":
		sp = &r.Lock
	case "pool":
		sp = &r.Pool
	case "hastate":
		sp = &r.HAState
	case "storage":
		sp = &r.Storage
	case "plugintype":
		sp = &r.PluginType
	case "content":
		sp = &r.Content
	case "level":
		sp = &r.Level
	case "vmid":
		ip = &r.VMID
	case "mem":
		ip = &r.Mem
	case "maxmem":
		ip = &r.MaxMem
	case "memhost":
		ip = &r.MemHost
	case "disk":
		ip = &r.Disk
	case "maxdisk":
		ip = &r.MaxDisk
	case "netin":
		ip = &r.NetIn
	case "netout":
		ip = &r.NetOut
	case "diskread":
		ip = &r.DiskRead
	case "diskwrite":
		ip = &r.DiskWrite
	case "uptime":
		ip = &r.Uptime
	case "cpu":
		np = &r.CPU
	case "maxcpu":
		np = &r.MaxCPU
	case "template":
		bp = &r.Template
	case "shared":
		bp = &r.Shared
	default:
		// encoding/json also matches keys case-insensitively.
		if foldsToField(key) {
			return false
		}
		return d.skip(0)
	}
	c := d.peek()
	switch {
	case sp != nil:
		switch c {
		case '"':
			v, _, ok := d.str()
			*sp = v
			return ok
		case 'n':
			return d.lit("null") // encoding/json leaves the field as is
		}
		return false
	case c == '"' || c == 'n' || c == 't' || c == 'f':
		// Numeric strings, null and booleans: the types' own decoding.
		start := d.i
		if !d.skip(0) {
			return false
		}
		raw := []byte(d.s[start:d.i])
		switch {
		case ip != nil:
			return ip.UnmarshalJSON(raw) == nil
		case np != nil:
			return np.UnmarshalJSON(raw) == nil
		}
		return bp.UnmarshalJSON(raw) == nil
	}
	num, isInt, ok := d.number()
	if !ok {
		return false
	}
	switch {
	case ip != nil:
		// As Int.UnmarshalJSON: an integer, else a float truncated.
		if isInt {
			v, err := strconv.ParseInt(num, 10, 64)
			if err == nil {
				*ip = Int(v)
				return true
			}
		}
		f, err := strconv.ParseFloat(num, 64)
		*ip = Int(f)
		return err == nil
	case np != nil:
		f, err := strconv.ParseFloat(num, 64)
		*np = Num(f)
		return err == nil
	}
	switch num {
	case "0":
		*bp = false
	case "1":
		*bp = true
	default:
		f, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return false
		}
		*bp = f != 0
	}
	return true
}

var resourceKeys = []string{"id", "type", "node", "name", "status", "tags", "lock", "pool", "hastate", "storage",
	"plugintype", "content", "level", "vmid", "mem", "maxmem", "memhost", "disk", "maxdisk", "netin", "netout",
	"diskread", "diskwrite", "uptime", "cpu", "maxcpu", "template", "shared"}

func foldsToField(key string) bool {
	for _, k := range resourceKeys {
		if strings.EqualFold(k, key) {
			return true
		}
	}
	return false
}

// number reads a JSON number; isInt reports no fraction or exponent.
func (d *resDecoder) number() (string, bool, bool) {
	end, isInt := scanNumber(d.s, d.i)
	if end < 0 {
		return "", false, false
	}
	tok := d.s[d.i:end]
	d.i = end
	return tok, isInt, true
}

func (d *resDecoder) lit(word string) bool {
	if strings.HasPrefix(d.s[d.i:], word) {
		d.i += len(word)
		return true
	}
	return false
}

// skip checks and passes over any JSON value.
func (d *resDecoder) skip(depth int) bool {
	if depth > 64 {
		return false
	}
	switch d.peek() {
	case '"':
		_, _, ok := d.str()
		return ok
	case 't':
		return d.lit("true")
	case 'f':
		return d.lit("false")
	case 'n':
		return d.lit("null")
	case '{':
		d.i++
		if d.next('}') {
			return true
		}
		for {
			if _, ok := d.key(); !ok || !d.skip(depth+1) {
				return false
			}
			if d.next(',') {
				continue
			}
			return d.next('}')
		}
	case '[':
		d.i++
		if d.next(']') {
			return true
		}
		for {
			if !d.skip(depth + 1) {
				return false
			}
			if d.next(',') {
				continue
			}
			return d.next(']')
		}
	}
	_, _, ok := d.number()
	return ok
}
