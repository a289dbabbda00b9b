package guard

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func samplePlan(caller string) Plan {
	return Plan{
		Tool:    "guest_power",
		Summary: "start VM 103 on pve-node01",
		Caller:  caller,
		Calls: []Call{
			{Method: "POST", Path: "/nodes/pve-node01/qemu/103/status/start"},
			{Method: "PUT", Path: "/nodes/pve-node01/qemu/103/config", Params: map[string]string{"cores": "4", "cipassword": "hunter2"}},
		},
	}
}

func TestConfirmHappyPathAuthorizesExactlyThePlanCalls(t *testing.T) {
	s := NewStore()
	prop, err := s.Propose(samplePlan("sess-a"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(prop.Nonce) != 32 {
		t.Fatalf("nonce %q: want 128 bits as 32 hex digits", prop.Nonce)
	}
	if got := prop.Calls[1].Params["cipassword"]; got != redactedMark {
		t.Fatalf("proposal shows secret param: %q", got)
	}
	if d := time.Until(prop.ExpiresAt); d > DefaultTTL || d < DefaultTTL-time.Minute {
		t.Fatalf("expiry %v not about %v ahead", prop.ExpiresAt, DefaultTTL)
	}
	a, p, err := s.Confirm(context.Background(), Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "sess-a"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Hash != prop.PlanHash || a.PlanID() != prop.PlanID {
		t.Fatalf("plan/approval mismatch: %+v", p)
	}
	calls := samplePlan("x").Calls
	if err := a.Authorize(calls[1]); err == nil {
		t.Fatal("out-of-order call authorized")
	}
	other := Call{Method: "POST", Path: "/nodes/pve-node01/qemu/104/status/start"}
	if err := a.Authorize(other); err == nil {
		t.Fatal("call outside the plan authorized")
	}
	if err := a.Authorize(calls[0]); err != nil {
		t.Fatal(err)
	}
	changed := calls[1]
	changed.Params = map[string]string{"cores": "64", "cipassword": "hunter2"}
	if err := a.Authorize(changed); err == nil {
		t.Fatal("call with changed params authorized")
	}
	if err := a.Authorize(calls[1]); err != nil {
		t.Fatal(err)
	}
	if err := a.Authorize(calls[0]); err == nil {
		t.Fatal("call authorized twice")
	}
	if a.Remaining() != 0 {
		t.Fatal("remaining calls after full use")
	}
}

func TestZeroApprovalAuthorizesNothing(t *testing.T) {
	var a Approval
	if err := a.Authorize(Call{Method: "POST", Path: "/x"}); !errors.Is(err, ErrNoApproval) {
		t.Fatalf("zero approval: %v", err)
	}
}

func TestRefusals(t *testing.T) {
	now := time.Date(2026, 2, 23, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s := NewStore(WithClock(clock))
	var rechecks atomic.Int32
	recheck := func(context.Context) error { rechecks.Add(1); return nil }
	prop, err := s.Propose(samplePlan("sess-a"), recheck)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cases := []struct {
		name string
		c    Confirmation
		kind error
	}{
		{"wrong nonce", Confirmation{prop.PlanID, strings.Repeat("0", 32), "sess-a", "", ""}, ErrWrongNonce},
		{"foreign caller", Confirmation{prop.PlanID, prop.Nonce, "sess-b", "", ""}, ErrForeignCaller},
		{"unknown plan", Confirmation{"plan-nope", prop.Nonce, "sess-a", "", ""}, ErrUnknownPlan},
		{"forged elicitation state", Confirmation{prop.PlanID, prop.Nonce, "sess-a", "elicit-forged", ""}, ErrElicitation},
	}
	for _, tc := range cases {
		_, _, err := s.Confirm(ctx, tc.c)
		if !errors.Is(err, tc.kind) {
			t.Fatalf("%s: got %v, want %v", tc.name, err, tc.kind)
		}
		if !strings.Contains(err.Error(), "nothing was sent") {
			t.Fatalf("%s: error does not say nothing was sent: %v", tc.name, err)
		}
	}
	if rechecks.Load() != 0 {
		t.Fatal("recheck ran for a refused confirmation")
	}
	// The owner can still confirm after the refusals above.
	if _, _, err := s.Confirm(ctx, Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "sess-a"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Confirm(ctx, Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "sess-a"}); !errors.Is(err, ErrNonceUsed) {
		t.Fatalf("reused nonce: %v", err)
	}

	prop2, _ := s.Propose(samplePlan("sess-a"), recheck)
	now = now.Add(DefaultTTL + time.Second)
	if _, _, err := s.Confirm(ctx, Confirmation{PlanID: prop2.PlanID, Nonce: prop2.Nonce, Caller: "sess-a"}); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired: %v", err)
	}
	if rechecks.Load() != 1 {
		t.Fatalf("recheck ran %d times, want 1", rechecks.Load())
	}
}

// TestWrongNoncesBurnThePlan: each wrong guess is refused as a wrong nonce
// and authorizes nothing; the fifth burns the plan, so the right nonce no
// longer works; four wrong guesses leave it confirmable.
func TestWrongNoncesBurnThePlan(t *testing.T) {
	s := NewStore()
	prop, _ := s.Propose(samplePlan("c"), nil)
	for i := range maxNonceFailures {
		a, _, err := s.Confirm(context.Background(), Confirmation{PlanID: prop.PlanID, Nonce: fmt.Sprintf("guess-%d", i), Caller: "c"})
		if !errors.Is(err, ErrWrongNonce) {
			t.Fatalf("wrong guess %d: got %v, want a wrong-nonce refusal", i+1, err)
		}
		if a.Authorize(samplePlan("c").Calls[0]) == nil {
			t.Fatalf("wrong guess %d authorized the call", i+1)
		}
		if want := 1; i < maxNonceFailures-1 && s.Pending() != want {
			t.Fatalf("after %d wrong guesses %d plans pending, want %d", i+1, s.Pending(), want)
		}
	}
	if s.Pending() != 0 {
		t.Fatalf("%d plans pending after %d wrong guesses", s.Pending(), maxNonceFailures)
	}
	a, _, err := s.Confirm(context.Background(), Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "c"})
	if !errors.Is(err, ErrNonceUsed) || !strings.Contains(err.Error(), "discarded after repeated wrong nonces") {
		t.Fatalf("right nonce after the plan was burned: got %v", err)
	}
	if a.Authorize(samplePlan("c").Calls[0]) == nil {
		t.Fatal("a burned plan authorized the call")
	}

	// One guess short of the limit, the plan still works with its nonce.
	prop, _ = s.Propose(samplePlan("c"), nil)
	for i := range maxNonceFailures - 1 {
		s.Confirm(context.Background(), Confirmation{PlanID: prop.PlanID, Nonce: fmt.Sprintf("guess-%d", i), Caller: "c"})
	}
	a, _, err = s.Confirm(context.Background(), Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "c"})
	if err != nil || a.Authorize(samplePlan("c").Calls[0]) != nil {
		t.Fatalf("right nonce after %d wrong guesses: %v", maxNonceFailures-1, err)
	}
}

func TestRecheckFailureRefusesAndConsumes(t *testing.T) {
	s := NewStore()
	prop, _ := s.Propose(samplePlan("c"), func(context.Context) error { return errors.New("VMID 106 is taken now") })
	_, _, err := s.Confirm(context.Background(), Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "c"})
	if !errors.Is(err, ErrPreconditionFailed) || !strings.Contains(err.Error(), "VMID 106 is taken now") {
		t.Fatalf("got %v", err)
	}
	if s.Pending() != 0 {
		t.Fatal("plan still pending after failed recheck")
	}
}

