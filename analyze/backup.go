package analyze

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// BackupJob is a scheduled vzdump job from GET /cluster/backup.
type BackupJob struct {
	ID       string `json:"id"`
	Schedule string `json:"schedule"`
	Storage  string `json:"storage"`
	Mode     string `json:"mode,omitempty"`
	Enabled  bool   `json:"enabled"`
	// Selection: VMIDs ("vmid"), or All with Exclude, or Pool; Node limits
	// the job to one node.
	VMIDs   []int  `json:"vmids,omitempty"`
	All     bool   `json:"all,omitempty"`
	Exclude []int  `json:"exclude,omitempty"`
	Pool    string `json:"pool,omitempty"`
	Node    string `json:"node,omitempty"`
	// NextRunEpoch is "next-run" (0 when absent, e.g. disabled).
	NextRunEpoch int64 `json:"next_run_epoch,omitempty"`
}

// BackupRun is one vzdump task from GET /nodes/{node}/tasks?typefilter=vzdump.
type BackupRun struct {
	Node       string `json:"node"`
	UPID       string `json:"upid"`
	StartEpoch int64  `json:"start_epoch"`
	// EndEpoch is 0 while the task runs.
	EndEpoch int64 `json:"end_epoch,omitempty"`
	// Status is the task list's status ("OK", "WARNINGS: 2", "job errors",
	// another error text, or "" while running).
	Status string `json:"status,omitempty"`
	// TaskID is the task's "id" field (a vmid for single-guest runs, else "").
	TaskID string `json:"task_id,omitempty"`
	// Log is the parsed task log, nil when the log was not read.
	Log *VzdumpLog `json:"-"`
}

// GuestRef is a guest known to the cluster, used to resolve job selections
// (all/pool/node) and to name guests (/cluster/resources?type=vm).
type GuestRef struct {
	VMID     int    `json:"vmid"`
	Name     string `json:"name,omitempty"`
	Type     string `json:"type"`
	Node     string `json:"node"`
	Pool     string `json:"pool,omitempty"`
	Template bool   `json:"template,omitempty"`
}

// BackupOptions tune BackupStatus.
type BackupOptions struct {
	// StaleAfterSeconds, when > 0, is every guest's staleness limit: a guest
	// whose last successful backup is older is stale. When 0, each guest's
	// limit follows the schedules of the jobs covering it (StaleLimitHours).
	StaleAfterSeconds int64
	// Location is the cluster's time zone for schedule matching (nil: UTC).
	Location *time.Location
	// WindowDays is the window the runs were listed from (0: not said). It
	// is named in the alert of a guest without a success in the runs, and
	// an enabled job whose period fits in it but has no run is alerted.
	WindowDays int
	// SomeNodes says only some nodes' runs were listed: a job without a run
	// may have run elsewhere, so it is not alerted.
	SomeNodes bool
	// ArchiveEpochs maps a VMID to the creation time of its newest backup
	// archive on the storages: a success whose run log was not read.
	ArchiveEpochs map[int]int64
}

// Job outcomes (JobReport.Outcome).
const (
	OutcomeOK      = "ok"      // every guest backed up (warnings allowed)
	OutcomeWarn    = "warn"    // some guests failed, or the run ended with warnings
	OutcomeFailed  = "failed"  // no guest backed up, or the job itself failed
	OutcomeRunning = "running" // the last run has not finished
	OutcomeUnknown = "unknown" // the last run's log was not read or is truncated
	OutcomeNever   = "never"   // no run of this job in the runs examined
)

// GuestFailure is one guest's failure in a run, with the exact error lines.
type GuestFailure struct {
	VMID       int      `json:"vmid"`
	Name       string   `json:"name,omitempty"`
	Reason     string   `json:"reason,omitempty"`
	ErrorLines []string `json:"error_lines,omitempty"`
	// AtEpoch is when the guest's backup failed: its end in the log, else
	// the run's end, else its start.
	AtEpoch int64 `json:"at_epoch,omitempty"`
}

