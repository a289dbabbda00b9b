package tools

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/proxmox"
)

func init() {
	declareArgs("snapshot_guest", testArgs{
		demo:   fixed{`{"vmid":102,"action":"rollback","name":"pre-vacuum-tuning"}`},
		broken: fixed{`{"vmid":203,"action":"create","name":"af-snap"}`, `{"vmid":104,"action":"create","name":"af-snap"}`},
	})
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

// A guest that moved to another node between plan and confirmation is
// refused at confirm time, naming both nodes, and nothing is sent for it.
func TestSnapshotGuestMovedSincePlan(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	from := w.guest(203).Node
	plan := w.plan("s1", "snapshot_guest", map[string]any{"vmid": 203, "action": "create", "name": "before-move"})
	w.mustConfirm("s1", w.plan("s1", "migrate_guest", map[string]any{"vmid": 203, "target": "pve-node01"}))
	if from == "pve-node01" {
		t.Fatal("container 203 starts on pve-node01: the move tests nothing")
	}
	sent := len(w.writes())
	out, errText := w.confirm("s1", plan)
	want := fmt.Sprintf("container 203 moved from %s to pve-node01 since the plan", from)
	if !strings.Contains(errText+fmt.Sprint(out["message"]), want) {
		t.Fatalf("confirm after the move: %q %v, want %q", errText, out, want)
	}
	if n := len(w.writes()); n != sent {
		t.Fatalf("%d more writes after the refused confirmation", n-sent)
	}
}
