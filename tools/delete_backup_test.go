package tools

import (
	"fmt"
	"strings"
	"testing"
)

func init() {
	declareArgs("delete_backup", testArgs{demo: computed(func(t *testing.T, call callFunc) []string {
		return []string{fmt.Sprintf(`{"volid":%q}`, aBackup(t, call, 101, false))}
	})})
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