// RunSummary is the outcome of one run.
type RunSummary struct {
	Node       string `json:"node"`
	UPID       string `json:"upid"`
	StartEpoch int64  `json:"start_epoch"`
	EndEpoch   int64  `json:"end_epoch,omitempty"`
	// Status is the parsed log's job status (VzdumpOK...), or "unknown".
	Status        string `json:"status"`
	Outcome       string `json:"outcome"`
	GuestsTotal   int    `json:"guests_total"`
	GuestsOK      int    `json:"guests_ok"`
	GuestsFailed  int    `json:"guests_failed"`
	GuestsWarning int    `json:"guests_warning,omitempty"`
	// Counts is "ok/total", e.g. "6/7".
	Counts             string         `json:"counts,omitempty"`
	Failures           []GuestFailure `json:"failures,omitempty"`
	JobErrors          []string       `json:"job_errors,omitempty"`
	NotificationErrors []string       `json:"notification_errors,omitempty"`
	// JobID is the matched job ("" for a manual run) and MatchBasis how.
	JobID      string `json:"job_id,omitempty"`
	MatchBasis string `json:"match_basis,omitempty"`
	// TaskStatus is the task list's status of the run (BackupRun.Status).
	TaskStatus string `json:"task_status,omitempty"`
}

// JobReport is one job with its runs.
type JobReport struct {
	Job       BackupJob   `json:"job"`
	Selection string      `json:"selection"`
	Runs      int         `json:"runs"`
	LastRun   *RunSummary `json:"last_run,omitempty"`
	Outcome   string      `json:"outcome"`
	// Counts is the last run's "ok/total" guests summed over the nodes that
	// ran it at the same time (a job runs once per node).
	Counts string `json:"counts,omitempty"`
}

// GuestBackupState is a guest's backup history in the runs examined.
type GuestBackupState struct {
	VMID             int      `json:"vmid"`
	Name             string   `json:"name,omitempty"`
	Jobs             []string `json:"jobs,omitempty"` // enabled jobs covering it
	LastSuccessEpoch int64    `json:"last_success_epoch,omitempty"`
	LastSuccessJob   string   `json:"last_success_job,omitempty"`
	LastFailureEpoch int64    `json:"last_failure_epoch,omitempty"`
	LastFailure      string   `json:"last_failure,omitempty"`
	// Stale is true when the guest is in an enabled job and its last
	// success is older than LimitHours, or there is none.
	Stale bool `json:"stale,omitempty"`
	// AgeHours is the age of the last success (0: none); LimitHours the
	// staleness limit that applies to the guest (0: in no enabled job).
	AgeHours   float64 `json:"age_hours,omitempty"`
	LimitHours float64 `json:"limit_hours,omitempty"`
}

// BackupReport combines jobs and runs.
type BackupReport struct {
	Jobs []JobReport `json:"jobs"`
	// Runs are every run, newest first; ManualRuns those matched to no job
	// (oldest first).
	Runs       []RunSummary       `json:"runs"`
	ManualRuns []RunSummary       `json:"manual_runs,omitempty"`
	LogsRead   int                `json:"logs_read"`
	Guests     []GuestBackupState `json:"guests,omitempty"`
	Stale      []GuestBackupState `json:"stale,omitempty"`
	Uncovered  []GuestRef         `json:"uncovered,omitempty"` // in no enabled job
	Alerts     []Alert            `json:"alerts,omitempty"`
	Basis      string             `json:"basis"`
}

