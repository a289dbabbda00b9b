package tools

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/toolkit"
)

func init() {
	declareArgs("get_guest", testArgs{
		demo:   fixed{`{"vmid":100}`, `{"vmid":200}`, `{"vmid":203}`, `{"vmid":101}`},
		broken: fixed{`{"vmid":102}`, `{"vmid":104}`, `{"vmid":100}`},
	})
}

func TestGetGuestDetails(t *testing.T) {
	e := newTestEnv(t, "operator")
	res, _ := e.call(t, "get_guest", `{"vmid":100}`)
	if res.IsError {
		t.Fatal(res.Text)
	}
	var g GetGuestResult
	if err := json.Unmarshal(res.Structured, &g); err != nil {
		t.Fatal(err)
	}
	if g.VMID != 100 || g.Node == "" || g.Type != "qemu" || g.Config == nil || g.ConfigDigest == "" || g.HA == nil {
		t.Errorf("guest %+v", g)
	}
	// Figures trace to the config call: compare with a direct read.
	cfg, err := e.client.GuestConfig(context.Background(), g.Node, proxmox.TypeQemu, 100)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range cfg.Values {
		if g.Config[k] != v {
			t.Errorf("config %s = %q, Proxmox says %q", k, g.Config[k], v)
		}
	}
	if !strings.Contains(res.Text, `"/nodes/`+g.Node+`/qemu/100/config"`) {
		t.Errorf("config call not in sources")
	}
	if strings.Contains(res.Text, "cipassword") && !strings.Contains(res.Text, `"cipassword":"[redacted]"`) {
		t.Errorf("cipassword not redacted")
	}
}

// TestGetGuestAgentDiskUse: a VM whose agent runs shows disk_used_gib from the agent's filesystems, and the
// figure agrees with what its disk holds on the storage; VMs without an answering agent show why under
// unavailable, with Proxmox's reason.
func TestGetGuestAgentDiskUse(t *testing.T) {
	e := readEnv(t)
	res, _ := e.call(t, "get_guest", `{"vmid":101}`)
	if res.IsError {
		t.Fatal(res.Text)
	}
	var g GetGuestResult
	if err := json.Unmarshal(res.Structured, &g); err != nil {
		t.Fatal(err)
	}
	validateOutput(t, mustTool(t, "get_guest"), res.Structured)
	if g.DiskUsedGiB == nil || !strings.Contains(g.DiskUsedFrom, "guest agent") {
		t.Fatalf("VM 101: disk_used_gib %v from %q", g.DiskUsedGiB, g.DiskUsedFrom)
	}
	if g.Agent == nil || g.Agent.OS == nil || g.Agent.Hostname == "" || g.Agent.Version == "" || len(g.Agent.Filesystems) == 0 {
		t.Fatalf("VM 101 agent data %+v", g.Agent)
	}
	if len(g.Interfaces) == 0 || len(g.Interfaces[0].IPv4) == 0 || g.Interfaces[0].IPv4[0] != "10.10.20.21/24" {
		t.Fatalf("VM 101 interfaces %+v", g.Interfaces)
	}
	// The guest's filesystem use agrees with what its disk occupies on local-zfs.
	vols, err := e.client.StorageVolumes(context.Background(), g.Node, "local-zfs", "images")
	if err != nil {
		t.Fatal(err)
	}
	var disk *proxmox.Volume
	for i := range vols {
		if vols[i].VolID == "local-zfs:vm-101-disk-0" {
			disk = &vols[i]
		}
	}
	if disk == nil || *g.DiskUsedGiB <= 0 || *g.DiskUsedGiB > toolkit.GiB2(float64(disk.Size)) {
		t.Fatalf("disk_used_gib %v, volume %+v", *g.DiskUsedGiB, disk)
	}
	if why := unavailableWhy(t, res.Structured, "disk_used_gib"); why != "" {
		t.Fatalf("disk_used_gib both given and unavailable: %s", why)
	}

	for _, c := range []struct {
		vmid       string
		what, want string
	}{
		{"103", "guest agent", "QEMU guest agent is not running"},
		{"112", "interfaces", "not enabled"},
		{"111", "guest agent", "QEMU guest agent is not running"},
	} {
		res, _ := e.call(t, "get_guest", `{"vmid":`+c.vmid+`}`)
		if res.IsError {
			t.Fatal(res.Text)
		}
		var g GetGuestResult
		if err := json.Unmarshal(res.Structured, &g); err != nil {
			t.Fatal(err)
		}
		if g.DiskUsedGiB != nil || g.Agent != nil {
			t.Errorf("VM %s: disk_used_gib %v agent %+v without an answering agent", c.vmid, g.DiskUsedGiB, g.Agent)
		}
		if why := unavailableWhy(t, res.Structured, c.what); !strings.Contains(why, c.want) {
			t.Errorf("VM %s: unavailable %s = %q, want %q", c.vmid, c.what, why, c.want)
		}
		if why := unavailableWhy(t, res.Structured, "disk_used_gib"); !strings.Contains(why, "guest agent") {
			t.Errorf("VM %s: disk_used_gib unavailable because %q", c.vmid, why)
		}
		if strings.Contains(res.Text, `"errors"`) {
			t.Errorf("VM %s: an unavailable agent is not an error: %s", c.vmid, res.Text)
		}
	}
}
