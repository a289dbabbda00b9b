package tools

import (
	"strings"
	"testing"
)

func init() {
	declareArgs("storage_content", testArgs{demo: fixed{`{"available_templates":true,"limit":150}`}})
}

// Which ISOs and templates can I install from?
func TestStorageContentDemo(t *testing.T) {
	e := newDiagEnv(t)
	var out struct {
		StorageContentResult
		envelopeOut
	}
	healthCall(t, e, "storage_content", `{"content":"iso"}`, &out)
	isos := map[string]bool{}
	for _, v := range out.Volumes {
		isos[v.VolID] = true
		if v.Content != "iso" {
			t.Errorf("non-ISO listed: %+v", v)
		}
	}
	if !isos["local:iso/ubuntu-22.04.4-live-server-amd64.iso"] || !isos["local:iso/virtio-win-0.1.262.iso"] || out.Total != len(out.Volumes) {
		t.Errorf("ISOs: %+v", out.Volumes)
	}
	out.Volumes = nil
	healthCall(t, e, "storage_content", `{"content":"vztmpl","node":"pve-node01","available_templates":true}`, &out)
	tmpl := map[string]bool{}
	for _, v := range out.Volumes {
		tmpl[v.VolID] = v.Node == "pve-node01"
	}
	if !tmpl["local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"] || !tmpl["local:vztmpl/ubuntu-22.04-standard_22.04-1_amd64.tar.zst"] {
		t.Errorf("templates on pve-node01: %+v", out.Volumes)
	}
	avail := map[string]bool{}
	for _, a := range out.Templates {
		avail[a.Template] = a.OS != ""
	}
	if !avail["debian-13-standard_13.1-2_amd64.tar.zst"] || len(out.Templates) < 5 {
		t.Errorf("available templates: %+v", out.Templates)
	}
	// Backups of VM 103 on the shared storages are listed once.
	out.Volumes = nil
	healthCall(t, e, "storage_content", `{"content":"backup","vmid":103,"limit":150}`, &out)
	seen := map[string]bool{}
	for _, v := range out.Volumes {
		if v.VMID != 103 || v.Node != "" || seen[v.VolID] {
			t.Errorf("backup entry: %+v", v)
		}
		seen[v.VolID] = true
	}
	if out.Total == 0 || out.ByContent["backup"] != out.Total {
		t.Errorf("backups of 103: total %d by %+v", out.Total, out.ByContent)
	}
	res, _ := e.call(t, "storage_content", `{"storage":"no-such"}`)
	if !res.IsError || !strings.Contains(res.Text, "no-such") {
		t.Errorf("unknown storage: %s", res.Text)
	}
}
