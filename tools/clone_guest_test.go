package tools

import (
	"strings"
	"testing"
)

func init() {
	declareArgs("clone_guest", testArgs{demo: fixed{`{"vmid":9000,"count":2,"name":"w-{n}"}`}})
}

func TestCloneGuest(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	// A linked clone needs a template: refused in the plan, nothing sent.
	_, errText := w.call("s1", "clone_guest", map[string]any{"vmid": 101, "full": false})
	if !strings.Contains(errText, "linked clone needs a template") {
		t.Fatalf("linked clone of VM 101: %q", errText)
	}
	_, errText = w.call("s1", "clone_guest", map[string]any{"vmid": 9000, "full": false, "storage": "local-zfs"})
	if !strings.Contains(errText, `argument "storage"`) {
		t.Fatalf("storage for a linked clone: %q", errText)
	}
	_, errText = w.call("s1", "clone_guest", map[string]any{"vmid": 200})
	if !strings.Contains(errText, "Cannot do full clones on a running container") {
		t.Fatalf("full clone of a running CT: %q", errText)
	}
	_, errText = w.call("s1", "clone_guest", map[string]any{"vmid": 9000, "target": "pve-node03"})
	if !strings.Contains(errText, "only from shared storage") {
		t.Fatalf("clone to another node from local storage: %q", errText)
	}
	for _, bad := range []map[string]any{
		{"vmid": 9000, "storage": "../x"}, {"vmid": 9000, "pool": "a b"}, {"vmid": 9000, "name": "web_{x}"}, {"vmid": 9000, "count": 11},
	} {
		if _, errText := w.call("s1", "clone_guest", bad); !strings.Contains(errText, "argument") {
			t.Errorf("%v: %q", bad, errText)
		}
	}
	w.noWrites("after refused clone plans")

	// Three linked clones of the template, named from a pattern, one task after the other.
	plan := w.plan("s1", "clone_guest", map[string]any{"vmid": 9000, "count": 3, "name": "web-{n}", "pool": "prod"})
	calls := planCalls(plan)
	if len(calls) != 3 || plan["mode"] != "linked" {
		t.Fatalf("plan %v", plan)
	}
	w.noWrites("after planning")
	out := w.mustConfirm("s1", plan)
	steps := out["steps"].([]any)
	for i, c := range calls {
		params := c["params"].(map[string]any)
		if c["path"] != "/nodes/pve-node02/qemu/9000/clone" || params["full"] != "0" || params["name"] != "web-"+string(rune('1'+i)) || params["pool"] != "prod" {
			t.Fatalf("call %d: %v", i, c)
		}
		if st := steps[i].(map[string]any); st["status"] != "ok" || !strings.Contains(st["upid"].(string), ":qmclone:") {
			t.Fatalf("step %d: %v", i, st)
		}
	}
	for i, cl := range plan["clones"].([]any) {
		id := int(cl.(map[string]any)["vmid"].(float64))
		g := w.guest(id)
		cfg := w.config(g)
		if g.Name != "web-"+string(rune('1'+i)) || !strings.HasPrefix(cfg["scsi0"], "local-zfs:base-9000-disk-0/vm-") || g.Pool != "prod" {
			t.Fatalf("clone %d: %+v scsi0 %s", id, g, cfg["scsi0"])
		}
	}

	// A full copy of a running VM and of a stopped container.
	plan = w.plan("s1", "clone_guest", map[string]any{"vmid": 105, "newid": 150, "name": "monitoring-copy"})
	if plan["mode"] != "full" || !strings.Contains(plan["summary"].(string), "copying 40.0 GiB") {
		t.Fatalf("full clone plan %v", plan)
	}
	w.mustConfirm("s1", plan)
	if cfg := w.config(w.guest(150)); !strings.HasPrefix(cfg["scsi0"], "local-zfs:vm-150-disk-0,") {
		t.Fatalf("VM 150 scsi0 %s", cfg["scsi0"])
	}
	plan = w.plan("s1", "clone_guest", map[string]any{"vmid": 203, "newid": 250, "name": "sandbox-2"})
	w.mustConfirm("s1", plan)
	if g := w.guest(250); g.Type != "lxc" || g.Name != "sandbox-2" || !strings.HasPrefix(w.config(g)["rootfs"], "local-zfs:subvol-250-disk-0,") {
		t.Fatalf("CT 250 %+v %v", g, w.config(g))
	}
}
