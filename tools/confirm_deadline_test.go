package tools

import (
	"strings"
	"testing"
	"time"

	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
	"github.com/pvemcp/pvemcp/toolkit"
)

// TestConfirmWaitHasADeadline: a task-status endpoint that hangs makes every
// poll time out; confirm_plan still ends at its wait deadline, with the
// task's UPID and an unknown outcome, never failed or ok.
func TestConfirmWaitHasADeadline(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	c, err := proxmox.New(proxmox.Options{Endpoints: []string{w.sim.URL()}, Token: w.sim.Token("operator"),
		CAPEM: w.sim.CACertPEM(), Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	w.srv = toolkit.NewServer(&toolkit.Env{Client: c, Gate: w.gate}, toolkit.All())
	w.gate.TaskWait = 3 * time.Second
	w.sim.SetTaskSpeed(1)
	plan := w.plan("s1", "guest_power", map[string]any{"vmid": 203, "action": "start"})
	w.sim.SetFault("*/nodes/pve-node02/tasks", pvesim.Fault{Hang: true})
	start := time.Now()
	out, errText := w.confirm("s1", plan)
	took := time.Since(start)
	if errText != "" {
		t.Fatal(errText)
	}
	steps := out["steps"].([]any)
	step := steps[0].(map[string]any)
	upid, _ := step["upid"].(string)
	msg := out["message"].(string)
	if out["outcome"] != "unknown" || step["status"] != "unknown" || upid == "" || !strings.Contains(msg, upid) ||
		!strings.Contains(msg, "may still be running") {
		t.Fatalf("outcome %v", out)
	}
	// Bounded: the deadline plus one poll timeout, with slack for -race.
	if took > 12*time.Second {
		t.Fatalf("confirm_plan took %s", took)
	}
	polls := 0
	for _, r := range w.sim.Requests() {
		if strings.Contains(r.Path, "/tasks/") {
			polls++
		}
	}
	if polls < 2 {
		t.Fatalf("status polled %d times: the timeouts were not retried", polls)
	}
}
