package analyze

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// LogLine is one task log line as GET /nodes/{node}/tasks/{upid}/log returns
// it: its 1-based number and text.
type LogLine struct {
	N    int    `json:"n"`
	Text string `json:"t"`
}

// Job-level outcomes of a vzdump task (VzdumpLog.Status).
const (
	VzdumpOK        = "ok"        // TASK OK
	VzdumpWarnings  = "warnings"  // TASK WARNINGS: N — backups completed
	VzdumpFailed    = "failed"    // TASK ERROR: job errors — one or more guests failed
	VzdumpError     = "error"     // TASK ERROR: <other> — the job itself failed
	VzdumpRunning   = "running"   // no final line and the task has not ended
	VzdumpTruncated = "truncated" // no final line though the task ended, or an empty log
)

// Per-guest outcomes (GuestBackup.Status).
const (
	GuestBackupOK      = "ok"
	GuestBackupWarning = "warning" // finished, with WARN lines
	GuestBackupFailed  = "failed"
	GuestBackupUnknown = "unknown" // started, no end seen (running or truncated)
)

// VzdumpParseOptions tell the parser what the log alone cannot say.
type VzdumpParseOptions struct {
	// TaskEnded is true when the task list shows an endtime (the task is no
	// longer running). A log without a final TASK line is then truncated.
	TaskEnded bool
	// Location is the node's time zone for the "YYYY-MM-DD HH:MM:SS" stamps
	// in the log; nil means UTC.
	Location *time.Location
}

// GuestBackup is one guest's part of a vzdump run.
type GuestBackup struct {
	VMID int `json:"vmid"`
	// Kind is "qemu" or "lxc", from "Starting Backup of VM N (kind)".
	Kind string `json:"kind"`
	Name string `json:"name,omitempty"`
	// GuestState is the guest's state at backup time ("running"/"stopped").
	GuestState string `json:"guest_state,omitempty"`
	Status     string `json:"status"`
	// Started/Finished are the log's local time stamps; the Epoch fields are
	// the same times read in VzdumpParseOptions.Location (0 when absent).
	Started         string `json:"started,omitempty"`
	StartedEpoch    int64  `json:"started_epoch,omitempty"`
	Finished        string `json:"finished,omitempty"`
	FinishedEpoch   int64  `json:"finished_epoch,omitempty"`
	DurationSeconds int64  `json:"duration_seconds,omitempty"`
	// Archive is the file path, or for Proxmox Backup Server the snapshot
	// name ("vm/103/2026-02-21T02:00:02Z") with ArchivePBS set.
	Archive    string `json:"archive,omitempty"`
	ArchivePBS bool   `json:"archive_pbs,omitempty"`
	// SizeBytes is the archive file size when the log shows it ("archive file
	// size: 5.12GB", read as binary units as vzdump computes them).
	SizeBytes uint64 `json:"size_bytes,omitempty"`
	// TransferredBytes is from "transferred X in N seconds" (data read).
	TransferredBytes uint64 `json:"transferred_bytes,omitempty"`
	// Reason is the text after "failed - " on the guest's failure line.
	Reason string `json:"reason,omitempty"`
	// Errors are the exact ERROR lines of this guest; Warnings its WARN lines.
	Errors   []LogLine `json:"errors,omitempty"`
	Warnings []LogLine `json:"warnings,omitempty"`
	// FirstLine and LastLine bound the guest's section in the log.
	FirstLine int `json:"first_line"`
	LastLine  int `json:"last_line"`
}

