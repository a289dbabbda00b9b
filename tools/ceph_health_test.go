package tools

import (
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/proxmox/pvesim"
	"github.com/pvemcp/pvemcp/toolkit"
)

// Is Ceph healthy? On the demo there is no Ceph; on a generated cluster
// with Ceph one OSD is down.
func TestCephHealth(t *testing.T) {
	e := newDiagEnv(t)
	var out struct {
		CephResult
		envelopeOut
	}
	healthCall(t, e, "ceph_health", `{}`, &out)
	if out.Installed || len(out.Unavailable) != 1 || !strings.Contains(out.Unavailable[0].Why, "binary not installed: /usr/bin/ceph-mon") {
		t.Errorf("demo: %+v", out)
	}
	g := simEnv(t, pvesim.Options{Generate: "nodes=4,guests=20,ceph=1", Listen: "127.0.0.1:0"}, []string{toolkit.ToolsetDiagnostics})
	var c struct {
		CephResult
		envelopeOut
	}
	healthCall(t, g, "ceph_health", `{}`, &c)
	if !c.Installed || c.Health != "HEALTH_WARN" || c.OSDs == nil || c.OSDs.Total != 12 || c.OSDs.Up != 11 || c.OSDs.In != 11 ||
		len(c.OSDs.Problems) != 1 || c.OSDs.Problems[0].Name != "osd.11" || c.OSDs.Problems[0].Host != "pve04" {
		t.Errorf("ceph: %+v osds %+v", c.CephResult, c.OSDs)
	}
	codes := map[string]bool{}
	for _, ck := range c.Checks {
		codes[ck.Code] = ck.Message != ""
	}
	if !codes["OSD_DOWN"] || !codes["PG_DEGRADED"] || c.alert("ceph", "OSD_DOWN") == nil {
		t.Errorf("checks %+v alerts %+v", c.Checks, c.Alerts)
	}
	if len(c.Pools) != 2 || c.Usage == nil || c.Usage.UsedPct <= 0 || c.PGs == nil || c.PGs.ByState["active+undersized+degraded"] == 0 {
		t.Errorf("pools %+v usage %+v pgs %+v", c.Pools, c.Usage, c.PGs)
	}
}
