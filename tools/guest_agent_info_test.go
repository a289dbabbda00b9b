package tools

import (
	"encoding/json"
	"strings"
	"testing"
)

func init() {
	declareArgs("guest_agent_info", testArgs{
		demo:   fixed{`{"vmid":101}`, `{"vmid":200}`},
		broken: fixed{`{"vmid":102}`, `{"vmid":101}`},
	})
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
