package tools

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/toolkit"
)

// TestPendingCapPerPrincipal: one principal filling its pending-plan share
// does not lock out another; unauthenticated loopback sessions count each
// on their own, a named principal's sessions together.
func TestPendingCapPerPrincipal(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	args, _ := json.Marshal(map[string]any{"vmid": 203, "action": "start"})
	plan := func(c toolkit.Caller) string {
		res, err := w.srv.Call(toolkit.WithCaller(context.Background(), c), "guest_power", args)
		if err != nil {
			t.Fatal(err)
		}
		if res.IsError {
			return res.Text
		}
		return ""
	}
	alice1 := toolkit.Caller{Principal: "http:alice", SessionID: "a1"}
	for i := 0; i < 100; i++ {
		if e := plan(alice1); e != "" {
			t.Fatalf("plan %d: %s", i, e)
		}
	}
	if e := plan(toolkit.Caller{Principal: "http:alice", SessionID: "a2"}); !strings.Contains(e, "the most one caller may hold") {
		t.Fatalf("alice's 101st plan from another session: %q", e)
	}
	if e := plan(toolkit.Caller{Principal: "http:bob"}); e != "" {
		t.Fatalf("bob locked out by alice: %s", e)
	}
	lo1 := toolkit.Caller{Principal: "http:loopback", Anonymous: true, SessionID: "l1"}
	for i := 0; i < 100; i++ {
		if e := plan(lo1); e != "" {
			t.Fatalf("loopback plan %d: %s", i, e)
		}
	}
	if e := plan(toolkit.Caller{Principal: "http:loopback", Anonymous: true, SessionID: "l2"}); e != "" {
		t.Fatalf("one loopback session locked out another: %s", e)
	}
}
