package tools

import (
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/toolkit"
)

func init() {
	declareArgs("migrate_guest", testArgs{
		demo:   fixed{`{"vmid":203,"target":"pve-node01"}`},
		broken: fixed{`{"vmid":201,"target":"pve-node02"}`, `{"vmid":201,"target":"pve-node03"}`},
	})
}

func TestMigrateRunningVMWithLocalDisks(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	args := map[string]any{"vmid": 105, "target": "pve-node02"}
	_, errText := w.call("s1", "migrate_guest", args)
	if !strings.Contains(errText, "with_local_disks") {
		t.Fatalf("local disks not reported: %q", errText)
	}
	args["with_local_disks"] = true
	plan := w.plan("s1", "migrate_guest", args)
	params := plan["calls"].([]any)[0].(map[string]any)["params"].(map[string]any)
	if params["target"] != "pve-node02" || params["online"] != "1" || params["with-local-disks"] != "1" {
		t.Fatalf("params %v", params)
	}
	if plan["online"] != true || plan["target_ram_after_pct"].(float64) <= plan["target_ram_pct"].(float64) {
		t.Fatalf("plan %v", plan)
	}
	w.noWrites("after planning")
	w.mustConfirm("s1", plan)
	if g := w.guest(105); g.Node != "pve-node02" || g.Status != "running" {
		t.Fatalf("VM 105 after migration: %+v", g)
	}
}

func TestMigrateStoppedContainerAndStaleState(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	plan := w.plan("s1", "migrate_guest", map[string]any{"vmid": 203, "target": "pve-node01"})
	if plan["online"] != false {
		t.Fatalf("stopped container planned online: %v", plan)
	}
	// The container is started meanwhile: the offline plan must not run.
	start := w.plan("s2", "guest_power", map[string]any{"vmid": 203, "action": "start"})
	w.mustConfirm("s2", start)
	_, errText := w.confirm("s1", plan)
	if !strings.Contains(errText, "is now running") {
		t.Fatalf("stale migration: %q", errText)
	}
	if g := w.guest(203); g.Node != "pve-node02" {
		t.Fatalf("container moved: %+v", g)
	}
}

func TestMigrateRefusals(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	cases := []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"vmid": 103, "target": "pve-node01"}, "already on pve-node01"},
		{map[string]any{"vmid": 103, "target": "pve-node09"}, "pve-node09"},
		{map[string]any{"vmid": 103, "target": "pve-node02", "mode": "offline"}, "cannot migrate it offline"},
		// pve-node03 is at 91% RAM: a running 32 GiB VM must not go there.
		{map[string]any{"vmid": 102, "target": "pve-node03", "with_local_disks": true}, "on pve-node03 RAM would reach"},
	}
	for _, tc := range cases {
		if _, errText := w.call("s1", "migrate_guest", tc.args); !strings.Contains(errText, tc.want) {
			t.Errorf("%v: got %q, want %q", tc.args, errText, tc.want)
		}
	}
	w.noWrites("refused migrations")
}

func TestMigrationBlockers(t *testing.T) {
	m := &proxmox.MigrationCheck{
		AllowedNodes: []string{"b"},
		NotAllowed:   map[string]string{"c": "storage not available there: local-zfs"},
		LocalDisks: []proxmox.LocalDisk{
			{VolID: "local-zfs:vm-1-disk-0", Size: 10 << 30},
			{VolID: "local:iso/x.iso", CDROM: true, Size: 1 << 30},
		},
	}
	if _, _, err := migrationBlockers(m, "c", true); err == nil || !strings.Contains(err.Error(), "local-zfs") {
		t.Fatalf("not-allowed node: %v", err)
	}
	if _, _, err := migrationBlockers(m, "b", false); err == nil || !strings.Contains(err.Error(), "10.0 GiB") {
		t.Fatalf("local disk: %v", err)
	}
	gib, local, err := migrationBlockers(m, "b", true)
	if err != nil || gib != 10 || len(local) != 1 {
		t.Fatalf("with local disks: %v %v %v", gib, local, err)
	}
	m.LocalResources = []string{"hostpci0"}
	if _, _, err := migrationBlockers(m, "b", true); err == nil {
		t.Fatal("local resource allowed")
	}
}

func TestMigrateRespectsCPUThreshold(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	w.srv.Env().Thresholds = toolkit.Thresholds{CPUPct: 1} // any running guest crosses it
	_, errText := w.call("s1", "migrate_guest", map[string]any{"vmid": 105, "target": "pve-node02", "with_local_disks": true})
	if !strings.Contains(errText, "CPU would reach") {
		t.Fatalf("got %q", errText)
	}
	w.noWrites("refused migration")
}
