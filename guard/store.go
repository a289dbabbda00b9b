package guard

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"
)

// DefaultTTL is how long a plan waits for its confirmation.
const DefaultTTL = 5 * time.Minute

const (
	// maxNonceFailures burns a plan after this many wrong nonces, so a
	// confused or hostile caller cannot keep guessing.
	maxNonceFailures = 5
	// maxPending bounds memory: plans are small, but a loop must not grow
	// the store without limit.
	maxPending = 10000
	// maxPendingPerPrincipal is the share of one principal, so that one
	// busy or hostile caller cannot lock everyone else out.
	maxPendingPerPrincipal = 100
	// tombstoneTTL is how long the store remembers a finished plan, to tell
	// "already used" apart from "never existed"; maxTombstones bounds that
	// memory (a forgotten plan is still refused, just as unknown).
	tombstoneTTL  = time.Hour
	maxTombstones = 10 * maxPending
	// pruneEvery spaces out the sweeps of expired plans and old tombstones.
	pruneEvery = time.Minute
)

// Refusal kinds, for errors.Is on a *RefusedError.
var (
	ErrUnknownPlan        = errors.New("unknown plan")
	ErrWrongNonce         = errors.New("wrong nonce")
	ErrNonceUsed          = errors.New("nonce already used")
	ErrExpired            = errors.New("plan expired")
	ErrForeignCaller      = errors.New("plan belongs to another caller")
	ErrWrongCluster       = errors.New("plan belongs to another cluster")
	ErrPreconditionFailed = errors.New("precondition no longer holds")
	ErrDeclined           = errors.New("declined by the user")
	ErrElicitation        = errors.New("confirmation not answered")
	ErrAudit              = errors.New("audit log not writable")
	ErrStoreUnavailable   = errors.New("plan store unavailable")
	ErrHumanRequired      = errors.New("approval by the user required")
)

// RefusedError says why a plan was not executed. Nothing was sent to
// Proxmox when it is returned.
type RefusedError struct {
	Kind   error
	Reason string
}

func (e *RefusedError) Error() string {
	return "refused: " + e.Reason + "; nothing was sent to Proxmox"
}

// Unwrap lets errors.Is match the kind.
func (e *RefusedError) Unwrap() error { return e.Kind }

func refused(kind error, format string, args ...any) error {
	return &RefusedError{Kind: kind, Reason: fmt.Sprintf(format, args...)}
}

// Recheck repeats a plan's preconditions against live data at confirm
// time; a non-nil error (its message is the reason) refuses the plan.
type Recheck func(ctx context.Context) error

// Proposal is what a write tool returns: everything the human needs to
// decide, and what confirm_plan needs. Calls are redacted.
type Proposal struct {
	PlanID        string         `json:"plan_id"`
	Nonce         string         `json:"nonce"`
	ExpiresAt     time.Time      `json:"expires_at"`
	Summary       string         `json:"summary"`
	Calls         []Call         `json:"calls"`
	Preconditions []Precondition `json:"preconditions,omitempty"`
	Warnings      []string       `json:"warnings,omitempty"`
	PlanHash      string         `json:"plan_hash"`
}

// Store holds pending plans in a [PlanBackend] (in memory unless
// configured otherwise). It is safe for concurrent use, and several
// processes may share one backend.
type Store struct {
	backend PlanBackend
	ttl     time.Duration
	now     func() time.Time
	audit   *AuditLog
	replan  Replan
	replica string

	mu      sync.Mutex
	pruned  time.Time
	limiter refusalLimiter
	local   map[string]localRecheck // rechecks of plans made here
}

type localRecheck struct {
	fn      Recheck
	expires time.Time
}

// Replan rebuilds a plan made by another process: it plans again from the
// plan's tool and arguments, in the confirming caller's context, and
// returns the calls it would now make and the recheck of its
// preconditions.
type Replan func(ctx context.Context, p Plan) ([]Call, Recheck, error)

// storeTimeout bounds one backend operation.
const storeTimeout = 5 * time.Second

