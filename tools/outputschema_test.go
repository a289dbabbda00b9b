package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/pvemcp/pvemcp/toolkit"
)

// Every registered tool's real results match its output schema as served,
// and also a strict reading of it: every object closed, so a result field
// the schema does not name fails here. The served schema itself must spell
// out every type (completeTypes): nothing is left for the client to guess.
func TestEveryToolResultMatchesItsOutputSchema(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	seen := map[string]bool{}
	run := func(tool, args string) map[string]any {
		t.Helper()
		ctx := toolkit.WithCaller(context.Background(), toolkit.Caller{SessionID: "s1"})
		res, err := w.srv.Call(ctx, tool, json.RawMessage(args))
		if err != nil {
			t.Fatalf("%s %s: %v", tool, args, err)
		}
		if _, declared := declaredArgs[tool]; res.IsError && !declared && strings.HasPrefix(res.Text, "invalid arguments") {
			t.Fatal(needsArgs(tool, res.Text))
		}
		if res.IsError {
			t.Fatalf("%s %s: tool error: %s", tool, args, res.Text)
		}
		def := w.srv.Tool(tool)
		validateOutput(t, def, res.Structured)
		validateStrict(t, def, args, res.Structured)
		seen[tool] = true
		var m map[string]any
		if err := json.Unmarshal(res.Structured, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}

	// Every tool with the arguments it declares (toolargs_test.go), those
	// whose calls change the cluster last.
	call := func(tool, args string) map[string]any { t.Helper(); return run(tool, args) }
	for _, tool := range inCallOrder(toolkit.All()) {
		for _, args := range demoArgs(tool.Name).sets(t, call) {
			run(tool.Name, args)
		}
	}

	for _, tool := range toolkit.All() {
		if !seen[tool.Name] {
			t.Errorf("%s: no result of it was checked against its output schema; declare its arguments in %s_test.go", tool.Name, tool.Name)
		}
	}
}

func validateStrict(t *testing.T, tool *toolkit.Tool, args string, structured json.RawMessage) {
	t.Helper()
	var doc any
	if err := json.Unmarshal(tool.OutputSchema, &doc); err != nil {
		t.Fatal(err)
	}
	for _, p := range completeTypes(doc, "") {
		t.Errorf("%s: output schema has no type at %s", tool.Name, p)
	}
	doc = closeObjects(doc)
	b, _ := json.Marshal(doc)
	sdoc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("strict.json", sdoc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("strict.json")
	if err != nil {
		t.Fatalf("%s: strict output schema does not compile: %v", tool.Name, err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(structured))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("%s %s: result does not match the strict reading of its output schema: %#v", tool.Name, args, err)
	}
}

// completeTypes returns the paths of schema nodes without a type: every
// node must have one, be a $ref, or be {} (a value of any type, e.g. a
// task's raw API answer).
func completeTypes(v any, path string) []string {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	var out []string
	_, typed := m["type"]
	_, ref := m["$ref"]
	anyValue := len(m) == 0 || (len(m) == 1 && m["description"] != nil)
	if !typed && !ref && !anyValue {
		out = append(out, path+"/")
	}
	if props, ok := m["properties"].(map[string]any); ok {
		if m["type"] != "object" {
			out = append(out, path+"/properties (type "+fmt.Sprint(m["type"])+")")
		}
		for k, p := range props {
			out = append(out, completeTypes(p, path+"/"+k)...)
		}
	}
	if items, ok := m["items"]; ok {
		if m["type"] != "array" {
			out = append(out, path+"/items (type "+fmt.Sprint(m["type"])+")")
		}
		out = append(out, completeTypes(items, path+"/[]")...)
	}
	if ap, ok := m["additionalProperties"].(map[string]any); ok {
		out = append(out, completeTypes(ap, path+"/*")...)
	}
	if defs, ok := m["$defs"].(map[string]any); ok {
		for k, d := range defs {
			out = append(out, completeTypes(d, "$defs/"+k)...)
		}
	}
	return out
}

// closeObjects closes every object with named properties.
func closeObjects(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	if props, ok := m["properties"].(map[string]any); ok {
		for k, p := range props {
			props[k] = closeObjects(p)
		}
		if _, set := m["additionalProperties"]; !set {
			m["additionalProperties"] = false
		}
	} else if ap, ok := m["additionalProperties"].(map[string]any); ok {
		m["additionalProperties"] = closeObjects(ap)
	}
	if items, ok := m["items"]; ok {
		m["items"] = closeObjects(items)
	}
	if defs, ok := m["$defs"].(map[string]any); ok {
		for k, d := range defs {
			defs[k] = closeObjects(d)
		}
	}
	return m
}