// VzdumpLog is a parsed vzdump task log.
type VzdumpLog struct {
	Status string `json:"status"`
	// WarningCount is N of "TASK WARNINGS: N".
	WarningCount int `json:"warning_count,omitempty"`
	// TaskError is the text of a final "TASK ERROR: <text>" line.
	TaskError string `json:"task_error,omitempty"`
	// Command is the vzdump command line from "starting new backup job: ".
	Command string `json:"command,omitempty"`
	// Selection and options read from Command.
	VMIDs []int `json:"vmids,omitempty"`
	// SkippedExternal are guests of the selection that live on other nodes
	// ("skip external VMs: ..."): another node's task backs them up.
	SkippedExternal []int             `json:"skipped_external,omitempty"`
	All             bool              `json:"all,omitempty"`
	Exclude         []int             `json:"exclude,omitempty"`
	Pool            string            `json:"pool,omitempty"`
	Node            string            `json:"node,omitempty"`
	Storage         string            `json:"storage,omitempty"`
	Mode            string            `json:"mode,omitempty"`
	Options         map[string]string `json:"options,omitempty"`
	// Started/Finished are the first guest's start and the last guest's end.
	StartedEpoch  int64 `json:"started_epoch,omitempty"`
	FinishedEpoch int64 `json:"finished_epoch,omitempty"`

	Guests []GuestBackup `json:"guests"`
	// Counts of Guests by Status.
	GuestsOK      int `json:"guests_ok"`
	GuestsWarning int `json:"guests_warning"`
	GuestsFailed  int `json:"guests_failed"`
	GuestsUnknown int `json:"guests_unknown"`

	// JobErrors are ERROR lines outside any guest section (not notifications).
	JobErrors []LogLine `json:"job_errors,omitempty"`
	// JobWarnings are WARN lines outside any guest section.
	JobWarnings []LogLine `json:"job_warnings,omitempty"`
	// NotificationErrors are failures to notify: not backup failures.
	NotificationErrors []LogLine `json:"notification_errors,omitempty"`
	// HeadMissing is true when the log does not start at line 1 with the job
	// start (a tail was read): selection fields may be missing.
	HeadMissing bool `json:"head_missing,omitempty"`
	// Unparsed keeps every line whose shape the parser does not know, with
	// the guest section it appeared in (VMID 0: outside any guest).
	Unparsed []UnparsedLine `json:"unparsed,omitempty"`
	// Lines is the number of input lines.
	Lines int `json:"lines"`
}

// UnparsedLine is a log line the parser kept without interpreting it.
type UnparsedLine struct {
	N    int    `json:"n"`
	Text string `json:"t"`
	VMID int    `json:"vmid,omitempty"`
}

// lineKind is how a line was accounted for; every input line gets exactly one.
type lineKind uint8

const (
	kindJob          lineKind = iota + 1 // job start/end, TASK line
	kindGuest                            // recognised guest event or INFO detail
	kindGuestError                       // in GuestBackup.Errors
	kindGuestWarning                     // in GuestBackup.Warnings
	kindJobError                         // in JobErrors
	kindJobWarning                       // in JobWarnings
	kindNotify                           // in NotificationErrors
	kindUnparsed                         // in Unparsed
	kindNoContent                        // the API's "no content" placeholder of an empty log
)

var (
	reJobStart    = regexp.MustCompile(`^INFO: starting new backup job: (vzdump\b.*)$`)
	reGuestStart  = regexp.MustCompile(`^INFO: Starting Backup of VM (\d+) \((qemu|lxc|openvz)\)\s*$`)
	reGuestFinish = regexp.MustCompile(`^INFO: Finished Backup of VM (\d+) \((\d+):(\d{2}):(\d{2})\)\s*$`)
	reGuestFailed = regexp.MustCompile(`^ERROR: Backup of VM (\d+) failed - (.*)$`)
	reStartedAt   = regexp.MustCompile(`^INFO: Backup started at (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})\s*$`)
	reFinishedAt  = regexp.MustCompile(`^INFO: Backup finished at (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})\s*$`)
	reFailedAt    = regexp.MustCompile(`^INFO: Failed at (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})\s*$`)
	reName        = regexp.MustCompile(`^INFO: (?:VM|CT) Name: (.*)$`)
	reState       = regexp.MustCompile(`^INFO: status = (\S+)\s*$`)
	reArchive     = regexp.MustCompile(`^INFO: creating (?:vzdump )?archive '([^']*)'`)
	rePBSArchive  = regexp.MustCompile(`^INFO: creating Proxmox Backup Server archive '([^']*)'`)
	reSize        = regexp.MustCompile(`^INFO: archive file size: ([\d.]+)\s*([KMGTP]i?B?|B)?\s*$`)
	reTransferred = regexp.MustCompile(`^INFO: transferred ([\d.]+)\s*([KMGTP]i?B?|B)? in \d+ seconds`)
	reNotify      = regexp.MustCompile(`^(?:ERROR|WARN): .*(?:could not notify|notification|sendmail)`)
	reTaskWarn    = regexp.MustCompile(`^TASK WARNINGS: (\d+)\s*$`)
	reSkipExt     = regexp.MustCompile(`^INFO: skip external VMs: ([\d, ]+)$`)
)

