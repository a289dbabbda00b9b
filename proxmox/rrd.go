package proxmox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
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
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	r.Time = 0
	r.Values = make(map[string]float64, 20)
	i++
	for {
		i = skipWS(b, i)
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
		i = skipWS(b, i+2+j)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipWS(b, i+1)
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
		i = skipWS(b, i)
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

// nodeRRDRequest checks a node RRD request (nodes alone keep a decade)
// and returns its path and query, for both the row and the column form.
func nodeRRDRequest(node, timeframe, cf string) (string, url.Values, error) {
	if err := checkNode(node); err != nil {
		return "", nil, err
	}
	q, err := rrdQuery(timeframe, cf, true)
	return apiPath("nodes", node, "rrddata"), q, err
}

// guestRRDRequest is nodeRRDRequest for a guest.
func guestRRDRequest(node string, t GuestType, vmid int, timeframe, cf string) (string, url.Values, error) {
	if err := checkGuest(node, t, vmid); err != nil {
		return "", nil, err
	}
	q, err := rrdQuery(timeframe, cf, false)
	return guestPath(node, t, vmid, "rrddata"), q, err
}

// storageRRDRequest is nodeRRDRequest for a storage.
func storageRRDRequest(node, storage, timeframe, cf string) (string, url.Values, error) {
	if err := checkNode(node); err != nil {
		return "", nil, err
	}
	if err := checkStorage(storage); err != nil {
		return "", nil, err
	}
	q, err := rrdQuery(timeframe, cf, false)
	return apiPath("nodes", node, "storage", storage, "rrddata"), q, err
}

// NodeRRD reads GET /nodes/{node}/rrddata (needs Sys.Audit on the node).
// cf "" means Proxmox's default (AVERAGE).
func (c *Client) NodeRRD(ctx context.Context, node, timeframe, cf string) ([]RRDRow, error) {
	path, q, err := nodeRRDRequest(node, timeframe, cf)
	if err != nil {
		return nil, err
	}
	var out []RRDRow
	err = c.get(ctx, path, q, &out)
	return out, err
}

// GuestRRD reads GET /nodes/{node}/{qemu|lxc}/{vmid}/rrddata (VM.Audit).
func (c *Client) GuestRRD(ctx context.Context, node string, t GuestType, vmid int, timeframe, cf string) ([]RRDRow, error) {
	path, q, err := guestRRDRequest(node, t, vmid, timeframe, cf)
	if err != nil {
		return nil, err
	}
	var out []RRDRow
	err = c.get(ctx, path, q, &out)
	return out, err
}

// StorageRRD reads GET /nodes/{node}/storage/{storage}/rrddata: total and
// used bytes over time (Datastore.Audit on the storage).
func (c *Client) StorageRRD(ctx context.Context, node, storage, timeframe, cf string) ([]RRDRow, error) {
	path, q, err := storageRRDRequest(node, storage, timeframe, cf)
	if err != nil {
		return nil, err
	}
	var out []RRDRow
	err = c.get(ctx, path, q, &out)
	return out, err
}

// RRDSeries is an RRD answer reduced to the data sources a caller asked
// for, held column-wise: a capacity report reads a week of every running
// guest (1,000 × 336 rows) and keeps two fields of each, so rows of maps
// would be mostly garbage.
type RRDSeries struct {
	Time   []int64     // row times, in the answer's order (oldest first)
	Fields []string    // the data sources asked for, in that order
	Values [][]float64 // Values[f][i] is Fields[f] at Time[i]; NaN where Proxmox omitted it
}

// Column returns the values of one field, nil if it was not asked for.
func (s *RRDSeries) Column(name string) []float64 {
	for i, f := range s.Fields {
		if f == name {
			return s.Values[i]
		}
	}
	return nil
}

// Len is the number of rows.
func (s *RRDSeries) Len() int { return len(s.Time) }

// GuestRRDSeries is GuestRRD keeping only the named data sources.
func (c *Client) GuestRRDSeries(ctx context.Context, node string, t GuestType, vmid int, timeframe, cf string, fields ...string) (*RRDSeries, error) {
	path, q, err := guestRRDRequest(node, t, vmid, timeframe, cf)
	if err != nil {
		return nil, err
	}
	return c.rrdSeries(ctx, path, q, fields)
}

// NodeRRDSeries is NodeRRD keeping only the named data sources.
func (c *Client) NodeRRDSeries(ctx context.Context, node, timeframe, cf string, fields ...string) (*RRDSeries, error) {
	path, q, err := nodeRRDRequest(node, timeframe, cf)
	if err != nil {
		return nil, err
	}
	return c.rrdSeries(ctx, path, q, fields)
}

// StorageRRDSeries is StorageRRD keeping only the named data sources.
func (c *Client) StorageRRDSeries(ctx context.Context, node, storage, timeframe, cf string, fields ...string) (*RRDSeries, error) {
	path, q, err := storageRRDRequest(node, storage, timeframe, cf)
	if err != nil {
		return nil, err
	}
	return c.rrdSeries(ctx, path, q, fields)
}

func (c *Client) rrdSeries(ctx context.Context, path string, q url.Values, fields []string) (*RRDSeries, error) {
	pq, a, err := c.read(ctx, path, q)
	if err != nil {
		return nil, err
	}
	return decodeRRDSeries(a.body, fields, "GET", pq)
}

// decodeRRDSeries reads {"data":[rows]} in one pass without building rows.
// Anything outside the plain shape Proxmox writes (escapes, nested values,
// other members, invalid JSON) goes through the RRDRow decoder instead, so
// both give the same values and the same errors.
func decodeRRDSeries(body []byte, fields []string, method, pq string) (*RRDSeries, error) {
	s := &RRDSeries{Fields: fields, Values: make([][]float64, len(fields))}
	if scanRRDSeries(body, s) {
		return s, nil
	}
	var rows []RRDRow
	if err := decodeAnswer(body, &rows, method, pq); err != nil {
		return nil, err
	}
	return SeriesOf(rows, fields...), nil
}

// SeriesOf turns rows into a series of the named fields.
func SeriesOf(rows []RRDRow, fields ...string) *RRDSeries {
	s := &RRDSeries{Fields: fields, Time: make([]int64, len(rows)), Values: make([][]float64, len(fields))}
	for f, name := range fields {
		col := make([]float64, len(rows))
		for i, r := range rows {
			v, ok := r.Values[name]
			if !ok {
				v = math.NaN()
			}
			col[i] = v
		}
		s.Values[f] = col
	}
	for i, r := range rows {
		s.Time[i] = r.Time
	}
	return s
}

// jsonText is what the hand-written decoders scan: an answer body, or the
// string that shares its bytes (decodeResources).
type jsonText interface{ ~string | ~[]byte }

// skipWS returns the index of the first non-space byte at or after i.
func skipWS(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// scanNumber returns the end of the JSON number token (RFC 8259 grammar)
// starting at i, or -1; isInt reports no fraction or exponent.
func scanNumber[T jsonText](b T, i int) (end int, isInt bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = skipDigits(b, i)
	default:
		return -1, false
	}
	isInt = true
	if i < len(b) && b[i] == '.' {
		isInt = false
		d := i + 1
		if i = skipDigits(b, d); i == d {
			return -1, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		isInt = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		if i = skipDigits(b, d); i == d {
			return -1, false
		}
	}
	return i, isInt
}

// skipDigits returns the index of the first non-digit at or after i.
func skipDigits[T jsonText](b T, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// plainKeyByte marks the bytes a key may hold on the scanner's path:
// printable ASCII but the quote and the backslash.
var plainKeyByte = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// rrdTime reads a row's time as RRDRow does (int64 of the parsed float);
// epoch seconds are plain digits, which need no float parsing.
func rrdTime(val []byte) (int64, bool) {
	if len(val) > 0 && len(val) <= 15 {
		var t int64
		for _, c := range val {
			if c < '0' || c > '9' {
				goto general
			}
			t = t*10 + int64(c-'0')
		}
		return t, true
	}
general:
	t, err := strconv.ParseFloat(string(val), 64)
	if val == nil || err != nil {
		return 0, false
	}
	return int64(t), true
}

// expect skips spaces, then consumes c; -1 if c is not there.
func expect(b []byte, i int, c byte) int {
	i = skipWS(b, i)
	if i < len(b) && b[i] == c {
		return i + 1
	}
	return -1
}

// scanRRDSeries fills s from a body of exactly the form
// {"data":[{"key":scalar,...},...]} with plain ASCII keys and strings
// without escapes or control characters; false means "use the general
// decoder" (it never means a wrong value). It runs once per guest of a
// capacity report, hence one flat loop.
func scanRRDSeries(b []byte, s *RRDSeries) bool {
	i := expect(b, 0, '{')
	if i < 0 {
		return false
	}
	i = skipWS(b, i)
	if !bytes.HasPrefix(b[i:], []byte(`"data"`)) {
		return false
	}
	if i = expect(b, i+6, ':'); i < 0 {
		return false
	}
	if i = expect(b, i, '['); i < 0 {
		return false
	}
	n := len(s.Fields)
	// A capacity hint: every row is an object (a string holding a brace
	// only makes it larger). Proxmox sends at most 1,440 rows; a larger
	// hint is not trusted.
	if rows := min(bytes.Count(b, []byte{'{'})-1, 2048); rows > 0 {
		s.Time = make([]int64, 0, rows)
		for f := range s.Values {
			s.Values[f] = make([]float64, 0, rows)
		}
	}
	i = skipWS(b, i)
	if i < len(b) && b[i] == ']' {
		i++
	} else {
		for {
			if i = expect(b, i, '{'); i < 0 {
				return false
			}
			row := len(s.Time)
			s.Time = append(s.Time, 0)
			for f := 0; f < n; f++ {
				s.Values[f] = append(s.Values[f], math.NaN())
			}
			i = skipWS(b, i)
			if i < len(b) && b[i] == '}' {
				i++
			} else {
				for {
					// Key: plain ASCII.
					if i >= len(b) || b[i] != '"' {
						return false
					}
					j := i + 1
					for j < len(b) && plainKeyByte[b[j]] {
						j++
					}
					if j >= len(b) || b[j] != '"' {
						return false
					}
					key := b[i+1 : j]
					if i = expect(b, j+1, ':'); i < 0 {
						return false
					}
					i = skipWS(b, i)
					if i >= len(b) {
						return false
					}
					// Value: the text to parse as a number (a number token
					// or a string's content), nil for null, true and false.
					var val []byte
					switch c := b[i]; {
					case c == '"':
						j = i + 1
						ascii := true
						for j < len(b) && b[j] != '"' && b[j] != '\\' && b[j] >= 0x20 {
							if b[j] >= utf8.RuneSelf {
								ascii = false
							}
							j++
						}
						if j >= len(b) || b[j] != '"' {
							return false
						}
						val = b[i+1 : j]
						if !ascii && !utf8.Valid(val) {
							return false // encoding/json replaces invalid UTF-8
						}
						val = bytes.TrimSpace(val) // as RRDRow; nil when empty
						i = j + 1
					case c == '-' || c >= '0' && c <= '9':
						if j, _ = scanNumber(b, i); j < 0 {
							return false
						}
						val = b[i:j]
						i = j
					case bytes.HasPrefix(b[i:], []byte("null")):
						i += 4
					case bytes.HasPrefix(b[i:], []byte("true")):
						i += 4
					case bytes.HasPrefix(b[i:], []byte("false")):
						i += 5
					default:
						return false // objects, arrays, invalid
					}
					if string(key) == "time" {
						// As RRDRow: a number or numeric string; else the general path.
						t, ok := rrdTime(val)
						if !ok {
							return false
						}
						s.Time[row] = t
					} else {
						for f := 0; f < n; f++ {
							if string(key) != s.Fields[f] {
								continue
							}
							v := math.NaN() // a later duplicate that is not a number unsets it
							if val != nil {
								if x, err := strconv.ParseFloat(string(val), 64); err == nil && !math.IsInf(x, 0) {
									v = x
								}
							}
							s.Values[f][row] = v
						}
					}
					i = skipWS(b, i)
					if i < len(b) && b[i] == ',' {
						i = skipWS(b, i+1)
						continue
					}
					if i < len(b) && b[i] == '}' {
						i++
						break
					}
					return false
				}
			}
			i = skipWS(b, i)
			if i < len(b) && b[i] == ',' {
				i++
				continue
			}
			if i < len(b) && b[i] == ']' {
				i++
				break
			}
			return false
		}
	}
	if i = expect(b, i, '}'); i < 0 {
		return false
	}
	return skipWS(b, i) == len(b)
}
