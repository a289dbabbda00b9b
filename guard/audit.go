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
}

// AuditLog appends events as JSON lines and fsyncs each one, so a record
// survives a crash right after the change it describes. A nil *AuditLog
// records nothing.
type AuditLog struct {
	mu sync.Mutex
	f  *os.File
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
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return &AuditLog{f: f}, nil
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
	if l.f == nil {
		return errors.New("audit log: closed")
	}
	if _, err := l.f.Write(b); err != nil {
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
