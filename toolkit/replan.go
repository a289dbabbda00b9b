package toolkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/pvemcp/pvemcp/guard"
	"github.com/pvemcp/pvemcp/proxmox"
)

// A plan confirmed by another process than the one that made it (another
// replica behind a load balancer, or a later `pvemcp call`) has no recheck
// closure there: the store keeps only data. Such a plan is made again from
// its tool and arguments, in the confirming caller's context, without
// being stored; the calls must come out the same and the fresh plan's
// preconditions are checked.

type toolArgsKey struct{}

// withToolArgs records the arguments of the running tool call, so that a
// plan keeps them (guard.Plan.Args).
func withToolArgs(ctx context.Context, args json.RawMessage) context.Context {
	return context.WithValue(ctx, toolArgsKey{}, args)
}

// ToolArgs returns the raw arguments of the running tool call, which a write
// tool's plan keeps (guard.Plan.Args).
func ToolArgs(ctx context.Context) json.RawMessage {
	a, _ := ctx.Value(toolArgsKey{}).(json.RawMessage)
	return a
}

type replanKey struct{}

// Replan receives the plan a write tool makes while it is run again for a
// confirmation: the tool fills it instead of proposing the plan, and returns
// ErrReplanned.
type Replan struct {
	Calls   []guard.Call
	Recheck guard.Recheck
	Done    bool
}

// ErrReplanned is what a write tool returns once it filled the call's
// Replan.
var ErrReplanned = errors.New("plan captured for a confirmation")

// ReplanFrom returns the Replan to fill when this call plans again for a
// confirmation (nil for an ordinary call).
func ReplanFrom(ctx context.Context) *Replan {
	c, _ := ctx.Value(replanKey{}).(*Replan)
	return c
}

// replan runs p's tool again with p's arguments and returns the calls it
// would make now and the recheck of its preconditions. It does not take a
// concurrency slot: the confirm_plan call it serves holds one.
func (s *Server) replan(ctx context.Context, p guard.Plan) ([]guard.Call, guard.Recheck, error) {
	t, ok := s.byName[p.Tool]
	if !ok {
		return nil, nil, fmt.Errorf("tool %s is not served here", p.Tool)
	}
	args := p.Args
	if len(args) == 0 {
		args = json.RawMessage("{}")
	}
	env := s.env
	if env.MultiCluster() {
		var err error
		if env, args, err = s.routeCluster(args); err != nil {
			return nil, nil, err
		}
	}
	av, err := decodeArgs(args, t.argsT, t.in)
	if err != nil {
		return nil, nil, err
	}
	c := &Replan{}
	ctx = context.WithValue(ctx, replanKey{}, c)
	ctx = WithEnv(proxmox.WithRecorder(withNotes(ctx, &Notes{}), proxmox.NewRecorder()), env)
	_, err = s.invoke(ctx, t, av)
	if !c.Done {
		if err == nil {
			err = errors.New("the tool made no plan")
		}
		return nil, nil, fmt.Errorf("planning again: %w", err)
	}
	return c.Calls, c.Recheck, nil
}
