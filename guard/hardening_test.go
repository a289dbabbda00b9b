package guard

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func readEvents(t *testing.T, path string) []Event {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Event
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var ev Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// TestPendingCapIsPerPrincipal: one principal filling its share of pending
// plans does not keep another from planning.
func TestPendingCapIsPerPrincipal(t *testing.T) {
	s := NewStore()
	p := samplePlan("principal:alice session:1")
	p.Principal = "alice"
	for i := 0; i < maxPendingPerPrincipal; i++ {
		if _, err := s.Propose(p, nil); err != nil {
			t.Fatalf("plan %d: %v", i, err)
		}
	}
	// Another session of the same principal shares the cap.
	p.Caller = "principal:alice session:2"
	if _, err := s.Propose(p, nil); err == nil || !strings.Contains(err.Error(), "pending plans, the most one caller may hold") {
		t.Fatalf("over the cap: %v", err)
	}
	q := samplePlan("principal:bob")
	q.Principal = "bob"
	if _, err := s.Propose(q, nil); err != nil {
		t.Fatalf("another principal locked out: %v", err)
	}
}

// TestForeignWrongNoncesDoNotBurnAPlan: wrong nonces from another caller
// are not counted against the owner's plan.
func TestForeignWrongNoncesDoNotBurnAPlan(t *testing.T) {
	s := NewStore()
	prop, err := s.Propose(samplePlan("principal:alice"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3*maxNonceFailures; i++ {
		_, _, err := s.Confirm(context.Background(), Confirmation{PlanID: prop.PlanID, Nonce: strings.Repeat("0", 32), Caller: "principal:mallory"})
		if !errors.Is(err, ErrForeignCaller) {
			t.Fatalf("foreign confirm %d: %v", i, err)
		}
	}
	if _, _, err := s.Confirm(context.Background(), Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "principal:alice"}); err != nil {
		t.Fatalf("owner's plan destroyed: %v", err)
	}
}

// TestApprovalWayRecordedInThePlan: an elicitation plan refuses the nonce
// alone without losing the plan, and the audit says how it must be approved.
func TestApprovalWayRecordedInThePlan(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	al, err := OpenAuditLog(path)
	if err != nil {
		t.Fatal(err)
	}
	s := NewStore(WithAudit(al))
	p := samplePlan("local")
	p.Approval = ByElicitation
	prop, err := s.Propose(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "local"}
	for i := 0; i < maxNonceFailures+1; i++ {
		if _, _, err := s.Confirm(context.Background(), c); !errors.Is(err, ErrHumanRequired) {
			t.Fatalf("nonce-only confirm %d: %v", i, err)
		}
	}
	_, state, err := s.BeginElicitation(c)
	if err != nil {
		t.Fatal(err)
	}
	c.ElicitState = state
	if _, _, err := s.Confirm(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	p.Approval = "whatever"
	if _, err := s.Propose(p, nil); err == nil {
		t.Fatal("unknown approval way accepted")
	}
	evs := readEvents(t, path)
	var kinds []string
	for _, ev := range evs {
		kinds = append(kinds, ev.Event+":"+ev.Approval)
	}
	got := strings.Join(kinds, " ")
	if !strings.HasPrefix(got, "plan:elicitation refusal:") || !strings.Contains(got, "elicitation: confirm:elicitation") {
		t.Fatalf("audit %s", got)
	}
}

// TestUnansweredElicitationAudited: a plan that expires while the user was
// asked leaves an elicitation_unanswered line.
func TestUnansweredElicitationAudited(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	al, err := OpenAuditLog(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	s := NewStore(WithAudit(al), WithClock(func() time.Time { return now }))
	prop, err := s.Propose(samplePlan("local"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.BeginElicitation(Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "local"}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(DefaultTTL + 2*pruneEvery)
	if _, err := s.Propose(samplePlan("local"), nil); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, ev := range readEvents(t, path) {
		found = found || (ev.Event == EventUnanswered && ev.PlanID == prop.PlanID)
	}
	if !found {
		t.Fatal("no elicitation_unanswered line")
	}
}

// TestUnavailableAuditRefusesWrites: a log that could not be opened refuses
// every plan, naming why.
func TestUnavailableAuditRefusesWrites(t *testing.T) {
	s := NewStore(WithAudit(UnavailableAuditLog(errors.New("audit log: mkdir /nonexistent: permission denied"))))
	_, err := s.Propose(samplePlan("local"), nil)
	if !errors.Is(err, ErrAudit) || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("plan with an unavailable audit log: %v", err)
	}
	if s.Pending() != 0 {
		t.Fatal("refused plan kept")
	}
}

// TestRefusalsRateLimitedPerCaller: a caller looping on wrong plan ids adds
// at most refusalsPerMinute lines a minute, the rest counted; another
// caller's refusals are still recorded.
func TestRefusalsRateLimitedPerCaller(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	al, err := OpenAuditLog(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	s := NewStore(WithAudit(al), WithClock(func() time.Time { return now }))
	bad := Confirmation{PlanID: "plan-0000000000000000", Nonce: strings.Repeat("0", 32), Caller: "loop"}
	for i := 0; i < 1000; i++ {
		if _, _, err := s.Confirm(context.Background(), bad); !errors.Is(err, ErrUnknownPlan) {
			t.Fatal(err)
		}
	}
	if _, _, err := s.Confirm(context.Background(), Confirmation{PlanID: bad.PlanID, Caller: "other"}); err == nil {
		t.Fatal("accepted")
	}
	now = now.Add(2 * time.Minute)
	_, _, _ = s.Confirm(context.Background(), bad)
	evs := readEvents(t, path)
	loop, other, suppressed := 0, 0, 0
	for _, ev := range evs {
		switch ev.Caller {
		case "loop":
			loop++
			suppressed += ev.Suppressed
		case "other":
			other++
		}
	}
	if loop != refusalsPerMinute+1 || other != 1 || suppressed != 1000-refusalsPerMinute {
		t.Fatalf("loop %d lines (suppressed %d), other %d", loop, suppressed, other)
	}
}

// TestAuditRotatesBySize: past its size the log is renamed to .1 and a new
// one started; no record is lost across the rotation.
func TestAuditRotatesBySize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	al, err := OpenAuditLog(path)
	if err != nil {
		t.Fatal(err)
	}
	al.SetMaxSize(4096)
	for i := 0; i < 100; i++ {
		if err := al.Record(Event{Event: EventRefusal, Caller: "c", Reason: strings.Repeat("x", 100)}); err != nil {
			t.Fatal(err)
		}
	}
	cur, old := readEvents(t, path), readEvents(t, path+".1")
	st, _ := os.Stat(path)
	if st.Size() > 4096 || len(old) == 0 || len(cur) == 0 {
		t.Fatalf("current %d bytes %d lines, rotated %d lines", st.Size(), len(cur), len(old))
	}
}
