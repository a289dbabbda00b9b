package tools

import (
	"context"
	"encoding/json"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pvemcp/pvemcp/guard"
	"github.com/pvemcp/pvemcp/internal/simtest"
	"github.com/pvemcp/pvemcp/mcpserver"
	"github.com/pvemcp/pvemcp/toolkit"
)

// answerer is a client-side human: it records each elicitation and gives a
// fixed answer.
type answerer struct {
	mu     sync.Mutex
	asked  []mcp.ElicitationParams
	answer mcp.ElicitationResult
}

func (a *answerer) Elicit(_ context.Context, req mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.asked = append(a.asked, req.Params)
	r := a.answer
	return &r, nil
}

// Protocol eras: 2026-07-28 elicits through an input_required result the
// client retries; 2025-11-25 through a server-initiated elicitation/create.
var eras = map[string]string{"modern": mcp.LATEST_PROTOCOL_VERSION, "legacy": "2025-11-25"}

// mcpSession connects an in-process mcp-go client in the given protocol
// version to w's tools.
func mcpSession(t *testing.T, w *writeEnv, a *answerer, elicit bool, version string) *client.Client {
	t.Helper()
	o := simtest.MCP{Version: version}
	if elicit {
		o.Elicit = a
	}
	return simtest.InProcess(t, mcpserver.New(w.srv, "test").MCP(), o).Client
}

func callMCP(t *testing.T, c *client.Client, name string, args map[string]any, progress mcp.ProgressToken) (*mcp.CallToolResult, map[string]any) {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	if progress != nil {
		req.Params.Meta = &mcp.Meta{ProgressToken: progress}
	}
	res, err := c.CallTool(context.Background(), req)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var out map[string]any
	if res.StructuredContent != nil {
		b, _ := json.Marshal(res.StructuredContent)
		json.Unmarshal(b, &out)
	}
	return res, out
}

func resultText(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

func TestConfirmAsksTheHuman(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		answer  mcp.ElicitationResult
		execute bool
	}{
		{"accept", mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: mcp.ElicitationResponseActionAccept, Content: map[string]any{"approve": true}}}, true},
		{"accept unticked", mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: mcp.ElicitationResponseActionAccept, Content: map[string]any{"approve": false}}}, false},
		{"decline", mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: mcp.ElicitationResponseActionDecline}}, false},
		{"cancel", mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: mcp.ElicitationResponseActionCancel}}, false},
	}
	for _, tc := range cases {
		for era, version := range eras {
			t.Run(tc.name+" "+era, func(t *testing.T) {
				t.Parallel()
				w := newWriteEnv(t, "operator")
				w.gate.Approval = guard.ApprovalElicit
				a := &answerer{answer: tc.answer}
				c := mcpSession(t, w, a, true, version)
				res, plan := callMCP(t, c, "guest_power", map[string]any{"vmid": 203, "action": "start"}, nil)
				if res.IsError {
					t.Fatal(resultText(res))
				}
				res, out := callMCP(t, c, "confirm_plan", map[string]any{"plan_id": plan["plan_id"], "nonce": plan["nonce"]}, nil)
				if len(a.asked) != 1 || !strings.Contains(a.asked[0].Message, "POST /nodes/pve-node02/lxc/203/status/start") {
					t.Fatalf("asked %+v", a.asked)
				}
				if tc.execute {
					if res.IsError || out["outcome"] != "ok" || out["approved_by"] != "elicitation" {
						t.Fatalf("accepted plan: %s", resultText(res))
					}
					if g := w.guest(203); g.Status != "running" {
						t.Fatalf("container is %s", g.Status)
					}
					return
				}
				if !res.IsError || !strings.Contains(resultText(res), "refused: the user answered") {
					t.Fatalf("not refused: %s", resultText(res))
				}
				w.noWrites(tc.name)
			})
		}
	}
}

func TestNoncePolicyAndClientsWithoutElicitation(t *testing.T) {
	t.Parallel()
	for _, mode := range []guard.ApprovalMode{guard.ApprovalNonce, guard.ApprovalElicit} {
		w := newWriteEnv(t, "operator")
		w.gate.Approval = mode
		a := &answerer{}
		// A client that cannot elicit gets nonce confirmation in both modes;
		// one that can is not asked under the nonce policy.
		c := mcpSession(t, w, a, mode == guard.ApprovalNonce, eras["legacy"])
		_, plan := callMCP(t, c, "guest_power", map[string]any{"vmid": 203, "action": "start"}, nil)
		res, out := callMCP(t, c, "confirm_plan", map[string]any{"plan_id": plan["plan_id"], "nonce": plan["nonce"]}, "tok-1")
		if res.IsError || out["approved_by"] != "nonce" || len(a.asked) != 0 {
			t.Fatalf("%s: %s (asked %d)", mode, resultText(res), len(a.asked))
		}
	}
}

