package toolkit

import (
	"context"
	"fmt"
	"time"
)

// CallLimit bounds how many tool calls run at once, so memory follows the
// answers being built, not the number of clients: a call beyond the limit
// waits up to a bounded time for a free slot, then fails with a clear
// "busy" error. A nil *CallLimit does not limit.
type CallLimit struct {
	slots chan struct{}
	wait  time.Duration
}

// NewCallLimit allows n concurrent calls; others wait at most wait.
func NewCallLimit(n int, wait time.Duration) *CallLimit {
	if n <= 0 {
		n = 1
	}
	return &CallLimit{slots: make(chan struct{}, n), wait: wait}
}

// DefaultCallLimit and DefaultCallWait are the limits of `pvemcp serve`.
const (
	DefaultCallLimit = 32
	DefaultCallWait  = 10 * time.Second
)

func (l *CallLimit) acquire(ctx context.Context) (release func(), err error) {
	if l == nil {
		return func() {}, nil
	}
	select {
	case l.slots <- struct{}{}:
		return func() { <-l.slots }, nil
	default:
	}
	t := time.NewTimer(l.wait)
	defer t.Stop()
	select {
	case l.slots <- struct{}{}:
		return func() { <-l.slots }, nil
	case <-t.C:
		return nil, fmt.Errorf("server busy: %d tool calls are running and none finished within %s; nothing was done, retry shortly", cap(l.slots), l.wait)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
