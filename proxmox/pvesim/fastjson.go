package pvesim

import (
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"
)

// obj is a JSON object with its keys in insertion order, encoded without
// reflection: the hot lists (10,000 guests) are built from it.
type obj []kv

type kv struct {
	k string
	v any
}

func (o obj) set(k string, v any) obj { return append(o, kv{k, v}) }

func (o obj) MarshalJSON() ([]byte, error) { return o.appendTo(make([]byte, 0, 48*len(o))) }

func (o obj) appendTo(b []byte) ([]byte, error) {
	b = append(b, '{')
	for i, e := range o {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, e.k)
		b = append(b, ':')
		var err error
		if b, err = appendJSONValue(b, e.v); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

func appendJSONValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendJSONString(b, x), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return append(b, "null"...), nil
		}
		return strconv.AppendFloat(b, x, 'g', -1, 64), nil
	case obj:
		return x.appendTo(b)
	case []any:
		// encoding/json would re-validate every obj's output; lists of
		// thousands of entries are written directly instead.
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSONValue(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	}
	j, err := json.Marshal(v)
	return append(b, j...), err
}

// marshalData encodes a handler result.
func marshalData(v any) ([]byte, error) {
	switch v := v.(type) {
	case obj, []any:
		return appendJSONValue(nil, v)
	case rrdJSON:
		// Written by rrd.go itself and byte-checked against encoding/json
		// in rrd_test.go: a second validation pass would only cost time.
		return v, nil
	}
	return json.Marshal(v)
}

// appendJSONString quotes s as JSON (control characters, quote and
// backslash escaped; UTF-8 kept as is, as Perl's JSON::XS writes it).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
