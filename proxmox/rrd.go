package proxmox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// RRD timeframes and consolidation functions Proxmox accepts (NOTES §2.9).
// "decade" exists for nodes only.
var (
	RRDTimeframes = []string{"hour", "day", "week", "month", "year"}
	RRDCFs        = []string{"AVERAGE", "MAX"}
)

// RRDRow is one RRD record: its time (epoch seconds) and the data sources it
// holds. Proxmox omits undefined (NaN) sources, so a row may hold only some
// fields, or none.
type RRDRow struct {
	Time   int64
	Values map[string]float64
}

// UnmarshalJSON reads {"time":N, "<ds>":<number or numeric string>, ...}.
// A value that is not a number is dropped rather than failing the series.
// RRD answers are large (a day of a node is 1440 rows of 20 fields), so flat
// rows take a fast path; anything unusual falls back to encoding/json.
func (r *RRDRow) UnmarshalJSON(b []byte) error {
	if r.fastDecode(b) {
		return nil
	}
	return r.slowDecode(b)
}

func (r *RRDRow) slowDecode(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	r.Time = 0
	r.Values = make(map[string]float64, len(raw))
	for k, v := range raw {
		if k == "time" {
			var t Int
			if err := t.UnmarshalJSON(v); err != nil {
				return fmt.Errorf("rrd time: %w", err)
			}
			r.Time = int64(t)
			continue
		}
		text := string(bytes.TrimSpace(v))
		if u, ok := unquote([]byte(text)); ok {
			text = strings.TrimSpace(u)
		}
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			continue // "", null, "N/A": undefined, not 0
		}
		r.Values[k] = f
	}
	return nil
}

// rrdNames interns the data-source names so rows do not allocate keys.
var rrdNames = func() map[string]string {
	m := map[string]string{}
	for _, n := range strings.Fields(`loadavg maxcpu cpu iowait memtotal memused swaptotal swapused roottotal rootused
		netin netout memavailable arcsize pressurecpusome pressurecpufull pressureiosome pressureiofull pressurememorysome
		pressurememoryfull maxmem mem maxdisk disk diskread diskwrite memhost total used`) {
		m[n] = n
	}
	return m
}()

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// fastDecode reads a flat object whose keys have no escapes and whose values
// are numbers, plain strings or null. It reports false (leaving the row to
// the slow path) for anything else. encoding/json has validated b already.
func (r *RRDRow) fastDecode(b []byte) bool {
	skip := func(i int) int {
		for i < len(b) && isSpace(b[i]) {
			i++
		}
		return i
	}
	i := skip(0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	r.Time = 0
	r.Values = make(map[string]float64, 20)
	i++
	for {
		i = skip(i)
		if i >= len(b) {
			return false
		}
		if b[i] == '}' {
			return true
		}
		if b[i] != '"' {
			return false
		}
		j := bytes.IndexByte(b[i+1:], '"')
		if j < 0 {
			return false
		}
		key := b[i+1 : i+1+j]
		if bytes.IndexByte(key, '\\') >= 0 || !utf8.Valid(key) {
			return false
		}
		i = skip(i + 2 + j)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skip(i + 1)
		if i >= len(b) {
			return false
		}
		var val []byte
		switch b[i] {
		case '{', '[':
			return false
		case '"':
			k := bytes.IndexByte(b[i+1:], '"')
			if k < 0 {
				return false
			}
			val = b[i+1 : i+1+k]
			if bytes.IndexByte(val, '\\') >= 0 || !utf8.Valid(val) {
				return false
			}
			val = bytes.TrimSpace(val)
			i += k + 2
		default:
			k := i
			for k < len(b) && b[k] != ',' && b[k] != '}' && !isSpace(b[k]) {
				k++
			}
			val = b[i:k]
			i = k
		}
		if string(key) == "time" {
			t, err := strconv.ParseFloat(string(val), 64)
			if err != nil {
				return false
			}
			r.Time = int64(t)
		} else {
			name, ok := rrdNames[string(key)]
			if !ok {
				name = string(key)
			}
			// A repeated key counts by its last value, as in encoding/json.
			if f, err := strconv.ParseFloat(string(val), 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
				r.Values[name] = f
			} else {
				delete(r.Values, name)
			}
		}
		i = skip(i)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i++
		case '}':
			return true
		default:
			return false
		}
	}
}

// RRDFields returns the data-source names present in any row, sorted.
func RRDFields(rows []RRDRow) []string {
	seen := map[string]bool{}
	for _, r := range rows {
		for k := range r.Values {
			seen[k] = true
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func rrdQuery(timeframe, cf string, decade bool) (url.Values, error) {
	ok := false
	for _, t := range RRDTimeframes {
		if t == timeframe {
			ok = true
		}
	}
	if decade && timeframe == "decade" {
		ok = true
	}
	if !ok {
		return nil, invalidf("invalid RRD timeframe %q (want hour, day, week, month or year)", timeframe)
	}
	q := url.Values{"timeframe": {timeframe}}
	switch cf {
	case "":
	case "AVERAGE", "MAX":
		q.Set("cf", cf)
	default:
		return nil, invalidf("invalid RRD consolidation %q (want AVERAGE or MAX)", cf)
	}
	return q, nil
}

// NodeRRD reads GET /nodes/{node}/rrddata (needs Sys.Audit on the node).
// cf "" means Proxmox's default (AVERAGE).
func (c *Client) NodeRRD(ctx context.Context, node, timeframe, cf string) ([]RRDRow, error) {
	if err := checkNode(node); err != nil {
		return nil, err
	}
	q, err := rrdQuery(timeframe, cf, true)
	if err != nil {
		return nil, err
	}
	var out []RRDRow
	err = c.get(ctx, apiPath("nodes", node, "rrddata"), q, &out)
	return out, err
}

// GuestRRD reads GET /nodes/{node}/{qemu|lxc}/{vmid}/rrddata (VM.Audit).
func (c *Client) GuestRRD(ctx context.Context, node string, t GuestType, vmid int, timeframe, cf string) ([]RRDRow, error) {
	if err := checkGuest(node, t, vmid); err != nil {
		return nil, err
	}
	q, err := rrdQuery(timeframe, cf, false)
	if err != nil {
		return nil, err
	}
	var out []RRDRow
	err = c.get(ctx, guestPath(node, t, vmid, "rrddata"), q, &out)
	return out, err
}

// StorageRRD reads GET /nodes/{node}/storage/{storage}/rrddata: total and
// used bytes over time (Datastore.Audit on the storage).
func (c *Client) StorageRRD(ctx context.Context, node, storage, timeframe, cf string) ([]RRDRow, error) {
	if err := checkNode(node); err != nil {
		return nil, err
	}
	if err := checkStorage(storage); err != nil {
		return nil, err
	}
	q, err := rrdQuery(timeframe, cf, false)
	if err != nil {
		return nil, err
	}
	var out []RRDRow
	err = c.get(ctx, apiPath("nodes", node, "storage", storage, "rrddata"), q, &out)
	return out, err
}
