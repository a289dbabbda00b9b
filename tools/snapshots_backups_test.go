package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/proxmox"
)

func (w *writeEnv) mustFail(tool string, args any, want ...string) string {
	w.t.Helper()
	_, errText := w.call("s1", tool, args)
	if errText == "" {
		w.t.Fatalf("%s %v: no error", tool, args)
	}
	for _, s := range want {
		if !strings.Contains(errText, s) {
			w.t.Fatalf("%s: error %q lacks %q", tool, errText, s)
		}
	}
	return errText
}

func snapshotNames(t *testing.T, out map[string]any) ([]string, string) {
	t.Helper()
	gs := out["guests"].([]any)
	if len(gs) != 1 {
		t.Fatalf("guests %v", gs)
	}
	g := gs[0].(map[string]any)
	var names []string
	for _, s := range g["snapshots"].([]any) {
		names = append(names, s.(map[string]any)["name"].(string))
	}
	cur, _ := g["current_parent"].(string)
	return names, cur
}

func TestListSnapshotsTree(t *testing.T) {
	w := newWriteEnv(t, "operator")
	out, errText := w.call("s1", "list_snapshots", map[string]any{"vmid": 102})
	if errText != "" {
		t.Fatal(errText)
	}
	g := out["guests"].([]any)[0].(map[string]any)
	if g["rollback_latest_only"] != true || g["current_parent"] != "pre-vacuum-tuning" {
		t.Fatalf("102: %v", g)
	}
	path := fmt.Sprint(g["path_to_current"])
	if path != "[before-pg16 after-pg16 pre-vacuum-tuning]" || !strings.Contains(g["tree"].(string), "- current") {
		t.Fatalf("path %s tree %q", path, g["tree"])
	}
	all, _ := w.call("s1", "list_snapshots", map[string]any{})
	if n := all["total_snapshots"].(float64); n < 6 {
		t.Fatalf("demo snapshots %v", n)
	}
	for _, x := range all["guests"].([]any) {
		g := x.(map[string]any)
		if g["vmid"].(float64) == 101 {
			s := g["snapshots"].([]any)[0].(map[string]any)
			if s["vmstate"] != true {
				t.Fatalf("101 snapshot without RAM: %v", s)
			}
		}
	}
	validateOutput(t, toolByName(t, "list_snapshots"), json.RawMessage(mustJSON(t, out)))
}

func TestSnapshotGuestZFSRefusalAndRollback(t *testing.T) {
	w := newWriteEnv(t, "operator")
	// ZFS: the plan refuses a rollback past newer snapshots and names them.
	w.mustFail("snapshot_guest", map[string]any{"vmid": 102, "action": "rollback", "name": "before-pg16"},
		"ZFS", "after-pg16, pre-vacuum-tuning")
	w.mustFail("snapshot_guest", map[string]any{"vmid": 102, "action": "create", "name": "current"}, "reserved")
	w.noWrites("refused plans")

	// Without confirmation nothing happens; with it the snapshot exists.
	plan := w.plan("s1", "snapshot_guest", map[string]any{"vmid": 203, "action": "create", "name": "before-change", "description": "test"})
	w.noWrites("snapshot plan")
	w.mustConfirm("s1", plan)
	out, _ := w.call("s1", "list_snapshots", map[string]any{"vmid": 203})
	if names, cur := snapshotNames(t, out); fmt.Sprint(names) != "[before-change]" || cur != "before-change" {
		t.Fatalf("after create: %v %s", names, cur)
	}
	// A later change, then the rollback plan names it and the rollback undoes it.
	w.mustConfirm("s1", w.plan("s1", "update_guest_resources", map[string]any{"vmid": 203, "cores": 6}))
	rb := w.plan("s1", "snapshot_guest", map[string]any{"vmid": 203, "action": "rollback", "name": "before-change"})
	lost := rb["rollback_loses"].(map[string]any)
	if fmt.Sprint(lost["config_changes"]) != "[cores: 6 -> 2]" || lost["state_after"] != "stopped" {
		t.Fatalf("rollback plan: %v", lost)
	}
	w.mustConfirm("s1", rb)
	cfg, err := w.srv.Env().Client.GuestConfig(context.Background(), "pve-node02", proxmox.TypeLXC, 203)
	if err != nil || cfg.Values["cores"] != "2" {
		t.Fatalf("rollback kept the later change: %v %v", cfg, err)
	}
	// Delete.
	w.mustConfirm("s1", w.plan("s1", "snapshot_guest", map[string]any{"vmid": 203, "action": "delete", "name": "before-change"}))
	out, _ = w.call("s1", "list_snapshots", map[string]any{"vmid": 203})
	if names, _ := snapshotNames(t, out); len(names) != 0 {
		t.Fatalf("after delete: %v", names)
	}
	// The auditor may not snapshot.
	a := newWriteEnv(t, "auditor")
	a.mustFail("snapshot_guest", map[string]any{"vmid": 203, "action": "create", "name": "x1"}, "VM.Snapshot")
}

