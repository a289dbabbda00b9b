package guard

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Audit event kinds.
const (
	EventPlan    = "plan"
	EventConfirm = "confirm"
	EventRefusal = "refusal"
	EventOutcome = "outcome"
	// EventElicitation: the user was asked to approve a plan in the client.
	EventElicitation = "elicitation"
	// EventUnanswered: the plan expired while the user was asked.
	EventUnanswered = "elicitation_unanswered"
)

// Event is one line of the audit log. It never holds a secret: calls are
// redacted and nonces are never recorded.
type Event struct {
	Time       time.Time `json:"time"`
	Event      string    `json:"event"`
	Caller     string    `json:"caller,omitempty"`
	Tool       string    `json:"tool,omitempty"`
	Cluster    string    `json:"cluster,omitempty"`
	PlanID     string    `json:"plan_id,omitempty"`
	PlanHash   string    `json:"plan_hash,omitempty"`
	Summary    string    `json:"summary,omitempty"`
	Calls      []Call    `json:"calls,omitempty"`
	Approval   string    `json:"approval,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	UPIDs      []string  `json:"upids,omitempty"`
	Outcome    string    `json:"outcome,omitempty"`
	ErrorLines []string  `json:"error_lines,omitempty"`
	// Suppressed is the number of this caller's refusals left out of the
	// log (rate limit) since its previous recorded one.
	Suppressed int `json:"suppressed_refusals,omitempty"`
	// Replica is the process (host/pid) that wrote the line; PlannedBy,
	// on a confirmation, the one that made the plan.
	Replica   string `json:"replica,omitempty"`
	PlannedBy string `json:"planned_by,omitempty"`
}

// AuditLog appends events as JSON lines and fsyncs each one, so a record
// survives a crash right after the change it describes. A nil *AuditLog
// records nothing.
type AuditLog struct {
	mu   sync.Mutex
	f    *os.File
	path string
	size int64
	// maxSize rotates the file when a record would grow it beyond this
	// many bytes (0: never).
	maxSize int64
	// broken, when set, refuses every record: the log could not be opened,
	// so writes must not run unaudited.
	broken error
}

// DefaultAuditMaxSize is the size at which the audit log is rotated: the
// file is renamed to <path>.1 (replacing an older one) and a new one
// started. Keep more history with external rotation of the .1 file.
const DefaultAuditMaxSize = 64 << 20

// UnavailableAuditLog is the audit log of a server whose log could not be
// opened: every record fails with err, so every write is refused while
// reads go on.
func UnavailableAuditLog(err error) *AuditLog {
	if err == nil {
		err = errors.New("audit log: unavailable")
	}
	return &AuditLog{broken: err}
}

// SetMaxSize sets the rotation size in bytes (0 never rotates).
func (l *AuditLog) SetMaxSize(n int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.maxSize = n
}

// DefaultAuditPath is $XDG_STATE_HOME/pvemcp/audit.jsonl, falling back to
// ~/.local/state as the XDG base directory spec says.
func DefaultAuditPath() (string, error) {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("audit log: no state directory: %w", err)
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "pvemcp", "audit.jsonl"), nil
}

// OpenAuditLog opens (creating it and its folder, private to the user) the
// audit log at path for appending.
func OpenAuditLog(path string) (*AuditLog, error) {
	if path == "" {
		return nil, errors.New("audit log: empty path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	f, size, err := openAppend(path)
	if err != nil {
		return nil, err
	}
	return &AuditLog{f: f, path: path, size: size, maxSize: DefaultAuditMaxSize}, nil
}

func openAppend(path string) (*os.File, int64, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("audit log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, 0, fmt.Errorf("audit log: %w", err)
	}
	return f, st.Size(), nil
}

// rotateLocked renames the full log to <path>.1 and starts a new one.
func (l *AuditLog) rotateLocked() error {
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	l.f = nil
	if err := os.Rename(l.path, l.path+".1"); err != nil {
		return fmt.Errorf("audit log: rotating: %w", err)
	}
	f, size, err := openAppend(l.path)
	if err != nil {
		return err
	}
	l.f, l.size = f, size
	return nil
}

// Record appends ev as one JSON line and syncs it to disk.
func (l *AuditLog) Record(ev Event) error {
	if l == nil {
		return nil
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC()
	}
	ev.Calls = RedactCalls(ev.Calls)
	b, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	b = append(b, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.broken != nil {
		return fmt.Errorf("audit log unavailable, so changes are refused: %w", l.broken)
	}
	if l.f == nil {
		return errors.New("audit log: closed")
	}
	if l.maxSize > 0 && l.size > 0 && l.size+int64(len(b)) > l.maxSize {
		if err := l.rotateLocked(); err != nil {
			return err
		}
	}
	n, err := l.f.Write(b)
	l.size += int64(n)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	return nil
}

// Close closes the file; later records fail.
func (l *AuditLog) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
