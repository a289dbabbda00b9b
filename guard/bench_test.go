package guard

import (
	"context"
	"path/filepath"
	"testing"
)

// BenchmarkProposeConfirm is the gate's own cost per write: plan, nonce
// check, approval, one authorized call (no audit log; see the next one).
func BenchmarkProposeConfirm(b *testing.B) {
	s := NewStore()
	p := samplePlan("c")
	ctx := context.Background()
	for b.Loop() {
		prop, err := s.Propose(p, nil)
		if err != nil {
			b.Fatal(err)
		}
		a, _, err := s.Confirm(ctx, Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "c"})
		if err != nil || a.Authorize(p.Calls[0]) != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProposeConfirmAudited adds the fsynced audit log (three records).
func BenchmarkProposeConfirmAudited(b *testing.B) {
	l, err := OpenAuditLog(filepath.Join(b.TempDir(), "audit.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	s := NewStore(WithAudit(l))
	p := samplePlan("c")
	ctx := context.Background()
	for b.Loop() {
		prop, err := s.Propose(p, nil)
		if err != nil {
			b.Fatal(err)
		}
		_, plan, err := s.Confirm(ctx, Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "c"})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.RecordOutcome(Outcome{Plan: plan, Outcome: "ok"}); err != nil {
			b.Fatal(err)
		}
	}
}
