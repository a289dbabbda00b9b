package guard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"
)

// PlanBackend keeps pending plans (and, for a while, what became of
// finished ones) for a [Store]. The in-memory backend serves one process;
// the file backend serves the CLI, whose every call is a new process; the
// Redis backend serves replicas behind a load balancer. A backend stores
// records as opaque bytes and changes them only by compare-and-swap, so of
// two processes racing to confirm one plan exactly one wins.
type PlanBackend interface {
	// Add stores a new pending record for rec.Plan.ID, expiring with the
	// plan. It fails with a *CapError when the record's owner already
	// holds perOwner pending plans or the store holds total.
	Add(ctx context.Context, now time.Time, rec *Record, perOwner, total int) error
	// Get returns the stored record of a plan id and its raw bytes (the
	// version Swap compares); ErrNoRecord when there is none.
	Get(ctx context.Context, now time.Time, id string) (*Record, []byte, error)
	// Swap replaces the record of id with next only if it is still old;
	// next == nil removes it. A record that is no longer pending (a
	// tombstone) is kept for tombstoneTTL. It reports whether it swapped.
	Swap(ctx context.Context, now time.Time, id string, old []byte, next *Record) (bool, error)
	// Sweep drops expired plans and old tombstones and returns the plans
	// that expired while their user was being asked (for the audit).
	Sweep(ctx context.Context, now time.Time) ([]Plan, error)
	// Pending counts the plans waiting for confirmation.
	Pending(ctx context.Context, now time.Time) (int, error)
	// Ping checks that the store can be used (/healthz, doctor).
	Ping(ctx context.Context) error
	// Name describes the backend for logs and health ("memory", "file
	// /path", "redis host:port").
	Name() string
	Close() error
}

// ErrNoRecord is a backend's answer for an id it does not hold.
var ErrNoRecord = errors.New("no such plan record")

// CapError is Add's refusal when a pending-plan limit is reached.
type CapError struct {
	// Owner is the number of pending plans of the owner when the
	// per-owner cap was hit; 0 when the store-wide cap was.
	Owner int
}

func (e *CapError) Error() string {
	if e.Owner > 0 {
		return fmt.Sprintf("owner holds %d pending plans", e.Owner)
	}
	return "store full"
}

// Record is a plan as a backend keeps it. The nonce itself is never
// stored: Tag is sha256(nonce | plan hash).
type Record struct {
	Plan   Plan   `json:"plan"`
	Owner  string `json:"owner"`
	Tag    string `json:"tag"`
	Elicit string `json:"elicit,omitempty"`
	// Failures counts wrong nonces.
	Failures int `json:"failures,omitempty"`
	// HasRecheck says the plan's preconditions must be repeated at confirm
	// time (the check itself lives in the planning process; elsewhere it is
	// rebuilt, see WithReplan).
	HasRecheck bool `json:"has_recheck,omitempty"`
	// Replica is the process that made the plan (host/pid).
	Replica string `json:"replica,omitempty"`
	// Args are the planning call's arguments (Plan.Args).
	Args json.RawMessage `json:"args,omitempty"`
	// Done, when set, makes the record a tombstone: what became of the
	// plan ("confirmed", "expired", ...) and when.
	Done   string    `json:"done,omitempty"`
	DoneAt time.Time `json:"done_at,omitzero"`
}

// pending reports whether the record still waits for confirmation.
func (r *Record) pending() bool { return r.Done == "" }

// tombstoneOf returns the record turned into a tombstone.
func tombstoneOf(r *Record, what string, at time.Time) *Record {
	return &Record{Plan: Plan{ID: r.Plan.ID, ExpiresAt: r.Plan.ExpiresAt}, Owner: r.Owner, Done: what, DoneAt: at, Replica: r.Replica}
}

// ThisReplica names the running process for the audit: host/pid.
func ThisReplica() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "unknown-host"
	}
	return fmt.Sprintf("%s/%d", h, os.Getpid())
}
