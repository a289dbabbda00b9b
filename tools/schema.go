package tools

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/pvemcp/pvemcp/proxmox"
)

// Schema is the subset of JSON Schema (2020-12) pvemcp reflects from Go
// types. Properties keep the declaration order of the struct fields.
type Schema struct {
	Ref                  string   `json:"$ref,omitempty"`
	Type                 string   `json:"type,omitempty"`
	Format               string   `json:"format,omitempty"`
	Description          string   `json:"description,omitempty"`
	Enum                 []any    `json:"enum,omitempty"`
	Default              any      `json:"default,omitempty"`
	Minimum              *float64 `json:"minimum,omitempty"`
	Maximum              *float64 `json:"maximum,omitempty"`
	MinLength            *int     `json:"minLength,omitempty"`
	MaxLength            *int     `json:"maxLength,omitempty"`
	Pattern              string   `json:"pattern,omitempty"`
	Items                *Schema  `json:"items,omitempty"`
	Properties           *Props   `json:"properties,omitempty"`
	Required             []string `json:"required,omitempty"`
	AdditionalProperties any      `json:"additionalProperties,omitempty"`
	MaxItems             *int     `json:"maxItems,omitempty"`
	// Defs holds recursive types (e.g. a ZFS vdev tree), at the root only.
	Defs  map[string]*Schema `json:"$defs,omitempty"`
	field fieldInfo
}

// Props is an ordered list of named property schemas.
type Props struct {
	Names   []string
	Schemas []*Schema
}

// MarshalJSON writes the properties in declaration order.
func (p *Props) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, n := range p.Names {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(n)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(p.Schemas[i])
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Get returns the schema of a named property, or nil.
func (p *Props) Get(name string) *Schema {
	if p == nil {
		return nil
	}
	for i, n := range p.Names {
		if n == name {
			return p.Schemas[i]
		}
	}
	return nil
}

// fieldInfo carries what the argument decoder needs besides the schema.
type fieldInfo struct {
	index    []int
	name     string
	required bool
	kind     string // "node", "vmid" or ""
}

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

// Tags understood on argument and result struct fields:
//
//	json:"name,omitempty"  property name; omitempty = optional in results
//	description:"..."      property description
//	enum:"a,b,c"           allowed values
//	minimum:"1" maximum:"500"  numeric bounds
//	maxLength:"64" pattern:"^...$"  string limits
//	default:"50"           default applied when the argument is absent
//	required:"true"        argument must be given
//	pve:"node"             a Proxmox node name (pattern, max 63 chars)
//	pve:"vmid"             a Proxmox VMID (integer 100..999999999)
func reflectSchema(t reflect.Type, input bool) (*Schema, error) {
	r := &reflector{input: input, stack: map[reflect.Type]bool{}, recursive: map[reflect.Type]bool{}, defs: map[string]*Schema{}}
	s, err := r.reflectType(t, 0)
	if err != nil {
		return nil, err
	}
	if len(r.defs) > 0 {
		s.Defs = r.defs
	}
	return s, nil
}

// reflector builds one schema document; a struct type that contains itself
// is emitted once under $defs and referenced with $ref.
type reflector struct {
	input     bool
	stack     map[reflect.Type]bool
	recursive map[reflect.Type]bool
	defs      map[string]*Schema
}

func defName(t reflect.Type) string { return t.Name() }

func (r *reflector) reflectType(t reflect.Type, depth int) (*Schema, error) {
	if depth > 32 {
		return nil, fmt.Errorf("type %s nests too deeply", t)
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Struct && r.stack[t] {
		if t.Name() == "" {
			return nil, fmt.Errorf("anonymous type %s contains itself", t)
		}
		r.recursive[t] = true
		return &Schema{Ref: "#/$defs/" + defName(t)}, nil
	}
	switch {
	case t == timeType:
		return &Schema{Type: "string", Format: "date-time"}, nil
	case t == rawType:
		return &Schema{}, nil
	}
	switch t.Kind() {
	case reflect.String:
		return &Schema{Type: "string"}, nil
	case reflect.Bool:
		return &Schema{Type: "boolean"}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return &Schema{Type: "integer"}, nil
	case reflect.Float32, reflect.Float64:
		return &Schema{Type: "number"}, nil
	case reflect.Interface:
		return &Schema{}, nil
	case reflect.Slice, reflect.Array:
		it, err := r.reflectType(t.Elem(), depth+1)
		if err != nil {
			return nil, err
		}
		return &Schema{Type: "array", Items: it}, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("map %s must have string keys", t)
		}
		vt, err := r.reflectType(t.Elem(), depth+1)
		if err != nil {
			return nil, err
		}
		return &Schema{Type: "object", AdditionalProperties: vt}, nil
	case reflect.Struct:
		r.stack[t] = true
		s, err := r.reflectStruct(t, depth)
		delete(r.stack, t)
		if err == nil && r.recursive[t] {
			r.defs[defName(t)] = s
		}
		return s, err
	}
	return nil, fmt.Errorf("type %s cannot be described in JSON Schema", t)
}

func (r *reflector) reflectStruct(t reflect.Type, depth int) (*Schema, error) {
	input := r.input
	s := &Schema{Type: "object", Properties: &Props{}}
	if input {
		s.AdditionalProperties = false
	}
	var walk func(t reflect.Type, index []int) error
	walk = func(t reflect.Type, index []int) error {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			idx := append(append([]int(nil), index...), i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || (!f.IsExported() && !f.Anonymous) {
				continue
			}
			if f.Anonymous && name == "" {
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					if err := walk(ft, idx); err != nil {
						return err
					}
					continue
				}
			}
			if name == "" {
				name = f.Name
			}
			ps, err := r.reflectType(f.Type, depth+1)
			if err != nil {
				return fmt.Errorf("field %s: %w", f.Name, err)
			}
			if err := applyTags(ps, f); err != nil {
				return fmt.Errorf("field %s: %w", f.Name, err)
			}
			omitempty := strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")
			req := false
			if input {
				req = f.Tag.Get("required") == "true"
			} else {
				req = !omitempty && f.Type.Kind() != reflect.Pointer
			}
			ps.field = fieldInfo{index: idx, name: name, required: req, kind: f.Tag.Get("pve")}
			// Results list required fields at the top level only: nested
			// ones add bytes to every tools/list without helping a client.
			if req && (input || depth == 0) {
				s.Required = append(s.Required, name)
			}
			s.Properties.Names = append(s.Properties.Names, name)
			s.Properties.Schemas = append(s.Properties.Schemas, ps)
		}
		return nil
	}
	if err := walk(t, nil); err != nil {
		return nil, err
	}
	return s, nil
}