func TestConcurrentConfirmsExactlyOneWins(t *testing.T) {
	s := NewStore()
	var executed atomic.Int32
	prop, _ := s.Propose(samplePlan("c"), func(context.Context) error { executed.Add(1); return nil })
	const n = 64
	var wg sync.WaitGroup
	var wins atomic.Int32
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			a, _, err := s.Confirm(context.Background(), Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "c"})
			if err == nil && a.Authorize(samplePlan("c").Calls[0]) == nil {
				wins.Add(1)
			} else if err != nil && !errors.Is(err, ErrNonceUsed) {
				t.Errorf("unexpected refusal: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if wins.Load() != 1 || executed.Load() != 1 {
		t.Fatalf("wins=%d rechecks=%d, want exactly 1", wins.Load(), executed.Load())
	}
}

func TestElicitationStateRequiredOnceAsked(t *testing.T) {
	s := NewStore()
	prop, _ := s.Propose(samplePlan("c"), nil)
	if _, err := s.Check(Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "c"}); err != nil {
		t.Fatal(err)
	}
	_, state, err := s.BeginElicitation(Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "c"})
	if err != nil {
		t.Fatal(err)
	}
	// While the human is being asked, a plain nonce confirmation is refused.
	if _, _, err := s.Confirm(context.Background(), Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "c"}); !errors.Is(err, ErrElicitation) {
		t.Fatalf("plain confirm during elicitation: %v", err)
	}
	if _, _, err := s.Confirm(context.Background(), Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "c", ElicitState: state}); err != nil {
		t.Fatal(err)
	}
}

