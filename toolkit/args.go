package toolkit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/pvemcp/pvemcp/proxmox"
)

// ArgError is a bad tool argument. Its message names the argument and is
// meant for the model to correct its call.
type ArgError struct {
	Arg string
	Msg string
}

func (e *ArgError) Error() string {
	if e.Arg == "" {
		return e.Msg
	}
	return fmt.Sprintf("argument %q: %s", e.Arg, e.Msg)
}

// Validator may be implemented by an argument struct for checks across
// fields; it runs after every field passed its own checks.
type Validator interface {
	Validate() error
}

var patternCache sync.Map // pattern -> *regexp.Regexp

func compiled(p string) *regexp.Regexp {
	if re, ok := patternCache.Load(p); ok {
		return re.(*regexp.Regexp)
	}
	re := regexp.MustCompile(p)
	patternCache.Store(p, re)
	return re
}

// decodeArgs strictly decodes raw JSON arguments into a new value of t
// (a struct type) described by s.
func decodeArgs(raw json.RawMessage, t reflect.Type, s *Schema) (reflect.Value, error) {
	v := reflect.New(t).Elem()
	raw = bytes.TrimSpace(raw)
	fields := map[string]json.RawMessage{}
	if len(raw) > 0 && string(raw) != "null" {
		if raw[0] != '{' {
			return v, &ArgError{Msg: "arguments must be a JSON object"}
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&fields); err != nil {
			return v, &ArgError{Msg: "arguments are not valid JSON: " + err.Error()}
		}
	}
	// Unknown keys first, in a stable order, so the message is deterministic.
	for _, k := range sortedKeys(fields) {
		if s.Properties[k] == nil {
			allowed := "none"
			if len(s.PropertyOrder) > 0 {
				allowed = strings.Join(s.PropertyOrder, ", ")
			}
			return v, &ArgError{Arg: k, Msg: "unknown argument; this tool accepts: " + allowed}
		}
	}
	for _, p := range properties(s, t) {
		rawv, present := fields[p.name]
		if present && string(bytes.TrimSpace(rawv)) == "null" {
			present = false
		}
		switch {
		case present:
		case slices.Contains(s.Required, p.name):
			return v, &ArgError{Arg: p.name, Msg: "is required"}
		case p.schema.Default != nil:
			rawv = p.schema.Default
		default:
			continue
		}
		if err := decodeValue(rawv, v.FieldByIndex(p.field.Index), p.schema, p.name); err != nil {
			return v, err
		}
	}
	if val, ok := v.Addr().Interface().(Validator); ok {
		if err := val.Validate(); err != nil {
			if _, isArg := err.(*ArgError); isArg {
				return v, err
			}
			return v, &ArgError{Msg: err.Error()}
		}
	}
	return v, nil
}

