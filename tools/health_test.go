package tools

import (
	"strings"
	"testing"
	"time"

	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
)

// Tests across the health and monitoring tools against the demo simulator
// (each tool's own are in <tool>_test.go).

// TestHealthToolsSize is the token budget: every health tool's default demo
// result stays under 8 KB of text.
func TestHealthToolsSize(t *testing.T) {
	e := newHealthEnv(t)
	for _, tc := range []struct{ tool, args string }{
		{"zfs_health", `{}`},
		{"storage_status", `{}`},
		{"backup_status", `{}`},
		{"ha_status", `{}`},
		{"capacity_report", `{}`},
		{"list_tasks", `{}`},
		{"get_metrics", `{"node":"pve-node03"}`},
		{"get_metrics", `{"vmid":103}`},
		{"get_metrics", `{"storage":"local-zfs","node":"pve-node03","timeframe":"month"}`},
	} {
		t0 := time.Now()
		res, _ := e.call(t, tc.tool, tc.args)
		if res.IsError {
			t.Errorf("%s: %s", tc.tool, res.Text)
			continue
		}
		t.Logf("%s %s: %d bytes %v", tc.tool, tc.args, len(res.Text), time.Since(t0))
		if len(res.Text) > 8192 {
			t.Errorf("%s %s: %d bytes of text, budget 8192", tc.tool, tc.args, len(res.Text))
		}
	}
}

func TestHealthToolsNodeOffline(t *testing.T) {
	e := newHealthEnv(t)
	defer e.sim.ClearFaults()
	e.sim.SetFault("pve-node02", pvesim.Fault{Offline: true})
	for _, tc := range []struct{ tool, args string }{
		{"zfs_health", `{}`},
		{"storage_status", `{}`},
		{"backup_status", `{}`},
	} {
		var out envelopeOut
		healthCall(t, e, tc.tool, tc.args, &out)
		if !out.errorFor("pve-node02") {
			t.Errorf("%s: no error naming pve-node02: %+v", tc.tool, out.Errors)
		}
		res, _ := e.call(t, tc.tool, tc.args)
		if !strings.Contains(res.Text, "pve-node01") || !strings.Contains(res.Text, "pve-node03") {
			t.Errorf("%s: online nodes missing from the partial result", tc.tool)
		}
	}
	var z ZFSResult
	healthCall(t, e, "zfs_health", `{}`, &z)
	for _, p := range z.Pools {
		if p.Node == "pve-node02" {
			t.Errorf("offline node's pool reported: %+v", p)
		}
	}
}

// TestHealthToolsAuditorNoSecrets runs every health tool with the read-only
// auditor token: results (or plain errors) never carry the token secret,
// nor do the logs.
func TestHealthToolsAuditorNoSecrets(t *testing.T) {
	e := newHealthEnv(t, "auditor")
	_, secret, err := proxmox.ParseToken(e.sim.Token("auditor"))
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, c := range []struct{ tool, args string }{
		{"zfs_health", `{}`}, {"storage_status", `{"forecast":"none"}`}, {"ha_status", `{}`}, {"backup_status", `{}`},
		{"list_tasks", `{}`}, {"get_metrics", `{"node":"pve-node01","timeframe":"hour"}`}, {"capacity_report", `{"window":"none"}`},
		{"get_task", `{"upid":"UPID:pve-node01:00000001:00000002:00000003:vzdump::root@pam:"}`},
	} {
		res, _ := e.call(t, c.tool, c.args)
		if res.IsError && (res.Text == "" || strings.Contains(res.Text, "panic") || strings.Contains(res.Text, "internal error")) {
			t.Errorf("%s: %s", c.tool, res.Text)
		}
		texts = append(texts, res.Text)
	}
	texts = append(texts, e.logs.String())
	for _, s := range texts {
		if strings.Contains(s, secret) {
			t.Fatalf("token secret leaked: %.200s", s)
		}
	}
}
