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

// Store holds pending plans. It is safe for concurrent use.
type Store struct {
	mu      sync.Mutex
	pending map[string]*entry
	done    map[string]tombstone
	ttl     time.Duration
	now     func() time.Time
	audit   *AuditLog
	pruned  time.Time
	limiter refusalLimiter
}

type entry struct {
	plan     Plan
	owner    string   // the principal the pending-plan cap counts against
	tag      [32]byte // sha256(nonce | hash): the nonce itself is not kept
	recheck  Recheck
	elicit   string // request state of an elicitation in flight, if any
	failures int
}

type tombstone struct {
	what string
	at   time.Time
}

// Option configures a Store.
type Option func(*Store)

// WithTTL sets how long plans stay confirmable.
func WithTTL(d time.Duration) Option { return func(s *Store) { s.ttl = d } }

// WithClock replaces time.Now (tests use it to expire plans without waiting).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithAudit records every plan, confirmation, refusal and outcome.
func WithAudit(l *AuditLog) Option { return func(s *Store) { s.audit = l } }

// NewStore returns an empty store.
func NewStore(opts ...Option) *Store {
	s := &Store{
		pending: map[string]*entry{},
		done:    map[string]tombstone{},
		ttl:     DefaultTTL,
		now:     time.Now,
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	// crypto/rand.Read never returns an error on supported platforms.
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func nonceTag(nonce, hash string) [32]byte {
	return sha256.Sum256([]byte(nonce + "|" + hash))
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

	s.mu.Lock()
	unanswered := s.pruneLocked(now)
	if n := s.pendingOfLocked(p.owner()); n >= maxPendingPerPrincipal {
		s.mu.Unlock()
		s.recordUnanswered(unanswered)
		return Proposal{}, fmt.Errorf("you have %d pending plans, the most one caller may hold; confirm some or let them expire (%s) first", n, s.ttl)
	}
	if len(s.pending) >= maxPending {
		s.mu.Unlock()
		s.recordUnanswered(unanswered)
		return Proposal{}, errors.New("too many pending plans on this server; confirm or let some expire first")
	}
	s.pending[p.ID] = &entry{plan: p, owner: p.owner(), tag: nonceTag(nonce, p.Hash), recheck: recheck}
	s.mu.Unlock()
	s.recordUnanswered(unanswered)

	if err := s.audit.Record(Event{Time: now, Event: EventPlan, Caller: p.Caller, Tool: p.Tool, Cluster: p.Cluster,
		PlanID: p.ID, PlanHash: p.Hash, Summary: p.Summary, Calls: p.Calls, Approval: p.approval()}); err != nil {
		s.mu.Lock()
		delete(s.pending, p.ID)
		s.mu.Unlock()
		return Proposal{}, refused(ErrAudit, "%v", err)
	}
	return Proposal{
		PlanID: p.ID, Nonce: nonce, ExpiresAt: p.ExpiresAt, Summary: p.Summary,
		Calls: RedactCalls(p.Calls), Preconditions: p.Preconditions, Warnings: p.Warnings, PlanHash: p.Hash,
	}, nil
}

// pruneLocked drops expired plans and old tombstones; it returns the
// expired plans whose user was asked and never answered, for the audit.
func (s *Store) pruneLocked(now time.Time) []Plan {
	if now.Sub(s.pruned) < pruneEvery && len(s.pending) < maxPending && len(s.done) < maxTombstones {
		return nil
	}
	s.pruned = now
	var unanswered []Plan
	for id, e := range s.pending {
		if now.After(e.plan.ExpiresAt) {
			delete(s.pending, id)
			s.done[id] = tombstone{what: "expired", at: e.plan.ExpiresAt}
			if e.elicit != "" {
				unanswered = append(unanswered, e.plan)
			}
		}
	}
	overflow := len(s.done) >= maxTombstones
	for id, t := range s.done {
		if now.Sub(t.at) > tombstoneTTL || (overflow && len(s.done) > maxTombstones/2) {
			delete(s.done, id)
		}
	}
	return unanswered
}

// recordUnanswered audits plans that expired while the user was asked.
func (s *Store) recordUnanswered(plans []Plan) {
	for _, p := range plans {
		_ = s.audit.Record(Event{Time: s.now().UTC(), Event: EventUnanswered, Caller: p.Caller, Tool: p.Tool,
			Cluster: p.Cluster, PlanID: p.ID, PlanHash: p.Hash, Reason: "the user did not answer before the plan expired"})
	}
}

// verifyLocked checks plan id, caller, expiry, nonce and cluster. On a
// refusal that ends the plan (expired, too many wrong nonces) it removes the
// entry. The entry comes back with a refusal too when the plan exists, for
// the audit.
func (s *Store) verifyLocked(now time.Time, c Confirmation) (*entry, error) {
	planID, nonce, caller := c.PlanID, c.Nonce, c.Caller
	e, ok := s.pending[planID]
	if !ok {
		if t, ok := s.done[planID]; ok {
			if t.what == "expired" {
				return nil, refused(ErrExpired, "plan %s expired at %s; plan again", planID, t.at.Format(time.RFC3339))
			}
			return nil, refused(ErrNonceUsed, "plan %s was already %s at %s; a nonce works once, plan again",
				planID, t.what, t.at.Format(time.RFC3339))
		}
		return nil, refused(ErrUnknownPlan, "no pending plan %q (plan ids come from a write tool's result)", planID)
	}
	if e.plan.Caller != caller {
		// Not counted as a nonce failure: the owner's plan stays usable.
		return e, refused(ErrForeignCaller, "plan %s was made for another session; only the session that planned it can confirm it", planID)
	}
	if now.After(e.plan.ExpiresAt) {
		delete(s.pending, planID)
		s.done[planID] = tombstone{what: "expired", at: e.plan.ExpiresAt}
		return e, refused(ErrExpired, "plan %s expired at %s; plan again", planID, e.plan.ExpiresAt.Format(time.RFC3339))
	}
	tag := nonceTag(nonce, e.plan.Hash)
	if subtle.ConstantTimeCompare(tag[:], e.tag[:]) != 1 {
		e.failures++
		if e.failures >= maxNonceFailures {
			delete(s.pending, planID)
			s.done[planID] = tombstone{what: "discarded after repeated wrong nonces", at: now}
		}
		return e, refused(ErrWrongNonce, "wrong nonce for plan %s", planID)
	}
	if c.Cluster != "" && c.Cluster != e.plan.Cluster {
		// Not consumed: the plan can still be confirmed for its own cluster.
		return e, refused(ErrWrongCluster, "plan %s was made for cluster %q, not %q; confirm it without a cluster argument (it runs on %q) or plan again for %q",
			planID, e.plan.Cluster, c.Cluster, e.plan.Cluster, c.Cluster)
	}
	return e, nil
}

func planOf(e *entry) *Plan {
	if e == nil {
		return nil
	}
	p := e.plan
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
	if aerr := s.audit.Record(ev); aerr != nil {
		return errors.Join(err, aerr)
	}
	return err
}

// Check validates a confirmation without consuming the nonce, and returns
// the plan. confirm_plan uses it before asking the human.
func (s *Store) Check(c Confirmation) (Plan, error) {
	now := s.now().UTC()
	s.mu.Lock()
	e, err := s.verifyLocked(now, c)
	s.mu.Unlock()
	if err != nil {
		return Plan{}, s.refusal(now, c.PlanID, c.Caller, planOf(e), err)
	}
	return e.plan, nil
}

// BeginElicitation validates like Check and records that the human is being
// asked; from then on the plan can only be confirmed with the returned
// request state (an unguessable token the client echoes back), so the
// model cannot slip a plain confirmation past the question. c.ElicitState
// is ignored.
func (s *Store) BeginElicitation(c Confirmation) (Plan, string, error) {
	now := s.now().UTC()
	s.mu.Lock()
	e, err := s.verifyLocked(now, c)
	if err != nil {
		s.mu.Unlock()
		return Plan{}, "", s.refusal(now, c.PlanID, c.Caller, planOf(e), err)
	}
	e.elicit = "elicit-" + randomHex(16)
	state, p := e.elicit, e.plan
	s.mu.Unlock()
	if err := s.audit.Record(Event{Time: now, Event: EventElicitation, Caller: c.Caller, Tool: p.Tool, Cluster: p.Cluster,
		PlanID: p.ID, PlanHash: p.Hash}); err != nil {
		return Plan{}, "", refused(ErrAudit, "%v", err)
	}
	return p, state, nil
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

// take verifies a confirmation and removes the plan atomically, so of many
// concurrent confirmations exactly one gets the plan. On a refusal the
// entry (if any) is returned for the audit only.
func (s *Store) take(now time.Time, c Confirmation, what string) (*entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.verifyLocked(now, c)
	if err != nil {
		return e, err
	}
	if e.plan.approval() == ByElicitation && c.ElicitState == "" {
		// Not a nonce failure: the plan stays confirmable by the person.
		return e, refused(ErrHumanRequired, "plan %s must be approved by the user through the client's approval prompt (elicitation); "+
			"the nonce alone does not confirm it. Confirm it from a client that supports elicitation, or plan again", c.PlanID)
	}
	if e.elicit != "" || c.ElicitState != "" {
		if subtle.ConstantTimeCompare([]byte(e.elicit), []byte(c.ElicitState)) != 1 {
			return e, refused(ErrElicitation, "plan %s is waiting for the user's answer in the client; it cannot be confirmed without it", c.PlanID)
		}
	}
	delete(s.pending, c.PlanID)
	s.done[c.PlanID] = tombstone{what: what, at: now}
	return e, nil
}

// Confirm consumes the nonce, re-runs the plan's preconditions and, when
// they still hold, returns the Approval that lets package proxmox send the
// plan's calls. Any error is a *RefusedError and nothing was sent.
func (s *Store) Confirm(ctx context.Context, c Confirmation) (Approval, Plan, error) {
	now := s.now().UTC()
	e, err := s.take(now, c, "confirmed")
	if err != nil {
		return Approval{}, Plan{}, s.refusal(now, c.PlanID, c.Caller, planOf(e), err)
	}
	p := e.plan
	// Recompute the hash: the approval covers exactly what was shown.
	if canonicalHash(p) != p.Hash {
		return Approval{}, p, s.refusal(now, p.ID, c.Caller, &p, refused(ErrPreconditionFailed, "plan %s does not match its hash", p.ID))
	}
	if e.recheck != nil {
		if rerr := e.recheck(ctx); rerr != nil {
			return Approval{}, p, s.refusal(s.now().UTC(), p.ID, c.Caller, &p,
				refused(ErrPreconditionFailed, "plan %s: %v", p.ID, rerr))
		}
	}
	if err := s.audit.Record(Event{Time: s.now().UTC(), Event: EventConfirm, Caller: c.Caller, Tool: p.Tool,
		Cluster: p.Cluster, PlanID: p.ID, PlanHash: p.Hash, Calls: p.Calls, Approval: c.mode()}); err != nil {
		return Approval{}, p, refused(ErrAudit, "%v", err)
	}
	return Approval{g: &grant{planID: p.ID, hash: p.Hash, cluster: p.Cluster, calls: cloneCalls(p.Calls)}}, p, nil
}

// Decline ends a plan the human declined or cancelled; it can no longer be
// confirmed. action is what the client reported (decline, cancel).
func (s *Store) Decline(c Confirmation, action string) error {
	now := s.now().UTC()
	what := "declined by the user"
	if action == "cancel" {
		what = "cancelled by the user"
	}
	e, err := s.take(now, c, what)
	if err != nil {
		return s.refusal(now, c.PlanID, c.Caller, planOf(e), err)
	}
	return s.refusal(now, c.PlanID, c.Caller, &e.plan,
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
	return s.audit.Record(Event{Time: s.now().UTC(), Event: EventOutcome, Caller: o.Plan.Caller, Tool: o.Plan.Tool,
		Cluster: o.Plan.Cluster, PlanID: o.Plan.ID, PlanHash: o.Plan.Hash, UPIDs: o.UPIDs, Outcome: o.Outcome, Reason: o.Reason,
		ErrorLines: o.ErrorLines})
}

// Pending is the number of plans waiting for confirmation.
func (s *Store) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// owner is whom a plan counts against: its principal, or its caller when
// it has none.
func (p Plan) owner() string {
	if p.Principal != "" {
		return p.Principal
	}
	return p.Caller
}

// pendingOfLocked counts the pending plans of one owner.
func (s *Store) pendingOfLocked(owner string) int {
	n := 0
	for _, e := range s.pending {
		if e.owner == owner {
			n++
		}
	}
	return n
}
