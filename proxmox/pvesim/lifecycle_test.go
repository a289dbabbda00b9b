package pvesim

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTemplateAndContainerClone(t *testing.T) {
	w := newWSim(t)
	w.expectErr(w.call("operator", "POST", "/nodes/pve-node01/qemu/103/template", nil), 500, "you can't convert a VM to template if VM is running")
	w.expectErr(w.call("operator", "POST", "/nodes/pve-node02/qemu/9000/template", nil), 500, "you can't convert a template to a template")
	w.expectErr(w.call("auditor", "POST", "/nodes/pve-node02/lxc/203/template", nil), 403, "Permission check failed (/vms/203, VM.Allocate)")

	w.expectErr(w.call("operator", "POST", "/nodes/pve-node01/lxc/200/clone", url.Values{"newid": {"301"}}), 500,
		"Cannot do full clones on a running container without snapshots")
	w.expectErr(w.call("operator", "POST", "/nodes/pve-node02/lxc/203/clone", url.Values{"newid": {"301"}, "target": {"pve-node03"}}), 500,
		"can't clone CT to node 'pve-node03' (CT uses local storage)")
	// Containers: a linked clone of a non-template is refused, a full one copies the rootfs.
	w.expectErr(w.call("operator", "POST", "/nodes/pve-node02/lxc/203/clone", url.Values{"newid": {"301"}, "full": {"0"}}), 500,
		"Linked clone feature for 'local-zfs:subvol-203-disk-0' is not available")
	up := w.upid("operator", "POST", "/nodes/pve-node02/lxc/203/clone", url.Values{"newid": {"301"}, "hostname": {"copy"}})
	if st := w.wait(up); st != "OK" || !strings.Contains(up, ":vzclone:203:") {
		t.Fatalf("vzclone %s: %q", up, st)
	}
	g, _ := w.guest(301)
	src, _ := w.guest(203)
	if g.Conf.Get("hostname") != "copy" || !strings.HasPrefix(g.Conf.Get("rootfs"), "local-zfs:subvol-301-disk-0,") || g.Conf.Get("net0") == src.Conf.Get("net0") {
		t.Fatalf("CT 301 %s", g.Conf.Text())
	}

	// vztemplate answers null and renames the volume to a base volume.
	r := w.call("operator", "POST", "/nodes/pve-node02/lxc/203/template", nil)
	if r.Status != 200 || string(r.Data) != "null" {
		t.Fatalf("lxc template: %d %s", r.Status, r.Data)
	}
	w.waitFor("CT 203 to become a template", func() bool { g, _ := w.guest(203); return g.Template() })
	g, _ = w.guest(203)
	if !strings.HasPrefix(g.Conf.Get("rootfs"), "local-zfs:basevol-203-disk-0,") {
		t.Fatalf("CT 203 rootfs %s", g.Conf.Get("rootfs"))
	}
	// Now a linked clone works and names its base; destroying the template is refused while it exists.
	if st := w.wait(w.upid("operator", "POST", "/nodes/pve-node02/lxc/203/clone", url.Values{"newid": {"302"}})); st != "OK" {
		t.Fatalf("linked vzclone: %q", st)
	}
	if g, _ := w.guest(302); !strings.HasPrefix(g.Conf.Get("rootfs"), "local-zfs:basevol-203-disk-0/subvol-302-disk-0,") {
		t.Fatalf("CT 302 rootfs %s", g.Conf.Get("rootfs"))
	}
	if st := w.wait(w.upid("operator", "DELETE", "/nodes/pve-node02/lxc/203", nil)); st != "base volume 'local-zfs:basevol-203-disk-0' is still in use by linked cloned" {
		t.Fatalf("destroy of a used base: %q", st)
	}
	if st := w.wait(w.upid("operator", "DELETE", "/nodes/pve-node02/lxc/302", nil)); st != "OK" {
		t.Fatalf("destroy of the clone: %q", st)
	}
	if st := w.wait(w.upid("operator", "DELETE", "/nodes/pve-node02/lxc/203", nil)); st != "OK" {
		t.Fatalf("destroy of the template: %q", st)
	}

	// qmtemplate: a full clone of the template, converted; snapshots refuse it.
	if st := w.wait(w.upid("operator", "POST", "/nodes/pve-node02/qemu/9000/clone", url.Values{"newid": {"180"}, "full": {"1"}})); st != "OK" {
		t.Fatalf("full clone: %q", st)
	}
	up = w.upid("operator", "POST", "/nodes/pve-node02/qemu/180/template", nil)
	if st := w.wait(up); st != "OK" {
		t.Fatalf("qmtemplate: %q", st)
	}
	if g, _ := w.guest(180); !g.Template() || !strings.HasPrefix(g.Conf.Get("scsi0"), "local-zfs:base-180-disk-0,") || !strings.HasPrefix(g.Conf.Get("ide2"), "local-zfs:vm-180-cloudinit,") {
		t.Fatalf("VM 180 %s", g.Conf.Text())
	}
	w.s.mu.Lock()
	w.s.st.guest(100).Status = "stopped"
	w.s.mu.Unlock()
	w.expectErr(w.call("operator", "POST", "/nodes/pve-node01/qemu/100/template", nil), 500, "unable to create template, because VM contains snapshots")
	// A full clone writes the source's data on the target storage.
	var vols []map[string]any
	w.ok("operator", "GET", "/nodes/pve-node02/storage/local-zfs/content", nil, &vols)
	for _, v := range vols {
		if v["volid"] == "local-zfs:subvol-301-disk-0" && v["used"] == float64(0) {
			t.Fatalf("full CT copy occupies nothing: %v", v)
		}
	}
}