// SummarizeRun turns a run into its outcome.
func SummarizeRun(r BackupRun) RunSummary {
	s := RunSummary{Node: r.Node, UPID: r.UPID, StartEpoch: r.StartEpoch, EndEpoch: r.EndEpoch, Status: "unknown", TaskStatus: r.Status}
	if r.Log == nil {
		s.Outcome = outcomeFromTaskStatus(r)
		return s
	}
	l := r.Log
	s.Status = l.Status
	s.GuestsTotal = len(l.Guests)
	s.GuestsOK = l.GuestsOK + l.GuestsWarning
	s.GuestsWarning = l.GuestsWarning
	s.GuestsFailed = l.GuestsFailed
	if s.GuestsTotal > 0 {
		s.Counts = fmt.Sprintf("%d/%d", s.GuestsOK, s.GuestsTotal)
	}
	for _, g := range l.Guests {
		if g.Status != GuestBackupFailed {
			continue
		}
		// When the guest's own end is not logged, the run's end (or start) dates it.
		f := GuestFailure{VMID: g.VMID, Name: g.Name, Reason: g.Reason, AtEpoch: firstNonZero(g.FinishedEpoch, r.EndEpoch, r.StartEpoch)}
		for _, e := range g.Errors {
			f.ErrorLines = append(f.ErrorLines, e.Text)
		}
		s.Failures = append(s.Failures, f)
	}
	for _, e := range l.JobErrors {
		s.JobErrors = append(s.JobErrors, e.Text)
	}
	for _, e := range l.NotificationErrors {
		s.NotificationErrors = append(s.NotificationErrors, e.Text)
	}
	switch l.Status {
	case VzdumpRunning:
		s.Outcome = OutcomeRunning
	case VzdumpTruncated:
		s.Outcome = OutcomeUnknown
	case VzdumpError:
		s.Outcome = OutcomeFailed
	default:
		switch {
		case s.GuestsTotal > 0 && s.GuestsOK == 0:
			s.Outcome = OutcomeFailed
		case s.GuestsFailed > 0 || l.Status == VzdumpWarnings || l.Status == VzdumpFailed:
			s.Outcome = OutcomeWarn
		default:
			s.Outcome = OutcomeOK
		}
	}
	return s
}

func outcomeFromTaskStatus(r BackupRun) string {
	switch {
	case r.EndEpoch == 0 && r.Status == "":
		return OutcomeRunning
	case r.Status == "OK":
		return OutcomeOK
	case strings.HasPrefix(r.Status, "WARNINGS"):
		return OutcomeWarn
	}
	return OutcomeUnknown
}

var reScheduleHM = regexp.MustCompile(`(?:^|\s)(\d{1,2}):(\d{2})$`)

// scheduleMinuteOfDay reads the time of day of simple calendar events
// ("21:00", "sun 01:00", "mon..fri 02:30", "daily" = 00:00). Other forms
// (e.g. "*/30") are not matched by time.
func scheduleMinuteOfDay(s string) (int, bool) {
	s = strings.TrimSpace(s)
	switch s {
	case "daily", "weekly", "monthly", "yearly", "annually":
		return 0, true
	}
	m := reScheduleHM.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	h, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	if h > 23 || mi > 59 {
		return 0, false
	}
	return h*60 + mi, true
}

func sameInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	x := append([]int(nil), a...)
	y := append([]int(nil), b...)
	sort.Ints(x)
	sort.Ints(y)
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}

func subsetInts(a, of []int) bool {
	set := map[int]bool{}
	for _, v := range of {
		set[v] = true
	}
	for _, v := range a {
		if !set[v] {
			return false
		}
	}
	return len(a) > 0
}

// MatchRunToJob finds the job a run belongs to. With a parsed log it
// compares the vzdump command's selection, storage, mode and node with each
// job's (a scheduled run names the job's guests, or the local subset of
// them); the schedule's time of day breaks ties. Without a log it matches a
// run that started within 15 minutes after a job's scheduled time of day, if
// exactly one job fits. It returns "" when no job fits.
func MatchRunToJob(r BackupRun, jobs []BackupJob, loc *time.Location) (jobID, basis string) {
	if loc == nil {
		loc = time.UTC
	}
	timeFits := func(j BackupJob) bool {
		m, ok := scheduleMinuteOfDay(j.Schedule)
		if !ok || r.StartEpoch == 0 {
			return false
		}
		t := time.Unix(r.StartEpoch, 0).In(loc)
		d := (t.Hour()*60 + t.Minute() - m + 1440) % 1440
		return d < 15
	}
	var best []BackupJob
	bestScore := 0
	if r.Log != nil && r.Log.Command != "" {
		l := r.Log
		for _, j := range jobs {
			if l.Storage != "" && j.Storage != "" && l.Storage != j.Storage {
				continue
			}
			if l.Node != "" && j.Node != "" && l.Node != j.Node {
				continue
			}
			if j.Node != "" && r.Node != "" && r.Node != j.Node {
				continue // a job bound to a node runs only there
			}
			score := 0
			switch {
			case j.All && l.All && sameInts(j.Exclude, l.Exclude):
				score = 3
			case j.Pool != "" && l.Pool == j.Pool:
				score = 3
			case len(j.VMIDs) > 0 && sameInts(j.VMIDs, l.VMIDs):
				score = 3
			case len(j.VMIDs) > 0 && subsetInts(l.VMIDs, j.VMIDs):
				score = 2
			default:
				continue
			}
			if j.Mode != "" && l.Mode == j.Mode {
				score++
			}
			if timeFits(j) {
				score++
			}
			switch {
			case score > bestScore:
				best, bestScore = []BackupJob{j}, score
			case score == bestScore:
				best = append(best, j)
			}
		}
		if len(best) == 1 {
			return best[0].ID, "vzdump command selection and storage match the job"
		}
		// None fits, or several fit equally well: claiming one would be a guess.
		return "", ""
	}
	for _, j := range jobs {
		if timeFits(j) {
			best = append(best, j)
		}
	}
	if len(best) == 1 {
		return best[0].ID, "run started within 15 minutes after the job's scheduled time (log not read)"
	}
	return "", ""
}

