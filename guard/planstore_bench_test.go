package guard

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/pvemcp/pvemcp/internal/redistest"
)

// BenchmarkStoreProposeConfirm: one Propose and one Confirm per op, with
// each backend (Redis on loopback: the figure is the store's own cost,
// without HTTP or Proxmox).
func BenchmarkStoreProposeConfirm(b *testing.B) {
	rs := redistest.Start(b)
	backends := map[string]func() PlanBackend{
		"memory": NewMemoryBackend,
		"file": func() PlanBackend {
			f, err := OpenFileBackend(filepath.Join(b.TempDir(), "plans.json"))
			if err != nil {
				b.Fatal(err)
			}
			return f
		},
		"redis": func() PlanBackend {
			r, err := OpenRedisBackend(RedisOptions{URL: rs.URL(), Prefix: "bench:"})
			if err != nil {
				b.Fatal(err)
			}
			return r
		},
	}
	for _, name := range []string{"memory", "file", "redis"} {
		b.Run(name, func(b *testing.B) {
			s := NewStore(WithBackend(backends[name]()))
			defer s.Close()
			p := samplePlan("c")
			for b.Loop() {
				prop, err := s.Propose(p, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := s.Confirm(context.Background(), Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "c"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
