package tools

import (
	"strings"
	"testing"
)

func TestDiskSize(t *testing.T) {
	cases := map[string]float64{
		"local-zfs:vm-100-disk-0,size=80G":        80,
		"local-zfs:base-9000-disk-0,size=3584M":   3.5,
		"local:100/vm-100-disk-0.qcow2,size=1T":   1024,
		"local-zfs:vm-9000-cloudinit,media=cdrom": 0,
	}
	for in, want := range cases {
		if got := diskSizeGiB(in); got != want {
			t.Errorf("diskSizeGiB(%q) = %v, want %v", in, got, want)
		}
	}
	key, size, st := bootDisk(map[string]string{"boot": "order=scsi1;net0", "scsi0": "a:b,size=1G", "scsi1": "local-zfs:x,size=2G", "ide2": "none,media=cdrom"})
	if key != "scsi1" || size != 2 || st != "local-zfs" {
		t.Fatalf("bootDisk: %s %v %s", key, size, st)
	}
}

func TestContradictoryArgumentsRefusedBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	cases := []struct {
		tool string
		args map[string]any
		want string
	}{
		{"create_vm", map[string]any{"node": "pve-node02", "memory_mib": 1024, "memory_gib": 1}, "not both"},
		{"create_vm", map[string]any{"node": "pve-node02", "template": "ubuntu-22.04-cloud", "iso": "ubuntu"}, "not both"},
		{"create_vm", map[string]any{"node": "pve-node02", "name": "bad name;rm"}, "not a valid DNS name"},
		{"create_container", map[string]any{"node": "pve-node02", "ostemplate": "debian-12", "hostname": "-x"}, "not a valid DNS name"},
		{"create_vm", map[string]any{"node": "pve-node02", "bridge": "vmbr0,firewall=0"}, "bridge"},
		{"update_guest_resources", map[string]any{"vmid": 103}, "nothing to change"},
	}
	for _, tc := range cases {
		_, errText := w.call("s1", tc.tool, tc.args)
		if !strings.Contains(errText, "invalid arguments") || !strings.Contains(errText, tc.want) {
			t.Errorf("%s %v: %q", tc.tool, tc.args, errText)
		}
	}
	if n := len(w.sim.Requests()); n != 0 {
		t.Fatalf("%d requests reached Proxmox", n)
	}
}
