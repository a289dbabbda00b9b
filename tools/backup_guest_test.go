package tools

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func init() {
	declareArgs("backup_guest", testArgs{
		demo:   fixed{`{"vmids":[201],"storage":"backup-pool"}`},
		broken: fixed{`{"vmids":[105],"storage":"nfs-backup"}`, `{"vmids":[102],"storage":"nfs-backup"}`},
	})
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
