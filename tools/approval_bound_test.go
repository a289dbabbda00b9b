package tools

import (
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pvemcp/pvemcp/guard"
)

var approve = mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{
	Action: mcp.ElicitationResponseActionAccept, Content: map[string]any{"approve": true}}}

// TestApprovalWayFixedAtPlanTime: a plan made by a client that can ask its
// user cannot be confirmed by a request that only carries the nonce (in
// the 2026-07-28 era capabilities are per request, so a plain client could
// otherwise confirm it); the plan stays for the person to approve.
func TestApprovalWayFixedAtPlanTime(t *testing.T) {
	t.Parallel()
	// Only the 2026-07-28 era: before it, capabilities belong to the session
	// and a plan is bound to its session anyway.
	for era, version := range map[string]string{"modern": eras["modern"]} {
		t.Run(era, func(t *testing.T) {
			t.Parallel()
			w := newWriteEnv(t, "operator")
			w.gate.Approval = guard.ApprovalElicit
			a := &answerer{answer: approve}
			asker := mcpSession(t, w, a, true, version)
			plain := mcpSession(t, w, &answerer{}, false, version)
			_, plan := callMCP(t, asker, "guest_power", map[string]any{"vmid": 203, "action": "start"}, nil)
			args := map[string]any{"plan_id": plan["plan_id"], "nonce": plan["nonce"]}
			res, _ := callMCP(t, plain, "confirm_plan", args, nil)
			if !res.IsError || !strings.Contains(resultText(res), "must be approved by the user") {
				t.Fatalf("nonce-only confirm of an elicitation plan: %s", resultText(res))
			}
			w.noWrites("nonce-only confirmation")
			res, out := callMCP(t, asker, "confirm_plan", args, nil)
			if res.IsError || out["approved_by"] != "elicitation" || len(a.asked) != 1 {
				t.Fatalf("the person could no longer approve: %s", resultText(res))
			}
		})
	}
}

// TestRequireHuman: under approval require_human a client without
// elicitation gets a plan it is told it cannot confirm, and the nonce alone
// is refused; a client with elicitation confirms through the person.
func TestRequireHuman(t *testing.T) {
	t.Parallel()
	for era, version := range eras {
		t.Run(era, func(t *testing.T) {
			t.Parallel()
			w := newWriteEnv(t, "operator")
			w.gate.Approval = guard.ApprovalRequireHuman
			plain := mcpSession(t, w, &answerer{}, false, version)
			_, plan := callMCP(t, plain, "guest_power", map[string]any{"vmid": 203, "action": "start"}, nil)
			if !strings.Contains(plan["next"].(string), "cannot be confirmed from this client") {
				t.Fatalf("next %q", plan["next"])
			}
			res, _ := callMCP(t, plain, "confirm_plan", map[string]any{"plan_id": plan["plan_id"], "nonce": plan["nonce"]}, nil)
			if !res.IsError || !strings.Contains(resultText(res), "must be approved by the user") {
				t.Fatalf("require_human let the nonce confirm: %s", resultText(res))
			}
			w.noWrites("require_human, nonce only")

			a := &answerer{answer: approve}
			asker := mcpSession(t, w, a, true, version)
			_, plan = callMCP(t, asker, "guest_power", map[string]any{"vmid": 203, "action": "start"}, nil)
			res, out := callMCP(t, asker, "confirm_plan", map[string]any{"plan_id": plan["plan_id"], "nonce": plan["nonce"]}, nil)
			if res.IsError || out["approved_by"] != "elicitation" || len(a.asked) != 1 {
				t.Fatalf("require_human with a person: %s", resultText(res))
			}
		})
	}
}
