package guard

import (
	"errors"
	"fmt"
	"sync"
)

// ErrNoApproval is returned by [Approval.Authorize] for an Approval that was
// not minted by a successful confirmation (for example its zero value).
var ErrNoApproval = errors.New("refused: no confirmed plan authorizes this call")

// Approval is the proof that a human confirmed a plan. Only [Store.Confirm]
// can mint a usable one; every mutating method of package proxmox requires
// it and calls Authorize before sending.
type Approval struct {
	g *grant
}

// grant is shared by all copies of an Approval, so copying one does not
// multiply what it authorizes.
type grant struct {
	mu      sync.Mutex
	planID  string
	hash    string
	cluster string
	calls   []Call
	next    int
}

// PlanID is the id of the confirmed plan, or "" for an invalid Approval.
func (a Approval) PlanID() string {
	if a.g == nil {
		return ""
	}
	return a.g.planID
}

// Cluster is the cluster the confirmed plan was made for; a client of
// another cluster must not send its calls.
func (a Approval) Cluster() string {
	if a.g == nil {
		return ""
	}
	return a.g.cluster
}

// Authorize consumes the next call of the confirmed plan if c is exactly
// that call. Calls are authorized in plan order and each once; anything
// else is refused, so a confirmed plan cannot be stretched to other calls.
func (a Approval) Authorize(c Call) error {
	if a.g == nil {
		return ErrNoApproval
	}
	a.g.mu.Lock()
	defer a.g.mu.Unlock()
	if a.g.next >= len(a.g.calls) {
		return fmt.Errorf("refused: plan %s has no further approved call (got %s)", a.g.planID, c)
	}
	want := a.g.calls[a.g.next]
	if !want.equal(c) {
		return fmt.Errorf("refused: %s is not the next approved call of plan %s (expected %s)", c, a.g.planID, want)
	}
	a.g.next++
	return nil
}

// Remaining is the number of approved calls not yet sent.
func (a Approval) Remaining() int {
	if a.g == nil {
		return 0
	}
	a.g.mu.Lock()
	defer a.g.mu.Unlock()
	return len(a.g.calls) - a.g.next
}
