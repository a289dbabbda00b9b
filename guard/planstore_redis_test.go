package guard

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pvemcp/pvemcp/internal/redistest"
)

// replicaStore is one replica's store on the shared Redis.
func replicaStore(t *testing.T, url, name string, opts ...Option) *Store {
	t.Helper()
	b, err := OpenRedisBackend(RedisOptions{URL: url, Prefix: "test:"})
	if err != nil {
		t.Fatal(err)
	}
	s := NewStore(append([]Option{WithBackend(b), WithReplica(name)}, opts...)...)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestRedisPlanOnAConfirmOnB(t *testing.T) {
	srv := redistest.Start(t)
	auditPath := filepath.Join(t.TempDir(), "audit.jsonl")
	audit, err := OpenAuditLog(auditPath)
	if err != nil {
		t.Fatal(err)
	}
	defer audit.Close()
	a := replicaStore(t, srv.URL(), "replica-a/1", WithAudit(audit))
	b := replicaStore(t, srv.URL(), "replica-b/2", WithAudit(audit))

	prop, err := a.Propose(samplePlan("principal:alice"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := b.Pending(); n != 1 {
		t.Fatalf("replica B sees %d pending plans, want 1", n)
	}
	// The plan is bound to its principal on every replica.
	if _, _, err := b.Confirm(context.Background(), Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "principal:mallory"}); !errors.Is(err, ErrForeignCaller) {
		t.Fatalf("foreign caller on B: %v", err)
	}
	appr, p, err := b.Confirm(context.Background(), Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "principal:alice"})
	if err != nil {
		t.Fatalf("confirm on B: %v", err)
	}
	if appr.PlanID() != prop.PlanID || p.Hash != prop.PlanHash || p.Calls[1].Params["cipassword"] != "hunter2" {
		t.Fatalf("B got plan %+v", p)
	}
	if _, _, err := a.Confirm(context.Background(), Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "principal:alice"}); !errors.Is(err, ErrNonceUsed) {
		t.Fatalf("second confirm on A: %v", err)
	}
	evs := readEvents(t, auditPath)
	var planned, confirmed bool
	for _, ev := range evs {
		if ev.PlanID != prop.PlanID {
			continue
		}
		planned = planned || (ev.Event == EventPlan && ev.Replica == "replica-a/1")
		confirmed = confirmed || (ev.Event == EventConfirm && ev.Replica == "replica-b/2" && ev.PlannedBy == "replica-a/1")
	}
	if !planned || !confirmed {
		t.Fatalf("audit does not name the replicas (planned %v, confirmed %v): %+v", planned, confirmed, evs)
	}
	// The nonce is not stored, only its tag.
	raw := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer raw.Close()
	keys, _ := raw.Keys(context.Background(), "test:plan:*").Result()
	for _, k := range keys {
		v, _ := raw.Get(context.Background(), k).Result()
		if strings.Contains(v, prop.Nonce) {
			t.Fatal("nonce stored in Redis")
		}
	}
}