func TestAgentEndpoints(t *testing.T) {
	w := newWSim(t)
	// The agent's states, as Proxmox reports them.
	w.expectErr(w.call("operator", "GET", "/nodes/pve-node01/qemu/103/agent/get-fsinfo", nil), 500, "QEMU guest agent is not running")
	w.expectErr(w.call("operator", "GET", "/nodes/pve-node03/qemu/112/agent/info", nil), 500, "No QEMU guest agent configured")
	w.expectErr(w.call("operator", "POST", "/nodes/pve-node01/qemu/103/agent/ping", nil), 500, "QEMU guest agent is not running")
	var ping map[string]any
	w.ok("operator", "POST", "/nodes/pve-node01/qemu/101/agent/ping", nil, &ping)
	if _, ok := ping["result"]; !ok {
		t.Fatalf("ping %v", ping)
	}
	var fs struct {
		Result []struct {
			Mount string `json:"mountpoint"`
			Used  int64  `json:"used-bytes"`
			Total int64  `json:"total-bytes"`
		} `json:"result"`
	}
	w.ok("operator", "GET", "/nodes/pve-node01/qemu/101/agent/get-fsinfo", nil, &fs)
	g, _ := w.guest(101)
	_, vol := w.s.st.findVolume("pve-node01", "local-zfs:vm-101-disk-0")
	if len(fs.Result) != 1 || fs.Result[0].Mount != "/" || fs.Result[0].Used != vol.Used || fs.Result[0].Total >= g.BootDiskSize() {
		t.Fatalf("fsinfo %+v, volume %+v", fs.Result, vol)
	}

	// exec with an argv as repeated form keys, then exec-status until it exited; the pid is then gone.
	var started struct {
		PID int `json:"pid"`
	}
	w.ok("operator", "POST", "/nodes/pve-node01/qemu/101/agent/exec", url.Values{"command": {"echo", "a  b"}}, &started)
	var st map[string]any
	w.ok("operator", "GET", "/nodes/pve-node01/qemu/101/agent/exec-status", url.Values{"pid": {itoa(started.PID)}}, &st)
	if st["exited"] != float64(1) || st["exitcode"] != float64(0) || st["out-data"] != "a  b\n" {
		t.Fatalf("exec-status %v", st)
	}
	w.expectErr(w.call("operator", "GET", "/nodes/pve-node01/qemu/101/agent/exec-status", url.Values{"pid": {itoa(started.PID)}}), 500,
		"VM 101 qmp command 'guest-exec-status' failed - Invalid parameter 'pid'")
	// JSON bodies carry the argv as an array (go-proxmox sends it so).
	r := w.call("operator", "POST", "/nodes/pve-node01/qemu/101/agent/exec", url.Values{"command": {`["hostname"]`}})
	if r.Status != 200 {
		t.Fatalf("exec: %d %s", r.Status, r.Reason)
	}
	// The privilege: auditors may read through the agent, not run commands.
	w.expectErr(w.call("auditor", "POST", "/nodes/pve-node01/qemu/101/agent/exec", url.Values{"command": {"id"}}), 403, "Permission check failed (/vms/101, VM.GuestAgent.Unrestricted)")
	w.ok("auditor", "GET", "/nodes/pve-node01/qemu/101/agent/get-osinfo", nil, nil)

	w8 := newWSimOpts(t, Options{Scenario: "demo", PVEVersion: 8})
	w8.expectErr(w8.call("auditor", "POST", "/nodes/pve-node01/qemu/101/agent/exec", url.Values{"command": {"id"}}), 403, "Permission check failed (/vms/101, VM.Monitor)")
	w8.ok("operator", "POST", "/nodes/pve-node01/qemu/101/agent/exec", url.Values{"command": {"id"}}, nil)
}

