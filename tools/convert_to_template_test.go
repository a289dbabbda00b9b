package tools

import (
	"strings"
	"testing"
)

func init() {
	declareArgs("convert_to_template", testArgs{demo: fixed{`{"vmid":203}`}})
}

func TestConvertToTemplate(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	_, errText := w.call("s1", "convert_to_template", map[string]any{"vmid": 101})
	if !strings.Contains(errText, "is running") {
		t.Fatalf("running VM: %q", errText)
	}
	_, errText = w.call("s1", "convert_to_template", map[string]any{"vmid": 9000})
	if !strings.Contains(errText, "already a template") {
		t.Fatalf("template: %q", errText)
	}
	w.noWrites("after refused plans")
	// A container: Proxmox answers null and runs vztemplate; confirm_plan finds and waits for the task.
	plan := w.plan("s1", "convert_to_template", map[string]any{"vmid": 203})
	if !strings.Contains(strings.Join(toStrings(plan["warnings"]), " "), "cannot be undone") {
		t.Fatalf("warnings %v", plan["warnings"])
	}
	out := w.mustConfirm("s1", plan)
	if st := out["steps"].([]any)[0].(map[string]any); !strings.Contains(st["upid"].(string), ":vztemplate:203:") || st["exit_status"] != "OK" {
		t.Fatalf("step %v", st)
	}
	g := w.guest(203)
	if !bool(g.Template) || !strings.HasPrefix(w.config(g)["rootfs"], "local-zfs:basevol-203-disk-0,") {
		t.Fatalf("CT 203 %+v %v", g, w.config(g))
	}
	// A VM: a full clone of the template, then converted.
	w.mustConfirm("s1", w.plan("s1", "clone_guest", map[string]any{"vmid": 9000, "newid": 170, "full": true}))
	out = w.mustConfirm("s1", w.plan("s1", "convert_to_template", map[string]any{"vmid": 170}))
	if st := out["steps"].([]any)[0].(map[string]any); !strings.Contains(st["upid"].(string), ":qmtemplate:170:") {
		t.Fatalf("step %v", st)
	}
	if cfg := w.config(w.guest(170)); cfg["template"] != "1" || !strings.HasPrefix(cfg["scsi0"], "local-zfs:base-170-disk-0,") {
		t.Fatalf("VM 170 config %v", cfg)
	}
}