// maxSwapRetries bounds the compare-and-swap loop of one operation.
const maxSwapRetries = 16

// Option configures a Store.
type Option func(*Store)

// WithClock replaces time.Now. Only tests use it (here and in the tools
// and cmd packages, to expire plans without waiting).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithAudit records every plan, confirmation, refusal and outcome.
func WithAudit(l *AuditLog) Option { return func(s *Store) { s.audit = l } }

// WithBackend keeps the plans in b instead of this process's memory.
func WithBackend(b PlanBackend) Option { return func(s *Store) { s.backend = b } }

// WithReplica names this process in the audit (default host/pid). Only
// tests use it, to run several named replicas in one process.
func WithReplica(name string) Option { return func(s *Store) { s.replica = name } }

// NewStore returns a store; without WithBackend its plans live in memory.
func NewStore(opts ...Option) *Store {
	s := &Store{
		ttl:   DefaultTTL,
		now:   time.Now,
		local: map[string]localRecheck{},
	}
	for _, o := range opts {
		o(s)
	}
	if s.backend == nil {
		s.backend = NewMemoryBackend()
	}
	if s.replica == "" {
		s.replica = ThisReplica()
	}
	return s
}

// SetReplan sets how plans made by another process get their
// preconditions repeated; without it such plans are refused when they
// have preconditions.
func (s *Store) SetReplan(r Replan) {
	s.mu.Lock()
	s.replan = r
	s.mu.Unlock()
}

// Backend returns where the plans are kept.
func (s *Store) Backend() PlanBackend { return s.backend }

// Ping checks that the plan store can be used.
func (s *Store) Ping(ctx context.Context) error { return s.backend.Ping(ctx) }

// Close releases the backend.
func (s *Store) Close() error { return s.backend.Close() }

func (s *Store) opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), storeTimeout)
}

func (s *Store) unavailable(err error) error {
	return refused(ErrStoreUnavailable, "the plan store (%s) cannot be used: %v; no plan is made or executed until it is back", s.backend.Name(), err)
}

func (s *Store) record(ev Event) error {
	ev.Replica = s.replica
	return s.audit.Record(ev)
}

func randomHex(n int) string {
	b := make([]byte, n)
	// crypto/rand.Read never returns an error on supported platforms.
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func nonceTag(nonce, hash string) string {
	t := sha256.Sum256([]byte(nonce + "|" + hash))
	return hex.EncodeToString(t[:])
}

// Propose records p as pending and returns its proposal with a fresh
// nonce. ID, times and hash are set here; Tool, Summary, Calls and Caller
// are required.
func (s *Store) Propose(p Plan, recheck Recheck) (Proposal, error) {
	switch {
	case p.Tool == "" || p.Summary == "":
		return Proposal{}, errors.New("plan needs a tool and a summary")
	case len(p.Calls) == 0:
		return Proposal{}, errors.New("plan has no calls")
	case p.Caller == "":
		return Proposal{}, errors.New("plan has no caller")
	case p.Approval != "" && p.Approval != ByElicitation && p.Approval != ByNonce:
		return Proposal{}, fmt.Errorf("plan has an unknown approval way %q", p.Approval)
	}
	for _, c := range p.Calls {
		if c.Method == "" || c.Path == "" {
			return Proposal{}, errors.New("plan has a call without method or path")
		}
	}
	p.Calls = cloneCalls(p.Calls)
	now := s.now().UTC()
	p.ID = "plan-" + randomHex(8)
	p.CreatedAt = now
	p.ExpiresAt = now.Add(s.ttl)
	p.Hash = canonicalHash(p)
	nonce := randomHex(16) // 128 bits

	s.sweep(now)
	ctx, cancel := s.opCtx()
	defer cancel()
	rec := &Record{Plan: p, Owner: p.owner(), Tag: nonceTag(nonce, p.Hash), HasRecheck: recheck != nil,
		Replica: s.replica, Args: p.Args}
	if err := s.backend.Add(ctx, now, rec, maxPendingPerPrincipal, maxPending); err != nil {
		var ce *CapError
		switch {
		case errors.As(err, &ce) && ce.Owner > 0:
			return Proposal{}, fmt.Errorf("you have %d pending plans, the most one caller may hold; confirm some or let them expire (%s) first", ce.Owner, s.ttl)
		case errors.As(err, &ce):
			return Proposal{}, errors.New("too many pending plans on this server; confirm or let some expire first")
		}
		return Proposal{}, s.unavailable(err)
	}
	if recheck != nil {
		s.mu.Lock()
		s.local[p.ID] = localRecheck{fn: recheck, expires: p.ExpiresAt}
		s.mu.Unlock()
	}

	if err := s.record(Event{Time: now, Event: EventPlan, Caller: p.Caller, Tool: p.Tool, Cluster: p.Cluster,
		PlanID: p.ID, PlanHash: p.Hash, Summary: p.Summary, Calls: p.Calls, Approval: p.approval()}); err != nil {
		if _, raw, gerr := s.backend.Get(ctx, now, p.ID); gerr == nil {
			_, _ = s.backend.Swap(ctx, now, p.ID, raw, nil)
		}
		s.dropLocal(p.ID)
		return Proposal{}, refused(ErrAudit, "%v", err)
	}
	return Proposal{
		PlanID: p.ID, Nonce: nonce, ExpiresAt: p.ExpiresAt, Summary: p.Summary,
		Calls: RedactCalls(p.Calls), Preconditions: p.Preconditions, Warnings: p.Warnings, PlanHash: p.Hash,
	}, nil
}

func (s *Store) dropLocal(id string) Recheck {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.local[id]
	delete(s.local, id)
	return l.fn
}

// sweep drops expired plans and old tombstones at most once per
// pruneEvery, and audits plans whose user was asked and never answered.
func (s *Store) sweep(now time.Time) {
	s.mu.Lock()
	if now.Sub(s.pruned) < pruneEvery {
		s.mu.Unlock()
		return
	}
	s.pruned = now
	for id, l := range s.local {
		if now.After(l.expires) {
			delete(s.local, id)
		}
	}
	s.mu.Unlock()
	ctx, cancel := s.opCtx()
	defer cancel()
	unanswered, _ := s.backend.Sweep(ctx, now)
	for _, p := range unanswered {
		_ = s.record(Event{Time: s.now().UTC(), Event: EventUnanswered, Caller: p.Caller, Tool: p.Tool,
			Cluster: p.Cluster, PlanID: p.ID, PlanHash: p.Hash, Reason: "the user did not answer before the plan expired"})
	}
}

// errRetry is verify's answer when the record changed under it.
var errRetry = errors.New("plan record changed concurrently")

// verify checks plan id, caller, expiry, nonce and cluster. On a refusal
// that ends the plan (expired, too many wrong nonces) it turns the record
// into a tombstone. The record comes back with a refusal too when the plan
// exists, for the audit; raw is the version it was read at.
func (s *Store) verify(ctx context.Context, now time.Time, c Confirmation) (*Record, []byte, error) {
	for range maxSwapRetries {
		r, raw, err := s.verifyOnce(ctx, now, c)
		if !errors.Is(err, errRetry) {
			return r, raw, err
		}
	}
	return nil, nil, s.unavailable(errors.New("too much contention on plan " + c.PlanID))
}

func (s *Store) verifyOnce(ctx context.Context, now time.Time, c Confirmation) (*Record, []byte, error) {
	planID, nonce, caller := c.PlanID, c.Nonce, c.Caller
	r, raw, err := s.backend.Get(ctx, now, planID)
	if errors.Is(err, ErrNoRecord) {
		return nil, nil, refused(ErrUnknownPlan, "no pending plan %q (plan ids come from a write tool's result)", planID)
	}
	if err != nil {
		return nil, nil, s.unavailable(err)
	}
	if !r.pending() {
		if r.Done == "expired" {
			return nil, nil, refused(ErrExpired, "plan %s expired at %s; plan again", planID, r.DoneAt.Format(time.RFC3339))
		}
		return nil, nil, refused(ErrNonceUsed, "plan %s was already %s at %s; a nonce works once, plan again",
			planID, r.Done, r.DoneAt.Format(time.RFC3339))
	}
	if r.Plan.Caller != caller {
		// Not counted as a nonce failure: the owner's plan stays usable.
		return r, raw, refused(ErrForeignCaller, "plan %s was made for another session; only the session that planned it can confirm it", planID)
	}
	if now.After(r.Plan.ExpiresAt) {
		if ok, err := s.backend.Swap(ctx, now, planID, raw, tombstoneOf(r, "expired", r.Plan.ExpiresAt)); err != nil {
			return r, raw, s.unavailable(err)
		} else if !ok {
			return nil, nil, errRetry
		}
		s.dropLocal(planID)
		return r, raw, refused(ErrExpired, "plan %s expired at %s; plan again", planID, r.Plan.ExpiresAt.Format(time.RFC3339))
	}
	if subtle.ConstantTimeCompare([]byte(nonceTag(nonce, r.Plan.Hash)), []byte(r.Tag)) != 1 {
		next := *r
		next.Failures++
		var nr *Record = &next
		if next.Failures >= maxNonceFailures {
			nr = tombstoneOf(r, "discarded after repeated wrong nonces", now)
		}
		if ok, err := s.backend.Swap(ctx, now, planID, raw, nr); err != nil {
			return r, raw, s.unavailable(err)
		} else if !ok {
			return nil, nil, errRetry
		}
		return r, raw, refused(ErrWrongNonce, "wrong nonce for plan %s", planID)
	}
	if c.Cluster != "" && c.Cluster != r.Plan.Cluster {
		// Not consumed: the plan can still be confirmed for its own cluster.
		return r, raw, refused(ErrWrongCluster, "plan %s was made for cluster %q, not %q; confirm it without a cluster argument (it runs on %q) or plan again for %q",
			planID, r.Plan.Cluster, c.Cluster, r.Plan.Cluster, c.Cluster)
	}
	return r, raw, nil
}

func planOf(r *Record) *Plan {
	if r == nil {
		return nil
	}
	p := r.Plan
	return &p
}

func (s *Store) refusal(now time.Time, planID, caller string, p *Plan, err error) error {
	ev := Event{Time: now, Event: EventRefusal, Caller: caller, PlanID: planID, Reason: err.Error()}
	// A refusal that ended a plan is always recorded; the cheap ones a
	// caller can repeat in a loop (unknown plan, wrong nonce) are rate
	// limited per caller, and the number left out goes with the next line.
	if !errors.Is(err, ErrDeclined) && !errors.Is(err, ErrPreconditionFailed) {
		s.mu.Lock()
		ok, dropped := s.limiter.allow(caller, now)
		s.mu.Unlock()
		if !ok {
			return err
		}
		ev.Suppressed = dropped
	}
	if p != nil {
		ev.Tool, ev.PlanHash, ev.Cluster = p.Tool, p.Hash, p.Cluster
	}
	if aerr := s.record(ev); aerr != nil {
		return errors.Join(err, aerr)
	}
	return err
}

// Check validates a confirmation without consuming the nonce, and returns
// the plan. confirm_plan uses it before asking the human.
func (s *Store) Check(c Confirmation) (Plan, error) {
	now := s.now().UTC()
	ctx, cancel := s.opCtx()
	defer cancel()
	r, _, err := s.verify(ctx, now, c)
	if err != nil {
		return Plan{}, s.refusal(now, c.PlanID, c.Caller, planOf(r), err)
	}
	return r.Plan, nil
}

// BeginElicitation validates like Check and records that the human is being
// asked; from then on the plan can only be confirmed with the returned
// request state (an unguessable token the client echoes back), so the
// model cannot slip a plain confirmation past the question. c.ElicitState
// is ignored.
func (s *Store) BeginElicitation(c Confirmation) (Plan, string, error) {
	now := s.now().UTC()
	ctx, cancel := s.opCtx()
	defer cancel()
	for range maxSwapRetries {
		r, raw, err := s.verify(ctx, now, c)
		if err != nil {
			return Plan{}, "", s.refusal(now, c.PlanID, c.Caller, planOf(r), err)
		}
		next := *r
		next.Elicit = "elicit-" + randomHex(16)
		ok, err := s.backend.Swap(ctx, now, c.PlanID, raw, &next)
		if err != nil {
			return Plan{}, "", s.refusal(now, c.PlanID, c.Caller, planOf(r), s.unavailable(err))
		}
		if !ok {
			continue
		}
		p := r.Plan
		if err := s.record(Event{Time: now, Event: EventElicitation, Caller: c.Caller, Tool: p.Tool, Cluster: p.Cluster,
			PlanID: p.ID, PlanHash: p.Hash}); err != nil {
			return Plan{}, "", refused(ErrAudit, "%v", err)
		}
		return p, next.Elicit, nil
	}
	return Plan{}, "", s.unavailable(errors.New("too much contention on plan " + c.PlanID))
}

// Confirmation identifies a plan to execute.
type Confirmation struct {
	PlanID string
	Nonce  string
	Caller string
	// ElicitState is the request state from BeginElicitation when the human
	// accepted through elicitation; empty for nonce-only confirmation.
	ElicitState string
	// Cluster is the cluster the confirming call named explicitly; a plan
	// for another cluster is then refused. "" accepts the plan's own.
	Cluster string
}

func (c Confirmation) mode() string {
	if c.ElicitState != "" {
		return ByElicitation
	}
	return ByNonce
}

func (p Plan) approval() string {
	if p.Approval == "" {
		return ByNonce
	}
	return p.Approval
}

// take verifies a confirmation and turns the plan into a tombstone with
// one compare-and-swap, so of many concurrent confirmations, in this
// process or any other sharing the backend, exactly one gets the plan. On
// a refusal the record (if any) is returned for the audit only.
func (s *Store) take(ctx context.Context, now time.Time, c Confirmation, what string) (*Record, error) {
	for range maxSwapRetries {
		r, raw, err := s.verify(ctx, now, c)
		if err != nil {
			return r, err
		}
		if r.Plan.approval() == ByElicitation && c.ElicitState == "" {
			// Not a nonce failure: the plan stays confirmable by the person.
			return r, refused(ErrHumanRequired, "plan %s must be approved by the user through the client's approval prompt (elicitation); "+
				"the nonce alone does not confirm it. Confirm it from a client that supports elicitation, or plan again", c.PlanID)
		}
		if r.Elicit != "" || c.ElicitState != "" {
			if subtle.ConstantTimeCompare([]byte(r.Elicit), []byte(c.ElicitState)) != 1 {
				return r, refused(ErrElicitation, "plan %s is waiting for the user's answer in the client; it cannot be confirmed without it", c.PlanID)
			}
		}
		ok, err := s.backend.Swap(ctx, now, c.PlanID, raw, tombstoneOf(r, what, now))
		if err != nil {
			return r, s.unavailable(err)
		}
		if ok {
			r.Plan.Args = r.Args
			return r, nil
		}
	}
	return nil, s.unavailable(errors.New("too much contention on plan " + c.PlanID))
}

// Confirm consumes the nonce, re-runs the plan's preconditions and, when
// they still hold, returns the Approval that lets package proxmox send the
// plan's calls. Any error is a *RefusedError and nothing was sent.
func (s *Store) Confirm(ctx context.Context, c Confirmation) (Approval, Plan, error) {
	now := s.now().UTC()
	octx, cancel := s.opCtx()
	r, err := s.take(octx, now, c, "confirmed")
	cancel()
	if err != nil {
		return Approval{}, Plan{}, s.refusal(now, c.PlanID, c.Caller, planOf(r), err)
	}
	p := r.Plan
	// Recompute the hash: the approval covers exactly what was shown.
	if canonicalHash(p) != p.Hash {
		return Approval{}, p, s.refusal(now, p.ID, c.Caller, &p, refused(ErrPreconditionFailed, "plan %s does not match its hash", p.ID))
	}
	recheck := s.dropLocal(p.ID)
	if recheck == nil && r.HasRecheck {
		// Planned by another process: plan again from the same arguments
		// here; the calls must come out the same, and the fresh plan's
		// preconditions are checked.
		s.mu.Lock()
		replan := s.replan
		s.mu.Unlock()
		if replan == nil {
			return Approval{}, p, s.refusal(now, p.ID, c.Caller, &p, refused(ErrPreconditionFailed,
				"plan %s was made by %s and its preconditions cannot be repeated here; plan again", p.ID, r.Replica))
		}
		calls, rc, rerr := replan(ctx, p)
		if rerr == nil && !sameCalls(calls, p.Calls) {
			rerr = errors.New("planning again now gives different calls; the cluster changed since the plan was made")
		}
		if rerr != nil {
			return Approval{}, p, s.refusal(s.now().UTC(), p.ID, c.Caller, &p,
				refused(ErrPreconditionFailed, "plan %s: %v", p.ID, rerr))
		}
		recheck = rc
	}
	if recheck != nil {
		if rerr := recheck(ctx); rerr != nil {
			return Approval{}, p, s.refusal(s.now().UTC(), p.ID, c.Caller, &p,
				refused(ErrPreconditionFailed, "plan %s: %v", p.ID, rerr))
		}
	}
	if err := s.record(Event{Time: s.now().UTC(), Event: EventConfirm, Caller: c.Caller, Tool: p.Tool,
		Cluster: p.Cluster, PlanID: p.ID, PlanHash: p.Hash, Calls: p.Calls, Approval: c.mode(), PlannedBy: r.Replica}); err != nil {
		return Approval{}, p, refused(ErrAudit, "%v", err)
	}
	return Approval{g: &grant{planID: p.ID, hash: p.Hash, cluster: p.Cluster, calls: cloneCalls(p.Calls)}}, p, nil
}

func sameCalls(a, b []Call) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].equal(b[i]) {
			return false
		}
	}
	return true
}

