package guard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// fileBackend keeps plans in one JSON file, so that a plan made by one
// `pvemcp call` can be confirmed by the next. Every operation takes an
// exclusive lock on a sibling lock file, reads the file, sweeps expired
// plans, and writes a new file atomically (write, fsync, rename): two
// processes at once are safe. Files and folder are private to the user.
type fileBackend struct {
	path string
}

// DefaultPlanFile is where the CLI keeps its plans:
// $XDG_STATE_HOME/pvemcp/plans.json (~/.local/state when unset).
func DefaultPlanFile() (string, error) {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("plan store: no state directory: %w", err)
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "pvemcp", "plans.json"), nil
}

// OpenFileBackend returns a backend keeping plans in the file at path,
// creating its folder (0700) when missing.
func OpenFileBackend(path string) (PlanBackend, error) {
	if path == "" {
		return nil, errors.New("plan store: empty file path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("plan store: %w", err)
	}
	f := &fileBackend{path: path}
	if err := f.Ping(context.Background()); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *fileBackend) Name() string { return "file " + f.path }
func (f *fileBackend) Close() error { return nil }

// Ping checks the file can be locked and read.
func (f *fileBackend) Ping(context.Context) error {
	return f.with(time.Now(), func(map[string]json.RawMessage) (bool, error) { return false, nil })
}

type planFile struct {
	Plans map[string]json.RawMessage `json:"plans"`
}

// with runs fn on the swept plans under the lock and writes them back when
// fn (or the sweep) changed them.
func (f *fileBackend) with(now time.Time, fn func(plans map[string]json.RawMessage) (bool, error)) error {
	_, err := f.withSweep(now, fn)
	return err
}

func (f *fileBackend) withSweep(now time.Time, fn func(plans map[string]json.RawMessage) (bool, error)) ([]Plan, error) {
	unlock, err := lockFile(f.path + ".lock")
	if err != nil {
		return nil, fmt.Errorf("plan store %s: %w", f.path, err)
	}
	defer unlock()
	var pf planFile
	b, err := os.ReadFile(f.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("plan store: %w", err)
	default:
		if err := json.Unmarshal(b, &pf); err != nil {
			return nil, fmt.Errorf("plan store %s is damaged: %w", f.path, err)
		}
	}
	if pf.Plans == nil {
		pf.Plans = map[string]json.RawMessage{}
	}
	unanswered, swept := sweepRaw(pf.Plans, now)
	changed, err := fn(pf.Plans)
	if err != nil {
		return nil, err
	}
	if !changed && !swept {
		return unanswered, nil
	}
	out, err := json.Marshal(pf)
	if err != nil {
		return nil, err
	}
	return unanswered, writeFileAtomic(f.path, out)
}

// sweepRaw turns expired plans into tombstones and drops old tombstones.
func sweepRaw(plans map[string]json.RawMessage, now time.Time) (unanswered []Plan, changed bool) {
	for id, raw := range plans {
		var r Record
		if err := json.Unmarshal(raw, &r); err != nil {
			delete(plans, id)
			changed = true
			continue
		}
		switch {
		case r.pending() && now.After(r.Plan.ExpiresAt):
			if r.Elicit != "" {
				unanswered = append(unanswered, r.Plan)
			}
			plans[id], _ = json.Marshal(tombstoneOf(&r, "expired", r.Plan.ExpiresAt))
			changed = true
		case !r.pending() && now.Sub(r.DoneAt) > tombstoneTTL:
			delete(plans, id)
			changed = true
		}
	}
	return unanswered, changed
}

func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".plans-*.tmp")
	if err != nil {
		return fmt.Errorf("plan store: %w", err)
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			_ = os.Remove(name)
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("plan store: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("plan store: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("plan store: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("plan store: %w", err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("plan store: %w", err)
	}
	ok = true
	return nil
}

func (f *fileBackend) Add(_ context.Context, now time.Time, rec *Record, perOwner, total int) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return f.with(now, func(plans map[string]json.RawMessage) (bool, error) {
		owned, all := 0, 0
		for _, raw := range plans {
			var r Record
			if json.Unmarshal(raw, &r) == nil && r.pending() {
				all++
				if r.Owner == rec.Owner {
					owned++
				}
			}
		}
		if owned >= perOwner {
			return false, &CapError{Owner: owned}
		}
		if all >= total {
			return false, &CapError{}
		}
		plans[rec.Plan.ID] = b
		return true, nil
	})
}

func (f *fileBackend) Get(_ context.Context, now time.Time, id string) (*Record, []byte, error) {
	var raw []byte
	err := f.with(now, func(plans map[string]json.RawMessage) (bool, error) {
		raw = plans[id]
		return false, nil
	})
	if err != nil {
		return nil, nil, err
	}
	if raw == nil {
		return nil, nil, ErrNoRecord
	}
	var r Record
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, nil, err
	}
	return &r, raw, nil
}

func (f *fileBackend) Swap(_ context.Context, now time.Time, id string, old []byte, next *Record) (bool, error) {
	var b []byte
	if next != nil {
		var err error
		if b, err = json.Marshal(next); err != nil {
			return false, err
		}
	}
	swapped := false
	err := f.with(now, func(plans map[string]json.RawMessage) (bool, error) {
		cur, ok := plans[id]
		if !ok || !bytes.Equal(cur, old) {
			return false, nil
		}
		if next == nil {
			delete(plans, id)
		} else {
			plans[id] = b
		}
		swapped = true
		return true, nil
	})
	return swapped, err
}

func (f *fileBackend) Sweep(_ context.Context, now time.Time) ([]Plan, error) {
	return f.withSweep(now, func(map[string]json.RawMessage) (bool, error) { return false, nil })
}

func (f *fileBackend) Pending(_ context.Context, now time.Time) (int, error) {
	n := 0
	err := f.with(now, func(plans map[string]json.RawMessage) (bool, error) {
		for _, raw := range plans {
			var r Record
			if json.Unmarshal(raw, &r) == nil && r.pending() {
				n++
			}
		}
		return false, nil
	})
	return n, err
}
