package tools

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/pvemcp/pvemcp/proxmox/pvesim"
	"github.com/pvemcp/pvemcp/toolkit"
)

// Tests across the diagnostics tools (each tool's own are in <tool>_test.go).

// TestDiagnosticsSizeGenerated: every diagnostics tool's default answer on
// the 64-node / 10,000-guest generator (with Ceph) stays within 48 KB.
func TestDiagnosticsSizeGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("generator cluster")
	}
	e := simEnv(t, pvesim.Options{Generate: "nodes=64,guests=10000,ceph=1", Listen: "127.0.0.1:0"}, []string{toolkit.ToolsetDiagnostics, toolkit.ToolsetStorage})
	for _, tc := range []struct{ tool, args string }{
		{"node_logs", `{}`},
		{"node_logs", `{"cluster_log":true,"limit":500}`},
		{"node_health", `{}`},
		{"replication_status", `{}`},
		{"ceph_health", `{}`},
		{"firewall_status", `{}`},
		{"firewall_status", `{"port":22}`},
		{"storage_content", `{}`},
		{"storage_content", `{"limit":150,"available_templates":true}`},
	} {
		res, err := e.srv.Call(context.Background(), tc.tool, json.RawMessage(tc.args))
		if err != nil || res.IsError {
			t.Errorf("%s %s: %v %s", tc.tool, tc.args, err, res.Text)
			continue
		}
		t.Logf("%s %s: %d bytes", tc.tool, tc.args, len(res.Text))
		if len(res.Text) > 48<<10 {
			t.Errorf("%s %s: %d bytes, budget %d", tc.tool, tc.args, len(res.Text), 48<<10)
		}
	}
}