func decodeValue(raw json.RawMessage, fv reflect.Value, s *Schema, name string) error {
	if fv.Kind() == reflect.Pointer {
		nv := reflect.New(fv.Type().Elem())
		if err := decodeValue(raw, nv.Elem(), s, name); err != nil {
			return err
		}
		fv.Set(nv)
		return nil
	}
	raw = bytes.TrimSpace(raw)
	switch s.Type {
	case "string":
		var str string
		if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &str) != nil {
			return &ArgError{Arg: name, Msg: "must be a string, got " + jsonKind(raw)}
		}
		if err := checkString(str, s, name); err != nil {
			return err
		}
		fv.SetString(str)
	case "integer":
		n, err := parseInteger(raw)
		if err != nil {
			return &ArgError{Arg: name, Msg: err.Error()}
		}
		if err := checkRange(float64(n), s, name, raw); err != nil {
			return err
		}
		if fv.CanInt() {
			if fv.OverflowInt(n) {
				return &ArgError{Arg: name, Msg: "is out of range"}
			}
			fv.SetInt(n)
		} else {
			if n < 0 || fv.OverflowUint(uint64(n)) {
				return &ArgError{Arg: name, Msg: "is out of range"}
			}
			fv.SetUint(uint64(n))
		}
	case "number":
		var num json.Number
		if json.Unmarshal(raw, &num) != nil || len(raw) == 0 || raw[0] == '"' {
			return &ArgError{Arg: name, Msg: "must be a number, got " + jsonKind(raw)}
		}
		f, err := num.Float64()
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return &ArgError{Arg: name, Msg: "must be a finite number"}
		}
		if err := checkRange(f, s, name, raw); err != nil {
			return err
		}
		fv.SetFloat(f)
	case "boolean":
		switch string(raw) {
		case "true":
			fv.SetBool(true)
		case "false":
			fv.SetBool(false)
		default:
			return &ArgError{Arg: name, Msg: "must be true or false, got " + jsonKind(raw)}
		}
	case "array":
		var items []json.RawMessage
		if len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &items) != nil {
			return &ArgError{Arg: name, Msg: "must be an array, got " + jsonKind(raw)}
		}
		if s.MaxItems != nil && len(items) > *s.MaxItems {
			return &ArgError{Arg: name, Msg: fmt.Sprintf("has %d items, at most %d allowed", len(items), *s.MaxItems)}
		}
		sl := reflect.MakeSlice(fv.Type(), len(items), len(items))
		for i, it := range items {
			if err := decodeValue(it, sl.Index(i), s.Items, fmt.Sprintf("%s[%d]", name, i)); err != nil {
				return err
			}
		}
		fv.Set(sl)
	default:
		// Nested objects: strict standard decoding.
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(fv.Addr().Interface()); err != nil {
			return &ArgError{Arg: name, Msg: "invalid value: " + err.Error()}
		}
	}
	return nil
}

func parseInteger(raw json.RawMessage) (int64, error) {
	if len(raw) == 0 || !(raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9')) {
		return 0, fmt.Errorf("must be an integer, got %s", jsonKind(raw))
	}
	s := string(raw)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	// Accept 100.0 and 1e2 when integral; reject fractions and overflow.
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) {
		return 0, fmt.Errorf("must be an integer, got %s", s)
	}
	if f > math.MaxInt64/2 || f < math.MinInt64/2 {
		return 0, fmt.Errorf("is out of range, got %s", s)
	}
	return int64(f), nil
}

func checkRange(f float64, s *Schema, name string, raw json.RawMessage) error {
	lo, hi := s.Minimum, s.Maximum
	if (lo != nil && f < *lo) || (hi != nil && f > *hi) {
		switch {
		case lo != nil && hi != nil:
			return &ArgError{Arg: name, Msg: fmt.Sprintf("must be between %s and %s, got %s", fmtNum(*lo), fmtNum(*hi), raw)}
		case lo != nil:
			return &ArgError{Arg: name, Msg: fmt.Sprintf("must be at least %s, got %s", fmtNum(*lo), raw)}
		default:
			return &ArgError{Arg: name, Msg: fmt.Sprintf("must be at most %s, got %s", fmtNum(*hi), raw)}
		}
	}
	return nil
}

func checkString(str string, s *Schema, name string) error {
	if !utf8.ValidString(str) {
		return &ArgError{Arg: name, Msg: "is not valid UTF-8"}
	}
	if s.MaxLength != nil && utf8.RuneCountInString(str) > *s.MaxLength {
		return &ArgError{Arg: name, Msg: fmt.Sprintf("is longer than %d characters", *s.MaxLength)}
	}
	if len(s.Enum) > 0 && !slices.Contains(s.Enum, any(str)) {
		vals := make([]string, len(s.Enum))
		for i, e := range s.Enum {
			vals[i] = fmt.Sprint(e)
		}
		return &ArgError{Arg: name, Msg: fmt.Sprintf("must be one of %s, got %q", strings.Join(vals, ", "), clip(str))}
	}
	switch {
	case s.Pattern == "" || compiled(s.Pattern).MatchString(str):
	case s.Pattern == proxmox.NodeNamePattern:
		return &ArgError{Arg: name, Msg: fmt.Sprintf("%q is not a valid node name (letters, digits and inner hyphens)", clip(str))}
	default:
		return &ArgError{Arg: name, Msg: fmt.Sprintf("%q does not match %s", clip(str), s.Pattern)}
	}
	return nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func jsonKind(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "the number " + clip(string(raw))
	}
}