// ParseVzdumpLog reads a vzdump task log. Every line is accounted for exactly
// once: as a job event, part of a guest's section, an error or warning list
// entry, a notification error, or kept in Unparsed. Nothing is guessed: a
// line whose shape is unknown is kept, not interpreted.
func ParseVzdumpLog(lines []LogLine, opt VzdumpParseOptions) VzdumpLog {
	l, _ := parseVzdump(lines, opt)
	return l
}

func parseVzdump(lines []LogLine, opt VzdumpParseOptions) (VzdumpLog, []lineKind) {
	loc := opt.Location
	if loc == nil {
		loc = time.UTC
	}
	epoch := func(s string) int64 {
		t, err := time.ParseInLocation("2006-01-02 15:04:05", s, loc)
		if err != nil {
			return 0
		}
		return t.Unix()
	}
	out := VzdumpLog{Lines: len(lines), Guests: []GuestBackup{}}
	kinds := make([]lineKind, len(lines))
	cur := -1 // index into out.Guests of the open section
	sawStart, final := false, false
	unparsed := func(i int) {
		vmid := 0
		if cur >= 0 {
			vmid = out.Guests[cur].VMID
		}
		out.Unparsed = append(out.Unparsed, UnparsedLine{N: lines[i].N, Text: lines[i].Text, VMID: vmid})
		kinds[i] = kindUnparsed
	}
	if len(lines) > 0 && lines[0].N > 1 {
		out.HeadMissing = true
	}

	for i, ln := range lines {
		text := strings.TrimRight(ln.Text, "\r")
		if final {
			// Anything after the final TASK line is foreign to the task.
			unparsed(i)
			continue
		}
		var g *GuestBackup
		if cur >= 0 {
			g = &out.Guests[cur]
			g.LastLine = ln.N
		}
		switch {
		case len(lines) == 1 && text == "no content":
			kinds[i] = kindNoContent
		case reJobStart.MatchString(text):
			if sawStart || len(out.Guests) > 0 {
				unparsed(i) // a second job start inside one task: not ours to read
				continue
			}
			sawStart = true
			out.Command = reJobStart.FindStringSubmatch(text)[1]
			parseVzdumpCommand(&out, out.Command)
			kinds[i] = kindJob
		case reGuestStart.MatchString(text):
			m := reGuestStart.FindStringSubmatch(text)
			vmid, _ := strconv.Atoi(m[1])
			out.Guests = append(out.Guests, GuestBackup{VMID: vmid, Kind: m[2], Status: GuestBackupUnknown, FirstLine: ln.N, LastLine: ln.N})
			cur = len(out.Guests) - 1
			kinds[i] = kindGuest
		case strings.HasPrefix(text, "TASK OK"), strings.HasPrefix(text, "TASK ERROR: "), reTaskWarn.MatchString(text):
			switch {
			case strings.HasPrefix(text, "TASK OK"):
				if strings.TrimSpace(text) != "TASK OK" {
					unparsed(i)
					continue
				}
				out.Status = VzdumpOK
			case strings.HasPrefix(text, "TASK ERROR: "):
				out.TaskError = strings.TrimPrefix(text, "TASK ERROR: ")
				if strings.TrimSpace(out.TaskError) == "job errors" {
					out.Status = VzdumpFailed
				} else {
					out.Status = VzdumpError
				}
			default:
				out.WarningCount, _ = strconv.Atoi(reTaskWarn.FindStringSubmatch(text)[1])
				out.Status = VzdumpWarnings
			}
			kinds[i] = kindJob
			final = true
			cur = -1
		case g == nil && reSkipExt.MatchString(text):
			out.SkippedExternal = append(out.SkippedExternal, parseVMIDList(reSkipExt.FindStringSubmatch(text)[1])...)
			kinds[i] = kindJob
		case text == "INFO: Backup job finished successfully" || text == "INFO: Backup job finished with errors":
			kinds[i] = kindJob
			cur = -1
		case reGuestFailed.MatchString(text):
			m := reGuestFailed.FindStringSubmatch(text)
			vmid, _ := strconv.Atoi(m[1])
			if g == nil || g.VMID != vmid {
				// A failure line for a guest whose section we did not see
				// (head cut off): open a section so the failure is not lost.
				out.Guests = append(out.Guests, GuestBackup{VMID: vmid, Status: GuestBackupUnknown, FirstLine: ln.N, LastLine: ln.N})
				cur = len(out.Guests) - 1
				g = &out.Guests[cur]
			}
			g.Status = GuestBackupFailed
			g.Reason = m[2]
			g.Errors = append(g.Errors, LogLine{N: ln.N, Text: text})
			kinds[i] = kindGuestError
		case reNotify.MatchString(text):
			out.NotificationErrors = append(out.NotificationErrors, LogLine{N: ln.N, Text: text})
			kinds[i] = kindNotify
		case strings.HasPrefix(text, "ERROR:"):
			if g != nil {
				g.Errors = append(g.Errors, LogLine{N: ln.N, Text: text})
				kinds[i] = kindGuestError
			} else {
				out.JobErrors = append(out.JobErrors, LogLine{N: ln.N, Text: text})
				kinds[i] = kindJobError
			}
		case strings.HasPrefix(text, "WARN:") || strings.HasPrefix(text, "WARNING:"):
			if g != nil {
				g.Warnings = append(g.Warnings, LogLine{N: ln.N, Text: text})
				kinds[i] = kindGuestWarning
			} else {
				out.JobWarnings = append(out.JobWarnings, LogLine{N: ln.N, Text: text})
				kinds[i] = kindJobWarning
			}
		case g != nil && strings.HasPrefix(text, "INFO: "):
			if !guestDetail(g, text, epoch) {
				unparsed(i)
				continue
			}
			kinds[i] = kindGuest
			if strings.HasPrefix(text, "INFO: Backup finished at ") || strings.HasPrefix(text, "INFO: Failed at ") {
				cur = -1
			}
		default:
			unparsed(i)
		}
	}

	for i := range out.Guests {
		g := &out.Guests[i]
		if g.Status == GuestBackupOK && len(g.Warnings) > 0 {
			g.Status = GuestBackupWarning
		}
		switch g.Status {
		case GuestBackupOK:
			out.GuestsOK++
		case GuestBackupWarning:
			out.GuestsWarning++
		case GuestBackupFailed:
			out.GuestsFailed++
		default:
			out.GuestsUnknown++
		}
		if g.StartedEpoch != 0 && (out.StartedEpoch == 0 || g.StartedEpoch < out.StartedEpoch) {
			out.StartedEpoch = g.StartedEpoch
		}
		if g.FinishedEpoch > out.FinishedEpoch {
			out.FinishedEpoch = g.FinishedEpoch
		}
	}
	if !sawStart {
		out.HeadMissing = true
	}
	if out.Status == "" {
		if opt.TaskEnded || (len(lines) == 1 && kinds[0] == kindNoContent) || len(lines) == 0 {
			out.Status = VzdumpTruncated
		} else {
			out.Status = VzdumpRunning
		}
	}
	return out, kinds
}

