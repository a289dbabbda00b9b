package tools

import (
	"context"
	"errors"
	"fmt"

	"github.com/pvemcp/pvemcp/toolkit"
)

// WaitLimit is how long confirm_plan waits for one task: TaskWait, or
// DefaultTaskWait when unset.

// PollInterval is the pause between task status reads: TaskPoll, or a second
// when unset.

var errNoGate = errors.New("write tools are not available: the approval gate is not configured")

func gateFrom(ctx context.Context) (*toolkit.Gate, error) {
	if c := toolkit.CallerFrom(ctx); c.ReadOnly {
		return nil, fmt.Errorf("refused: %s has a read-only role on this server; write tools and confirm_plan need a read-write one", c.Principal)
	}
	g := toolkit.EnvFrom(ctx).Gate
	if g == nil || g.Store == nil {
		return nil, errNoGate
	}
	return g, nil
}
