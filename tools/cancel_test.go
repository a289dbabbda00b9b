package tools

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pvemcp/pvemcp/proxmox/pvesim"
)

// TestClientGoneIsNotAProxmoxFailure: when the client goes away mid-call
// (stdin closed, request cancelled), the error and the log say so, not that
// Proxmox failed.
func TestClientGoneIsNotAProxmoxFailure(t *testing.T) {
	e := newTestEnv(t, "operator")
	defer e.sim.ClearFaults()
	e.sim.SetFault("*", pvesim.Fault{Latency: 2 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	res, err := e.srv.Call(ctx, "list_guests", json.RawMessage(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if !res.IsError || !strings.Contains(res.Text, "the client went away") || strings.Contains(res.Text, "Proxmox") || strings.Contains(res.Text, "failed") {
		t.Errorf("result: %s", res.Text)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "client went away") || strings.Contains(logs, `"tool failed"`) {
		t.Errorf("logs: %s", logs)
	}
}
