package toolkit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/pvemcp/pvemcp/proxmox"
)

// Schema is a JSON Schema (2020-12) as github.com/google/jsonschema-go
// models it. Properties are written in PropertyOrder (struct field order).
type Schema = jsonschema.Schema

// typeSchemas describes the types that are not written as their Go kind.
var typeSchemas = map[reflect.Type]*Schema{
	reflect.TypeFor[time.Time]():       {Type: "string", Format: "date-time"},
	reflect.TypeFor[json.RawMessage](): {}, // any JSON value
}

// reflectSchema describes t (a struct) with the library, then applies
// pvemcp's conventions and these struct tags of argument and result fields:
//
//	json:"name,omitempty"  property name; omitempty = optional in results
//	description:"..."      property description
//	enum:"a,b,c"           allowed values
//	minimum:"1" maximum:"500"  numeric bounds
//	maxLength:"64" pattern:"^...$"  string limits
//	maxItems:"10"          array limit
//	default:"50"           default applied when the argument is absent
//	required:"true"        argument must be given
//	pve:"node"             a Proxmox node name (pattern, max 63 chars)
//	pve:"vmid"             a Proxmox VMID (integer 100..999999999)
//
// A type that contains itself is refused (the library reports the cycle).
func reflectSchema(t reflect.Type, input bool) (*Schema, error) {
	s, err := jsonschema.ForType(t, &jsonschema.ForOptions{TypeSchemas: typeSchemas})
	if err != nil {
		return nil, err
	}
	return s, tidy(s, t, input, true)
}

// tidy brings a schema the library reflected from t to pvemcp's
// conventions: no value is null (the library allows null for pointers and
// slices; pvemcp sends an absent key instead), integers have no bounds but
// those of tags, result objects stay open (fields may be added), and
// required lists the arguments tagged required:"true", or the non-optional
// fields of the result itself (not of nested objects: they would add bytes
// to every tools/list without helping a client).
func tidy(s *Schema, t reflect.Type, input, root bool) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if s.Types != nil { // ["null", type] or ["null"]
		s.Type, s.Types = strings.TrimPrefix(s.Types[len(s.Types)-1], "null"), nil
	}
	if s.Type == "integer" {
		s.Minimum, s.Maximum = nil, nil
	}
	if typeSchemas[t] != nil {
		return nil
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return tidy(s.Items, t.Elem(), input, false)
	case reflect.Map:
		return tidy(s.AdditionalProperties, t.Elem(), input, false)
	case reflect.Struct:
		if s.Properties == nil {
			s.Properties = map[string]*Schema{}
		}
		if !input {
			s.AdditionalProperties = nil
		}
		s.Required = nil
		for _, p := range properties(s, t) {
			if err := tidy(p.schema, p.field.Type, input, false); err != nil {
				return fmt.Errorf("field %s: %w", p.field.Name, err)
			}
			if err := applyTags(p.schema, p.field.Tag); err != nil {
				return fmt.Errorf("field %s: %w", p.field.Name, err)
			}
			_, opts, _ := strings.Cut(p.field.Tag.Get("json"), ",")
			optional := strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero") || p.field.Type.Kind() == reflect.Pointer
			if input && p.field.Tag.Get("required") == "true" || !input && root && !optional {
				s.Required = append(s.Required, p.name)
			}
		}
	}
	return nil
}

// property is one property of an object schema and the struct field it
// was reflected from.
type property struct {
	name   string
	field  reflect.StructField
	schema *Schema
}

// properties pairs the properties of s, reflected from the struct type t,
// with their fields, in field order.
func properties(s *Schema, t reflect.Type) []property {
	var out []property
	for _, f := range reflect.VisibleFields(t) {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		if ps := s.Properties[name]; ps != nil && f.IsExported() && !f.Anonymous {
			out = append(out, property{name, f, ps})
		}
	}
	return out
}

