package tools

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/guard"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
)

// simPUT changes the simulator directly as root (test setup, outside the gate).
func simPUT(t *testing.T, sim *pvesim.Sim, path string, params url.Values) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(sim.CACertPEM())
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, err := http.NewRequest("PUT", sim.URL()+"/api2/json"+path, strings.NewReader(params.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "PVEAPIToken="+sim.Token("admin"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT %s: %s", path, resp.Status)
	}
}

func planCalls(plan map[string]any) []map[string]any {
	var out []map[string]any
	for _, c := range plan["calls"].([]any) {
		out = append(out, c.(map[string]any))
	}
	return out
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

func TestDeleteGuest(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	_, errText := w.call("s1", "delete_guest", map[string]any{"vmid": 101})
	if !strings.Contains(errText, "is running; stop it first") {
		t.Fatalf("running VM: %q", errText)
	}
	simPUT(t, w.sim, "/nodes/pve-node02/lxc/203/config", url.Values{"protection": {"1"}})
	_, errText = w.call("s1", "delete_guest", map[string]any{"vmid": 203})
	if !strings.Contains(errText, "protection: 1") || !strings.Contains(errText, "can't remove CT 203 - protection mode enabled") {
		t.Fatalf("protected CT: %q", errText)
	}
	simPUT(t, w.sim, "/nodes/pve-node02/lxc/203/config", url.Values{"delete": {"protection"}})
	// pvemcp's own protected guests.
	w.gate.Protection = guard.Protection{VMIDs: []int{203}}
	_, errText = w.call("s1", "delete_guest", map[string]any{"vmid": 203})
	if errText == "" || !strings.Contains(errText, "203") {
		t.Fatalf("guest protected by pvemcp's config: %q", errText)
	}
	w.gate.Protection = guard.Protection{}
	before := len(w.writes())

	plan := w.plan("s1", "delete_guest", map[string]any{"vmid": 203, "purge": true})
	vols := plan["volumes"].([]any)
	if len(vols) != 1 || vols[0].(map[string]any)["volid"] != "local-zfs:subvol-203-disk-0" || vols[0].(map[string]any)["size_gib"] != float64(20) {
		t.Fatalf("volumes %v", vols)
	}
	if c := planCalls(plan)[0]; c["method"] != "DELETE" || c["path"] != "/nodes/pve-node02/lxc/203" || c["params"].(map[string]any)["purge"] != "1" {
		t.Fatalf("call %v", c)
	}
	if !strings.Contains(strings.Join(toStrings(plan["warnings"]), " "), "cannot be undone") {
		t.Fatalf("warnings %v", plan["warnings"])
	}
	if len(w.writes()) != before {
		t.Fatal("planning sent a write")
	}
	w.mustConfirm("s1", plan)
	if _, err := findGuest(context.Background(), w.srv.Env().Client, 203); err == nil {
		t.Fatal("CT 203 still exists")
	}

	// A template whose base disk linked clones use cannot go.
	w.mustConfirm("s1", w.plan("s1", "clone_guest", map[string]any{"vmid": 9000, "newid": 160}))
	_, errText = w.call("s1", "delete_guest", map[string]any{"vmid": 9000})
	if !strings.Contains(errText, "linked clones") || !strings.Contains(errText, "base-9000-disk-0/vm-160-disk-0") {
		t.Fatalf("template with linked clones: %q", errText)
	}
}

func toStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		out = append(out, x.(string))
	}
	return out
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