func TestBackupGuestRunsAndReportsArchive(t *testing.T) {
	w := newWriteEnv(t, "operator")
	plan := w.plan("s1", "backup_guest", map[string]any{"vmids": []int{105}, "storage": "nfs-backup", "notes": "{{guestname}} before upgrade", "protected": true})
	if plan["estimate_gib"].(float64) <= 0 {
		t.Fatalf("no estimate: %v", plan)
	}
	w.noWrites("backup plan")
	res := w.mustConfirm("s1", plan)
	bs, _ := res["backups"].([]any)
	if len(bs) != 1 {
		t.Fatalf("backups %v", res)
	}
	b := bs[0].(map[string]any)
	archive, _ := b["archive"].(string)
	if b["status"] != "ok" || !strings.HasPrefix(archive, "nfs-backup:backup/vzdump-qemu-105-") || b["size_gib"].(float64) <= 0 {
		t.Fatalf("backup outcome %v", b)
	}
	// list_backups shows it, protected and with its notes.
	out, errText := w.call("s1", "list_backups", map[string]any{"vmid": 105, "storage": "nfs-backup"})
	if errText != "" {
		t.Fatal(errText)
	}
	first := out["backups"].([]any)[0].(map[string]any)
	if first["volid"] != archive || first["protected"] != true || first["notes"] != "monitoring-stack before upgrade" {
		t.Fatalf("newest backup %v", first)
	}
	validateOutput(t, toolByName(t, "list_backups"), json.RawMessage(mustJSON(t, out)))
	// A protected backup cannot be deleted.
	w.mustFail("delete_backup", map[string]any{"volid": archive}, "protected")
	w.noWrites2(2, "protected delete")

	// Restore it as a new VM with new MACs.
	rp := w.plan("s1", "restore_backup", map[string]any{"volid": archive, "unique": true})
	vmid := int(rp["vmid"].(float64))
	if rp["type"] != "qemu" || vmid < 100 || rp["overwrites"] != nil {
		t.Fatalf("restore plan %v", rp)
	}
	w.mustConfirm("s1", rp)
	if g := w.guest(vmid); g.Name != "monitoring-stack" || g.Status != "stopped" {
		t.Fatalf("restored %+v", g)
	}
}

func TestBackupTooBigAndRestoreOverRunning(t *testing.T) {
	w := newWriteEnv(t, "operator")
	// 102 (500 GB disk) does not fit into pve-node02's 100 GiB local storage.
	w.mustFail("backup_guest", map[string]any{"vmids": []int{102}, "storage": "local"}, "storage local on pve-node02 has", "GiB free; the backup needs about")
	w.noWrites("refused backup")

	vols, errText := w.call("s1", "list_backups", map[string]any{"vmid": 101})
	if errText != "" {
		t.Fatal(errText)
	}
	volid := vols["backups"].([]any)[0].(map[string]any)["volid"].(string)
	// Over the running original: refused; without force: refused with the reason.
	w.mustFail("restore_backup", map[string]any{"volid": volid, "vmid": 101, "force": true}, "is running", "stopped guest")
	w.mustFail("restore_backup", map[string]any{"volid": volid, "vmid": 101}, "needs force=true")
	w.mustFail("restore_backup", map[string]any{"volid": volid, "vmid": 777, "force": true}, "force is for restoring over an existing guest")
	w.noWrites("refused restores")

	// Over a stopped guest the plan says its disks are destroyed.
	ct, _ := w.call("s1", "list_backups", map[string]any{"vmid": 203})
	ctVol := ct["backups"].([]any)[0].(map[string]any)["volid"].(string)
	plan := w.plan("s1", "restore_backup", map[string]any{"volid": ctVol, "vmid": 203, "force": true})
	if ws := fmt.Sprint(plan["warnings"]); !strings.Contains(ws, "current disks of container 203 are destroyed") {
		t.Fatalf("warnings %s", ws)
	}
	w.mustConfirm("s1", plan)

	// A backup that does not fit fails in Proxmox with its message, and the
	// confirmed plan reports it: the estimate is an estimate, and CT 203's
	// data compresses worse than it assumes; the storage has just the room
	// the estimate asks for.
	bp := w.plan("s1", "backup_guest", map[string]any{"vmids": []int{203}, "storage": "local"})
	est := bp["estimate_gib"].(float64)
	if err := w.sim.SetStorageFree("pve-node02", "local", int64(est*1.05*(1<<30))); err != nil {
		t.Fatal(err)
	}
	res, errText := w.confirm("s1", bp)
	if errText != "" {
		t.Fatalf("confirm: %s", errText)
	}
	if res["outcome"] != "failed" || !strings.Contains(fmt.Sprint(res["steps"]), "No space left on device") {
		t.Fatalf("backup into a full storage: %v", res)
	}
	bs, _ := res["backups"].([]any)
	if len(bs) != 1 {
		t.Fatalf("backups in %v", res)
	}
	b := bs[0].(map[string]any)
	if b["status"] != "failed" || !strings.Contains(fmt.Sprint(b["errors"]), "ERROR: Backup of VM 203 failed") {
		t.Fatalf("backup outcome %v", b)
	}
}