func TestPlanBoundToMCPSession(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	// Sessions exist in the legacy era only (2026-07-28 has none); nonce
	// mode keeps the elicitation handler idle.
	c1 := mcpSession(t, w, &answerer{}, true, eras["legacy"])
	c2 := mcpSession(t, w, &answerer{}, true, eras["legacy"])
	_, plan := callMCP(t, c1, "guest_power", map[string]any{"vmid": 203, "action": "start"}, nil)
	res, _ := callMCP(t, c2, "confirm_plan", map[string]any{"plan_id": plan["plan_id"], "nonce": plan["nonce"]}, nil)
	if !res.IsError || !strings.Contains(resultText(res), "another session") {
		t.Fatalf("foreign session confirmed: %s", resultText(res))
	}
	w.noWrites("foreign session")
	if res, _ := callMCP(t, c1, "confirm_plan", map[string]any{"plan_id": plan["plan_id"], "nonce": plan["nonce"]}, nil); res.IsError {
		t.Fatal(resultText(res))
	}
}

func TestConfirmSendsProgress(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	c := mcpSession(t, w, &answerer{}, true, eras["legacy"])
	var mu sync.Mutex
	var got []map[string]any
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method == string(mcp.MethodNotificationProgress) {
			mu.Lock()
			got = append(got, n.Params.AdditionalFields)
			mu.Unlock()
		}
	})
	w.gate.Approval = guard.ApprovalNonce
	_, plan := callMCP(t, c, "guest_power", map[string]any{"vmid": 203, "action": "start"}, nil)
	res, _ := callMCP(t, c, "confirm_plan", map[string]any{"plan_id": plan["plan_id"], "nonce": plan["nonce"]}, "tok-7")
	if res.IsError {
		t.Fatal(resultText(res))
	}
	// Notifications are forwarded asynchronously: wait until the final one
	// arrives (the test's own deadline bounds this).
	for {
		mu.Lock()
		n := len(got)
		var last map[string]any
		if n > 0 {
			last = got[n-1]
		}
		mu.Unlock()
		if last != nil && last["message"] == "done" {
			if last["progressToken"] != "tok-7" || last["progress"] != last["total"] {
				t.Fatalf("final progress %v", last)
			}
			return
		}
		runtime.Gosched()
	}
}

func TestCancelledConfirmReportsRunningTask(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	w.sim.SetTaskSpeed(1) // realistic durations: the task outlives the wait
	plan := w.plan("s1", "guest_power", map[string]any{"vmid": 203, "action": "start"})
	ctx, cancel := context.WithCancel(toolkit.WithCaller(context.Background(), toolkit.Caller{SessionID: "s1"}))
	defer cancel()
	go func() {
		// Cancel once confirm_plan polls the task, i.e. while waiting.
		for {
			for _, r := range w.sim.Requests() {
				if strings.HasSuffix(r.Path, "/status") && strings.Contains(r.Path, "/tasks/") {
					cancel()
					return
				}
			}
			runtime.Gosched()
		}
	}()
	raw, _ := json.Marshal(map[string]any{"plan_id": plan["plan_id"], "nonce": plan["nonce"]})
	res, err := w.srv.Call(ctx, "confirm_plan", raw)
	if err != nil {
		t.Fatal(err)
	}
	if res.IsError {
		t.Fatalf("cancelled confirm: %s", res.Text)
	}
	var out ConfirmResult
	if err := json.Unmarshal(res.Structured, &out); err != nil {
		t.Fatal(err)
	}
	if out.Outcome != "running" || out.Steps[0].UPID == "" || !strings.Contains(out.Message, "still runs") || !strings.Contains(out.Message, out.Steps[0].UPID) {
		t.Fatalf("outcome %+v", out)
	}
}

func TestPlanSaysHowApprovalHappens(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	w.gate.Approval = guard.ApprovalElicit
	for _, elicit := range []bool{true, false} {
		c := mcpSession(t, w, &answerer{}, elicit, eras["legacy"])
		_, plan := callMCP(t, c, "guest_power", map[string]any{"vmid": 203, "action": "start"}, nil)
		asks := strings.Contains(plan["next"].(string), "the client shows the plan to the user")
		if asks != elicit {
			t.Fatalf("elicit=%v: next %q", elicit, plan["next"])
		}
	}
}