func applyTags(s *Schema, f reflect.StructField) error {
	tag := f.Tag
	s.Description = tag.Get("description")
	switch tag.Get("pve") {
	case "":
	case "node":
		if s.Type != "string" {
			return fmt.Errorf(`pve:"node" needs a string`)
		}
		s.Pattern = proxmox.NodeNamePattern
		s.MaxLength = ptr(63)
	case "vmid":
		if s.Type != "integer" {
			return fmt.Errorf(`pve:"vmid" needs an integer`)
		}
		s.Minimum = ptr(float64(proxmox.MinVMID))
		s.Maximum = ptr(float64(proxmox.MaxVMID))
	default:
		return fmt.Errorf("unknown pve tag %q", tag.Get("pve"))
	}
	if v := tag.Get("enum"); v != "" {
		target := s
		if s.Type == "array" && s.Items != nil {
			target = s.Items
		}
		for _, e := range strings.Split(v, ",") {
			target.Enum = append(target.Enum, strings.TrimSpace(e))
		}
	}
	for _, p := range []struct {
		name string
		dst  **float64
	}{{"minimum", &s.Minimum}, {"maximum", &s.Maximum}} {
		if v := tag.Get(p.name); v != "" {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return fmt.Errorf("bad %s tag %q", p.name, v)
			}
			*p.dst = &n
		}
	}
	if v := tag.Get("maxLength"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("bad maxLength tag %q", v)
		}
		s.MaxLength = &n
	}
	if v := tag.Get("maxItems"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("bad maxItems tag %q", v)
		}
		s.MaxItems = &n
	}
	if v := tag.Get("pattern"); v != "" {
		s.Pattern = v
	}
	if v := tag.Get("default"); v != "" {
		switch s.Type {
		case "integer":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("bad default %q", v)
			}
			s.Default = n
		case "number":
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return fmt.Errorf("bad default %q", v)
			}
			s.Default = n
		case "boolean":
			s.Default = v == "true"
		default:
			s.Default = v
		}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }
