package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/pvemcp/pvemcp/config"
	"github.com/pvemcp/pvemcp/guard"
)

// Plan store defaults: serve keeps plans in its memory (one process); the
// CLI keeps them in a file so that `pvemcp call confirm_plan` finds the
// plan an earlier `pvemcp call` made.
const (
	planStoreMemory = "memory"
	planStoreFile   = "file"
)

// RedisKeyringAccount is the keyring account (service pvemcp) of the Redis
// plan store's password, read when PVEMCP_REDIS_USERNAME is set and
// PVEMCP_REDIS_PASSWORD is not.
const RedisKeyringAccount = "redis-plan-store"

// planStoreKeyring is where that password is looked up (tests replace it).
var planStoreKeyring config.Keyring = config.OSKeyring{}

// openPlanBackend opens the plan store the configuration names (or def).
// A Redis password comes from PVEMCP_REDIS_PASSWORD or the keyring, never
// from the URL.
func openPlanBackend(cfg *config.Config, def string) (guard.PlanBackend, error) {
	spec := cfg.PlanStore
	if spec == "" {
		spec = def
	}
	switch {
	case spec == planStoreMemory:
		return guard.NewMemoryBackend(), nil
	case spec == planStoreFile || strings.HasPrefix(spec, planStoreFile+":"):
		path := strings.TrimPrefix(strings.TrimPrefix(spec, planStoreFile), ":")
		if path == "" {
			var err error
			if path, err = guard.DefaultPlanFile(); err != nil {
				return nil, err
			}
		}
		return guard.OpenFileBackend(path)
	case strings.HasPrefix(spec, "redis://") || strings.HasPrefix(spec, "rediss://"):
		pw := os.Getenv(config.EnvRedisPassword)
		if pw == "" && os.Getenv(config.EnvRedisUsername) != "" {
			// An ACL user without a password in the environment: the
			// password may be in the keyring.
			v, err := planStoreKeyring.Get(config.KeyringService, RedisKeyringAccount)
			switch {
			case err == nil:
				pw = v
			case !errors.Is(err, config.ErrSecretNotFound):
				return nil, fmt.Errorf("plan store: reading the Redis password from the keyring: %w", err)
			}
		}
		return guard.OpenRedisBackend(guard.RedisOptions{URL: spec, Prefix: cfg.PlanStorePrefix,
			Username: os.Getenv(config.EnvRedisUsername), Password: pw,
			CAFile: os.Getenv(config.EnvRedisCAFile)})
	}
	return nil, fmt.Errorf("plan store %q: want memory, file, file:PATH, redis://HOST:PORT/DB or rediss://… (--plan-store, %s or plan_store in the config file)",
		redactSpec(spec), config.EnvPlanStore)
}

// redactSpec hides user information of a URL-like spec.
func redactSpec(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		if at := strings.LastIndex(s, "@"); at > i {
			return s[:i+3] + "[redacted]@" + s[at+1:]
		}
	}
	return s
}

// planStoreHealth reports the plan store for /healthz and doctor.
func planStoreHealth(ctx context.Context, s *guard.Store) (name string, err error) {
	if s == nil {
		return "none", nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return s.Backend().Name(), s.Ping(ctx)
}

// unavailableBackend stands for a plan store that could not be opened:
// every operation fails with the reason.
type unavailableBackend struct{ err error }

func (u unavailableBackend) Add(context.Context, time.Time, *guard.Record, int, int) error {
	return u.err
}
func (u unavailableBackend) Get(context.Context, time.Time, string) (*guard.Record, []byte, error) {
	return nil, nil, u.err
}
func (u unavailableBackend) Swap(context.Context, time.Time, string, []byte, *guard.Record) (bool, error) {
	return false, u.err
}
func (u unavailableBackend) Sweep(context.Context, time.Time) ([]guard.Plan, error) {
	return nil, u.err
}
func (u unavailableBackend) Pending(context.Context, time.Time) (int, error) { return 0, u.err }
func (u unavailableBackend) Ping(context.Context) error                      { return u.err }
func (u unavailableBackend) Name() string                                    { return "unavailable" }
func (u unavailableBackend) Close() error                                    { return nil }

// healthz answers /healthz: the server is up; "plan_store" says whether
// plans can be made and confirmed ("ok" or "unavailable", with the kind of
// store, never its address or credentials). A replica whose plan store is
// down still serves the read tools, so it answers 200 with status
// "degraded" rather than leaving the load balancer's pool.
func healthz(plans *guard.Store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body := map[string]any{"status": "ok"}
		if plans != nil {
			name, err := planStoreHealth(r.Context(), plans)
			kind, _, _ := strings.Cut(name, " ")
			ps := map[string]string{"kind": kind, "status": "ok"}
			if err != nil {
				ps["status"] = "unavailable"
				body["status"] = "degraded"
			}
			body["plan_store"] = ps
		}
		w.Header().Set("Content-Type", "application/json")
		b, _ := json.Marshal(body)
		_, _ = w.Write(append(b, '\n'))
	}
}

// planStore is doctor's check of the configured plan store: it opens it
// and pings it (a Redis server down is a problem: no plan could be made).
func (d *doctor) planStore(ctx context.Context, cfg *config.Config) {
	if cfg.PlanStore == "" {
		where, err := guard.DefaultPlanFile()
		if err != nil {
			where = "(no state directory: " + err.Error() + ")"
		}
		d.line("", statusOK, "plan store", "not configured: serve keeps plans in memory, call in "+where)
		return
	}
	b, err := openPlanBackend(cfg, planStoreMemory)
	if err != nil {
		d.line("", statusFail, "plan store", err.Error())
		return
	}
	defer b.Close()
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := b.Ping(pctx); err != nil {
		d.line("", statusFail, "plan store", fmt.Sprintf("%s: %v; write tools refuse every plan until it answers", b.Name(), err))
		return
	}
	d.line("", statusOK, "plan store", b.Name()+" answers")
}
