package pvesim

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"
)

// waitFor polls cond (under no lock) until it holds; HA acts in background workers.
func (w *wsim) waitFor(what string, cond func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			w.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (w *wsim) status(vmid int) string {
	g, ok := w.guest(vmid)
	if !ok {
		return "absent"
	}
	return g.Status
}

func hasLine(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

func TestQemuPower(t *testing.T) {
	w := newWSim(t)
	n1 := "/nodes/pve-node01/qemu/103/status/"
	// Starting a running VM is not refused synchronously: the task fails.
	up := w.upid("operator", "POST", n1+"start", nil)
	if st := w.wait(up); st != "VM 103 already running" {
		t.Fatalf("start running: %q", st)
	}
	if l := w.logOf("pve-node01", up); l[len(l)-1] != "TASK ERROR: VM 103 already running" {
		t.Fatalf("log %q", l)
	}
	// Pause, then a shutdown of the paused VM is refused; resume runs it again.
	if st := w.wait(w.upid("operator", "POST", n1+"suspend", nil)); st != "OK" || w.status(103) != "paused" {
		t.Fatalf("suspend: %q %s", st, w.status(103))
	}
	w.expectErr(w.call("operator", "POST", n1+"shutdown", nil), 500, "VM is paused - cannot shutdown")
	if st := w.wait(w.upid("operator", "POST", n1+"resume", nil)); st != "OK" || w.status(103) != "running" {
		t.Fatalf("resume: %q %s", st, w.status(103))
	}
	// Shutdown stops it; then reboot/suspend of a stopped VM are synchronous 500s.
	up = w.upid("operator", "POST", n1+"shutdown", url.Values{"timeout": {"30"}})
	if st := w.wait(up); st != "OK" || w.status(103) != "stopped" {
		t.Fatalf("shutdown: %q %s", st, w.status(103))
	}
	if !strings.Contains(up, ":qmshutdown:103:pvemcp@pve!operator:") {
		t.Fatalf("upid %s", up)
	}
	w.expectErr(w.call("operator", "POST", n1+"reboot", nil), 500, "VM 103 not running")
	w.expectErr(w.call("operator", "POST", n1+"suspend", nil), 500, "VM 103 not running")
	w.expectErr(w.call("operator", "POST", n1+"resume", nil), 500, "VM 103 not running")
	// qemu-server's shutdown/stop of a stopped VM are no-op tasks that end OK (Qemu.pm vm_shutdown /
	// vm_stop have no running check; _do_vm_stop returns when check_running finds no pid).
	if st := w.wait(w.upid("operator", "POST", n1+"stop", nil)); st != "OK" {
		t.Fatalf("stop stopped: %q", st)
	}
	up = w.upid("operator", "POST", n1+"shutdown", nil)
	if st := w.wait(up); st != "OK" || !strings.Contains(up, ":qmshutdown:103:") || w.status(103) != "stopped" {
		t.Fatalf("shutdown stopped: %q %s %s", st, up, w.status(103))
	}
	// check_running asserts the config exists: a VM of another node fails in the task.
	if st := w.wait(w.upid("operator", "POST", "/nodes/pve-node02/qemu/103/status/shutdown", nil)); st != "Configuration file 'nodes/pve-node02/qemu-server/103.conf' does not exist" {
		t.Fatalf("shutdown elsewhere: %q", st)
	}
	if st := w.wait(w.upid("operator", "POST", n1+"start", nil)); st != "OK" || w.status(103) != "running" {
		t.Fatalf("start: %q %s", st, w.status(103))
	}
	// Refusals before any task: permissions, root-only options, a VM on another node.
	w.expectErr(w.call("auditor", "POST", n1+"stop", nil), 403, "Permission check failed (/vms/103, VM.PowerMgmt)")
	r := w.call("operator", "POST", n1+"stop", url.Values{"skiplock": {"1"}})
	if r.Status != 400 || r.Errors["skiplock"] != "Only root may use this option." {
		t.Fatalf("skiplock: %d %v", r.Status, r.Errors)
	}
	w.expectErr(w.call("operator", "POST", "/nodes/pve-node02/qemu/103/status/reboot", nil), 500, "Configuration file 'nodes/pve-node02/qemu-server/103.conf' does not exist")
	up = w.upid("operator", "POST", "/nodes/pve-node02/qemu/103/status/start", nil)
	if st := w.wait(up); st != "Configuration file 'nodes/pve-node02/qemu-server/103.conf' does not exist" {
		t.Fatalf("start elsewhere: %q", st)
	}
	// Templates cannot start.
	if st := w.wait(w.upid("operator", "POST", "/nodes/pve-node02/qemu/9000/status/start", nil)); st != "you can't start a vm if it's a template" {
		t.Fatalf("template: %q", st)
	}
}

func TestLxcPower(t *testing.T) {
	w := newWSim(t)
	w.expectErr(w.call("operator", "POST", "/nodes/pve-node01/lxc/201/status/start", nil), 500, "CT 201 already running")
	w.expectErr(w.call("operator", "POST", "/nodes/pve-node02/lxc/203/status/stop", nil), 500, "CT 203 not running")
	w.expectErr(w.call("operator", "POST", "/nodes/pve-node02/lxc/203/status/shutdown", nil), 500, "CT 203 not running")
	w.expectErr(w.call("operator", "POST", "/nodes/pve-node02/lxc/203/status/reboot", nil), 500, "VM 203 not running")
	up := w.upid("operator", "POST", "/nodes/pve-node02/lxc/203/status/start", nil)
	if !strings.Contains(up, ":vzstart:203:") || w.wait(up) != "OK" || w.status(203) != "running" {
		t.Fatalf("vzstart %s → %s", up, w.status(203))
	}
	// Suspend checkpoints and stops the container; resume restores it; a resume without checkpoint fails.
	w.wait(w.upid("operator", "POST", "/nodes/pve-node02/lxc/203/status/suspend", nil))
	if w.status(203) != "stopped" {
		t.Fatalf("after suspend: %s", w.status(203))
	}
	if st := w.wait(w.upid("operator", "POST", "/nodes/pve-node02/lxc/203/status/resume", nil)); st != "OK" || w.status(203) != "running" {
		t.Fatalf("resume: %q %s", st, w.status(203))
	}
	// A CT that is not on the node is "not running"; starting it fails in the worker.
	w.expectErr(w.call("operator", "POST", "/nodes/pve-node02/lxc/299/status/stop", nil), 500, "CT 299 not running")
	if st := w.wait(w.upid("operator", "POST", "/nodes/pve-node02/lxc/299/status/start", nil)); st != "Configuration file 'nodes/pve-node02/lxc/299.conf' does not exist" {
		t.Fatalf("start missing CT: %q", st)
	}
	w.wait(w.upid("operator", "POST", "/nodes/pve-node02/lxc/203/status/shutdown", url.Values{"timeout": {"10"}}))
	if st := w.wait(w.upid("operator", "POST", "/nodes/pve-node02/lxc/203/status/resume", nil)); !strings.Contains(st, "lxc-checkpoint") {
		t.Fatalf("resume without checkpoint: %q", st)
	}
}

// TestHAManagedPower: an HA-managed guest is only requested through HA; the LRM applies it as root@pam.
func TestHAManagedPower(t *testing.T) {
	w := newWSim(t)
	up := w.upid("operator", "POST", "/nodes/pve-node01/qemu/100/status/shutdown", nil)
	if !strings.Contains(up, ":hastop:100:") {
		t.Fatalf("not hastop: %s", up)
	}
	if st := w.wait(up); st != "OK" {
		t.Fatalf("hastop: %s", st)
	}
	if l := w.logOf("pve-node01", up); l[0] != "Requesting HA stop for VM 100" {
		t.Fatalf("hastop log %q", l)
	}
	w.s.mu.RLock()
	state := w.s.st.haResource("vm:100").State
	w.s.mu.RUnlock()
	if state != "stopped" {
		t.Fatalf("HA request state %q", state)
	}
	w.waitFor("HA to stop VM 100", func() bool { return w.status(100) == "stopped" })
	// The LRM's worker ran as root@pam on the guest's node.
	found := false
	_, archive := w.s.tasks.nodeTasks("pve-node01")
	for _, v := range archive {
		if v.Type == "qmshutdown" && v.ID == "100" && v.User == "root@pam" {
			found = true
		}
	}
	if !found {
		t.Fatal("no qmshutdown by root@pam")
	}
	up = w.upid("operator", "POST", "/nodes/pve-node01/qemu/100/status/start", nil)
	if !strings.Contains(up, ":hastart:100:") || w.wait(up) != "OK" {
		t.Fatalf("hastart %s", up)
	}
	w.waitFor("HA to start VM 100", func() bool { return w.status(100) == "running" })
	// Containers too; overrule-shutdown is refused for HA resources.
	r := w.call("operator", "POST", "/nodes/pve-node01/lxc/200/status/stop", url.Values{"overrule-shutdown": {"1"}})
	if r.Status != 400 || r.Errors["overrule-shutdown"] != "Not applicable for HA resources." {
		t.Fatalf("overrule: %d %v", r.Status, r.Errors)
	}
	up = w.upid("operator", "POST", "/nodes/pve-node01/lxc/200/status/stop", nil)
	if !strings.Contains(up, ":hastop:200:") {
		t.Fatalf("ct hastop %s", up)
	}
	w.wait(up)
	w.waitFor("HA to stop CT 200", func() bool { return w.status(200) == "stopped" })
}

func TestMigratePreconditions(t *testing.T) {
	w := newWSim(t)
	var pre map[string]any
	w.ok("operator", "GET", "/nodes/pve-node01/qemu/103/migrate", url.Values{"target": {"pve-node02"}}, &pre)
	if pre["running"] != float64(1) || pre["has-dbus-vmstate"] != float64(1) {
		t.Fatalf("pre: %v", pre)
	}
	an := pre["allowed_nodes"].([]any)
	if len(an) != 2 || an[0] != "pve-node02" || an[1] != "pve-node03" {
		t.Fatalf("allowed_nodes %v", an)
	}
	ld := pre["local_disks"].([]any)
	if len(ld) != 1 {
		t.Fatalf("local_disks %v", ld)
	}
	d := ld[0].(map[string]any)
	if d["volid"] != "local-zfs:vm-103-disk-0" || d["drivename"] != "scsi0" || d["size"] != float64(200<<30) || d["cdrom"] != float64(0) || d["is_attached"] != float64(1) {
		t.Fatalf("local disk %v", d)
	}
	for _, k := range []string{"local_resources", "mapped-resources", "mapped-resource-info", "not_allowed_nodes"} {
		if _, ok := pre[k]; !ok {
			t.Fatalf("missing %s", k)
		}
	}
	if _, ok := pre["dependent-ha-resources"]; ok {
		t.Fatal("dependent-ha-resources on a non-HA VM")
	}
	w.ok("operator", "GET", "/nodes/pve-node01/qemu/100/migrate", nil, &pre)
	if _, ok := pre["dependent-ha-resources"]; !ok {
		t.Fatal("HA VM without dependent-ha-resources")
	}
	// A strict node-affinity rule blocks the nodes it does not name.
	w.s.mu.Lock()
	for _, r := range w.s.st.HARules {
		if contains(r.Resources, "vm:100") {
			r.Strict = true
		}
	}
	w.s.mu.Unlock()
	pre = nil
	w.ok("operator", "GET", "/nodes/pve-node01/qemu/100/migrate", nil, &pre)
	na, _ := pre["not_allowed_nodes"].(map[string]any)
	blk, _ := na["pve-node03"].(map[string]any)
	if b, _ := blk["blocking-ha-resources"].([]any); len(b) != 1 || b[0].(map[string]any)["cause"] != "node-affinity" {
		t.Fatalf("strict rule: %v", pre)
	}
	if an := pre["allowed_nodes"].([]any); len(an) != 1 || an[0] != "pve-node02" {
		t.Fatalf("strict rule allowed: %v", an)
	}
	// LXC uses hyphenated keys.
	var lp map[string]any
	w.ok("operator", "GET", "/nodes/pve-node01/lxc/201/migrate", nil, &lp)
	if _, ok := lp["allowed-nodes"]; !ok || lp["running"] != float64(1) {
		t.Fatalf("lxc pre %v", lp)
	}
	if _, ok := lp["allowed_nodes"]; ok {
		t.Fatal("lxc with snake_case keys")
	}
	w.expectErr(w.call("auditor", "GET", "/nodes/pve-node01/qemu/103/migrate", nil), 403, "Permission check failed (/vms/103, VM.Migrate)")

	// PVE 8 had no LXC precondition endpoint and no dbus-vmstate.
	w8 := newWSimOpts(t, Options{PVEVersion: 8})
	w8.expectErr(w8.call("operator", "GET", "/nodes/pve-node01/lxc/201/migrate", nil), 501, "Method 'GET /nodes/pve-node01/lxc/201/migrate' not implemented")
	pre = nil
	w8.ok("operator", "GET", "/nodes/pve-node01/qemu/103/migrate", nil, &pre)
	if _, ok := pre["has-dbus-vmstate"]; ok {
		t.Fatal("PVE 8 precondition with has-dbus-vmstate")
	}
}

func TestQemuMigrate(t *testing.T) {
	w := newWSim(t)
	base := "/nodes/pve-node01/qemu/103/migrate"
	r := w.call("operator", "POST", base, url.Values{"target": {"pve-node01"}})
	if r.Status != 400 || r.Errors["target"] != "target is local node." {
		t.Fatalf("local target: %d %v", r.Status, r.Errors)
	}
	w.expectErr(w.call("operator", "POST", base, url.Values{"target": {"pve-node09"}}), 500, "no such cluster node 'pve-node09'")
	w.expectErr(w.call("operator", "POST", base, url.Values{"target": {"pve-node02"}}), 500, "can't migrate running VM without --online")
	// Online without with-local-disks: the task aborts after scanning the volumes.
	up := w.upid("operator", "POST", base, url.Values{"target": {"pve-node02"}, "online": {"1"}})
	if st := w.wait(up); st != "migration aborted" {
		t.Fatalf("want abort, got %q", st)
	}
	l := w.logOf("pve-node01", up)
	if !hasLine(l, "can't live migrate attached local disks without with-local-disks option") || !hasLine(l, "ERROR: migration aborted (duration ") {
		t.Fatalf("abort log %q", l)
	}
	if g, _ := w.guest(103); g.Node != "pve-node01" || g.Lock != "" {
		t.Fatalf("after abort: node %s lock %q", g.Node, g.Lock)
	}
	w.s.mu.RLock()
	before := w.s.instUsedAt(w.s.st.storageOn("pve-node02", "local-zfs"), w.s.now())
	w.s.mu.RUnlock()
	up = w.upid("operator", "POST", base, url.Values{"target": {"pve-node02"}, "online": {"1"}, "with-local-disks": {"1"}})
	if st := w.wait(up); st != "OK" {
		t.Fatalf("migrate: %q %q", st, w.logOf("pve-node01", up))
	}
	l = w.logOf("pve-node01", up)
	if !strings.Contains(l[0], "starting migration of VM 103 to node 'pve-node02' (") || !hasLine(l, "migration finished successfully (duration ") || l[len(l)-1] != "TASK OK" {
		t.Fatalf("log %q", l)
	}
	if len(l[0]) < 20 || l[0][4] != '-' || l[0][13] != ':' {
		t.Fatalf("migration lines are not timestamped: %q", l[0])
	}
	g, _ := w.guest(103)
	if g.Node != "pve-node02" || g.Status != "running" {
		t.Fatalf("after migrate: %s %s", g.Node, g.Status)
	}
	w.s.mu.RLock()
	si, v := w.s.st.findVolume("pve-node02", "local-zfs:vm-103-disk-0")
	after := w.s.instUsedAt(w.s.st.storageOn("pve-node02", "local-zfs"), w.s.now())
	w.s.mu.RUnlock()
	if v == nil || si.Node != "pve-node02" {
		t.Fatalf("volume did not move: %v", si)
	}
	if after <= before {
		t.Fatalf("target storage use did not grow: %d -> %d", before, after)
	}
	// A migration to a node that is down fails when the source cannot reach it.
	w.s.SetFault("pve-node03", Fault{Offline: true})
	up = w.upid("operator", "POST", "/nodes/pve-node02/qemu/103/migrate", url.Values{"target": {"pve-node03"}, "online": {"1"}, "with-local-disks": {"1"}})
	if st := w.wait(up); st != "migration aborted" || !hasLine(w.logOf("pve-node02", up), "Can't connect to destination address using public key") {
		t.Fatalf("offline target: %q %q", st, w.logOf("pve-node02", up))
	}
	w.s.ClearFaults()
	// Now it answers on its new node only.
	w.expectErr(w.call("operator", "GET", base, nil), 500, "Configuration file 'nodes/pve-node01/qemu-server/103.conf' does not exist")
}

func TestHAMigrateAndLxcMigrate(t *testing.T) {
	w := newWSim(t)
	up := w.upid("operator", "POST", "/nodes/pve-node01/qemu/101/migrate", url.Values{"target": {"pve-node02"}, "online": {"1"}})
	if !strings.Contains(up, ":hamigrate:101:") || w.wait(up) != "OK" {
		t.Fatalf("hamigrate %s", up)
	}
	if l := w.logOf("pve-node01", up); l[0] != "Requesting HA migration for VM 101 to node pve-node02" {
		t.Fatalf("hamigrate log %q", l)
	}
	w.waitFor("HA to migrate VM 101", func() bool { g, _ := w.guest(101); return g.Node == "pve-node02" && g.Lock == "" })

	w.expectErr(w.call("operator", "POST", "/nodes/pve-node01/lxc/201/migrate", url.Values{"target": {"pve-node03"}}), 500, "can't migrate running container without --online or --restart")
	up = w.upid("operator", "POST", "/nodes/pve-node01/lxc/201/migrate", url.Values{"target": {"pve-node03"}, "restart": {"1"}})
	if st := w.wait(up); st != "OK" {
		t.Fatalf("vzmigrate: %q %q", st, w.logOf("pve-node01", up))
	}
	g, _ := w.guest(201)
	if g.Node != "pve-node03" || g.Status != "running" {
		t.Fatalf("ct after migrate: %s %s", g.Node, g.Status)
	}
	l := w.logOf("pve-node01", up)
	if !hasLine(l, "shutdown CT 201") || !hasLine(l, "start container on target node") {
		t.Fatalf("restart-mode log %q", l)
	}
}

func TestConfigDigestAndUpdate(t *testing.T) {
	w := newWSim(t)
	var conf map[string]any
	w.ok("operator", "GET", "/nodes/pve-node01/qemu/105/config", nil, &conf)
	digest := conf["digest"].(string)
	// A stale digest is refused for qemu PUT and POST alike.
	w.expectErr(w.call("operator", "PUT", "/nodes/pve-node01/qemu/105/config", url.Values{"cores": {"4"}, "digest": {strings.Repeat("0", 40)}}), 500, "checksum mismatch (file change by other user?)")
	w.ok("operator", "PUT", "/nodes/pve-node01/qemu/105/config", url.Values{"cores": {"4"}, "digest": {digest}}, nil)
	w.expectErr(w.call("operator", "POST", "/nodes/pve-node01/qemu/105/config", url.Values{"memory": {"8192"}, "digest": {digest}}), 500, "checksum mismatch (file change by other user?)")
	w.ok("operator", "GET", "/nodes/pve-node01/qemu/105/config", nil, &conf)
	up := w.upid("operator", "POST", "/nodes/pve-node01/qemu/105/config", url.Values{"memory": {"8192"}, "digest": {conf["digest"].(string)}, "scsi1": {"local-zfs:10"}})
	if !strings.Contains(up, ":qmconfig:105:") || w.wait(up) != "OK" {
		t.Fatalf("qmconfig %s", up)
	}
	// VM 105 runs with the default hotplug (network,disk,usb): the new scsi1 is hot-plugged, cores and
	// memory wait in the pending section.
	g, _ := w.guest(105)
	if g.Conf.Get("cores") != "2" || g.Conf.Get("memory") != "4096" || g.Conf.Get("scsi1") != "local-zfs:vm-105-disk-1,size=10G" {
		t.Fatalf("config %v", g.ConfText())
	}
	if g.Pending == nil || g.Pending.Get("cores") != "4" || g.Pending.Get("memory") != "8192" {
		t.Fatalf("pending %v", g.ConfText())
	}
	// Deleting a disk detaches it as unused0; deleting unused0 frees the volume.
	w.ok("operator", "PUT", "/nodes/pve-node01/qemu/105/config", url.Values{"delete": {"scsi1"}}, nil)
	g, _ = w.guest(105)
	if g.Conf.Get("unused0") != "local-zfs:vm-105-disk-1" || g.Conf.Has("scsi1") {
		t.Fatalf("detach: %s", g.Conf.Text())
	}
	w.ok("operator", "PUT", "/nodes/pve-node01/qemu/105/config", url.Values{"delete": {"unused0"}}, nil)
	w.s.mu.RLock()
	_, v := w.s.st.findVolume("pve-node01", "local-zfs:vm-105-disk-1")
	w.s.mu.RUnlock()
	if v != nil {
		t.Fatal("unused volume not destroyed")
	}
	r := w.call("operator", "PUT", "/nodes/pve-node01/qemu/105/config", url.Values{"cores": {"2"}, "delete": {"cores"}})
	if r.Status != 400 || r.Errors["delete"] == "" {
		t.Fatalf("set+delete: %d %v", r.Status, r.Errors)
	}
	w.expectErr(w.call("operator", "PUT", "/nodes/pve-node01/qemu/105/config", nil), 500, "no options specified")
	// LXC PUT has Proxmox's other message.
	w.expectErr(w.call("operator", "PUT", "/nodes/pve-node01/lxc/201/config", url.Values{"memory": {"1024"}, "digest": {strings.Repeat("a", 40)}}), 500, "detected modified configuration - file changed by other user? Try again.")
	w.ok("operator", "PUT", "/nodes/pve-node01/lxc/201/config", url.Values{"memory": {"1024"}}, nil)
	if g, _ := w.guest(201); g.Conf.Get("memory") != "1024" {
		t.Fatalf("lxc memory %s", g.Conf.Get("memory"))
	}
	w.expectErr(w.call("auditor", "PUT", "/nodes/pve-node01/qemu/105/config", url.Values{"cores": {"2"}}), 403,
		"Permission check failed (/vms/105, VM.Config.Disk|VM.Config.CDROM|VM.Config.CPU|VM.Config.Memory|VM.Config.Network|VM.Config.HWType|VM.Config.Options|VM.Config.Cloudinit)")
}

func TestResize(t *testing.T) {
	w := newWSim(t)
	up := w.upid("operator", "PUT", "/nodes/pve-node01/qemu/105/resize", url.Values{"disk": {"scsi0"}, "size": {"+10G"}})
	if st := w.wait(up); st != "OK" {
		t.Fatalf("resize: %q", st)
	}
	if g, _ := w.guest(105); !strings.Contains(g.Conf.Get("scsi0"), "size=50G") {
		t.Fatalf("scsi0 %s", g.Conf.Get("scsi0"))
	}
	if st := w.wait(w.upid("operator", "PUT", "/nodes/pve-node01/qemu/105/resize", url.Values{"disk": {"scsi0"}, "size": {"20G"}})); st != "shrinking disks is not supported" {
		t.Fatalf("shrink: %q", st)
	}
	if st := w.wait(w.upid("operator", "PUT", "/nodes/pve-node01/qemu/105/resize", url.Values{"disk": {"scsi3"}, "size": {"+1G"}})); st != "disk 'scsi3' does not exist" {
		t.Fatalf("missing disk: %q", st)
	}
	if st := w.wait(w.upid("operator", "PUT", "/nodes/pve-node01/lxc/201/resize", url.Values{"disk": {"rootfs"}, "size": {"1G"}})); st != "unable to shrink disk size" {
		t.Fatalf("lxc shrink: %q", st)
	}
	r := w.call("operator", "PUT", "/nodes/pve-node01/qemu/105/resize", url.Values{"disk": {"scsi0"}, "size": {"lots"}})
	if r.Status != 400 || r.Errors["size"] == "" {
		t.Fatalf("bad size: %d %v", r.Status, r.Errors)
	}
}

func TestCreateQemu(t *testing.T) {
	w := newWSim(t)
	w.s.mu.RLock()
	si := w.s.st.storageOn("pve-node02", "local-zfs")
	before := w.s.instUsedAt(si, w.s.now())
	free := w.s.freeOn(si)
	w.s.mu.RUnlock()
	w.s.SetTaskSpeed(0.02)
	params := url.Values{"vmid": {"106"}, "name": {"ubuntu-2204-new"}, "cores": {"4"}, "memory": {"8192"}, "cpu": {"host"},
		"scsi0": {"local-zfs:80,discard=on"}, "scsihw": {"virtio-scsi-single"}, "net0": {"virtio,bridge=vmbr0"}, "ostype": {"l26"},
		"agent": {"1"}, "ide2": {"local:iso/ubuntu-22.04.4-live-server-amd64.iso,media=cdrom"}, "tags": {"web;new"}}
	up := w.upid("operator", "POST", "/nodes/pve-node02/qemu", params)
	if g, ok := w.guest(106); !ok || g.Lock != "create" {
		t.Fatalf("during create: %v lock %q", ok, g.Lock)
	}
	// The VMID is taken as soon as the call returns.
	w.expectErr(w.call("operator", "POST", "/nodes/pve-node01/qemu", url.Values{"vmid": {"106"}}), 500, "unable to create VM 106 - VM 106 already exists on node 'pve-node02'")
	if st := w.wait(up); st != "OK" {
		t.Fatalf("qmcreate: %q %q", st, w.logOf("pve-node02", up))
	}
	w.s.SetTaskSpeed(0)
	var conf map[string]any
	w.ok("operator", "GET", "/nodes/pve-node02/qemu/106/config", nil, &conf)
	if conf["scsi0"] != "local-zfs:vm-106-disk-0,discard=on,size=80G" || conf["boot"] != "order=scsi0;ide2;net0" || conf["tags"] != "new;web" {
		t.Fatalf("config %v", conf)
	}
	if !strings.HasPrefix(conf["net0"].(string), "virtio=BC:24:11:") || !strings.HasSuffix(conf["net0"].(string), ",bridge=vmbr0") {
		t.Fatalf("net0 %v", conf["net0"])
	}
	for _, k := range []string{"meta", "smbios1", "vmgenid", "digest"} {
		if _, ok := conf[k]; !ok {
			t.Fatalf("missing %s in %v", k, conf)
		}
	}
	if _, ok := conf["lock"]; ok {
		t.Fatalf("still locked: %v", conf)
	}
	w.s.mu.RLock()
	after := w.s.instUsedAt(si, w.s.now())
	w.s.mu.RUnlock()
	if after-before != 80<<30 {
		t.Fatalf("storage grew by %d, want 80 GiB", after-before)
	}
	// It shows in the cluster resources.
	var res []map[string]any
	w.ok("operator", "GET", "/cluster/resources", url.Values{"type": {"vm"}}, &res)
	seen := false
	for _, r := range res {
		if r["vmid"] == float64(106) && r["node"] == "pve-node02" && r["maxdisk"] == float64(80<<30) {
			seen = true
		}
	}
	if !seen {
		t.Fatal("VM 106 not in /cluster/resources")
	}
	// Out of space: the task fails and leaves nothing behind.
	huge := (free + (1 << 40)) >> 30
	up = w.upid("operator", "POST", "/nodes/pve-node02/qemu", url.Values{"vmid": {"107"}, "scsi0": {"local-zfs:" + itoa(int(huge))}})
	st := w.wait(up)
	if st != "unable to create VM 107 - zfs error: cannot create 'rpool/data/vm-107-disk-0': out of space" {
		t.Fatalf("out of space: %q", st)
	}
	if _, ok := w.guest(107); ok {
		t.Fatal("VM 107 left behind")
	}
	// EFI, TPM and cloud-init drives get their fixed sizes; import-from copies a volume.
	up = w.upid("operator", "POST", "/nodes/pve-node02/qemu", url.Values{"vmid": {"109"}, "bios": {"ovmf"},
		"efidisk0": {"local-zfs:1,efitype=4m,pre-enrolled-keys=1"}, "tpmstate0": {"local-zfs:1,version=v2.0"},
		"ide2": {"local-zfs:cloudinit"}, "scsi0": {"local-zfs:0,import-from=local-zfs:base-9000-disk-0"}})
	if st := w.wait(up); st != "OK" {
		t.Fatalf("create 109: %q %q", st, w.logOf("pve-node02", up))
	}
	g109, _ := w.guest(109)
	want := map[string]string{
		"efidisk0":  "local-zfs:vm-109-disk-1,efitype=4m,pre-enrolled-keys=1,size=1M",
		"ide2":      "local-zfs:vm-109-cloudinit,media=cdrom",
		"scsi0":     "local-zfs:vm-109-disk-0,size=3584M",
		"tpmstate0": "local-zfs:vm-109-disk-2,size=4M,version=v2.0",
	}
	for k, v := range want {
		if got := g109.Conf.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if l := w.logOf("pve-node02", up); !hasLine(l, "scsi0: successfully created disk 'local-zfs:vm-109-disk-0,size=3584M'") {
		t.Fatalf("log %q", l)
	}

	// Refusals: no permission for the storage, unknown storage, bad NIC model.
	w.expectErr(w.call("auditor", "POST", "/nodes/pve-node02/qemu", url.Values{"vmid": {"108"}}), 403, "Permission check failed")
	w.expectErr(w.call("operator", "POST", "/nodes/pve-node02/qemu", url.Values{"vmid": {"108"}, "scsi0": {"nosuch:10"}}), 500, "storage 'nosuch' does not exist")
	r := w.call("operator", "POST", "/nodes/pve-node02/qemu", url.Values{"vmid": {"108"}, "net0": {"bogus,bridge=vmbr0"}})
	if r.Status != 400 || r.Errors["net0"] == "" {
		t.Fatalf("bad nic: %d %v", r.Status, r.Errors)
	}
	r = w.call("operator", "POST", "/nodes/pve-node02/qemu", url.Values{"vmid": {"108"}, "name": {"bad_name"}})
	if r.Status != 400 || r.Errors["name"] != "invalid format - value does not look like a valid DNS name\n" {
		t.Fatalf("bad name: %d %q", r.Status, r.Errors)
	}
	r = w.call("operator", "POST", "/nodes/pve-node02/qemu", url.Values{"name": {"x"}})
	if r.Status != 400 || r.Errors["vmid"] != "property is missing and it is not optional" {
		t.Fatalf("no vmid: %d %v", r.Status, r.Errors)
	}
	// Destroy: refused while running, then frees the disk.
	w.wait(w.upid("operator", "POST", "/nodes/pve-node02/qemu/106/status/start", nil))
	w.expectErr(w.call("operator", "DELETE", "/nodes/pve-node02/qemu/106", nil), 500, "VM 106 is running - destroy failed")
	w.wait(w.upid("operator", "POST", "/nodes/pve-node02/qemu/106/status/stop", nil))
	up = w.upid("operator", "DELETE", "/nodes/pve-node02/qemu/106", nil)
	if st := w.wait(up); st != "OK" {
		t.Fatalf("destroy: %q", st)
	}
	if _, ok := w.guest(106); ok {
		t.Fatal("VM 106 still there")
	}
	if st := w.wait(w.upid("operator", "DELETE", "/nodes/pve-node02/qemu/109", nil)); st != "OK" {
		t.Fatalf("destroy 109: %q", st)
	}
	w.s.mu.RLock()
	final := w.s.instUsedAt(si, w.s.now())
	w.s.mu.RUnlock()
	if final != before {
		t.Fatalf("storage not freed: %d vs %d", final, before)
	}
	w.expectErr(w.call("operator", "DELETE", "/nodes/pve-node01/qemu/100", nil), 500, "unable to remove VM 100 - used in HA resources and purge parameter not set.")

	// Without VM.Allocate on /vms/130 (nor on the pool) the refusal names nothing, as raise_perm_exc() does.
	w.expectErr(w.call("prod-operator", "POST", "/nodes/pve-node02/qemu", url.Values{"vmid": {"130"}, "pool": {"prod"}}), 403, "Permission check failed")
	w.expectErr(w.call("admin", "POST", "/nodes/pve-node02/qemu", url.Values{"vmid": {"130"}, "pool": {"nosuch"}}), 500, "pool 'nosuch' does not exist")
	w.wait(w.upid("admin", "POST", "/nodes/pve-node02/qemu", url.Values{"vmid": {"130"}, "pool": {"prod"}, "cores": {"2"}}))
	if g, _ := w.guest(130); g.Pool != "prod" {
		t.Fatalf("pool %q", g.Pool)
	}
}

func TestCreateLxcAndClone(t *testing.T) {
	w := newWSim(t)
	up := w.upid("operator", "POST", "/nodes/pve-node03/lxc", url.Values{"vmid": {"206"}, "ostemplate": {"local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"},
		"hostname": {"web-ct"}, "cores": {"2"}, "memory": {"1024"}, "rootfs": {"local-zfs:8"}, "net0": {"name=eth0,bridge=vmbr0,ip=dhcp"},
		"password": {"s3cret-pass"}, "start": {"1"}})
	if st := w.wait(up); st != "OK" {
		t.Fatalf("vzcreate: %q %q", st, w.logOf("pve-node03", up))
	}
	var conf map[string]any
	w.ok("operator", "GET", "/nodes/pve-node03/lxc/206/config", nil, &conf)
	if conf["rootfs"] != "local-zfs:subvol-206-disk-0,size=8G" || conf["unprivileged"] != float64(1) || conf["ostype"] != "debian" || conf["hostname"] != "web-ct" {
		t.Fatalf("ct config %v", conf)
	}
	if n := conf["net0"].(string); !strings.HasPrefix(n, "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:") || !strings.HasSuffix(n, ",ip=dhcp,type=veth") {
		t.Fatalf("net0 %q", n)
	}
	for k, v := range conf {
		if s, ok := v.(string); ok && strings.Contains(s, "s3cret") {
			t.Fatalf("password leaked in %s", k)
		}
	}
	for _, l := range w.logOf("pve-node03", up) {
		if strings.Contains(l, "s3cret") {
			t.Fatal("password in task log")
		}
	}
	w.waitFor("CT 206 to start", func() bool { return w.status(206) == "running" })
	w.expectErr(w.call("operator", "POST", "/nodes/pve-node03/lxc", url.Values{"vmid": {"206"}, "ostemplate": {"local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"}}), 500, "unable to create CT 206 - CT 206 already exists on node 'pve-node03'")
	r := w.call("operator", "POST", "/nodes/pve-node03/lxc", url.Values{"vmid": {"207"}})
	if r.Status != 400 || r.Errors["ostemplate"] != "property is missing and it is not optional" {
		t.Fatalf("no ostemplate: %d %v", r.Status, r.Errors)
	}
	// A template that is not on this node fails in the task.
	if st := w.wait(w.upid("operator", "POST", "/nodes/pve-node03/lxc", url.Values{"vmid": {"207"}, "ostemplate": {"local:vztmpl/ubuntu-22.04-standard_22.04-1_amd64.tar.zst"}, "rootfs": {"local-zfs:4"}})); !strings.HasPrefix(st, "unable to create CT 207 - volume ") {
		t.Fatalf("missing template: %q", st)
	}
	// Privileged containers need Sys.Modify on /.
	w.expectErr(w.call("operator", "POST", "/nodes/pve-node03/lxc", url.Values{"vmid": {"208"}, "ostemplate": {"local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"}, "unprivileged": {"0"}}), 403, "Permission check failed (/, Sys.Modify)")

	// Linked clone of the template.
	up = w.upid("operator", "POST", "/nodes/pve-node02/qemu/9000/clone", url.Values{"newid": {"120"}, "name": {"from-tmpl"}})
	if st := w.wait(up); st != "OK" {
		t.Fatalf("clone: %q %q", st, w.logOf("pve-node02", up))
	}
	g, _ := w.guest(120)
	if g.Conf.Get("name") != "from-tmpl" || !strings.HasPrefix(g.Conf.Get("scsi0"), "local-zfs:base-9000-disk-0/vm-120-disk-0,") || g.Conf.Has("template") || g.Lock != "" {
		t.Fatalf("clone config %s", g.Conf.Text())
	}
	src, _ := w.guest(9000)
	if g.Conf.Get("net0") == src.Conf.Get("net0") {
		t.Fatal("clone kept the MAC address")
	}
	// Full clone to another storage is refused for linked mode, allowed with full=1.
	w.expectErr(w.call("operator", "POST", "/nodes/pve-node02/qemu/9000/clone", url.Values{"newid": {"121"}, "storage": {"local-zfs"}}), 500, "parameter 'storage' not allowed for linked clones")
	up = w.upid("operator", "POST", "/nodes/pve-node02/qemu/9000/clone", url.Values{"newid": {"121"}, "full": {"1"}})
	if st := w.wait(up); st != "OK" {
		t.Fatalf("full clone: %q", st)
	}
	if g, _ := w.guest(121); !strings.HasPrefix(g.Conf.Get("scsi0"), "local-zfs:vm-121-disk-0,") {
		t.Fatalf("full clone scsi0 %s", g.Conf.Get("scsi0"))
	}
	w.expectErr(w.call("operator", "POST", "/nodes/pve-node02/qemu/9000/clone", url.Values{"newid": {"122"}, "target": {"pve-node03"}}), 500, "can't clone VM to node 'pve-node03' (VM uses local storage)")
	w.expectErr(w.call("operator", "POST", "/nodes/pve-node02/qemu/9000/clone", url.Values{"newid": {"100"}}), 500, "unable to create VM 100 - VM 100 already exists on node 'pve-node01'")
}

// TestSimCloseStopsWorkers: closing the simulator ends running tasks instead of leaking goroutines.
// TestSimCloseStopsWorkers: Close interrupts running tasks and returns once
// they ended: a reboot that would run for about a minute is over, ended by
// "received interrupt", by the time Close returns.
func TestSimCloseStopsWorkers(t *testing.T) {
	w := newWSim(t)
	w.s.SetTaskSpeed(10) // a reboot now lasts far longer than this test waits
	up := w.upid("operator", "POST", "/nodes/pve-node01/qemu/103/status/reboot", nil)
	w.s.Close()
	w.s.tasks.mu.Lock()
	tk := w.s.tasks.byUPID[up]
	running, status := tk.running, tk.status
	w.s.tasks.mu.Unlock()
	if running || !strings.Contains(status, "received interrupt") {
		t.Fatalf("after Close the reboot task is running=%v with status %q, want ended by an interrupt", running, status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := w.s.WaitTask(ctx, up); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentWrites runs writes, listings and task reads in parallel (for the race detector).
func TestConcurrentWrites(t *testing.T) {
	w := newWSim(t)
	type job struct{ node, typ, id string }
	jobs := []job{{"pve-node01", "qemu", "103"}, {"pve-node01", "qemu", "105"}, {"pve-node02", "qemu", "110"}, {"pve-node03", "qemu", "111"}, {"pve-node01", "lxc", "201"}, {"pve-node02", "lxc", "202"}}
	done := make(chan string, len(jobs)*2)
	for _, j := range jobs {
		go func(j job) {
			var ups []string
			for _, a := range []string{"suspend", "resume", "reboot"} {
				if j.typ == "lxc" && a == "suspend" {
					a = "reboot"
				}
				if j.typ == "lxc" && a == "resume" {
					continue
				}
				r, err := w.try("operator", "POST", "/nodes/"+j.node+"/"+j.typ+"/"+j.id+"/status/"+a, nil)
				if err == nil && r.Status == 200 {
					var u string
					if err := json.Unmarshal(r.Data, &u); err == nil {
						ups = append(ups, u)
						w.s.WaitTask(context.Background(), u)
					}
				}
			}
			done <- strings.Join(ups, ",")
		}(j)
		go func(j job) {
			w.try("auditor", "GET", "/nodes/"+j.node+"/tasks", url.Values{"source": {"all"}})
			w.try("auditor", "GET", "/cluster/tasks", nil)
			w.try("auditor", "GET", "/cluster/resources", nil)
			done <- ""
		}(j)
	}
	for range 2 * len(jobs) {
		<-done
	}
	for _, j := range jobs {
		if w.status(atoiDef(j.id, 0)) != "running" {
			t.Errorf("%s %s ended %s", j.typ, j.id, w.status(atoiDef(j.id, 0)))
		}
	}
}

// TestWritesPVE8: the same writes work in PVE 8 mode (8.4: errors with "message", HA groups).
func TestWritesPVE8(t *testing.T) {
	w := newWSimOpts(t, Options{PVEVersion: 8})
	up := w.upid("operator", "POST", "/nodes/pve-node02/qemu", url.Values{"vmid": {"106"}, "scsi0": {"local-zfs:8"}, "start": {"1"}})
	if st := w.wait(up); st != "OK" {
		t.Fatalf("create: %q", st)
	}
	w.waitFor("VM 106 to run", func() bool { return w.status(106) == "running" })
	r := w.call("operator", "POST", "/nodes/pve-node02/qemu/106/migrate", url.Values{"target": {"pve-node03"}})
	if r.Status != 500 || r.Reason != "can't migrate running VM without --online" || r.Msg != "can't migrate running VM without --online\n" {
		t.Fatalf("PVE 8 error: %d %q message %q", r.Status, r.Reason, r.Msg)
	}
	if st := w.wait(w.upid("operator", "POST", "/nodes/pve-node01/qemu/100/status/shutdown", nil)); st != "OK" {
		t.Fatalf("hastop: %q", st)
	}
	w.waitFor("HA to stop VM 100", func() bool { return w.status(100) == "stopped" })
}

// TestWriteSequenceInvariants runs a deterministic mix of writes and checks that the model stays coherent:
// every disk of every guest is a volume owned by it on a storage its node sees, no lock is left behind, and
// every task ended with a final line.
func TestWriteSequenceInvariants(t *testing.T) {
	w := newWSim(t)
	nodes := []string{"pve-node01", "pve-node02", "pve-node03"}
	where := func(vmid int) (string, string) {
		g, ok := w.guest(vmid)
		if !ok {
			return "", ""
		}
		return g.Node, g.Type
	}
	var ups []string
	post := func(method, path string, p url.Values) {
		r := w.call("admin", method, path, p)
		var u string
		if r.Status == 200 && json.Unmarshal(r.Data, &u) == nil && strings.HasPrefix(u, "UPID:") {
			ups = append(ups, u)
			w.wait(u)
		}
	}
	// HA-managed guests are left out: their LRM acts later, outside the tasks this test waits for.
	vmids := []int{103, 105, 110, 111, 112, 201, 202, 203, 204}
	for i := 0; i < 60; i++ {
		vmid := vmids[(i*7)%len(vmids)]
		node, typ := where(vmid)
		if node == "" {
			continue
		}
		base := "/nodes/" + node + "/" + typ + "/" + itoa(vmid)
		target := nodes[(i+1)%3]
		if target == node {
			target = nodes[(i+2)%3]
		}
		switch i % 6 {
		case 0:
			if typ == "qemu" {
				post("POST", base+"/migrate", url.Values{"target": {target}, "online": {"1"}, "with-local-disks": {"1"}})
			} else {
				post("POST", base+"/migrate", url.Values{"target": {target}, "restart": {"1"}})
			}
		case 1:
			post("POST", base+"/status/shutdown", nil)
		case 2:
			post("POST", base+"/migrate", url.Values{"target": {target}})
		case 3:
			post("POST", base+"/status/start", nil)
		case 4:
			post("PUT", base+"/resize", url.Values{"disk": {map[string]string{"qemu": "scsi0", "lxc": "rootfs"}[typ]}, "size": {"+1G"}})
		case 5:
			if typ == "qemu" {
				post("POST", base+"/config", url.Values{"scsi1": {"local-zfs:1"}})
				post("PUT", base+"/config", url.Values{"delete": {"scsi1"}})
			}
		}
	}
	w.waitFor("all tasks to end", func() bool {
		for _, n := range nodes {
			if active, _ := w.s.tasks.nodeTasks(n); len(active) > 0 {
				return false
			}
		}
		return true
	})
	migrated := 0
	for _, vmid := range vmids {
		if g, _ := w.guest(vmid); g.Node != map[int]string{103: "pve-node01", 105: "pve-node01", 110: "pve-node02", 111: "pve-node03", 112: "pve-node03", 201: "pve-node01", 202: "pve-node02", 203: "pve-node02", 204: "pve-node03"}[vmid] {
			migrated++
		}
	}
	if migrated < 3 {
		t.Errorf("only %d guests moved", migrated)
	}
	w.s.mu.RLock()
	defer w.s.mu.RUnlock()
	for _, g := range w.s.st.sortedGuests() {
		if g.Lock != "" && g.Lock != "backup" {
			t.Errorf("guest %d left locked: %s", g.VMID, g.Lock)
		}
		for _, d := range g.Disks() {
			sid, _, _ := strings.Cut(d.VolID, ":")
			cfg := w.s.st.storageCfg(sid)
			if cfg == nil || d.Media == "cdrom" && !strings.Contains(d.VolID, "cloudinit") {
				continue
			}
			si := w.s.st.storageOn(g.Node, sid)
			found := false
			if si != nil {
				for _, v := range si.Volumes {
					if v.VolID == d.VolID && v.VMID == g.VMID {
						found = true
					}
				}
			}
			if !found {
				t.Errorf("guest %d on %s: %s (%s) is not on a storage its node sees", g.VMID, g.Node, d.Key, d.VolID)
			}
		}
	}
	for _, u := range ups {
		l, _ := w.s.tasks.logLines(u)
		if len(l) == 0 || !strings.HasPrefix(l[len(l)-1], "TASK ") {
			t.Errorf("task %s has no final line: %q", u, l)
		}
	}
	if len(ups) < 30 {
		t.Fatalf("only %d tasks ran", len(ups))
	}
}
