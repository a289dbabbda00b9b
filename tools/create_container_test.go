package tools

import (
	"testing"
)

func init() {
	declareArgs("create_container", testArgs{
		demo: fixed{`{"node":"pve-node02","ostemplate":"debian-12"}`},
		broken: fixed{`{"node":"pve-node02","ostemplate":"local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst","hostname":"af-ct"}`,
			`{"node":"pve-node01","ostemplate":"local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst","hostname":"af-ct"}`},
	})
}

func TestCreateContainer(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	plan := w.plan("s1", "create_container", map[string]any{
		"node": "pve-node03", "hostname": "cache-01", "ostemplate": "debian-12", "memory_mib": 1024, "disk_gib": 4,
	})
	if plan["unprivileged"] != true || plan["ostemplate"] != "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst" {
		t.Fatalf("plan %v", plan)
	}
	w.mustConfirm("s1", plan)
	g := w.guest(int(plan["vmid"].(float64)))
	if g.Type != "lxc" || g.Node != "pve-node03" || g.Name != "cache-01" || g.Status != "stopped" {
		t.Fatalf("container %+v", g)
	}
	if cfg := w.config(g); cfg["unprivileged"] != "1" || cfg["memory"] != "1024" {
		t.Fatalf("config %v", cfg)
	}
}
