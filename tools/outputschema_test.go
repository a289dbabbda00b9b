package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
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
		{"get_guest", `{"vmid":101}`},
		{"guest_agent_info", `{"vmid":101}`},
		{"guest_agent_info", `{"vmid":200}`},
		{"list_snapshots", `{}`},
		{"node_logs", `{"hours":300,"cluster_log":true}`},
		{"node_health", `{}`},
		{"replication_status", `{}`},
		{"ceph_health", `{}`},
		{"firewall_status", `{"port":22}`},
		{"firewall_status", `{"vmid":101,"port":22}`},
		{"storage_content", `{"available_templates":true,"limit":150}`},
	} {
		run(c.tool, c.args)
	}
	run("list_toolsets", `{}`)
	run("enable_toolset", `{"toolset":"inventory"}`)
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
	run("clone_guest", `{"vmid":9000,"count":2,"name":"w-{n}"}`)
	run("convert_to_template", `{"vmid":203}`)
	run("delete_guest", `{"vmid":203,"purge":true}`)
	exec := run("guest_exec", `{"vmid":101,"command":["seq","9000"]}`)
	b, _ := json.Marshal(map[string]any{"plan_id": power["plan_id"], "nonce": power["nonce"]})
	run("confirm_plan", string(b))
	b, _ = json.Marshal(map[string]any{"plan_id": exec["plan_id"], "nonce": exec["nonce"]})
	run("confirm_plan", string(b))
	backups := run("list_backups", `{"vmid":101}`)
	vol := backups["backups"].([]any)[0].(map[string]any)["volid"].(string)
	run("snapshot_guest", `{"vmid":102,"action":"rollback","name":"pre-vacuum-tuning"}`)
	run("restore_backup", `{"volid":"`+vol+`","unique":true}`)
	run("delete_backup", `{"volid":"`+vol+`"}`)
	bk := run("backup_guest", `{"vmids":[201],"storage":"backup-pool"}`)
	b, _ = json.Marshal(map[string]any{"plan_id": bk["plan_id"], "nonce": bk["nonce"]})
	if done := run("confirm_plan", string(b)); len(done["backups"].([]any)) != 1 {
		t.Fatalf("backup_guest outcome: %v", done)
	}

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