func TestRedisConcurrentConfirmOnTwoReplicasExecutesOnce(t *testing.T) {
	srv := redistest.Start(t)
	a := replicaStore(t, srv.URL(), "a")
	b := replicaStore(t, srv.URL(), "b")
	for range 20 {
		prop, err := a.Propose(samplePlan("c"), nil)
		if err != nil {
			t.Fatal(err)
		}
		var wins, used atomic.Int32
		var wg sync.WaitGroup
		for i := range 8 {
			s := a
			if i%2 == 1 {
				s = b
			}
			wg.Go(func() {
				_, _, err := s.Confirm(context.Background(), Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "c"})
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, ErrNonceUsed):
					used.Add(1)
				default:
					t.Errorf("unexpected refusal: %v", err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 || used.Load() != 7 {
			t.Fatalf("plan confirmed %d times (%d refused as used), want exactly once", wins.Load(), used.Load())
		}
	}
}

func TestRedisReplicaGoneBetweenPlanAndConfirm(t *testing.T) {
	srv := redistest.Start(t)
	a := replicaStore(t, srv.URL(), "a")
	b := replicaStore(t, srv.URL(), "b")
	var rechecks atomic.Int32
	b.SetReplan(func(_ context.Context, p Plan) ([]Call, Recheck, error) {
		return p.Calls, func(context.Context) error { rechecks.Add(1); return nil }, nil
	})
	prop, err := a.Propose(samplePlan("c"), func(context.Context) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	_ = a.Close() // replica A is gone; its recheck closure with it
	if _, _, err := b.Confirm(context.Background(), Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "c"}); err != nil {
		t.Fatalf("confirm on B after A is gone: %v", err)
	}
	if rechecks.Load() != 1 {
		t.Fatalf("preconditions rechecked %d times on B, want 1", rechecks.Load())
	}

	// Planning again giving other calls (the cluster changed) refuses.
	c := replicaStore(t, srv.URL(), "c")
	prop, err = c.Propose(samplePlan("c"), func(context.Context) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	b.SetReplan(func(context.Context, Plan) ([]Call, Recheck, error) {
		return []Call{{Method: "POST", Path: "/nodes/pve-node02/qemu/103/status/start"}}, nil, nil
	})
	if _, _, err := b.Confirm(context.Background(), Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "c"}); !errors.Is(err, ErrPreconditionFailed) {
		t.Fatalf("changed plan on B: %v", err)
	}
}

func TestRedisDownRefusesAndRecovers(t *testing.T) {
	srv := redistest.Start(t)
	a := replicaStore(t, srv.URL(), "a")
	before, err := a.Propose(samplePlan("c"), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if err := a.Ping(context.Background()); err == nil {
		t.Fatal("ping with Redis down succeeded")
	}
	_, err = a.Propose(samplePlan("c"), nil)
	if !errors.Is(err, ErrStoreUnavailable) || !strings.Contains(err.Error(), "plan store (redis 127.0.0.1:") {
		t.Fatalf("propose with Redis down: %v", err)
	}
	_, _, err = a.Confirm(context.Background(), Confirmation{PlanID: before.PlanID, Nonce: before.Nonce, Caller: "c"})
	if !errors.Is(err, ErrStoreUnavailable) || !strings.Contains(err.Error(), "nothing was sent to Proxmox") {
		t.Fatalf("confirm with Redis down: %v", err)
	}
	srv.Restart()
	if err := a.Ping(context.Background()); err != nil {
		t.Fatalf("ping after restart: %v", err)
	}
	// The plan made before the outage survived it (append-only file).
	if _, _, err := a.Confirm(context.Background(), Confirmation{PlanID: before.PlanID, Nonce: before.Nonce, Caller: "c"}); err != nil {
		t.Fatalf("confirm after restart: %v", err)
	}
	if _, err := a.Propose(samplePlan("c"), nil); err != nil {
		t.Fatalf("propose after restart: %v", err)
	}
}

func TestRedisExpiredPlansAreGone(t *testing.T) {
	srv := redistest.Start(t)
	a := replicaStore(t, srv.URL(), "a", withTTL(200*time.Millisecond))
	prop, err := a.Propose(samplePlan("c"), nil)
	if err != nil {
		t.Fatal(err)
	}
	raw := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer raw.Close()
	ttl, err := raw.PTTL(context.Background(), "test:plan:"+prop.PlanID).Result()
	if err != nil || ttl <= 0 || ttl > 200*time.Millisecond {
		t.Fatalf("plan key TTL %v (%v), want the plan's expiry", ttl, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for raw.Exists(context.Background(), "test:plan:"+prop.PlanID).Val() == 1 {
		if time.Now().After(deadline) {
			t.Fatal("expired plan still in Redis")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, _, err := a.Confirm(context.Background(), Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "c"}); !errors.Is(err, ErrUnknownPlan) {
		t.Fatalf("expired plan: %v", err)
	}
	if n := a.Pending(); n != 0 {
		t.Fatalf("%d pending after expiry", n)
	}
}

func TestRedisWrongNoncesAndCaps(t *testing.T) {
	srv := redistest.Start(t)
	a := replicaStore(t, srv.URL(), "a")
	b := replicaStore(t, srv.URL(), "b")
	prop, err := a.Propose(samplePlan("c"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range maxNonceFailures {
		s := a
		if i%2 == 1 {
			s = b
		}
		if _, _, err := s.Confirm(context.Background(), Confirmation{PlanID: prop.PlanID, Nonce: strings.Repeat("0", 32), Caller: "c"}); !errors.Is(err, ErrWrongNonce) {
			t.Fatalf("wrong nonce %d: %v", i, err)
		}
	}
	if _, _, err := b.Confirm(context.Background(), Confirmation{PlanID: prop.PlanID, Nonce: prop.Nonce, Caller: "c"}); !errors.Is(err, ErrNonceUsed) {
		t.Fatalf("after %d wrong nonces across replicas: %v", maxNonceFailures, err)
	}
	p := samplePlan("c")
	p.Principal = "bob"
	for i := range maxPendingPerPrincipal {
		s := a
		if i%2 == 1 {
			s = b
		}
		if _, err := s.Propose(p, nil); err != nil {
			t.Fatalf("plan %d: %v", i, err)
		}
	}
	if _, err := b.Propose(p, nil); err == nil || !strings.Contains(err.Error(), "pending plans, the most one caller may hold") {
		t.Fatalf("cap across replicas: %v", err)
	}
	p.Principal = "carol"
	if _, err := a.Propose(p, nil); err != nil {
		t.Fatalf("another principal: %v", err)
	}
}

func TestRedisURLChecks(t *testing.T) {
	for _, u := range []string{"http://localhost:6379", "redis://:secret@localhost:6379/0", "redis://user:secret@localhost/0"} {
		_, err := OpenRedisBackend(RedisOptions{URL: u})
		if err == nil {
			t.Fatalf("%s accepted", u)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Fatalf("error shows the password: %v", err)
		}
	}
}
