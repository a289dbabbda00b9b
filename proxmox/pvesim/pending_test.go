package pvesim

import (
	"encoding/json"
	"net/url"
	"testing"
)

type pendingEntry struct {
	Key     string `json:"key"`
	Value   any    `json:"value"`
	Pending any    `json:"pending"`
	Delete  *int   `json:"delete"`
}

func (w *wsim) pendingOf(path string) map[string]pendingEntry {
	w.t.Helper()
	var l []pendingEntry
	w.ok("auditor", "GET", path, nil, &l)
	m := map[string]pendingEntry{}
	for _, e := range l {
		m[e.Key] = e
	}
	return m
}

// TestQemuPendingConfig: a running VM takes hot-pluggable changes at once and keeps the rest pending until
// it is rebooted or stopped; GET config shows pending values unless current=1, status/current does not.
func TestQemuPendingConfig(t *testing.T) {
	w := newWSim(t)
	base := "/nodes/pve-node01/qemu/105"
	var before map[string]any
	w.ok("operator", "GET", base+"/config", nil, &before)
	up := w.upid("operator", "POST", base+"/config", url.Values{
		"cores": {"4"}, "memory": {"8192"}, "description": {"monitoring"}, "delete": {"numa"},
		"net0": {"virtio=BC:24:11:36:E6:D6,bridge=vmbr0,firewall=1"},
	})
	if st := w.wait(up); st != "OK" {
		t.Fatalf("qmconfig: %s", st)
	}
	var conf, cur map[string]any
	w.ok("operator", "GET", base+"/config", nil, &conf)
	w.ok("operator", "GET", base+"/config", url.Values{"current": {"1"}}, &cur)
	if conf["cores"] != 4.0 || conf["memory"] != "8192" || conf["description"] != "monitoring" || conf["numa"] != nil {
		t.Errorf("config with pending: %v", conf)
	}
	if cur["cores"] != 2.0 || cur["memory"] != "4096" || cur["description"] != "monitoring" || cur["numa"] != 0.0 {
		t.Errorf("current config: %v", cur)
	}
	// The hot-plugged NIC change is current already.
	if cur["net0"] != "virtio=BC:24:11:36:E6:D6,bridge=vmbr0,firewall=1" {
		t.Errorf("net0 not hot-plugged: %v", cur["net0"])
	}
	if conf["digest"] == before["digest"] || conf["digest"] != cur["digest"] {
		t.Errorf("digest: before %v with pending %v current %v", before["digest"], conf["digest"], cur["digest"])
	}
	p := w.pendingOf(base + "/pending")
	if e := p["cores"]; e.Value != 2.0 || e.Pending != 4.0 || e.Delete != nil {
		t.Errorf("cores entry %+v", e)
	}
	if e := p["memory"]; e.Value != "4096" || e.Pending != "8192" {
		t.Errorf("memory entry %+v", e)
	}
	if e := p["numa"]; e.Value != 0.0 || e.Delete == nil || *e.Delete != 1 || e.Pending != nil {
		t.Errorf("numa entry %+v", e)
	}
	if e := p["description"]; e.Value != "monitoring" || e.Pending != nil {
		t.Errorf("description entry %+v", e)
	}
	if e := p["digest"]; e.Value != conf["digest"] {
		t.Errorf("digest entry %+v", e)
	}
	var st struct {
		CPUs   int   `json:"cpus"`
		MaxMem int64 `json:"maxmem"`
	}
	w.ok("operator", "GET", base+"/status/current", nil, &st)
	if st.CPUs != 2 || st.MaxMem != 4096<<20 {
		t.Errorf("status/current shows pending values: %+v", st)
	}
	// revert drops a pending change; a change back to the current value leaves nothing pending.
	w.ok("operator", "PUT", base+"/config", url.Values{"revert": {"memory"}}, nil)
	if _, ok := w.pendingOf(base + "/pending")["memory"]; !ok {
		t.Fatal("memory entry gone") // the key stays, with its current value
	}
	if e := w.pendingOf(base + "/pending")["memory"]; e.Pending != nil {
		t.Errorf("reverted memory still pending: %+v", e)
	}
	// A forced deletion is marked 2.
	w.ok("operator", "PUT", base+"/config", url.Values{"delete": {"ostype"}, "force": {"1"}}, nil)
	if e := w.pendingOf(base + "/pending")["ostype"]; e.Delete == nil || *e.Delete != 2 || e.Value != "l26" {
		t.Errorf("forced delete entry %+v", e)
	}
	w.ok("operator", "PUT", base+"/config", url.Values{"revert": {"ostype"}}, nil)
	// qmreboot applies the pending section.
	if st := w.wait(w.upid("operator", "POST", base+"/status/reboot", nil)); st != "OK" {
		t.Fatalf("reboot: %s", st)
	}
	g, _ := w.guest(105)
	if g.hasPending() || g.Conf.Get("cores") != "4" || g.Conf.Has("numa") || g.Conf.Get("memory") != "4096" {
		t.Fatalf("after reboot: %s", g.ConfText())
	}
	w.ok("operator", "GET", base+"/status/current", nil, &st)
	if st.CPUs != 4 {
		t.Errorf("cpus after reboot: %d", st.CPUs)
	}
	// A stop applies pending changes too; a stopped VM takes changes at once.
	w.ok("operator", "PUT", base+"/config", url.Values{"sockets": {"2"}}, nil)
	if g, _ := w.guest(105); g.Conf.Has("sockets") || g.Pending.Get("sockets") != "2" {
		t.Fatalf("sockets: %s", g.ConfText())
	}
	w.wait(w.upid("operator", "POST", base+"/status/stop", nil))
	if g, _ := w.guest(105); g.hasPending() || g.Conf.Get("sockets") != "2" {
		t.Fatalf("after stop: %s", g.ConfText())
	}
	w.ok("operator", "PUT", base+"/config", url.Values{"cores": {"1"}}, nil)
	if g, _ := w.guest(105); g.hasPending() || g.Conf.Get("cores") != "1" {
		t.Fatalf("stopped VM: %s", g.ConfText())
	}
}

