package tools

import (
	"strings"
	"testing"
)

func init() {
	declareArgs("update_guest_resources", testArgs{
		demo:   fixed{`{"vmid":203,"cores":3,"memory_mib":2048,"disk_grow_gib":5}`},
		broken: fixed{`{"vmid":102,"cores":4}`, `{"vmid":105,"cores":4}`},
	})
}

func TestUpdateResourcesWithDigest(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	before := w.config(w.guest(203))
	plan := w.plan("s1", "update_guest_resources", map[string]any{"vmid": 203, "cores": 3, "memory_mib": 2048, "disk_grow_gib": 5})
	calls := plan["calls"].([]any)
	if len(calls) != 2 {
		t.Fatalf("calls %v", calls)
	}
	cfgCall := calls[0].(map[string]any)
	if cfgCall["method"] != "PUT" || cfgCall["path"] != "/nodes/pve-node02/lxc/203/config" {
		t.Fatalf("config call %v", cfgCall)
	}
	if p := cfgCall["params"].(map[string]any); p["digest"] != plan["config_digest"] || p["cores"] != "3" || p["memory"] != "2048" {
		t.Fatalf("config params %v", p)
	}
	resize := calls[1].(map[string]any)["params"].(map[string]any)
	wantSize := diskSizeGiB(before["rootfs"]) + 5
	if resize["disk"] != "rootfs" || diskSizeGiB("size="+resize["size"].(string)) != wantSize {
		t.Fatalf("resize %v (rootfs was %q)", resize, before["rootfs"])
	}
	w.noWrites("after planning")
	w.mustConfirm("s1", plan)
	after := w.config(w.guest(203))
	if after["cores"] != "3" || after["memory"] != "2048" || diskSizeGiB(after["rootfs"]) != wantSize {
		t.Fatalf("config after: %v", after)
	}
}

func TestUpdateResourcesRefusedAfterConcurrentChange(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	first := w.plan("s1", "update_guest_resources", map[string]any{"vmid": 103, "memory_mib": 24576})
	second := w.plan("s2", "update_guest_resources", map[string]any{"vmid": 103, "cores": 6})
	w.mustConfirm("s2", second)
	before := len(w.writes())
	_, errText := w.confirm("s1", first)
	if !strings.Contains(errText, "configuration of VM 103 changed since the plan") {
		t.Fatalf("digest change not detected: %q", errText)
	}
	if len(w.writes()) != before {
		t.Fatal("a refused plan sent a write")
	}
}

func TestUpdateResourcesRefusals(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	cases := []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"vmid": 103}, "nothing to change"},
		{map[string]any{"vmid": 103, "disk": "virtio7", "disk_grow_gib": 1}, "has no disk virtio7"},
		{map[string]any{"vmid": 103, "memory_gib": 1}, "invalid arguments"},
	}
	for _, tc := range cases {
		if _, errText := w.call("s1", "update_guest_resources", tc.args); !strings.Contains(errText, tc.want) {
			t.Errorf("%v: got %q, want %q", tc.args, errText, tc.want)
		}
	}
	w.noWrites("refused updates")
}

func TestConfigMemory(t *testing.T) {
	for in, want := range map[string]int{"8192": 8192, "current=4096": 4096, "": 512, "current=2048,foo=1": 2048} {
		if got := configMemoryMiB(in); got != want {
			t.Errorf("configMemoryMiB(%q) = %d, want %d", in, got, want)
		}
	}
}
