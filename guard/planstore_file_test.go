package guard

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func fileStore(t *testing.T, path string, opts ...Option) *Store {
	t.Helper()
	b, err := OpenFileBackend(path)
	if err != nil {
		t.Fatal(err)
	}
	return NewStore(append([]Option{WithBackend(b)}, opts...)...)
}

// Two stores on one file stand for two processes: a plan made by one is
// confirmed by the other, and concurrent confirmations run it once.
func TestFileStoreSharedByTwoProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "pvemcp", "plans.json")
	a, b := fileStore(t, path), fileStore(t, path)
	prop, err := a.Propose(samplePlan("local"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("plan file: %v %v", fi, err)
	}
	if di, err := os.Stat(filepath.Dir(path)); err != nil || di.Mode().Perm() != 0o700 {
		t.Fatalf("plan folder: %v %v", di, err)
	}
	if _, _, err := b.Confirm(context.Background(), Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "local"}); err != nil {
		t.Fatalf("confirm in the other process: %v", err)
	}
	for range 5 {
		prop, err := a.Propose(samplePlan("local"), nil)
		if err != nil {
			t.Fatal(err)
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range 6 {
			s := a
			if i%2 == 1 {
				s = b
			}
			wg.Go(func() {
				_, _, err := s.Confirm(context.Background(), Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "local"})
				if err == nil {
					wins.Add(1)
				} else if !errors.Is(err, ErrNonceUsed) {
					t.Errorf("refusal: %v", err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("confirmed %d times", wins.Load())
		}
	}
}

func TestFileStoreSweepsExpiredPlans(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	path := filepath.Join(t.TempDir(), "plans.json")
	s := fileStore(t, path, WithClock(clock), withTTL(time.Minute))
	old, err := s.Propose(samplePlan("local"), nil)
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Minute)
	if _, _, err := s.Confirm(context.Background(), Confirmation{PlanID: old.PlanID, Nonce: old.Nonce, Caller: "local"}); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired plan: %v", err)
	}
	if n := s.Pending(); n != 0 {
		t.Fatalf("%d pending", n)
	}
	now = now.Add(tombstoneTTL + time.Minute)
	if _, err := s.Propose(samplePlan("local"), nil); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), old.PlanID) {
		t.Fatal("expired plan still in the file after the tombstone time")
	}
}

func TestFileStoreDamagedFileIsNamed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plans.json")
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFileBackend(path); err == nil || !strings.Contains(err.Error(), "plans.json is damaged") {
		t.Fatalf("damaged file: %v", err)
	}
}
