package toolkit

import (
	"time"

	"github.com/pvemcp/pvemcp/guard"
)

// Gate carries the approval gate to the write tools and confirm_plan.
type Gate struct {
	Store *guard.Store
	// Approval is the confirm_plan policy: elicit (ask the human through the
	// client when it can) or nonce.
	Approval guard.ApprovalMode
	// Protection lists guests no plan may touch.
	Protection guard.Protection
	// TaskPoll is the pause between task status reads (default 1s).
	TaskPoll time.Duration
	// TaskWait bounds how long confirm_plan waits for one task (default
	// DefaultTaskWait); then it answers with the UPID and an unknown
	// outcome, whatever the status endpoint does.
	TaskWait time.Duration
}

// DefaultTaskWait is how long confirm_plan waits for a task by default.
const DefaultTaskWait = 10 * time.Minute

// WaitLimit is how long confirm_plan waits for one task: TaskWait, or
// DefaultTaskWait when unset.
func (g *Gate) WaitLimit() time.Duration {
	if g.TaskWait > 0 {
		return g.TaskWait
	}
	return DefaultTaskWait
}

// NewGate builds a gate around store; mode "" means elicit.
func NewGate(store *guard.Store, mode guard.ApprovalMode, protection guard.Protection) *Gate {
	if mode == "" {
		mode = guard.ApprovalElicit
	}
	return &Gate{Store: store, Approval: mode, Protection: protection}
}

// PollInterval is the pause between task status reads: TaskPoll, or a second
// when unset.
func (g *Gate) PollInterval() time.Duration {
	if g.TaskPoll > 0 {
		return g.TaskPoll
	}
	return time.Second
}
