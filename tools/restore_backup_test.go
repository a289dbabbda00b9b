package tools

import (
	"fmt"
	"strings"
	"testing"
)

func init() {
	declareArgs("restore_backup", testArgs{demo: computed(func(t *testing.T, call callFunc) []string {
		return []string{fmt.Sprintf(`{"volid":%q,"unique":true}`, aBackup(t, call, 101, true))}
	})})
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
