package tools

import (
	"strings"
	"testing"
)

func init() {
	declareArgs("create_vm", testArgs{
		demo: fixed{`{"node":"pve-node02","cores":2,"disk_gib":10}`},
		broken: fixed{`{"node":"pve-node02","name":"af-vm","cores":2,"memory_gib":2,"disk_gib":20}`,
			`{"node":"pve-node03","name":"af-vm","cores":2,"memory_gib":2,"disk_gib":20,"storage":"local-zfs"}`},
	})
}

// The product description's provisioning example: "create a new Ubuntu 22.04
// VM on pve-node02, 4 cores, 8GB RAM, 80GB disk".
func TestCreateVMProvisioningExample(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	plan := w.plan("s1", "create_vm", map[string]any{
		"node": "pve-node02", "template": "ubuntu-22.04-cloud", "cores": 4, "memory_gib": 8, "disk_gib": 80,
	})
	w.noWrites("after planning")
	want := map[string]any{
		"vmid": float64(106), "name": "ubuntu-2204-new", "node": "pve-node02", "cores": float64(4), "cpu_type": "host",
		"memory_mib": float64(8192), "disk_gib": float64(80), "storage": "local-zfs", "start": false,
	}
	for k, v := range want {
		if plan[k] != v {
			t.Errorf("%s = %v, want %v", k, plan[k], v)
		}
	}
	if src, _ := plan["source"].(string); !strings.Contains(src, "ubuntu-22.04-cloud") {
		t.Errorf("source %q does not name the template", src)
	}
	if net, _ := plan["network"].(string); !strings.HasPrefix(net, "vmbr0") {
		t.Errorf("network %q", net)
	}
	summary := plan["summary"].(string)
	for _, s := range []string{"VM 106", "pve-node02", "4 cores", "8192 MiB", "80 GiB disk on local-zfs", "vmbr0", "start: no"} {
		if !strings.Contains(summary, s) {
			t.Errorf("summary %q lacks %q", summary, s)
		}
	}
	calls := plan["calls"].([]any)
	first := calls[0].(map[string]any)
	if first["path"] != "/nodes/pve-node02/qemu/9000/clone" || first["params"].(map[string]any)["newid"] != "106" {
		t.Fatalf("first call %v", first)
	}
	for _, c := range calls {
		if strings.HasSuffix(c.(map[string]any)["path"].(string), "/status/start") {
			t.Fatal("the plan starts the VM though start was not asked")
		}
	}

	w.mustConfirm("s1", plan)
	g := w.guest(106)
	if g.Node != "pve-node02" || g.Name != "ubuntu-2204-new" || g.Status != "stopped" {
		t.Fatalf("VM 106 after confirm: %+v", g)
	}
	cfg := w.config(g)
	if cfg["cores"] != "4" || configMemoryMiB(cfg["memory"]) != 8192 || cfg["cpu"] != "host" {
		t.Fatalf("config %v", cfg)
	}
	if size := diskSizeGiB(cfg["scsi0"]); size != 80 {
		t.Fatalf("scsi0 %q: %v GiB, want 80", cfg["scsi0"], size)
	}
	if !strings.HasPrefix(cfg["scsi0"], "local-zfs:") || !strings.Contains(cfg["net0"], "bridge=vmbr0") {
		t.Fatalf("disk or network: %v", cfg)
	}
}

func TestCreateVMRefusedWhenVMIDTakenMeanwhile(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	vm := w.plan("s1", "create_vm", map[string]any{"node": "pve-node02", "cores": 2, "disk_gib": 10})
	if vm["vmid"] != float64(106) {
		t.Fatalf("vmid %v", vm["vmid"])
	}
	ct := w.plan("s2", "create_container", map[string]any{"node": "pve-node02", "ostemplate": "debian-12"})
	if ct["vmid"] != float64(106) {
		t.Fatalf("container vmid %v", ct["vmid"])
	}
	w.mustConfirm("s2", ct)
	if g := w.guest(106); g.Type != "lxc" {
		t.Fatalf("106 is %+v", g)
	}
	before := len(w.writes())
	_, errText := w.confirm("s1", vm)
	if !strings.Contains(errText, "VMID 106 was taken") {
		t.Fatalf("stale VMID: %q", errText)
	}
	if len(w.writes()) != before {
		t.Fatal("the refused plan sent a write")
	}
}

func TestCreateVMFromISOAndStart(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	plan := w.plan("s1", "create_vm", map[string]any{
		"node": "pve-node01", "name": "web-new", "iso": "ubuntu-22.04", "memory_mib": 2048, "disk_gib": 20, "start": true,
	})
	params := plan["calls"].([]any)[0].(map[string]any)["params"].(map[string]any)
	if params["ide2"] != "local:iso/ubuntu-22.04.4-live-server-amd64.iso,media=cdrom" || params["start"] != "1" {
		t.Fatalf("params %v", params)
	}
	w.mustConfirm("s1", plan)
	if g := w.guest(int(plan["vmid"].(float64))); g.Status != "running" || g.Name != "web-new" {
		t.Fatalf("created VM: %+v", g)
	}
}

func TestCreateRefusesWithoutRoom(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	_, errText := w.call("s1", "create_vm", map[string]any{"node": "pve-node03", "disk_gib": 100000})
	if !strings.Contains(errText, "no storage on pve-node03 has room") {
		t.Fatalf("got %q", errText)
	}
	_, errText = w.call("s1", "create_vm", map[string]any{"node": "pve-node01", "template": "ubuntu-22.04-cloud"})
	if !strings.Contains(errText, "Create the VM on pve-node02") {
		t.Fatalf("clone of a local template to another node: %q", errText)
	}
	w.noWrites("refused create")
}

func TestDefaultVMName(t *testing.T) {
	cases := map[string]string{
		"ubuntu-22.04-cloud":               "ubuntu-2204-new",
		"local:iso/jammy-server.img":       "jammy-server-new",
		"":                                 "vm-106",
		"debian_12-template":               "debian-12-new",
		"weird name with spaces/and slash": "vm-106",
	}
	for in, want := range cases {
		if got := defaultVMName(in, 106); got != want {
			t.Errorf("defaultVMName(%q) = %q, want %q", in, got, want)
		}
	}
}