// Decline ends a plan the human declined or cancelled; it can no longer be
// confirmed. action is what the client reported (decline, cancel).
func (s *Store) Decline(c Confirmation, action string) error {
	now := s.now().UTC()
	what := "declined by the user"
	if action == "cancel" {
		what = "cancelled by the user"
	}
	ctx, cancel := s.opCtx()
	defer cancel()
	r, err := s.take(ctx, now, c, what)
	if err != nil {
		return s.refusal(now, c.PlanID, c.Caller, planOf(r), err)
	}
	s.dropLocal(c.PlanID)
	return s.refusal(now, c.PlanID, c.Caller, &r.Plan,
		refused(ErrDeclined, "the user answered %q to plan %s", action, c.PlanID))
}

// Outcome is what happened when a confirmed plan ran.
type Outcome struct {
	Plan       Plan
	UPIDs      []string
	Outcome    string // ok, failed, cancelled, running
	Reason     string
	ErrorLines []string
}

// RecordOutcome appends the result of an executed plan to the audit log.
func (s *Store) RecordOutcome(o Outcome) error {
	return s.record(Event{Time: s.now().UTC(), Event: EventOutcome, Caller: o.Plan.Caller, Tool: o.Plan.Tool,
		Cluster: o.Plan.Cluster, PlanID: o.Plan.ID, PlanHash: o.Plan.Hash, UPIDs: o.UPIDs, Outcome: o.Outcome, Reason: o.Reason,
		ErrorLines: o.ErrorLines})
}

// Pending is the number of plans waiting for confirmation (0 when the
// store cannot be reached).
func (s *Store) Pending() int {
	ctx, cancel := s.opCtx()
	defer cancel()
	n, _ := s.backend.Pending(ctx, s.now().UTC())
	return n
}

// owner is whom a plan counts against: its principal, or its caller when
// it has none.
func (p Plan) owner() string {
	if p.Principal != "" {
		return p.Principal
	}
	return p.Caller
}
