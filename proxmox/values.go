package proxmox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Proxmox types values loosely on the wire (NOTES §1.4): numbers arrive as
// JSON numbers or strings, booleans as 0/1, "0"/"1" or true/false. These
// types accept every form so one quirk never fails a whole answer.

// Num is a float that may arrive as a number or a numeric string.
type Num float64

// UnmarshalJSON accepts 1.5, "1.5", "" and null.
func (n *Num) UnmarshalJSON(b []byte) error {
	f, err := parseLooseNumber(b)
	if err != nil {
		return err
	}
	*n = Num(f)
	return nil
}

// Int is an integer that may arrive as a number or a numeric string.
type Int int64

// UnmarshalJSON accepts 100, 100.0, "100", "" and null.
func (i *Int) UnmarshalJSON(b []byte) error {
	b = looseScalar(b)
	if len(b) == 0 || string(b) == "null" {
		*i = 0
		return nil
	}
	if v, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		*i = Int(v)
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("not an integer: %s", b)
	}
	*i = Int(f)
	return nil
}

// Bool is a boolean that may arrive as 0/1, "0"/"1", true/false or "".
type Bool bool

// UnmarshalJSON accepts the Proxmox boolean forms.
func (v *Bool) UnmarshalJSON(b []byte) error {
	b = looseScalar(b)
	switch strings.ToLower(string(b)) {
	case "", "null", "0", "false", "no", "off":
		*v = false
	case "1", "true", "yes", "on":
		*v = true
	default:
		f, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			return fmt.Errorf("not a boolean: %s", b)
		}
		*v = f != 0
	}
	return nil
}

func parseLooseNumber(b []byte) (float64, error) {
	b = looseScalar(b)
	if len(b) == 0 || string(b) == "null" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return 0, fmt.Errorf("not a number: %s", b)
	}
	return f, nil
}

// looseScalar is a wire value without white space and, when it is a JSON
// string, without its quotes, so "97", " 97 " and 97 read alike.
func looseScalar(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if s, ok := unquote(b); ok {
		b = []byte(strings.TrimSpace(s))
	}
	return b
}

func unquote(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' {
		return "", false
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return "", false
	}
	return s, true
}

// SplitTags splits Proxmox's tag string ("a;b", also "a,b" or "a b").
func SplitTags(s string) []string {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' || r == ' ' })
	if len(f) == 0 {
		return nil
	}
	return f
}
