package guard

import "time"

const (
	// refusalsPerMinute is how many refused confirmations of one caller
	// the audit log records per minute; the rest are counted and the count
	// is written with the next recorded refusal, so a caller looping on
	// wrong nonces cannot fill the disk.
	refusalsPerMinute = 30
	// maxLimitedCallers bounds the limiter's memory; beyond it all new
	// callers share one window.
	maxLimitedCallers = 4096
)

type refusalWindow struct {
	start      time.Time
	n          int
	suppressed int
}

// refusalLimiter decides which refusals are written to the audit log.
type refusalLimiter struct {
	windows map[string]*refusalWindow
}

// allow reports whether a refusal of caller at now is recorded and, if so,
// how many of its refusals were left out since the last recorded one.
// The caller holds the store's lock.
func (l *refusalLimiter) allow(caller string, now time.Time) (bool, int) {
	if l.windows == nil {
		l.windows = map[string]*refusalWindow{}
	}
	w, ok := l.windows[caller]
	if !ok {
		if len(l.windows) >= maxLimitedCallers {
			for k, old := range l.windows {
				if now.Sub(old.start) > time.Minute && old.suppressed == 0 {
					delete(l.windows, k)
				}
			}
		}
		if len(l.windows) >= maxLimitedCallers {
			caller = "*"
		}
		if w, ok = l.windows[caller]; !ok {
			w = &refusalWindow{start: now}
			l.windows[caller] = w
		}
	}
	if now.Sub(w.start) > time.Minute {
		w.start, w.n = now, 0
	}
	if w.n >= refusalsPerMinute {
		w.suppressed++
		return false, 0
	}
	w.n++
	dropped := w.suppressed
	w.suppressed = 0
	return true, dropped
}
