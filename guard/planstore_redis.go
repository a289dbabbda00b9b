package guard

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisBackend keeps plans in Redis (or Valkey), shared by every replica.
// A pending plan is one string key whose TTL is the plan's expiry, so an
// expired plan is gone from Redis by itself; a finished plan becomes a
// tombstone kept for tombstoneTTL. Every change is a compare-and-swap in
// a Lua script, so a confirmation takes a plan atomically: of two replicas
// confirming the same nonce at once exactly one gets it. Pending plans are
// also indexed per owner and in total (sorted sets scored by expiry) for
// the pending-plan caps.
type redisBackend struct {
	rdb    redis.UniversalClient
	prefix string
	addr   string
}

// RedisOptions configure the Redis plan backend.
type RedisOptions struct {
	// URL is redis://[user@]host:port/db or rediss:// for TLS. A password
	// in the URL is refused: it would show in process lists and configs.
	URL string
	// Username and Password authenticate (from the environment or the
	// keyring; never from the URL).
	Username, Password string
	// CAFile is a PEM file of the CA that signed the Redis server's
	// certificate (rediss:// with a private CA); "" trusts the system's.
	CAFile string
	// Prefix starts every key (default "pvemcp:"); replicas that share
	// plans use the same prefix.
	Prefix string
}

// DefaultRedisPrefix starts the plan store's keys unless configured.
const DefaultRedisPrefix = "pvemcp:"

// OpenRedisBackend connects to Redis (lazily: a server down now is
// reported by Ping and by every plan operation, not here).
func OpenRedisBackend(o RedisOptions) (PlanBackend, error) {
	if !strings.HasPrefix(o.URL, "redis://") && !strings.HasPrefix(o.URL, "rediss://") {
		return nil, fmt.Errorf("plan store: %q is not a redis:// or rediss:// URL", redactURL(o.URL))
	}
	opt, err := redis.ParseURL(o.URL)
	if err != nil {
		return nil, fmt.Errorf("plan store: bad Redis URL %q: %v", redactURL(o.URL), errors.Unwrap(err))
	}
	if opt.Password != "" {
		return nil, errors.New("plan store: the Redis URL must not carry a password; set PVEMCP_REDIS_PASSWORD (or store it in the keyring) instead")
	}
	if o.Username != "" {
		opt.Username = o.Username
	}
	opt.Password = o.Password
	if o.CAFile != "" {
		if opt.TLSConfig == nil {
			return nil, errors.New("plan store: a Redis CA file needs a rediss:// URL")
		}
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("plan store: Redis CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("plan store: Redis CA file %s holds no PEM certificate", o.CAFile)
		}
		opt.TLSConfig.RootCAs = pool
	}
	if opt.TLSConfig != nil && opt.TLSConfig.MinVersion < tls.VersionTLS12 {
		opt.TLSConfig.MinVersion = tls.VersionTLS12
	}
	opt.DialTimeout = 2 * time.Second
	opt.ReadTimeout = 2 * time.Second
	opt.WriteTimeout = 2 * time.Second
	opt.MaxRetries = 1
	// No CLIENT SETINFO: a minimal ACL user need not allow it (nor Redis < 7.2 know it).
	opt.DisableIdentity = true
	quietRedis.Do(func() { redis.SetLogger(silentLogger{}) })
	prefix := o.Prefix
	if prefix == "" {
		prefix = DefaultRedisPrefix
	}
	return &redisBackend{rdb: redis.NewClient(opt), prefix: prefix, addr: opt.Addr}, nil
}

// quietRedis silences go-redis's own log: its connection errors reach the
// caller as errors, and its log would write to stderr outside pvemcp's log.
var quietRedis sync.Once

type silentLogger struct{}

func (silentLogger) Printf(context.Context, string, ...any) {}

// redactURL drops user information from a URL for messages.
func redactURL(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 && (strings.IndexByte(rest, '/') < 0 || at < strings.IndexByte(rest, '/')) {
			return u[:i+3] + "[redacted]@" + rest[at+1:]
		}
	}
	return u
}

func (r *redisBackend) Name() string { return "redis " + r.addr }
func (r *redisBackend) Close() error { return r.rdb.Close() }