func TestDeleteBackupLastWarning(t *testing.T) {
	w := newWriteEnv(t, "operator")
	// A fresh backup of 203 to local is its only one there; the job's are on backup-pool.
	w.mustConfirm("s1", w.plan("s1", "backup_guest", map[string]any{"vmids": []int{201}, "storage": "local"}))
	out, _ := w.call("s1", "list_backups", map[string]any{"vmid": 201, "storage": "local"})
	volid := out["backups"].([]any)[0].(map[string]any)["volid"].(string)
	plan := w.plan("s1", "delete_backup", map[string]any{"volid": volid})
	if plan["other_backups"].(float64) < 1 {
		t.Fatalf("201 has job backups too: %v", plan)
	}
	w.mustConfirm("s1", plan)
	out, _ = w.call("s1", "list_backups", map[string]any{"vmid": 201, "storage": "local"})
	if n := len(out["backups"].([]any)); n != 0 {
		t.Fatalf("still listed: %d", n)
	}
	// The only backup of a new guest: the plan warns.
	w.mustConfirm("s1", w.plan("s1", "create_container", map[string]any{"node": "pve-node01", "ostemplate": "debian-12", "vmid": 300}))
	w.mustConfirm("s1", w.plan("s1", "backup_guest", map[string]any{"vmids": []int{300}, "storage": "local"}))
	out, _ = w.call("s1", "list_backups", map[string]any{"vmid": 300})
	volid = out["backups"].([]any)[0].(map[string]any)["volid"].(string)
	plan = w.plan("s1", "delete_backup", map[string]any{"volid": volid})
	if ws := fmt.Sprint(plan["warnings"]); !strings.Contains(ws, "last backup") {
		t.Fatalf("warnings %s", ws)
	}
}

// noWrites2 fails if more than n writes reached the simulator.
func (w *writeEnv) noWrites2(n int, when string) {
	w.t.Helper()
	if ws := w.writes(); len(ws) > n {
		w.t.Fatalf("%s: the simulator received %d writes: %+v", when, len(ws), ws)
	}
}

func toolByName(t *testing.T, name string) *Tool {
	t.Helper()
	for _, tl := range All() {
		if tl.Name == name {
			return tl
		}
	}
	t.Fatalf("no tool %s", name)
	return nil
}

func TestBackupGuestNamesWhatRetentionPrunes(t *testing.T) {
	w := newWriteEnv(t, "operator")
	out, _ := w.call("s1", "list_backups", map[string]any{"vmid": 101, "storage": "nfs-backup"})
	list := out["backups"].([]any)
	oldest := list[len(list)-1].(map[string]any)["volid"].(string)
	plan := w.plan("s1", "backup_guest", map[string]any{"vmids": []int{101}, "storage": "nfs-backup"})
	ws := fmt.Sprint(plan["warnings"])
	if !strings.Contains(ws, "retention keep-last=7") || !strings.Contains(ws, "removed: "+oldest) {
		t.Fatalf("warnings %s (oldest %s)", ws, oldest)
	}
	w.mustConfirm("s1", plan)
	after, _ := w.call("s1", "list_backups", map[string]any{"vmid": 101, "storage": "nfs-backup"})
	for _, b := range after["backups"].([]any) {
		if b.(map[string]any)["volid"] == oldest {
			t.Fatalf("%s was not pruned", oldest)
		}
	}
	if n := len(after["backups"].([]any)); n != 7 {
		t.Fatalf("%d backups after the run", n)
	}
}