func TestDeclineEndsPlan(t *testing.T) {
	s := NewStore()
	prop, _ := s.Propose(samplePlan("c"), nil)
	_, state, _ := s.BeginElicitation(Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "c"})
	c := Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "c", ElicitState: state}
	if err := s.Decline(c, "decline"); !errors.Is(err, ErrDeclined) {
		t.Fatalf("decline: %v", err)
	}
	if _, _, err := s.Confirm(context.Background(), c); !errors.Is(err, ErrNonceUsed) || !strings.Contains(err.Error(), "declined") {
		t.Fatalf("confirm after decline: %v", err)
	}
}

func TestHashBindsCallerClusterAndCalls(t *testing.T) {
	p := samplePlan("a")
	h := canonicalHash(p)
	q := p
	q.Calls = cloneCalls(p.Calls)
	if h != canonicalHash(q) {
		t.Fatal("hash not deterministic")
	}
	q.Caller = "b"
	if h == canonicalHash(q) {
		t.Fatal("hash ignores caller")
	}
	q = p
	q.Cluster = "beta"
	if h == canonicalHash(q) {
		t.Fatal("hash ignores cluster")
	}
	q = p
	q.Calls = cloneCalls(p.Calls)
	q.Calls[1].Params["cores"] = "5"
	if h == canonicalHash(q) {
		t.Fatal("hash ignores params")
	}
}

// A confirmation naming another cluster than the plan's is refused without
// consuming the plan or running its recheck; the plan then still runs for
// its own cluster (named or not), and the approval carries that cluster.
func TestConfirmBindsCluster(t *testing.T) {
	ctx := context.Background()
	for _, again := range []string{"", "beta"} {
		s := NewStore()
		p := samplePlan("c")
		p.Cluster = "beta"
		var rechecks atomic.Int32
		prop, err := s.Propose(p, func(context.Context) error { rechecks.Add(1); return nil })
		if err != nil {
			t.Fatal(err)
		}
		wrong := Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "c", Cluster: "alpha"}
		if _, _, err := s.BeginElicitation(wrong); !errors.Is(err, ErrWrongCluster) {
			t.Fatalf("elicitation for another cluster: %v", err)
		}
		_, _, err = s.Confirm(ctx, wrong)
		if !errors.Is(err, ErrWrongCluster) || !strings.Contains(err.Error(), `"beta"`) || !strings.Contains(err.Error(), "nothing was sent") {
			t.Fatalf("confirm for another cluster: %v", err)
		}
		if s.Pending() != 1 || rechecks.Load() != 0 {
			t.Fatalf("a wrong-cluster confirmation consumed the plan (pending %d) or ran its recheck (%d)", s.Pending(), rechecks.Load())
		}
		a, got, err := s.Confirm(ctx, Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "c", Cluster: again})
		if err != nil {
			t.Fatalf("cluster %q: %v", again, err)
		}
		if got.Cluster != "beta" || a.Cluster() != "beta" || rechecks.Load() != 1 {
			t.Fatalf("cluster %q: plan %q approval %q rechecks %d", again, got.Cluster, a.Cluster(), rechecks.Load())
		}
	}
	if (Approval{}).Cluster() != "" {
		t.Fatal("zero approval has a cluster")
	}
}

func TestProposeValidates(t *testing.T) {
	s := NewStore()
	for _, p := range []Plan{{Summary: "x", Caller: "c", Calls: []Call{{Method: "POST", Path: "/x"}}},
		{Tool: "t", Summary: "x", Caller: "c"},
		{Tool: "t", Summary: "x", Calls: []Call{{Method: "POST", Path: "/x"}}}} {
		if _, err := s.Propose(p, nil); err == nil {
			t.Fatalf("accepted invalid plan %+v", p)
		}
	}
}