// Covers reports whether an enabled or disabled job selects guest g.
func (j BackupJob) Covers(g GuestRef) bool {
	if j.Node != "" && g.Node != j.Node {
		return false
	}
	switch {
	case j.All:
		for _, e := range j.Exclude {
			if e == g.VMID {
				return false
			}
		}
		return true
	case j.Pool != "":
		return g.Pool == j.Pool
	}
	for _, v := range j.VMIDs {
		if v == g.VMID {
			return true
		}
	}
	return false
}

// SelectionText describes a job's selection in words.
func (j BackupJob) SelectionText() string {
	var s string
	switch {
	case j.All && len(j.Exclude) > 0:
		s = "all guests except " + intsText(j.Exclude)
	case j.All:
		s = "all guests"
	case j.Pool != "":
		s = "pool " + j.Pool
	default:
		s = "guests " + intsText(j.VMIDs)
	}
	if j.Node != "" {
		s += " on " + j.Node
	}
	return s
}

func intsText(v []int) string {
	p := make([]string, len(v))
	for i, x := range v {
		p[i] = strconv.Itoa(x)
	}
	return strings.Join(p, ",")
}

// BackupStatus matches runs to jobs, gives each job its last run and
// outcome, and each guest its last success (in the run logs, or its newest
// archive); guests covered by an enabled job whose last success is older
// than their limit (or absent) are stale. Its alerts: the failures of each
// job's last round, a job whose last round backed up nothing, stale guests,
// enabled jobs without a run in the window, and guests that failed earlier
// in the window. nowEpoch is the time of the read.
func BackupStatus(jobs []BackupJob, runs []BackupRun, guests []GuestRef, nowEpoch int64, opt BackupOptions) BackupReport {
	rep := BackupReport{Jobs: []JobReport{}, Runs: []RunSummary{}}
	sorted := make([]int, len(runs))
	for i := range sorted {
		sorted[i] = i
	}
	sort.SliceStable(sorted, func(a, b int) bool { return runs[sorted[a]].StartEpoch < runs[sorted[b]].StartEpoch })

	names := map[int]string{}
	for _, g := range guests {
		names[g.VMID] = g.Name
	}
	states := map[int]*GuestBackupState{}
	state := func(vmid int) *GuestBackupState {
		s := states[vmid]
		if s == nil {
			s = &GuestBackupState{VMID: vmid, Name: names[vmid]}
			states[vmid] = s
		}
		return s
	}
	sums := make([]RunSummary, len(runs))
	jobRuns := map[string][]RunSummary{}
	for _, i := range sorted {
		r := runs[i]
		sum := SummarizeRun(r)
		sum.JobID, sum.MatchBasis = MatchRunToJob(r, jobs, opt.Location)
		sums[i] = sum
		if sum.JobID == "" {
			rep.ManualRuns = append(rep.ManualRuns, sum)
		} else {
			jobRuns[sum.JobID] = append(jobRuns[sum.JobID], sum)
		}
		if r.Log == nil {
			continue
		}
		rep.LogsRead++
		for _, g := range r.Log.Guests {
			s := state(g.VMID)
			if s.Name == "" {
				s.Name = g.Name
			}
			at := g.FinishedEpoch
			if at == 0 {
				at = r.EndEpoch
			}
			switch g.Status {
			case GuestBackupOK, GuestBackupWarning:
				if at >= s.LastSuccessEpoch {
					s.LastSuccessEpoch, s.LastSuccessJob = at, sum.JobID
				}
			case GuestBackupFailed:
				if at >= s.LastFailureEpoch {
					s.LastFailureEpoch, s.LastFailure = at, g.Reason
				}
			}
		}
	}
	// Every run, newest first; of runs that started together, the manual
	// ones first, then the others in the order given.
	rep.Runs = append(rep.Runs, rep.ManualRuns...)
	for _, sum := range sums {
		if sum.JobID != "" {
			rep.Runs = append(rep.Runs, sum)
		}
	}
	sort.SliceStable(rep.Runs, func(a, b int) bool { return rep.Runs[a].StartEpoch > rep.Runs[b].StartEpoch })
	rep.Basis = fmt.Sprintf("runs matched to jobs by their vzdump command (selection, storage, mode, node) or schedule time; outcomes parsed from the task logs; "+
		"%d of %d logs read, the other runs judged by their task status", rep.LogsRead, len(runs))

	for _, j := range jobs {
		jr := JobReport{Job: j, Selection: j.SelectionText(), Outcome: OutcomeNever}
		rs := jobRuns[j.ID]
		jr.Runs = len(rs)
		if len(rs) > 0 {
			last := rs[len(rs)-1]
			jr.LastRun = &last
			// A job runs on every node at once: the last "round" is every run
			// that started within an hour of the newest one.
			var ok, total int
			worst := OutcomeOK
			rank := map[string]int{OutcomeOK: 0, OutcomeUnknown: 1, OutcomeRunning: 2, OutcomeWarn: 3, OutcomeFailed: 4}
			failedAll := true
			for _, r := range rs {
				if last.StartEpoch-r.StartEpoch > 3600 {
					continue
				}
				ok += r.GuestsOK
				total += r.GuestsTotal
				if rank[r.Outcome] > rank[worst] {
					worst = r.Outcome
				}
				if r.Outcome != OutcomeFailed {
					failedAll = false
				}
			}
			if worst == OutcomeFailed && !failedAll {
				worst = OutcomeWarn
			}
			jr.Outcome = worst
			if total > 0 {
				jr.Counts = fmt.Sprintf("%d/%d", ok, total)
			}
			for _, f := range last.Failures {
				msg := fmt.Sprintf("%s: %s failed", j.ID, GuestLabel(f.VMID, f.Name))
				if f.Reason != "" {
					msg += fmt.Sprintf(". Error: %q", f.Reason)
				}
				rep.Alerts = append(rep.Alerts, Alert{Severity: SeverityWarning, Subject: GuestSubject(guestType(guests, f.VMID), f.VMID),
					Metric: "backup", Value: 0, Threshold: 1, Message: msg, Basis: "ERROR line of the vzdump task log " + last.UPID})
			}
			if jr.Outcome == OutcomeFailed {
				rep.Alerts = append(rep.Alerts, Alert{Severity: SeverityCritical, Subject: "backup-job/" + j.ID, Metric: "backup",
					Message: fmt.Sprintf("backup job %s: last run backed up no guest", j.ID), Basis: "vzdump task log " + last.UPID})
			}
		}
		rep.Jobs = append(rep.Jobs, jr)
	}

	for _, g := range guests {
		if g.Template {
			continue
		}
		s := state(g.VMID)
		s.Jobs = CoveringJobs(g, jobs)
		if len(s.Jobs) == 0 {
			rep.Uncovered = append(rep.Uncovered, g)
		}
	}
	for vmid, s := range states {
		if a := opt.ArchiveEpochs[vmid]; a > s.LastSuccessEpoch {
			s.LastSuccessEpoch = a
		}
	}
	for _, s := range states {
		rep.Guests = append(rep.Guests, *s)
	}
	sort.Slice(rep.Guests, func(a, b int) bool { return rep.Guests[a].VMID < rep.Guests[b].VMID })
	byID := map[string]BackupJob{}
	for _, j := range jobs {
		byID[j.ID] = j
	}
	logsUnread := rep.LogsRead < len(runs)
	for i := range rep.Guests {
		s := &rep.Guests[i]
		if len(s.Jobs) == 0 {
			continue
		}
		s.LimitHours = float64(opt.StaleAfterSeconds) / 3600
		if opt.StaleAfterSeconds <= 0 {
			var mine []BackupJob
			for _, id := range s.Jobs {
				mine = append(mine, byID[id])
			}
			s.LimitHours = StaleLimitHours(mine)
		}
		age := float64(nowEpoch-s.LastSuccessEpoch) / 3600
		if s.LastSuccessEpoch != 0 && age <= s.LimitHours {
			continue
		}
		s.Stale = true
		msg := GuestLabel(s.VMID, s.Name) + " has no successful backup in the runs examined"
		if opt.WindowDays > 0 {
			msg += fmt.Sprintf(" (%d days)", opt.WindowDays)
		}
		if s.LastSuccessEpoch != 0 {
			s.AgeHours = round1(age)
			msg = fmt.Sprintf("%s last backed up %.1f days ago (limit %.0f h)", GuestLabel(s.VMID, s.Name), age/24, s.LimitHours)
		} else if logsUnread {
			msg += "; older runs that ended OK were judged by task status only (logs=all reads them)"
		}
		rep.Stale = append(rep.Stale, *s)
		rep.Alerts = append(rep.Alerts, Alert{Severity: SeverityWarning, Subject: GuestSubject(guestType(guests, s.VMID), s.VMID),
			Metric: "backup_age_hours", Value: s.AgeHours, Threshold: s.LimitHours, Message: msg,
			Basis: "newest successful guest backup in the vzdump task logs read and the backup archives on the storages"})
	}
	// An enabled job with no run in a window longer than its period missed
	// its schedule (a stopped timer, a node down at the time, ...).
	for _, jr := range rep.Jobs {
		j := jr.Job
		if j.Enabled && jr.Runs == 0 && !opt.SomeNodes && opt.WindowDays > 0 && float64(opt.WindowDays*24) >= StaleLimitHours([]BackupJob{j}) {
			rep.Alerts = append(rep.Alerts, Alert{Severity: SeverityWarning, Subject: "backup-job/" + j.ID, Metric: "backup_runs",
				Message: fmt.Sprintf("backup job %s (%s) has no run in the last %d days", j.ID, j.Schedule, opt.WindowDays),
				Basis:   "vzdump tasks of every node in the window"})
		}
	}
	rep.Alerts = append(rep.Alerts, earlierFailures(rep, guests)...)
	SortAlerts(rep.Alerts)
	return rep
}

