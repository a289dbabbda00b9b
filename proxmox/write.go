package proxmox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/pvemcp/pvemcp/guard"
)

// This file holds every mutating Proxmox call pvemcp can make. Each one takes
// a guard.Approval, which only a confirmed plan yields, and has the approval
// authorize the exact call before anything is sent. A test (write_gate_test.go)
// fails if a non-GET request is built anywhere else.

// WriteResult is Proxmox's answer to a mutating call.
type WriteResult struct {
	// UPID is set when Proxmox started a task for the call.
	UPID string `json:"upid,omitempty"`
	// Data is the raw "data" member for calls that answer synchronously.
	Data json.RawMessage `json:"data,omitempty"`
}

// Send makes one call of a confirmed plan. The approval must be for this
// client's cluster and authorize exactly this call as its plan's next one;
// otherwise nothing is sent.
func (c *Client) Send(ctx context.Context, a guard.Approval, call guard.Call) (WriteResult, error) {
	if a.Cluster() != c.name {
		// Checked before Authorize so the call stays approved for the right
		// cluster's client.
		msg := fmt.Sprintf("refused: plan %s was approved for cluster %q, this client is for %q", a.PlanID(), a.Cluster(), c.name)
		return WriteResult{}, &Error{Kind: KindInvalid, Method: call.Method, Path: call.Path, msg: msg}
	}
	if err := a.Authorize(call); err != nil {
		return WriteResult{}, &Error{Kind: KindInvalid, Method: call.Method, Path: call.Path, msg: err.Error(), err: err}
	}
	params := url.Values{}
	for k, v := range call.Params {
		params.Set(k, v)
	}
	for k, l := range call.Lists {
		for _, v := range l {
			params.Add(k, v)
		}
	}
	var raw json.RawMessage
	if err := c.do(ctx, call.Method, call.Path, params, &raw); err != nil {
		return WriteResult{}, err
	}
	var res WriteResult
	var s string
	if json.Unmarshal(raw, &s) == nil && strings.HasPrefix(s, "UPID:") {
		res.UPID = s
	} else if len(raw) > 0 && string(raw) != "null" {
		res.Data = raw
	}
	return res, nil
}
