package pvesim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestScenarioRefusesTheImpossible: what Proxmox would never show is
// refused with file, line and reason.
func TestScenarioRefusesTheImpossible(t *testing.T) {
	withZFS := strings.Replace(miniScenario, "    memory: 16GiB\n", "    memory: 16GiB\n    zfs:\n      - {name: rpool, size: 100GiB, health: ONLINE}\n", 1)
	cases := []struct {
		name, yaml, want string
	}{
		{"name not a DNS name", strings.Replace(miniScenario, "    memory: 2GiB", "    name: web server\n    memory: 2GiB", 1),
			`bad.yaml:16: guest 100: name "web server" is not a DNS name`},
		{"name with underscore", strings.Replace(miniScenario, "    memory: 2GiB", "    name: web_01\n    memory: 2GiB", 1),
			`bad.yaml:16: guest 100: name "web_01" is not a DNS name`},
		{"bad tag", strings.Replace(miniScenario, "    memory: 2GiB", "    tags: [prod, \"-x\"]\n    memory: 2GiB", 1),
			`bad.yaml:16: guest 100: invalid tag "-x"`},
		{"bad snapshot name", miniScenario + "    snapshots:\n      - {name: before-upgrade}\n      - {name: 2024-01-01}\n",
			`bad.yaml:20: guest 100: invalid snapshot name "2024-01-01"`},
		{"reserved snapshot name", miniScenario + "    snapshots:\n      - {name: current}\n",
			`bad.yaml:19: guest 100: snapshot name "current" is reserved`},
		{"storage used > size", strings.Replace(miniScenario, "    content: [images, rootdir]\n", "    content: [images, rootdir]\n    size: 10GiB\n    used: 12GiB\n", 1),
			`bad.yaml:13: storage local-zfs: used 12.0 GiB is more than its size 10.0 GiB`},
		{"rootfs used > size", strings.Replace(miniScenario, "    memory: 16GiB\n", "    memory: 16GiB\n    rootfs: {size: 10GiB, used: 11GiB}\n", 1),
			`bad.yaml:7: node n1: rootfs used 11.0 GiB is more than its size 10.0 GiB`},
		{"disk larger than its pool", strings.Replace(withZFS, `local-zfs:10G`, `local-zfs:200G`, 1),
			`bad.yaml:19: guest 100: disk scsi0 of 200.0 GiB is larger than ZFS pool rpool on n1 (100.0 GiB)`},
		{"pool overfull", strings.Replace(withZFS, "    content: [images, rootdir]\n", "    content: [images, rootdir]\n    used: 150GiB\n", 1),
			`bad.yaml:8: zpool rpool on n1: its storages and extra_alloc use 150.0 GiB, more than its size 100.0 GiB`},
	}
	dir := t.TempDir()
	for _, c := range cases {
		p := filepath.Join(dir, "bad.yaml")
		if err := os.WriteFile(p, []byte(c.yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := loadScenario(p); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
	// The plausible variants load.
	for _, y := range []string{withZFS, strings.Replace(miniScenario, "    memory: 2GiB", "    name: web-01.example.com\n    tags: [prod, db_1, \"v1.2+x\"]\n    memory: 2GiB", 1)} {
		p := filepath.Join(dir, "ok.yaml")
		if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := loadScenario(p); err != nil {
			t.Errorf("plausible scenario refused: %v", err)
		}
	}
}
