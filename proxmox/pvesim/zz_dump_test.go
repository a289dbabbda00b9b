package pvesim

import (
	"os"
	"testing"
)

func TestZZDump(t *testing.T) {
	if os.Getenv("DUMP") == "" {
		t.Skip()
	}
	s := startSim(t, Options{})
	for _, p := range []string{"/cluster/resources?type=node", "/nodes", "/nodes/pve-node03/status", "/nodes/pve-node03/storage", "/nodes/pve-node01/storage", "/nodes/pve-node03/disks/zfs", "/nodes/pve-node03/disks/zfs/rpool", "/nodes/pve-node03/disks/list", "/cluster/ha/status/current", "/cluster/backup", "/cluster/backup-info/not-backed-up", "/cluster/nextid", "/nodes/pve-node01/qemu", "/nodes/pve-node01/qemu/100/config", "/nodes/pve-node01/tasks?typefilter=vzdump&limit=3", "/access/permissions", "/nodes/pve-node01/disks/zfs"} {
		r := callURL(t, s.URL(), s.Token("operator"), "GET", p, nil)
		t.Logf("%s -> %d %s\n%s\n", p, r.Status, r.Reason, r.Body)
	}
}
