package guard

import "time"

// What only the tests need of the package: production keeps DefaultTTL and
// never counts the memory backend's finished plans.

// withTTL sets how long plans stay confirmable.
func withTTL(d time.Duration) Option { return func(s *Store) { s.ttl = d } }

// tombstones counts the finished plans the memory backend remembers.
func (m *memoryBackend) tombstones() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, md := range m.meta {
		if !md.pending {
			n++
		}
	}
	return n
}
