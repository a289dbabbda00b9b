package guard

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"time"
)

// memoryBackend keeps plans in this process: the default for serve with a
// single replica. Plans are lost when the process ends.
type memoryBackend struct {
	mu   sync.Mutex
	recs map[string][]byte
	meta map[string]memMeta
	pend map[string]struct{} // ids of pending plans
	// tombs counts finished plans kept (an upper bound between sweeps).
	tombs int
}

type memMeta struct {
	owner   string
	pending bool
	expires time.Time // plan expiry; a tombstone's time
	elicit  bool
}

// NewMemoryBackend returns an empty in-process plan backend.
func NewMemoryBackend() PlanBackend {
	return &memoryBackend{recs: map[string][]byte{}, meta: map[string]memMeta{}, pend: map[string]struct{}{}}
}

func (m *memoryBackend) Name() string               { return "memory" }
func (m *memoryBackend) Ping(context.Context) error { return nil }
func (m *memoryBackend) Close() error               { return nil }
func metaOf(r *Record) memMeta {
	if r.pending() {
		return memMeta{owner: r.Owner, pending: true, expires: r.Plan.ExpiresAt, elicit: r.Elicit != ""}
	}
	return memMeta{owner: r.Owner, expires: r.DoneAt}
}

func (m *memoryBackend) Add(_ context.Context, now time.Time, rec *Record, perOwner, total int) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	owned, all := 0, 0
	for id := range m.pend {
		if md := m.meta[id]; !now.After(md.expires) {
			all++
			if md.owner == rec.Owner {
				owned++
			}
		}
	}
	if owned >= perOwner {
		return &CapError{Owner: owned}
	}
	if all >= total {
		return &CapError{}
	}
	m.recs[rec.Plan.ID] = b
	m.set(rec.Plan.ID, metaOf(rec))
	return nil
}

func (m *memoryBackend) Get(_ context.Context, _ time.Time, id string) (*Record, []byte, error) {
	m.mu.Lock()
	b, ok := m.recs[id]
	m.mu.Unlock()
	if !ok {
		return nil, nil, ErrNoRecord
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, nil, err
	}
	return &r, b, nil
}

func (m *memoryBackend) Swap(_ context.Context, _ time.Time, id string, old []byte, next *Record) (bool, error) {
	var b []byte
	if next != nil {
		var err error
		if b, err = json.Marshal(next); err != nil {
			return false, err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur, ok := m.recs[id]; !ok || !bytes.Equal(cur, old) {
		return false, nil
	}
	if next == nil {
		delete(m.recs, id)
		m.unset(id)
		return true, nil
	}
	m.recs[id] = b
	m.set(id, metaOf(next))
	if !next.pending() {
		m.tombs++
		if m.tombs > maxTombstones {
			m.trimTombstonesLocked()
		}
	}
	return true, nil
}

// trimTombstonesLocked forgets half of the finished plans when too many
// are kept; a forgotten plan is still refused, just as unknown.
func (m *memoryBackend) trimTombstonesLocked() {
	n := 0
	for _, md := range m.meta {
		if !md.pending {
			n++
		}
	}
	for id, md := range m.meta {
		if !md.pending && n > maxTombstones/2 {
			delete(m.recs, id)
			m.unset(id)
			n--
		}
	}
	m.tombs = n
}

func (m *memoryBackend) Sweep(_ context.Context, now time.Time) ([]Plan, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var unanswered []Plan
	tombs := 0
	for id, md := range m.meta {
		switch {
		case md.pending && now.After(md.expires):
			var r Record
			if err := json.Unmarshal(m.recs[id], &r); err == nil {
				if md.elicit {
					unanswered = append(unanswered, r.Plan)
				}
				t := tombstoneOf(&r, "expired", r.Plan.ExpiresAt)
				m.recs[id], _ = json.Marshal(t)
				m.set(id, metaOf(t))
			}
		case !md.pending && now.Sub(md.expires) > tombstoneTTL:
			delete(m.recs, id)
			m.unset(id)
		case !md.pending:
			tombs++
		}
	}
	m.tombs = tombs
	if tombs > maxTombstones {
		m.trimTombstonesLocked()
	}
	return unanswered, nil
}

func (m *memoryBackend) Pending(_ context.Context, now time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.pend), nil
}

func (m *memoryBackend) set(id string, md memMeta) {
	m.meta[id] = md
	if md.pending {
		m.pend[id] = struct{}{}
	} else {
		delete(m.pend, id)
	}
}

func (m *memoryBackend) unset(id string) {
	delete(m.meta, id)
	delete(m.pend, id)
}