func TestAuditLogRecordsEverythingWithoutSecrets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "pvemcp", "audit.jsonl")
	l, err := OpenAuditLog(path)
	if err != nil {
		t.Fatal(err)
	}
	s := NewStore(WithAudit(l))
	prop, _ := s.Propose(samplePlan("c"), nil)
	s.Confirm(context.Background(), Confirmation{PlanID: prop.PlanID, Nonce: "bad", Caller: "c"})
	_, p, err := s.Confirm(context.Background(), Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "c"})
	if err != nil {
		t.Fatal(err)
	}
	upid := "UPID:pve-node01:000B5212:0062A3F4:68A5C1D2:qmstart:103:root@pam!mcp:"
	if err := s.RecordOutcome(Outcome{Plan: p, UPIDs: []string{upid}, Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("audit log mode %v, want 0600", info.Mode().Perm())
	}
	raw, _ := os.ReadFile(path)
	if strings.Contains(string(raw), "hunter2") || strings.Contains(string(raw), prop.Nonce) {
		t.Fatal("audit log holds a secret or nonce")
	}
	var kinds []string
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	for sc.Scan() {
		var ev Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("bad line %q: %v", sc.Text(), err)
		}
		if ev.Caller != "c" || ev.PlanID != prop.PlanID || ev.Time.IsZero() {
			t.Fatalf("incomplete event %+v", ev)
		}
		kinds = append(kinds, ev.Event)
		if ev.Event == EventOutcome && (len(ev.UPIDs) != 1 || ev.UPIDs[0] != upid || ev.PlanHash != prop.PlanHash) {
			t.Fatalf("outcome event %+v", ev)
		}
	}
	want := []string{EventPlan, EventRefusal, EventConfirm, EventOutcome}
	if strings.Join(kinds, ",") != strings.Join(want, ",") {
		t.Fatalf("events %v, want %v", kinds, want)
	}
}

func TestDefaultAuditPath(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/state")
	p, err := DefaultAuditPath()
	if err != nil || p != filepath.Join("/state", "pvemcp", "audit.jsonl") {
		t.Fatalf("%q %v", p, err)
	}
}

func TestAuditFailureFailsClosed(t *testing.T) {
	l, err := OpenAuditLog(filepath.Join(t.TempDir(), "a.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	s := NewStore(WithAudit(l))
	prop, _ := s.Propose(samplePlan("c"), nil)
	l.Close()
	if _, _, err := s.Confirm(context.Background(), Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "c"}); !errors.Is(err, ErrAudit) {
		t.Fatalf("confirm without audit: %v", err)
	}
	if _, err := s.Propose(samplePlan("c"), nil); !errors.Is(err, ErrAudit) {
		t.Fatalf("propose without audit: %v", err)
	}
}

func TestExpiredPlansArePrunedButStillExplained(t *testing.T) {
	now := time.Date(2026, 2, 23, 10, 0, 0, 0, time.UTC)
	s := NewStore(WithClock(func() time.Time { return now }), withTTL(time.Minute))
	old, _ := s.Propose(samplePlan("c"), nil)
	now = now.Add(2 * time.Minute)
	s.Propose(samplePlan("c"), nil) // prunes the expired plan
	if s.Pending() != 1 {
		t.Fatalf("pending %d, want 1", s.Pending())
	}
	if _, _, err := s.Confirm(context.Background(), Confirmation{PlanID: old.PlanID, Nonce: old.Nonce, Caller: "c"}); !errors.Is(err, ErrExpired) {
		t.Fatalf("pruned plan: %v", err)
	}
}

func TestTombstonesAreBounded(t *testing.T) {
	s := NewStore()
	p := samplePlan("c")
	for range maxTombstones + 10 {
		prop, err := s.Propose(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Confirm(context.Background(), Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "c"}); err != nil {
			t.Fatal(err)
		}
	}
	n := s.backend.(*memoryBackend).tombstones()
	if n > maxTombstones {
		t.Fatalf("%d tombstones kept, bound %d", n, maxTombstones)
	}
}

// TestListParamsAreApproved: an array parameter (agent/exec's argv) is part of the approved call: another
// argv, or the same one in another order, is refused; the plan hash covers it.
func TestListParamsAreApproved(t *testing.T) {
	s := NewStore()
	exec := Call{Method: "POST", Path: "/nodes/pve-node01/qemu/101/agent/exec", Lists: map[string][]string{"command": {"systemctl", "is-active", "nginx"}}}
	p := Plan{Tool: "guest_exec", Summary: "run", Caller: "c", Calls: []Call{exec}}
	prop, err := s.Propose(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	other := p
	other.Calls = []Call{{Method: exec.Method, Path: exec.Path, Lists: map[string][]string{"command": {"rm", "-rf", "/"}}}}
	if canonicalHash(other) == canonicalHash(p) {
		t.Fatal("the plan hash ignores the argv")
	}
	a, _, err := s.Confirm(context.Background(), Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "c"})
	if err != nil {
		t.Fatal(err)
	}
	for _, argv := range [][]string{{"rm", "-rf", "/"}, {"nginx", "is-active", "systemctl"}, {"systemctl", "is-active"}, nil} {
		c := exec
		c.Lists = map[string][]string{"command": argv}
		if err := a.Authorize(c); err == nil {
			t.Fatalf("argv %q authorized", argv)
		}
	}
	if err := a.Authorize(exec); err != nil {
		t.Fatal(err)
	}
}