// guestDetail reads the INFO lines of a guest section that carry a fact. It
// returns false for a line that contradicts the section (another guest's
// finish line), which the caller keeps unparsed rather than misread.
func guestDetail(g *GuestBackup, text string, epoch func(string) int64) bool {
	if m := reFinishedAt.FindStringSubmatch(text); m != nil {
		g.Finished, g.FinishedEpoch = m[1], epoch(m[1])
		return true
	}
	if m := reFailedAt.FindStringSubmatch(text); m != nil {
		g.Finished, g.FinishedEpoch = m[1], epoch(m[1])
		g.Status = GuestBackupFailed
		return true
	}
	if m := reStartedAt.FindStringSubmatch(text); m != nil {
		g.Started, g.StartedEpoch = m[1], epoch(m[1])
		return true
	}
	if m := reGuestFinish.FindStringSubmatch(text); m != nil {
		if vmid, _ := strconv.Atoi(m[1]); vmid != g.VMID {
			return false
		}
		if g.Status != GuestBackupFailed {
			g.Status = GuestBackupOK
		}
		h, _ := strconv.ParseInt(m[2], 10, 64)
		mi, _ := strconv.ParseInt(m[3], 10, 64)
		s, _ := strconv.ParseInt(m[4], 10, 64)
		g.DurationSeconds = h*3600 + mi*60 + s
		return true
	}
	if m := reName.FindStringSubmatch(text); m != nil {
		g.Name = m[1]
		return true
	}
	if m := reState.FindStringSubmatch(text); m != nil {
		g.GuestState = m[1]
		return true
	}
	if m := rePBSArchive.FindStringSubmatch(text); m != nil {
		g.Archive, g.ArchivePBS = m[1], true
		return true
	}
	if m := reArchive.FindStringSubmatch(text); m != nil {
		g.Archive = m[1]
		return true
	}
	if m := reSize.FindStringSubmatch(text); m != nil {
		g.SizeBytes = parseHumanSize(m[1], m[2])
		return true
	}
	if m := reTransferred.FindStringSubmatch(text); m != nil {
		g.TransferredBytes = parseHumanSize(m[1], m[2])
	}
	return true
}