// earlierFailures alerts on each guest that failed in a run of the window
// and is not alerted yet by its job's last round: a failure earlier in the
// window is still news ("did all backups work this week?").
func earlierFailures(rep BackupReport, guests []GuestRef) []Alert {
	alerted := map[string]bool{}
	for _, a := range rep.Alerts {
		if a.Metric == "backup" {
			alerted[a.Subject] = true
		}
	}
	lastOK := map[int]int64{}
	for _, g := range rep.Guests {
		lastOK[g.VMID] = g.LastSuccessEpoch
	}
	var out []Alert
	for _, s := range rep.Runs {
		for _, f := range s.Failures {
			subj := GuestSubject(guestType(guests, f.VMID), f.VMID)
			if alerted[subj] {
				continue
			}
			alerted[subj] = true
			at := f.AtEpoch
			job := s.JobID
			if job == "" {
				job = "manual run"
			}
			msg := fmt.Sprintf("%s: %s failed on %s", job, GuestLabel(f.VMID, f.Name), time.Unix(at, 0).UTC().Format(time.DateOnly))
			if f.Reason != "" {
				msg += fmt.Sprintf(". Error: %q", f.Reason)
			}
			if ok := lastOK[f.VMID]; ok > at {
				msg += "; backed up successfully since, at " + time.Unix(ok, 0).UTC().Format(time.RFC3339)
			}
			out = append(out, Alert{Severity: SeverityWarning, Subject: subj, Metric: "backup", Value: 0, Threshold: 1,
				Message: msg, Basis: "ERROR line of the vzdump task log " + s.UPID})
		}
	}
	return out
}

