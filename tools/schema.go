package tools

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pvemcp/pvemcp/proxmox"
)

// Schema is the subset of JSON Schema (2020-12) pvemcp reflects from Go
// types. Properties keep the declaration order of the struct fields. It is
// written by encode (the json tags name the keywords, in that order).
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
	// goName is the Go type of a struct schema: it names the $defs entry
	// when compactOutput shares a repeated struct.
	goName string
	// outputRoot marks the root of a result schema: it is compacted when
	// marshalled (see compactOutput).
	outputRoot bool
}

// Props is an ordered list of named property schemas.
type Props struct {
	Names   []string
	Schemas []*Schema
}

// MarshalJSON writes the properties in declaration order.
func (p *Props) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	if err := p.encode(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (p *Props) encode(b *bytes.Buffer) error {
	b.WriteByte('{')
	for i, n := range p.Names {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := writeSchemaJSON(b, n); err != nil {
			return err
		}
		b.WriteByte(':')
		if err := p.Schemas[i].encode(b); err != nil {
			return err
		}
	}
	b.WriteByte('}')
	return nil
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
	s.outputRoot = !input
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
		if s != nil {
			s.goName = t.Name()
		}
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

// MarshalJSON writes the schema; the root of a result schema is compacted
// first (see compactOutput).
func (s *Schema) MarshalJSON() ([]byte, error) {
	if s.outputRoot {
		s = compactOutput(s)
	}
	var b bytes.Buffer
	if err := s.encode(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// encode writes s into one buffer: every tool's schemas are encoded at
// start-up, and nested json.Marshal calls would re-scan each level.
func (s *Schema) encode(b *bytes.Buffer) error {
	if s == nil {
		b.WriteString("null")
		return nil
	}
	b.WriteByte('{')
	first := true
	key := func(k string) {
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteByte('"')
		b.WriteString(k)
		b.WriteString(`":`)
	}
	var err error
	str := func(k, v string) {
		if v != "" && err == nil {
			key(k)
			err = writeSchemaJSON(b, v)
		}
	}
	val := func(k string, v any) {
		if err == nil {
			key(k)
			err = writeSchemaJSON(b, v)
		}
	}
	str("$ref", s.Ref)
	str("type", s.Type)
	str("format", s.Format)
	str("description", s.Description)
	if len(s.Enum) > 0 {
		val("enum", s.Enum)
	}
	if s.Default != nil {
		val("default", s.Default)
	}
	if s.Minimum != nil {
		val("minimum", *s.Minimum)
	}
	if s.Maximum != nil {
		val("maximum", *s.Maximum)
	}
	if s.MinLength != nil {
		val("minLength", *s.MinLength)
	}
	if s.MaxLength != nil {
		val("maxLength", *s.MaxLength)
	}
	str("pattern", s.Pattern)
	if err != nil {
		return err
	}
	if s.Items != nil {
		key("items")
		if err := s.Items.encode(b); err != nil {
			return err
		}
	}
	if s.Properties != nil {
		key("properties")
		if err := s.Properties.encode(b); err != nil {
			return err
		}
	}
	if len(s.Required) > 0 {
		val("required", s.Required)
	}
	switch ap := s.AdditionalProperties.(type) {
	case nil:
	case *Schema:
		key("additionalProperties")
		if err := ap.encode(b); err != nil {
			return err
		}
	default:
		val("additionalProperties", ap)
	}
	if s.MaxItems != nil {
		val("maxItems", *s.MaxItems)
	}
	if err != nil {
		return err
	}
	if len(s.Defs) > 0 {
		key("$defs")
		b.WriteByte('{')
		for i, k := range sortedKeys(s.Defs) {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeSchemaJSON(b, k); err != nil {
				return err
			}
			b.WriteByte(':')
			if err := s.Defs[k].encode(b); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	}
	b.WriteByte('}')
	return nil
}

// writeSchemaJSON appends v as encoding/json writes it.
func writeSchemaJSON(b *bytes.Buffer, v any) error {
	j, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b.Write(j)
	return nil
}

// compactOutput returns a smaller copy of a result schema that accepts
// exactly the same results: a struct that occurs more than once in one
// schema is written once under $defs and referenced with $ref (local to the
// tool). Every type stays spelled out (clients validate and render results
// with the output schema; only the model-facing part of tools/list has a
// byte budget, DESIGN §10).
func compactOutput(root *Schema) *Schema {
	c := copySchema(root)
	shareRepeats(c)
	return c
}

// copySchema deep-copies s (compaction edits the copy, the tool keeps the
// reflected schema); the copy is not an outputRoot, so it encodes as is.
func copySchema(s *Schema) *Schema {
	if s == nil {
		return nil
	}
	c := *s
	c.outputRoot = false
	c.Items = copySchema(s.Items)
	if ap, ok := s.AdditionalProperties.(*Schema); ok {
		c.AdditionalProperties = copySchema(ap)
	}
	if s.Properties != nil {
		c.Properties = &Props{Names: append([]string(nil), s.Properties.Names...), Schemas: make([]*Schema, len(s.Properties.Schemas))}
		for i, p := range s.Properties.Schemas {
			c.Properties.Schemas[i] = copySchema(p)
		}
	}
	if s.Defs != nil {
		c.Defs = make(map[string]*Schema, len(s.Defs))
		for k, d := range s.Defs {
			c.Defs[k] = copySchema(d)
		}
	}
	return &c
}

// children calls fn with a setter for every direct sub-schema of s.
func children(s *Schema, fn func(sub *Schema, set func(*Schema))) {
	if s.Items != nil {
		fn(s.Items, func(n *Schema) { s.Items = n })
	}
	if ap, ok := s.AdditionalProperties.(*Schema); ok {
		fn(ap, func(n *Schema) { s.AdditionalProperties = n })
	}
	if s.Properties != nil {
		for i, p := range s.Properties.Schemas {
			fn(p, func(n *Schema) { s.Properties.Schemas[i] = n })
		}
	}
	for _, k := range sortedKeys(s.Defs) {
		fn(s.Defs[k], func(n *Schema) { s.Defs[k] = n })
	}
}

// sortedKeys returns m's keys in order, never nil.
func sortedKeys[V any](m map[string]V) []string {
	keys := slices.AppendSeq(make([]string, 0, len(m)), maps.Keys(m))
	slices.Sort(keys)
	return keys
}

// shareRepeats moves structs that occur more than once into root.Defs,
// the biggest saving first, until no move saves bytes.
func shareRepeats(root *Schema) {
	type group struct {
		name  string
		body  *Schema
		size  int
		slots []func(*Schema)
		descs []string
	}
	for {
		// Only a Go type seen twice can repeat: count names first, so
		// that only those are encoded (this runs for every tool at start).
		seen := map[string]int{}
		var count func(s *Schema)
		count = func(s *Schema) {
			children(s, func(sub *Schema, _ func(*Schema)) {
				if sub.goName != "" && sub.Properties != nil {
					seen[sub.goName]++
				}
				count(sub)
			})
		}
		count(root)
		groups := map[string]*group{}
		var keys []string
		var walk func(s *Schema)
		walk = func(s *Schema) {
			children(s, func(sub *Schema, set func(*Schema)) {
				if seen[sub.goName] > 1 && sub.Properties != nil {
					bare := *sub
					bare.Description = ""
					var b bytes.Buffer
					if err := bare.encode(&b); err == nil {
						k := b.String()
						g := groups[k]
						if g == nil {
							g = &group{name: sub.goName, body: &bare, size: b.Len()}
							groups[k] = g
							keys = append(keys, k)
						}
						g.slots = append(g.slots, set)
						g.descs = append(g.descs, sub.Description)
					}
				}
				walk(sub)
			})
		}
		walk(root)
		var best *group
		bestSave := 0
		for _, k := range keys {
			g := groups[k]
			n := len(g.slots)
			if n < 2 {
				continue
			}
			ref := len(`{"$ref":"#/$defs/"}`) + len(g.name)
			after := n*ref + len(g.name) + 4 + g.size
			if root.Defs == nil {
				after += len(`,"$defs":{}`)
			}
			if save := n*g.size - after; save > bestSave {
				best, bestSave = g, save
			}
		}
		if best == nil {
			return
		}
		if root.Defs == nil {
			root.Defs = map[string]*Schema{}
		}
		name := best.name
		for i := 2; root.Defs[name] != nil; i++ {
			name = best.name + strconv.Itoa(i)
		}
		best.body.goName = "" // a def body is not shared again
		root.Defs[name] = best.body
		for i, set := range best.slots {
			set(&Schema{Ref: "#/$defs/" + name, Description: best.descs[i]})
		}
	}
}
