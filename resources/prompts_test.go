package resources

import (
	"strings"
	"testing"
)

func TestPrompts(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range Prompts() {
		if p.Name == "" || p.Title == "" || p.Description == "" || p.Render == nil || seen[p.Name] {
			t.Errorf("prompt %+v incomplete or duplicate", p.Name)
		}
		seen[p.Name] = true
		args := map[string]string{}
		for _, a := range p.Args {
			if a.Required {
				args[a.Name] = "100"
			}
		}
		text, err := p.Render(args)
		if err != nil || !strings.Contains(text, "sources") {
			t.Errorf("%s: %q %v", p.Name, text, err)
		}
	}
	guest := find(t, "guest_report")
	for _, bad := range []string{"", "-1", "abc", "1000000000000", "100; drop"} {
		if _, err := guest.Render(map[string]string{"vmid": bad}); err == nil || !strings.Contains(err.Error(), `"vmid"`) {
			t.Errorf("vmid %q: %v", bad, err)
		}
	}
	vms := find(t, "running_vms")
	if _, err := vms.Render(map[string]string{"node": "../../access"}); err == nil {
		t.Error("bad node accepted")
	}
	if text, _ := vms.Render(map[string]string{"node": "pve-node01"}); !strings.Contains(text, `"node":"pve-node01"`) {
		t.Errorf("node not passed: %s", text)
	}
}

func find(t *testing.T, name string) Prompt {
	for _, p := range Prompts() {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no prompt %s", name)
	return Prompt{}
}