// TestQemuHotplugOption: with cpu and memory hotplug enabled, vcpus and memory are applied live.
func TestQemuHotplugOption(t *testing.T) {
	w := newWSim(t)
	base := "/nodes/pve-node01/qemu/105"
	// Turning on memory hotplug is itself not hot-pluggable.
	w.ok("operator", "PUT", base+"/config", url.Values{"hotplug": {"network,disk,usb,cpu,memory"}}, nil)
	if g, _ := w.guest(105); g.Pending.Get("hotplug") == "" {
		t.Fatalf("hotplug with memory not pending: %s", g.ConfText())
	}
	w.wait(w.upid("operator", "POST", base+"/status/reboot", nil))
	w.ok("operator", "PUT", base+"/config", url.Values{"vcpus": {"1"}, "memory": {"6144"}, "cores": {"3"}}, nil)
	g, _ := w.guest(105)
	if g.Conf.Get("vcpus") != "1" || g.Conf.Get("memory") != "6144" || g.Pending.Get("cores") != "3" {
		t.Fatalf("hotplug cpu,memory: %s", g.ConfText())
	}
}

// TestLxcPendingConfig: pve-container applies cores, memory and NICs of a running CT live, keeps other
// options pending, and applies them at the next start (not at stop).
func TestLxcPendingConfig(t *testing.T) {
	w := newWSim(t)
	base := "/nodes/pve-node01/lxc/201"
	w.ok("operator", "PUT", base+"/config", url.Values{"cores": {"2"}, "memory": {"1024"}, "nameserver": {"1.1.1.1"}, "delete": {"onboot"}}, nil)
	g, _ := w.guest(201)
	if g.Conf.Get("cores") != "2" || g.Conf.Get("memory") != "1024" || g.Conf.Has("onboot") || g.Conf.Has("nameserver") || g.Pending.Get("nameserver") != "1.1.1.1" {
		t.Fatalf("running CT: %s", g.ConfText())
	}
	p := w.pendingOf(base + "/pending")
	if e := p["nameserver"]; e.Pending != "1.1.1.1" || e.Value != nil {
		t.Errorf("nameserver entry %+v", e)
	}
	var conf map[string]any
	w.ok("operator", "GET", base+"/config", nil, &conf)
	if conf["nameserver"] != "1.1.1.1" {
		t.Errorf("config: %v", conf)
	}
	w.wait(w.upid("operator", "POST", base+"/status/stop", nil))
	if g, _ := w.guest(201); g.Pending.Get("nameserver") != "1.1.1.1" {
		t.Fatalf("applied at stop: %s", g.ConfText())
	}
	w.wait(w.upid("operator", "POST", base+"/status/start", nil))
	if g, _ := w.guest(201); g.hasPending() || g.Conf.Get("nameserver") != "1.1.1.1" {
		t.Fatalf("after start: %s", g.ConfText())
	}
	raw := w.call("auditor", "GET", base+"/pending", nil)
	var l []map[string]any
	if err := json.Unmarshal(raw.Data, &l); err != nil || len(l) == 0 {
		t.Fatalf("pending list: %v %s", err, raw.Data)
	}
	for _, e := range l {
		if _, ok := e["pending"]; ok {
			t.Errorf("pending entry left: %v", e)
		}
	}
}