// EvaluateUncovered warns about each guest that no enabled backup job
// covers (as /cluster/backup-info/not-backed-up lists them).
func EvaluateUncovered(guests []GuestRef) []Alert {
	var out []Alert
	for _, g := range guests {
		out = append(out, Alert{Severity: SeverityWarning, Subject: GuestSubject(g.Type, g.VMID), Metric: "backup_job",
			Message: GuestLabel(g.VMID, g.Name) + " is covered by no enabled backup job", Basis: "/cluster/backup-info/not-backed-up"})
	}
	return out
}

// CoveringJobs returns the IDs of the enabled jobs that select g.
func CoveringJobs(g GuestRef, jobs []BackupJob) []string {
	var out []string
	for _, j := range jobs {
		if j.Enabled && j.Covers(g) {
			out = append(out, j.ID)
		}
	}
	return out
}

// StaleLimitHours is how old a guest's last good backup may be, following
// the most frequent schedule among the jobs covering it: two missed daily
// runs (48 h), or one missed weekly (8 days) or monthly (32 days) run plus a
// day. No job: 48 h.
func StaleLimitHours(jobs []BackupJob) float64 {
	limit := 0.0
	for _, j := range jobs {
		l := 48.0
		s := strings.ToLower(j.Schedule)
		switch {
		case strings.Contains(s, "monthly"):
			l = 32 * 24
		case strings.Contains(s, "weekly") || hasWeekday(s):
			l = 8 * 24
		}
		if limit == 0 || l < limit {
			limit = l
		}
	}
	if limit == 0 {
		limit = 48
	}
	return limit
}