// TestAgentScenario: a hung agent fails Proxmox's ping (reported not running), scripted commands answer as
// written.
func TestAgentScenario(t *testing.T) {
	dir := t.TempDir()
	sc := `
cluster: {name: agent-test}
nodes:
  - {name: n1, memory: 32GiB, cpu: {sockets: 1, cores: 8}, zfs: [{name: rpool, size: 1TiB, health: ONLINE}]}
storages:
  - {id: local-zfs, type: zfspool, content: [images, rootdir], pool: rpool/data}
guests:
  - {vmid: 100, type: qemu, node: n1, name: hung, disks: {scsi0: "local-zfs:10G"}, agent: {running: true, hung: true}}
  - vmid: 101
    type: qemu
    node: n1
    name: web
    disks: {scsi0: "local-zfs:10G"}
    agent:
      running: true
      hostname: web.example
      os: {id: debian, pretty_name: "Debian GNU/Linux 12 (bookworm)", version_id: "12"}
      exec:
        - {command: "systemctl is-active nginx", stdout: "active\n"}
        - {command: "sh -c exit 7", stderr: "boom\n", exit_code: 7}
access:
  tokens: [{id: "root@pam!admin", secret: 7e6d5c4b-3a29-4f18-8e7d-6c5b4a392817, privsep: false}]
`
	p := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(p, []byte(sc), 0o600); err != nil {
		t.Fatal(err)
	}
	w := newWSimOpts(t, Options{Scenario: p})
	w.expectErr(w.call("admin", "GET", "/nodes/n1/qemu/100/agent/info", nil), 500, "QEMU guest agent is not running")
	var osi struct {
		Result map[string]any `json:"result"`
	}
	w.ok("admin", "GET", "/nodes/n1/qemu/101/agent/get-osinfo", nil, &osi)
	if osi.Result["pretty-name"] != "Debian GNU/Linux 12 (bookworm)" {
		t.Fatalf("osinfo %v", osi.Result)
	}
	for _, c := range []struct {
		argv []string
		out  string
		code float64
	}{{[]string{"systemctl", "is-active", "nginx"}, "active\n", 0}, {[]string{"sh", "-c", "exit 7"}, "", 7}} {
		var started struct{ PID int }
		w.ok("admin", "POST", "/nodes/n1/qemu/101/agent/exec", url.Values{"command": c.argv}, &started)
		var st map[string]any
		w.ok("admin", "GET", "/nodes/n1/qemu/101/agent/exec-status", url.Values{"pid": {itoa(started.PID)}}, &st)
		if st["exitcode"] != c.code || (c.out != "" && st["out-data"] != c.out) {
			b, _ := json.Marshal(st)
			t.Errorf("%v: %s", c.argv, b)
		}
	}
}