// parseHumanSize reads "5.12" "GB" as binary units (vzdump divides by 1024).
func parseHumanSize(num, unit string) uint64 {
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 {
		return 0
	}
	mult := 1.0
	if unit != "" {
		mult = binaryMult(unit[0])
	}
	return uint64(v * mult)
}

// parseVzdumpCommand fills the selection and options from the command line
// "vzdump 100 101 --storage x --mode snapshot --prune-backups 'keep-last=3'".
func parseVzdumpCommand(out *VzdumpLog, cmd string) {
	toks := shellFields(cmd)
	if len(toks) == 0 {
		return
	}
	toks = toks[1:] // "vzdump"
	opts := map[string]string{}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if strings.HasPrefix(t, "--") {
			key := strings.TrimPrefix(t, "--")
			val := ""
			if i+1 < len(toks) && !strings.HasPrefix(toks[i+1], "--") {
				val = toks[i+1]
				i++
			}
			opts[key] = val
			continue
		}
		out.VMIDs = append(out.VMIDs, parseVMIDList(t)...)
	}
	if v, ok := opts["vmid"]; ok {
		out.VMIDs = append(out.VMIDs, parseVMIDList(v)...)
	}
	if v, ok := opts["all"]; ok && v != "0" {
		out.All = true // "--all 1", or a bare "--all"
	}
	out.Exclude = parseVMIDList(opts["exclude"])
	out.Pool = opts["pool"]
	out.Node = opts["node"]
	out.Storage = opts["storage"]
	out.Mode = opts["mode"]
	if len(opts) > 0 {
		out.Options = opts
	}
}

// parseVMIDList reads "100,101 102" into numbers, skipping anything else.
func parseVMIDList(s string) []int {
	var out []int
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == ';' }) {
		if n, err := strconv.Atoi(f); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}

// shellFields splits on blanks, honouring single and double quotes as the
// Perl side quotes property strings.
func shellFields(s string) []string {
	var out []string
	var b strings.Builder
	in := rune(0)
	has := false
	for _, r := range s {
		switch {
		case in != 0:
			if r == in {
				in = 0
			} else {
				b.WriteRune(r)
			}
		case r == '\'' || r == '"':
			in, has = r, true
		case r == ' ' || r == '\t':
			if has {
				out = append(out, b.String())
				b.Reset()
				has = false
			}
		default:
			b.WriteRune(r)
			has = true
		}
	}
	if has {
		out = append(out, b.String())
	}
	return out
}

// Summary is a short outcome like "ok (7/7)", "failed (6/7)" or "running".
func (l VzdumpLog) Summary() string {
	n := len(l.Guests)
	good := l.GuestsOK + l.GuestsWarning
	switch l.Status {
	case VzdumpRunning, VzdumpTruncated, VzdumpError:
		if n == 0 {
			return l.Status
		}
	}
	return fmt.Sprintf("%s (%d/%d)", l.Status, good, n)
}

// Alerts warns about each guest that failed in this run, with its reason.
func (l VzdumpLog) Alerts() []Alert {
	var out []Alert
	for _, g := range l.Guests {
		if g.Status == GuestBackupFailed {
			out = append(out, Alert{Severity: SeverityWarning, Subject: GuestSubject(g.Kind, g.VMID), Metric: "backup",
				Message: fmt.Sprintf("backup of %s failed: %s", GuestLabel(g.VMID, g.Name), g.Reason), Basis: "ERROR line of this vzdump task log"})
		}
	}
	return out
}
