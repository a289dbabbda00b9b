package tools

import (
	"context"
	"time"

	"github.com/pvemcp/pvemcp/guard"
	"github.com/pvemcp/pvemcp/proxmox"
)

// stepHook finishes one executed call of a plan whose answer is not a plain task id, by tool: it returns
// the task to wait for ("" for none) and may attach what the step produced (guest_exec's output). sent is
// when the call went out. An error fails the step.
type stepHook func(ctx context.Context, c *proxmox.Client, call guard.Call, wr proxmox.WriteResult, sent time.Time, step *StepResult) (upid string, err error)

// stepHooks are keyed by the plan's tool; tools register theirs in init.
var stepHooks = map[string]stepHook{}

// afterSend runs the plan tool's hook, if any, and returns the task to wait for.
func afterSend(ctx context.Context, c *proxmox.Client, p guard.Plan, call guard.Call, wr proxmox.WriteResult, sent time.Time, step *StepResult) (string, error) {
	h := stepHooks[p.Tool]
	if h == nil {
		return wr.UPID, nil
	}
	return h(ctx, c, call, wr, sent, step)
}