func (r *redisBackend) Ping(ctx context.Context) error {
	if err := r.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis %s: %w", r.addr, err)
	}
	return nil
}

func (r *redisBackend) planKey(id string) string { return r.prefix + "plan:" + id }
func (r *redisBackend) allKey() string           { return r.prefix + "pending" }
func (r *redisBackend) ownerKey(owner string) string {
	h := sha256.Sum256([]byte(owner))
	return r.prefix + "owner:" + hex.EncodeToString(h[:16])
}

// addScript: KEYS plan, owner index, all index; ARGV record, expiry (ms),
// now (ms), per-owner cap, total cap, id, ttl (ms).
var addScript = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[3])
local owned = redis.call('ZCARD', KEYS[2])
if owned >= tonumber(ARGV[4]) then return {1, owned} end
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[5]) then return {2, 0} end
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[7], 'NX') == false then return {3, 0} end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[7])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[6])
return {0, owned}
`)

// swapScript: KEYS plan, owner index, all index; ARGV old, new ("" removes),
// ttl of new in ms ("" keeps the key's TTL), id, "1" when new is no longer
// pending.
var swapScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
elseif ARGV[3] == '' then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
if ARGV[5] == '1' then
  redis.call('ZREM', KEYS[2], ARGV[4])
  redis.call('ZREM', KEYS[3], ARGV[4])
end
return 1
`)

func (r *redisBackend) Add(ctx context.Context, now time.Time, rec *Record, perOwner, total int) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	ttl := rec.Plan.ExpiresAt.Sub(now).Milliseconds()
	if ttl < 1 {
		ttl = 1
	}
	res, err := addScript.Run(ctx, r.rdb, []string{r.planKey(rec.Plan.ID), r.ownerKey(rec.Owner), r.allKey()},
		string(b), rec.Plan.ExpiresAt.UnixMilli(), now.UnixMilli(), perOwner, total, rec.Plan.ID, ttl).Int64Slice()
	if err != nil {
		return fmt.Errorf("redis %s: %w", r.addr, err)
	}
	switch res[0] {
	case 1:
		return &CapError{Owner: int(res[1])}
	case 2:
		return &CapError{}
	case 3:
		return fmt.Errorf("plan id %s already taken", rec.Plan.ID)
	}
	return nil
}

func (r *redisBackend) Get(ctx context.Context, _ time.Time, id string) (*Record, []byte, error) {
	b, err := r.rdb.Get(ctx, r.planKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil, ErrNoRecord
	}
	if err != nil {
		return nil, nil, fmt.Errorf("redis %s: %w", r.addr, err)
	}
	var rec Record
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, nil, fmt.Errorf("plan %s: damaged record in Redis: %w", id, err)
	}
	return &rec, b, nil
}

func (r *redisBackend) Swap(ctx context.Context, _ time.Time, id string, old []byte, next *Record) (bool, error) {
	var nb, ttl, ended string
	owner := ""
	var cur Record
	if err := json.Unmarshal(old, &cur); err == nil {
		owner = cur.Owner
	}
	if next == nil {
		ended = "1"
	} else {
		b, err := json.Marshal(next)
		if err != nil {
			return false, err
		}
		nb = string(b)
		if !next.pending() {
			ended, ttl = "1", fmt.Sprint(tombstoneTTL.Milliseconds())
		}
	}
	n, err := swapScript.Run(ctx, r.rdb, []string{r.planKey(id), r.ownerKey(owner), r.allKey()},
		string(old), nb, ttl, id, ended).Int()
	if err != nil {
		return false, fmt.Errorf("redis %s: %w", r.addr, err)
	}
	return n == 1, nil
}

// Sweep has nothing to do: Redis expires plans and tombstones itself, and
// the indexes are trimmed on every Add. (Plans that expire while their
// user is asked are not audited as unanswered with this backend.)
func (r *redisBackend) Sweep(context.Context, time.Time) ([]Plan, error) { return nil, nil }

func (r *redisBackend) Pending(ctx context.Context, now time.Time) (int, error) {
	n, err := r.rdb.ZCount(ctx, r.allKey(), fmt.Sprint(now.UnixMilli()), "+inf").Result()
	if err != nil {
		return 0, fmt.Errorf("redis %s: %w", r.addr, err)
	}
	return int(n), nil
}
