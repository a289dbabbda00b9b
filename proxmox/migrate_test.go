package proxmox

import (
	"context"
	"strings"
	"testing"
)

// TestMigrationPrecondition reads both spellings of the answer: qemu's
// snake_case and PVE 9 lxc's hyphenated keys.
func TestMigrationPrecondition(t *testing.T) {
	c := canned(t, map[string]string{
		"/nodes/pve1/qemu/100/migrate": `{"data":{"running":1,"allowed_nodes":["pve2"],"not_allowed_nodes":{"pve3":{"unavailable_storages":["local-zfs"]}},"local_disks":[{"volid":"local-zfs:vm-100-disk-0","drivename":"scsi0","size":85899345920,"cdrom":0,"is_unused":0}],"local_resources":[]}}`,
		"/nodes/pve1/lxc/200/migrate":  `{"data":{"running":0,"allowed-nodes":["pve2"],"not-allowed-nodes":{"pve3":{"blocking-ha-resources":[{"sid":"ct:201","cause":"resource-affinity"}]}},"dependent-ha-resources":["ct:202"]}}`,
	})
	ctx := context.Background()
	m, err := c.MigrationPrecondition(ctx, "pve1", TypeQemu, 100, "")
	if err != nil || !m.Running || m.AllowedNodes[0] != "pve2" || !strings.Contains(m.NotAllowed["pve3"], "local-zfs") || len(m.LocalDisks) != 1 || m.LocalDisks[0].Size != 85899345920 {
		t.Fatalf("qemu precondition %+v %v", m, err)
	}
	m, err = c.MigrationPrecondition(ctx, "pve1", TypeLXC, 200, "")
	if err != nil || m.Running || m.AllowedNodes[0] != "pve2" || m.BlockingHA["pve3"][0] != "ct:201" || m.DependentHA[0] != "ct:202" {
		t.Fatalf("lxc precondition %+v %v", m, err)
	}
	if _, err := c.MigrationPrecondition(ctx, "pve1", TypeQemu, 100, "../x"); KindOf(err) != KindInvalid {
		t.Fatalf("invalid target: %v", err)
	}
}
