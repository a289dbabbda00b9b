package tools

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/proxmox"
)

// readEnv serves every read tool on the shared demo simulator with the operator token.
func readEnv(t *testing.T) *testEnv {
	t.Helper()
	e := newTestEnv(t, "operator")
	e.srv = NewServer(&Env{Client: e.client}, Select(true, nil))
	return e
}

func mustTool(t *testing.T, name string) *Tool {
	t.Helper()
	for _, tl := range All() {
		if tl.Name == name {
			return tl
		}
	}
	t.Fatalf("no tool %s", name)
	return nil
}

// unavailableWhy finds the reason given for what under unavailable.
func unavailableWhy(t *testing.T, raw json.RawMessage, what string) string {
	t.Helper()
	var env struct {
		Unavailable []Unavailable `json:"unavailable"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	for _, u := range env.Unavailable {
		if u.What == what {
			return u.Why
		}
	}
	return ""
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
	if disk == nil || *g.DiskUsedGiB <= 0 || *g.DiskUsedGiB > GiB2(float64(disk.Size)) {
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

// TestGuestAgentInfo: the tool alone, for a VM, a hung agent, a stopped VM and a container.
func TestGuestAgentInfo(t *testing.T) {
	e := readEnv(t)
	res, _ := e.call(t, "guest_agent_info", `{"vmid":100}`)
	if res.IsError {
		t.Fatal(res.Text)
	}
	validateOutput(t, mustTool(t, "guest_agent_info"), res.Structured)
	var out GuestAgentResult
	if err := json.Unmarshal(res.Structured, &out); err != nil {
		t.Fatal(err)
	}
	if out.Agent == nil || out.Agent.OS == nil || !strings.Contains(out.Agent.OS.PrettyName, "Windows") || out.Agent.DiskUsedGiB == nil {
		t.Fatalf("VM 100: %s", res.Text)
	}
	if fs := out.Agent.Filesystems; len(fs) != 1 || fs[0].Mountpoint != `C:\` || fs[0].Type != "NTFS" {
		t.Fatalf("VM 100 filesystems %+v", fs)
	}
	for _, want := range []string{"/agent/info", "/agent/get-osinfo", "/agent/get-fsinfo", "/agent/network-get-interfaces", "/agent/get-host-name"} {
		if !strings.Contains(res.Text, want) {
			t.Errorf("sources lack %s", want)
		}
	}
	res, _ = e.call(t, "guest_agent_info", `{"vmid":203}`)
	if why := unavailableWhy(t, res.Structured, "guest agent"); !strings.Contains(why, "stopped") {
		t.Errorf("stopped CT: %s", res.Text)
	}
	res, _ = e.call(t, "guest_agent_info", `{"vmid":200}`)
	if res.IsError || !strings.Contains(res.Text, "10.10.20.80/24") {
		t.Errorf("CT 200: %s", res.Text)
	}
	res, _ = e.call(t, "guest_agent_info", `{"vmid":101,"node":"pve-node02"}`)
	if !res.IsError || !strings.Contains(res.Text, "pve-node01") {
		t.Errorf("wrong node: %s", res.Text)
	}
}