// hasWeekday reports a schedule limited to some weekdays ("sun 03:00",
// "mon..fri 21:00"); ranges of five or more days count as daily.
func hasWeekday(s string) bool {
	days := []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	n := 0
	for _, d := range days {
		if strings.Contains(s, d) {
			n++
		}
	}
	return n > 0 && !strings.Contains(s, "..") && n < 5
}

// EvaluateArchiveAge judges a guest by the creation time of its newest
// backup archive on the storages (newestEpoch, 0: none): it is stale when
// there is none or it is older than limitHours (0: by the schedules of the
// enabled jobs covering it, see StaleLimitHours; a guest in no job gets
// 48 h). It returns the guest's state and, when stale, its alert.
func EvaluateArchiveAge(g GuestRef, jobs []BackupJob, newestEpoch, nowEpoch int64, limitHours float64) (GuestBackupState, []Alert) {
	s := GuestBackupState{VMID: g.VMID, Name: g.Name, LastSuccessEpoch: newestEpoch, LimitHours: limitHours}
	var mine []BackupJob
	for _, j := range jobs {
		if j.Enabled && j.Covers(g) {
			s.Jobs = append(s.Jobs, j.ID)
			mine = append(mine, j)
		}
	}
	if limitHours <= 0 {
		s.LimitHours = StaleLimitHours(mine)
	}
	age := float64(nowEpoch-newestEpoch) / 3600
	if newestEpoch != 0 && age <= s.LimitHours {
		return s, nil
	}
	s.Stale = true
	msg := GuestLabel(g.VMID, g.Name) + " has no backup on the storages read"
	if newestEpoch != 0 {
		s.AgeHours = round1(age)
		msg = fmt.Sprintf("%s: newest backup is %.1f days old (limit %.0f h)", GuestLabel(g.VMID, g.Name), age/24, s.LimitHours)
	}
	return s, []Alert{{Severity: SeverityWarning, Subject: GuestSubject(g.Type, g.VMID), Metric: "backup_age_hours",
		Value: s.AgeHours, Threshold: s.LimitHours, Message: msg, Basis: "newest backup volume on the backup storages"}}
}

func firstNonZero(v ...int64) int64 {
	for _, x := range v {
		if x != 0 {
			return x
		}
	}
	return 0
}

// GuestLabel names a guest in messages: "VM 103 (docker-host-01)", or
// "VM 103" without a name (containers too, as vzdump's log names them).
func GuestLabel(vmid int, name string) string {
	if name == "" {
		return fmt.Sprintf("VM %d", vmid)
	}
	return fmt.Sprintf("VM %d (%s)", vmid, name)
}

func guestType(guests []GuestRef, vmid int) string {
	for _, g := range guests {
		if g.VMID == vmid {
			return g.Type
		}
	}
	return "qemu"
}
