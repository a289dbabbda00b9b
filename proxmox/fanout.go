package proxmox

import (
	"context"
	"sync"
)

// NodeResult is one node's outcome of a fan-out: a value or an error.
type NodeResult[T any] struct {
	Node  string
	Value T
	Err   error
}

// FanOut calls fn for every node with at most limit calls in flight (limit
// <= 0 means DefaultFanOutLimit) and returns the results in the order of
// nodes. One node's failure never hides the others' answers: partial beats
// wrong. It returns when every call has returned; fn must honour ctx.
func FanOut[T any](ctx context.Context, nodes []string, limit int, fn func(ctx context.Context, node string) (T, error)) []NodeResult[T] {
	if limit <= 0 {
		limit = DefaultFanOutLimit
	}
	out := make([]NodeResult[T], len(nodes))
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i, n := range nodes {
		out[i].Node = n
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				out[i].Err = &Error{Kind: KindCanceled, Node: n, msg: "request canceled before node " + n + " was asked"}
				return
			}
			defer func() { <-sem }()
			out[i].Value, out[i].Err = fn(ctx, n)
		}()
	}
	wg.Wait()
	return out
}

// ForEachNode is FanOut with the client's configured bound.
func ForEachNode[T any](ctx context.Context, c *Client, nodes []string, fn func(ctx context.Context, node string) (T, error)) []NodeResult[T] {
	return FanOut(ctx, nodes, c.fanOut, fn)
}