func applyTags(s *Schema, tag reflect.StructTag) error {
	s.Description = tag.Get("description")
	switch tag.Get("pve") {
	case "":
	case "node":
		if s.Type != "string" {
			return fmt.Errorf(`pve:"node" needs a string`)
		}
		s.Pattern, s.MaxLength = proxmox.NodeNamePattern, ptr(63)
	case "vmid":
		if s.Type != "integer" {
			return fmt.Errorf(`pve:"vmid" needs an integer`)
		}
		s.Minimum, s.Maximum = ptr(float64(proxmox.MinVMID)), ptr(float64(proxmox.MaxVMID))
	default:
		return fmt.Errorf("unknown pve tag %q", tag.Get("pve"))
	}
	if v := tag.Get("enum"); v != "" {
		target := s
		if s.Type == "array" {
			target = s.Items
		}
		for _, e := range strings.Split(v, ",") {
			target.Enum = append(target.Enum, strings.TrimSpace(e))
		}
	}
	if v := tag.Get("pattern"); v != "" {
		s.Pattern = v
	}
	err := errors.Join(tagNumber(tag, "minimum", &s.Minimum), tagNumber(tag, "maximum", &s.Maximum),
		tagNumber(tag, "maxLength", &s.MaxLength), tagNumber(tag, "maxItems", &s.MaxItems))
	if v := tag.Get("default"); v != "" && err == nil {
		var d any = v
		switch s.Type {
		case "integer":
			d, err = strconv.ParseInt(v, 10, 64)
		case "number":
			d, err = strconv.ParseFloat(v, 64)
		case "boolean":
			d, err = strconv.ParseBool(v)
		}
		if err != nil {
			return fmt.Errorf("bad default %q", v)
		}
		s.Default, err = json.Marshal(d)
	}
	return err
}

// tagNumber sets *dst from the tag key, if present.
func tagNumber[T int | float64](tag reflect.StructTag, key string, dst **T) error {
	v := tag.Get(key)
	if v == "" {
		return nil
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || float64(T(n)) != n {
		return fmt.Errorf("bad %s tag %q", key, v)
	}
	*dst = ptr(T(n))
	return nil
}

// marshalSchema writes s as compact JSON. The library's MarshalJSON orders
// keywords differently (default before enum, items before description); the
// schemas served are a contract (schemas/tools/*.json), so this writes the
// keywords pvemcp's schemas use in pvemcp's order, in one buffer.
func marshalSchema(s *Schema) []byte {
	var b bytes.Buffer
	writeSchema(&b, s)
	return b.Bytes()
}

func writeSchema(b *bytes.Buffer, s *Schema) {
	b.WriteByte('{')
	key := func(k string) {
		if b.Bytes()[b.Len()-1] != '{' { // after a value, not first in an object
			b.WriteByte(',')
		}
		writeSchemaJSON(b, k)
		b.WriteByte(':')
	}
	val := func(k string, v any, present bool) {
		if present {
			key(k)
			writeSchemaJSON(b, v)
		}
	}
	val("type", s.Type, s.Type != "")
	val("format", s.Format, s.Format != "")
	val("description", s.Description, s.Description != "")
	val("enum", s.Enum, s.Enum != nil)
	val("default", s.Default, s.Default != nil)
	val("minimum", s.Minimum, s.Minimum != nil)
	val("maximum", s.Maximum, s.Maximum != nil)
	val("maxLength", s.MaxLength, s.MaxLength != nil)
	val("pattern", s.Pattern, s.Pattern != "")
	if s.Items != nil {
		key("items")
		writeSchema(b, s.Items)
	}
	if s.Properties != nil {
		key("properties")
		b.WriteByte('{')
		for _, n := range s.PropertyOrder {
			key(n)
			writeSchema(b, s.Properties[n])
		}
		b.WriteByte('}')
	}
	val("required", s.Required, s.Required != nil)
	if ap := s.AdditionalProperties; ap != nil {
		key("additionalProperties")
		if ap.Not != nil { // the library's false schema
			b.WriteString("false")
		} else {
			writeSchema(b, ap)
		}
	}
	val("maxItems", s.MaxItems, s.MaxItems != nil)
	b.WriteByte('}')
}

// writeSchemaJSON appends v as encoding/json writes it (v is a string, a number
// or a list of them: it cannot fail).
func writeSchemaJSON(b *bytes.Buffer, v any) {
	j, _ := json.Marshal(v)
	b.Write(j)
}

func ptr[T any](v T) *T { return &v }

// sortedKeys returns m's keys in order, never nil.
func sortedKeys[V any](m map[string]V) []string {
	keys := slices.AppendSeq(make([]string, 0, len(m)), maps.Keys(m))
	slices.Sort(keys)
	return keys
}
