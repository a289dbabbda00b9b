package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/pvemcp/pvemcp/proxmox"
)

// Every tool's real results match its output schema as served, and also a
// strict reading of it: the types compactOutput leaves out restored (an
// untyped property is a string, "properties" means an object, "items" an
// array) and every object closed, so a result field the schema does not
// name, or a value of another type, fails here.
func TestEveryToolResultMatchesItsOutputSchema(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	seen := map[string]bool{}
	run := func(tool, args string) map[string]any {
		t.Helper()
		ctx := WithCaller(context.Background(), Caller{SessionID: "s1"})
		res, err := w.srv.Call(ctx, tool, json.RawMessage(args))
		if err != nil {
			t.Fatalf("%s %s: %v", tool, args, err)
		}
		if res.IsError {
			t.Fatalf("%s %s: tool error: %s", tool, args, res.Text)
		}
		def := w.srv.byName[tool]
		validateOutput(t, def, res.Structured)
		validateStrict(t, def, args, res.Structured)
		seen[tool] = true
		var m map[string]any
		if err := json.Unmarshal(res.Structured, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}

	// Reads first: the confirmed plan at the end changes the cluster.
	for _, c := range []struct{ tool, args string }{
		{"cluster_overview", `{}`},
		{"list_guests", `{}`},
		{"list_guests", `{"node":"pve-node01","sort":"mem","desc":true,"limit":2}`},
		{"get_guest", `{"vmid":100}`},
		{"get_guest", `{"vmid":200}`},
		{"get_guest", `{"vmid":203}`},
		{"get_metrics", `{"node":"pve-node03"}`},
		{"get_metrics", `{"vmid":103}`},
		{"get_metrics", `{"storage":"local-zfs","node":"pve-node03","timeframe":"month"}`},
		{"storage_status", `{}`},
		{"zfs_health", `{}`},
		{"ha_status", `{}`},
		{"backup_status", `{}`},
		{"capacity_report", `{"guests":true}`},
		{"capacity_report", `{"evacuate_node":"pve-node03"}`},
		{"check_permissions", `{}`},
	} {
		run(c.tool, c.args)
	}
	tasks := run("list_tasks", `{"limit":200,"since_hours":720}`)
	list, _ := tasks["tasks"].([]any)
	if len(list) == 0 {
		t.Fatal("list_tasks: no tasks in the demo scenario")
	}
	// One task of each kind: OK or not, backup (parsed per guest) or not.
	picked := map[string]bool{}
	for _, x := range list {
		task, _ := x.(map[string]any)
		upid, _ := task["upid"].(string)
		kind := fmt.Sprint(task["status"] == "OK", task["type"] == "vzdump")
		if upid == "" || picked[kind] {
			continue
		}
		picked[kind] = true
		b, _ := json.Marshal(map[string]any{"upid": upid, "lines": 5})
		run("get_task", string(b))
	}

	// Write tools return plans; confirm_plan carries one out.
	power := run("guest_power", `{"vmid":203,"action":"start"}`)
	run("migrate_guest", `{"vmid":203,"target":"pve-node01"}`)
	run("create_vm", `{"node":"pve-node02","cores":2,"disk_gib":10}`)
	run("create_container", `{"node":"pve-node02","ostemplate":"debian-12"}`)
	run("update_guest_resources", `{"vmid":203,"cores":3,"memory_mib":2048,"disk_grow_gib":5}`)
	b, _ := json.Marshal(map[string]any{"plan_id": power["plan_id"], "nonce": power["nonce"]})
	run("confirm_plan", string(b))

	for _, tool := range All() {
		if !seen[tool.Name] {
			t.Errorf("%s: no result of it was checked against its output schema; add a call above", tool.Name)
		}
	}
}

func validateStrict(t *testing.T, tool *Tool, args string, structured json.RawMessage) {
	t.Helper()
	var doc any
	if err := json.Unmarshal(tool.OutputSchema, &doc); err != nil {
		t.Fatal(err)
	}
	// The envelope lists are served as plain arrays (the server
	// instructions give their item shapes): check those shapes too.
	props := doc.(map[string]any)["properties"].(map[string]any)
	for name, typ := range map[string]reflect.Type{
		"alerts": reflect.TypeFor[Alert](), "errors": reflect.TypeFor[ErrorEntry](),
		"unavailable": reflect.TypeFor[Unavailable](), "sources": reflect.TypeFor[proxmox.Call](),
	} {
		items, err := reflectSchema(typ, false)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(items)
		var item any
		if err := json.Unmarshal(b, &item); err != nil {
			t.Fatal(err)
		}
		props[name] = map[string]any{"type": "array", "items": item}
	}
	doc = strictSchema(doc, false)
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

// strictSchema restores the types compactOutput leaves out and closes every
// object with named properties.
func strictSchema(v any, property bool) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	if props, ok := m["properties"].(map[string]any); ok {
		for k, p := range props {
			props[k] = strictSchema(p, true)
		}
		if _, set := m["additionalProperties"]; !set {
			m["additionalProperties"] = false
		}
	} else if ap, ok := m["additionalProperties"].(map[string]any); ok {
		m["additionalProperties"] = strictSchema(ap, false)
	}
	if items, ok := m["items"]; ok {
		m["items"] = strictSchema(items, false)
	}
	if defs, ok := m["$defs"].(map[string]any); ok {
		for k, d := range defs {
			defs[k] = strictSchema(d, false)
		}
	}
	_, typed := m["type"]
	_, ref := m["$ref"]
	if !typed && !ref {
		_, props := m["properties"]
		_, ap := m["additionalProperties"]
		_, items := m["items"]
		switch {
		case props || ap:
			m["type"] = "object"
		case items:
			m["type"] = "array"
		case property:
			m["type"] = "string"
		}
	}
	return m
}
