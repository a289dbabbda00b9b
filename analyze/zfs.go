package analyze

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ZFSVdev is one node of the vdev tree of GET /nodes/{node}/disks/zfs/{name}
// ("children"). Section headers (logs, cache, spares, special, dedup) have
// no State and no counters.
type ZFSVdev struct {
	Name     string    `json:"name"`
	State    string    `json:"state,omitempty"`
	Read     uint64    `json:"read"`
	Write    uint64    `json:"write"`
	Cksum    uint64    `json:"cksum"`
	Msg      string    `json:"msg,omitempty"`
	Leaf     bool      `json:"leaf"`
	Children []ZFSVdev `json:"children,omitempty"`
}

// ZFSPool combines a pool's row of GET /nodes/{node}/disks/zfs with its
// detail (nil when the detail was not read).
type ZFSPool struct {
	Node       string  `json:"node"`
	Name       string  `json:"name"`
	SizeBytes  uint64  `json:"size_bytes"`
	AllocBytes uint64  `json:"alloc_bytes"`
	FreeBytes  uint64  `json:"free_bytes"`
	FragPct    float64 `json:"frag_pct"`
	DedupRatio float64 `json:"dedup_ratio"`
	// Health is the list's "health" (ONLINE, DEGRADED, FAULTED, ...).
	Health string         `json:"health"`
	Detail *ZFSPoolDetail `json:"detail,omitempty"`
}

// ZFSPoolDetail is the pool detail: the "key: value" lines of zpool status.
type ZFSPoolDetail struct {
	State    string    `json:"state"`
	Status   string    `json:"status,omitempty"`
	Action   string    `json:"action,omitempty"`
	See      string    `json:"see,omitempty"`
	Scan     string    `json:"scan,omitempty"`
	Errors   string    `json:"errors,omitempty"`
	Children []ZFSVdev `json:"children,omitempty"`
}

// ScanInfo is the parsed "scan" text of a pool.
type ScanInfo struct {
	// Kind is "scrub", "resilver", "none" (never scanned) or "unknown".
	Kind string `json:"kind"`
	// State is "finished", "in_progress", "canceled", "paused", "none" or
	// "unknown".
	State         string `json:"state"`
	RepairedBytes uint64 `json:"repaired_bytes,omitempty"`
	// Errors is the "with N errors" count of a finished scan.
	Errors          int64 `json:"errors,omitempty"`
	DurationSeconds int64 `json:"duration_seconds,omitempty"`
	// When is the finish (or cancel/start for in-progress) time as printed;
	// WhenEpoch the same read in ZFSOptions.Location (0 if unreadable).
	When        string  `json:"when,omitempty"`
	WhenEpoch   int64   `json:"when_epoch,omitempty"`
	ProgressPct float64 `json:"progress_pct,omitempty"`
	ToGo        string  `json:"to_go,omitempty"`
	Text        string  `json:"text,omitempty"`
}

var (
	reScanDone     = regexp.MustCompile(`^(scrub repaired|resilvered) (\S+) in (?:(\d+) days? )?(\d+):(\d{2}):(\d{2}) with (\d+) errors? on (.+)$`)
	reScanProgress = regexp.MustCompile(`^(scrub|resilver) in progress since (\w{3} \w{3} \d{1,2} \d{2}:\d{2}:\d{2} \d{4})`)
	reScanCanceled = regexp.MustCompile(`^(scrub|resilver) canceled on (.+)$`)
	reScanPaused   = regexp.MustCompile(`^(scrub|resilver) paused since (.+?)(?: \d|$)`)
	reScanPct      = regexp.MustCompile(`([\d.]+)% done`)
	reScanToGo     = regexp.MustCompile(`((?:\d+ days? )?\d+:\d{2}:\d{2}) to go`)
	reScanRepaired = regexp.MustCompile(`(\S+) repaired`)
	reZFSDate      = regexp.MustCompile(`\w{3} \w{3} \d{1,2} \d{2}:\d{2}:\d{2} \d{4}`)
	reDataErrors   = regexp.MustCompile(`^(\d+) data errors?`)
)

func zfsTime(s string, loc *time.Location) int64 {
	d := reZFSDate.FindString(s)
	if d == "" {
		return 0
	}
	t, err := time.ParseInLocation("Mon Jan 2 15:04:05 2006", d, loc)
	if err != nil {
		return 0
	}
	return t.Unix()
}

// ParseZFSSize reads zpool's short sizes ("0B", "1.21G", "800G", "12.5M",
// "1.80T"): binary units.
func ParseZFSSize(s string) uint64 {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimSuffix(s, "iB"), "B")
	if s == "" {
		return 0
	}
	mult := binaryMult(s[len(s)-1])
	if mult != 1 {
		s = s[:len(s)-1]
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || !finite(v) {
		return 0
	}
	return uint64(v * mult)
}

// binaryMult is what a size's unit letter multiplies by (K, M, G, T, P,
// E: powers of 1024); 1 for any other byte.
func binaryMult(unit byte) float64 {
	switch unit {
	case 'K':
		return 1 << 10
	case 'M':
		return 1 << 20
	case 'G':
		return 1 << 30
	case 'T':
		return 1 << 40
	case 'P':
		return 1 << 50
	case 'E':
		return 1 << 60
	}
	return 1
}

// ParseScan reads a pool's "scan" text (continuation lines joined with
// spaces). Times are read in loc (nil: UTC).
func ParseScan(text string, loc *time.Location) ScanInfo {
	if loc == nil {
		loc = time.UTC
	}
	t := strings.Join(strings.Fields(text), " ")
	si := ScanInfo{Kind: "unknown", State: "unknown", Text: t}
	if t == "" || t == "none requested" {
		si.Kind, si.State = "none", "none"
		return si
	}
	if m := reScanDone.FindStringSubmatch(t); m != nil {
		si.Kind = "scrub"
		if m[1] == "resilvered" {
			si.Kind = "resilver"
		}
		si.State = "finished"
		si.RepairedBytes = ParseZFSSize(m[2])
		days, _ := strconv.ParseInt(m[3], 10, 64)
		h, _ := strconv.ParseInt(m[4], 10, 64)
		mi, _ := strconv.ParseInt(m[5], 10, 64)
		sec, _ := strconv.ParseInt(m[6], 10, 64)
		si.DurationSeconds = days*86400 + h*3600 + mi*60 + sec
		si.Errors, _ = strconv.ParseInt(m[7], 10, 64)
		si.When = m[8]
		si.WhenEpoch = zfsTime(m[8], loc)
		return si
	}
	if m := reScanProgress.FindStringSubmatch(t); m != nil {
		si.Kind, si.State = m[1], "in_progress"
		si.When = m[2]
		si.WhenEpoch = zfsTime(m[2], loc)
		if p := reScanPct.FindStringSubmatch(t); p != nil {
			si.ProgressPct, _ = strconv.ParseFloat(p[1], 64)
		}
		if g := reScanToGo.FindStringSubmatch(t); g != nil {
			si.ToGo = strings.TrimSpace(g[1])
		}
		if r := reScanRepaired.FindStringSubmatch(t); r != nil {
			si.RepairedBytes = ParseZFSSize(r[1])
		}
		return si
	}
	if m := reScanCanceled.FindStringSubmatch(t); m != nil {
		si.Kind, si.State, si.When = m[1], "canceled", m[2]
		si.WhenEpoch = zfsTime(m[2], loc)
		return si
	}
	if m := reScanPaused.FindStringSubmatch(t); m != nil {
		si.Kind, si.State = m[1], "paused"
		si.When = reZFSDate.FindString(t)
		si.WhenEpoch = zfsTime(t, loc)
		return si
	}
	return si
}

// ErrorsInfo is the parsed "errors" text.
type ErrorsInfo struct {
	// Clean is true for "No known data errors".
	Clean bool `json:"clean"`
	// Count is N of "N data errors", -1 when errors exist but are not counted
	// (e.g. "Permanent errors have been detected ...").
	Count int64  `json:"count"`
	Text  string `json:"text,omitempty"`
}

// ParseErrors reads a pool's "errors" text. An empty text is unknown, not
// clean.
func ParseErrors(text string) ErrorsInfo {
	t := strings.TrimSpace(text)
	switch {
	case t == "":
		return ErrorsInfo{Count: -1}
	case strings.EqualFold(t, "No known data errors"):
		return ErrorsInfo{Clean: true, Text: t}
	}
	if m := reDataErrors.FindStringSubmatch(t); m != nil {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		return ErrorsInfo{Count: n, Text: t}
	}
	return ErrorsInfo{Count: -1, Text: t}
}

// VdevProblem is a vdev tree member that is not healthy: not ONLINE (or
// AVAIL/INUSE for a spare), or with non-zero error counters.
type VdevProblem struct {
	// Path is the position in the tree, e.g. "rpool/mirror-0/<device>".
	Path    string `json:"path"`
	Name    string `json:"name"`
	Section string `json:"section,omitempty"` // logs, cache, spares, special, dedup
	State   string `json:"state,omitempty"`
	Read    uint64 `json:"read,omitempty"`
	Write   uint64 `json:"write,omitempty"`
	Cksum   uint64 `json:"cksum,omitempty"`
	Msg     string `json:"msg,omitempty"`
	Leaf    bool   `json:"leaf"`
}

var vdevSections = map[string]bool{"logs": true, "cache": true, "spares": true, "special": true, "dedup": true}

// WalkVdevs lists the problems of a vdev tree, depth first.
func WalkVdevs(children []ZFSVdev) []VdevProblem {
	var out []VdevProblem
	var walk func(v ZFSVdev, path, section string)
	walk = func(v ZFSVdev, path, section string) {
		p := v.Name
		if path != "" {
			p = path + "/" + v.Name
		}
		header := v.State == "" && !v.Leaf
		if !header {
			bad := false
			switch strings.ToUpper(v.State) {
			case "ONLINE":
			case "AVAIL", "INUSE":
				bad = section != "spares"
			default:
				bad = true
			}
			if bad || v.Read+v.Write+v.Cksum > 0 {
				out = append(out, VdevProblem{Path: p, Name: v.Name, Section: section, State: v.State,
					Read: v.Read, Write: v.Write, Cksum: v.Cksum, Msg: v.Msg, Leaf: v.Leaf})
			}
		}
		for _, c := range v.Children {
			walk(c, p, section)
		}
	}
	for _, c := range children {
		sec := ""
		if c.State == "" && vdevSections[c.Name] {
			sec = c.Name
		}
		walk(c, "", sec)
	}
	return out
}

// ZFSOptions tune EvaluatePool. Zero values take the defaults.
type ZFSOptions struct {
	// ScrubMaxAgeDays: a last scrub older than this is a warning (default 35,
	// a missed monthly scrub).
	ScrubMaxAgeDays float64
	// FragWarnPct: fragmentation at or above is a warning (default 50).
	FragWarnPct float64
	// CapacityWarnPct: allocation at or above is a warning (default 80,
	// where ZFS write performance starts to suffer).
	CapacityWarnPct float64
	// Location of the node's clock for scan times (nil: UTC).
	Location *time.Location
}

// ZFSVerdict is a pool's health verdict.
type ZFSVerdict struct {
	Node     string        `json:"node"`
	Pool     string        `json:"pool"`
	State    string        `json:"state"`
	Severity Severity      `json:"severity"`
	Reasons  []string      `json:"reasons,omitempty"`
	UsedPct  float64       `json:"used_pct"`
	FragPct  float64       `json:"frag_pct"`
	Scan     *ScanInfo     `json:"scan,omitempty"`
	Errors   *ErrorsInfo   `json:"errors,omitempty"`
	Problems []VdevProblem `json:"problems,omitempty"`
	// ScrubAgeDays is the age of the last finished scrub (0 if none).
	ScrubAgeDays float64 `json:"scrub_age_days,omitempty"`
	// Guidance holds host commands for a human to run; pvemcp never runs them.
	Guidance []string `json:"guidance,omitempty"`
}

var badPoolStates = map[string]bool{"FAULTED": true, "UNAVAIL": true, "SUSPENDED": true, "REMOVED": true, "OFFLINE": true}

// EvaluatePool gives a pool its severity with reasons: ONLINE and clean is
// ok; ONLINE with errors, non-zero counters, fragmentation, fill, or an old
// (or missing) scrub is a warning; DEGRADED, FAULTED, UNAVAIL and other
// unusable states are critical.
func EvaluatePool(p ZFSPool, nowEpoch int64, opt ZFSOptions) ZFSVerdict {
	if opt.ScrubMaxAgeDays <= 0 {
		opt.ScrubMaxAgeDays = 35
	}
	if opt.FragWarnPct <= 0 {
		opt.FragWarnPct = 50
	}
	if opt.CapacityWarnPct <= 0 {
		opt.CapacityWarnPct = 80
	}
	loc := opt.Location
	if loc == nil {
		loc = time.UTC
	}
	state := strings.ToUpper(p.Health)
	if p.Detail != nil && p.Detail.State != "" {
		state = strings.ToUpper(p.Detail.State)
	}
	v := ZFSVerdict{Node: p.Node, Pool: p.Name, State: state, Severity: SeverityOK, FragPct: p.FragPct}
	if p.SizeBytes > 0 {
		v.UsedPct = round1(Pct(float64(p.AllocBytes), float64(p.SizeBytes)))
	}
	raise := func(s Severity, reason string) {
		v.Severity = v.Severity.Max(s)
		v.Reasons = append(v.Reasons, reason)
	}
	switch {
	case state == "ONLINE":
	case state == "DEGRADED":
		raise(SeverityCritical, "pool is DEGRADED: it runs without full redundancy")
	case badPoolStates[state]:
		raise(SeverityCritical, "pool is "+state)
	case state == "":
		raise(SeverityWarning, "pool state unknown")
	default:
		raise(SeverityCritical, "pool state "+state)
	}
	if p.Detail != nil {
		d := p.Detail
		v.Problems = WalkVdevs(d.Children)
		var counters int
		var counterNames []string
		for _, pr := range v.Problems {
			if pr.Read+pr.Write+pr.Cksum > 0 {
				counters++
				if pr.Leaf {
					counterNames = append(counterNames, fmt.Sprintf("%s (read %d, write %d, cksum %d)", pr.Name, pr.Read, pr.Write, pr.Cksum))
				}
			}
			if pr.Leaf && pr.State != "" && !strings.EqualFold(pr.State, "ONLINE") && !(pr.Section == "spares" && (pr.State == "AVAIL" || pr.State == "INUSE")) {
				raise(SeverityWarning, fmt.Sprintf("member %s is %s", pr.Name, pr.State)+msgSuffix(pr.Msg))
			}
		}
		if len(counterNames) > 0 {
			raise(SeverityWarning, fmt.Sprintf("%d device(s) show errors: %s", len(counterNames), strings.Join(counterNames, ", ")))
		} else if counters > 0 {
			raise(SeverityWarning, "vdev error counters are not zero")
		}
		e := ParseErrors(d.Errors)
		v.Errors = &e
		if !e.Clean && d.Errors != "" {
			raise(SeverityWarning, "data errors: "+e.Text)
		}
		s := ParseScan(d.Scan, loc)
		v.Scan = &s
		switch {
		case s.Kind == "scrub" && s.State == "finished":
			if s.WhenEpoch > 0 {
				v.ScrubAgeDays = round1(float64(nowEpoch-s.WhenEpoch) / 86400)
				if v.ScrubAgeDays > opt.ScrubMaxAgeDays {
					raise(SeverityWarning, fmt.Sprintf("last scrub %.0f days ago (more than %.0f)", v.ScrubAgeDays, opt.ScrubMaxAgeDays))
				}
			}
			if s.Errors > 0 {
				raise(SeverityWarning, fmt.Sprintf("last scrub found %d errors", s.Errors))
			}
		case s.Kind == "none":
			raise(SeverityWarning, "never scrubbed")
		case s.State == "canceled":
			raise(SeverityWarning, "last scrub was canceled")
		case s.Kind == "resilver" && s.State == "in_progress":
			raise(SeverityWarning, fmt.Sprintf("resilver in progress (%.1f%% done)", s.ProgressPct))
		}
	}
	if p.FragPct >= opt.FragWarnPct {
		raise(SeverityWarning, fmt.Sprintf("fragmentation %.0f%% (at or above %.0f%%)", p.FragPct, opt.FragWarnPct))
	}
	if v.UsedPct >= opt.CapacityWarnPct {
		raise(SeverityWarning, fmt.Sprintf("pool %.0f%% full (ZFS slows down above %.0f%%)", v.UsedPct, opt.CapacityWarnPct))
	}
	v.Guidance = poolGuidance(p, v)
	return v
}

func msgSuffix(m string) string {
	if m == "" {
		return ""
	}
	return " (" + m + ")"
}

// poolGuidance returns the host commands a human should run, as text.
func poolGuidance(p ZFSPool, v ZFSVerdict) []string {
	if v.Severity == SeverityOK {
		return nil
	}
	var g []string
	unhealthy := v.State != "ONLINE" || len(v.Problems) > 0 || (v.Errors != nil && !v.Errors.Clean && v.Errors.Text != "")
	if unhealthy {
		g = append(g, fmt.Sprintf("Run `zpool status -v %s` on %s to see the affected devices and files.", p.Name, p.Node))
	}
	replaceHint := p.Detail != nil && strings.Contains(p.Detail.Action, "zpool replace")
	for _, pr := range v.Problems {
		if !pr.Leaf {
			continue
		}
		switch strings.ToUpper(pr.State) {
		case "FAULTED", "UNAVAIL", "REMOVED", "DEGRADED":
			replaceHint = true
		}
	}
	if replaceHint {
		dev := "<failed-device>"
		for _, pr := range v.Problems {
			if pr.Leaf && pr.Section == "" && !strings.EqualFold(pr.State, "ONLINE") {
				dev = pr.Name
				break
			}
		}
		g = append(g, fmt.Sprintf("After checking the disk's SMART data and fitting a new disk, replace the member with `zpool replace %s %s <new-device>` on %s (for a boot pool, copy the partition layout and set up the boot loader first, as the Proxmox ZFS documentation describes).", p.Name, dev, p.Node))
	} else if len(v.Problems) > 0 && v.State == "ONLINE" {
		g = append(g, fmt.Sprintf("If the disks' SMART data is clean, `zpool clear %s` on %s resets the error counters; watch whether they return.", p.Name, p.Node))
	}
	if v.Scan != nil && v.Scan.State != "in_progress" && (v.Scan.Kind == "none" || v.Scan.State == "canceled" || v.ScrubAgeDays > 0 && hasReason(v.Reasons, "last scrub")) {
		g = append(g, fmt.Sprintf("Start a scrub with `zpool scrub %s` on %s.", p.Name, p.Node))
	}
	return g
}

func hasReason(r []string, prefix string) bool {
	for _, s := range r {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// Alert turns a verdict into an alert, nil when the pool is ok.
func (v ZFSVerdict) Alert() *Alert {
	if v.Severity == SeverityOK {
		return nil
	}
	msg := fmt.Sprintf("%s/%s is %s", v.Node, v.Pool, v.State)
	// The first reason restates the state ("pool is DEGRADED: ..."): keep
	// only what it adds, so the message does not say the state twice.
	reasons := append([]string(nil), v.Reasons...)
	if len(reasons) > 0 {
		if rest, ok := strings.CutPrefix(reasons[0], "pool is "+v.State); ok {
			reasons[0] = strings.TrimPrefix(rest, ": ")
			if reasons[0] == "" {
				reasons = reasons[1:]
			}
		}
	}
	if len(reasons) > 0 {
		msg += ": " + joinReasons(reasons)
	}
	// Value counts the findings: a pool state has no natural number.
	return &Alert{Severity: v.Severity, Subject: v.Node + "/" + v.Pool, Metric: "zfs_findings", Value: float64(len(v.Reasons)),
		Message: msg, Basis: "zpool state, vdev counters, scan and errors from /nodes/{node}/disks/zfs/{pool}"}
}

// Disk is a disk of GET /nodes/{node}/disks/list.
type Disk struct {
	Node    string `json:"node"`
	DevPath string `json:"devpath"`
	ByID    string `json:"by_id_link,omitempty"`
	Model   string `json:"model,omitempty"`
	Serial  string `json:"serial,omitempty"`
	Type    string `json:"type,omitempty"`
	// Health is PASSED, OK (SAS), FAILED, UNKNOWN or "SMART Disabled".
	Health string `json:"health"`
	// WearoutRemainingPct is "wearout" (remaining life, 100 = new); nil when
	// the API says "N/A". See ParseWearout.
	WearoutRemainingPct *float64 `json:"wearout_remaining_pct,omitempty"`
}

// ParseWearout reads the API's wearout value as text ("97", "N/A").
func ParseWearout(s string) *float64 {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || !finite(v) {
		return nil
	}
	return &v
}

// DiskThresholds: remaining life at or below Warn is a warning, at or below
// Critical is critical (defaults 20 and 10).
type DiskThresholds struct {
	WarnRemainingPct     float64
	CriticalRemainingPct float64
}

// DiskVerdict is a disk's SMART verdict.
type DiskVerdict struct {
	Node    string `json:"node"`
	DevPath string `json:"devpath"`
	// Model and Serial name the disk in its alert.
	Model    string   `json:"model,omitempty"`
	Serial   string   `json:"serial,omitempty"`
	Severity Severity `json:"severity"`
	Reasons  []string `json:"reasons,omitempty"`
}

// EvaluateDisk judges SMART health and wearout.
func EvaluateDisk(d Disk, t DiskThresholds) DiskVerdict {
	if t.WarnRemainingPct <= 0 {
		t.WarnRemainingPct = 20
	}
	if t.CriticalRemainingPct <= 0 {
		t.CriticalRemainingPct = 10
	}
	v := DiskVerdict{Node: d.Node, DevPath: d.DevPath, Model: d.Model, Serial: d.Serial, Severity: SeverityOK}
	switch h := strings.ToUpper(strings.TrimSpace(d.Health)); h {
	case "PASSED", "OK":
	case "FAILED":
		v.Severity = SeverityCritical
		v.Reasons = append(v.Reasons, "SMART health FAILED")
	default:
		v.Severity = SeverityInfo
		if h == "" {
			h = "not reported"
		}
		v.Reasons = append(v.Reasons, "SMART health "+h)
	}
	if w := d.WearoutRemainingPct; w != nil {
		switch {
		case *w <= t.CriticalRemainingPct:
			v.Severity = v.Severity.Max(SeverityCritical)
			v.Reasons = append(v.Reasons, fmt.Sprintf("%.0f%% life remaining", *w))
		case *w <= t.WarnRemainingPct:
			v.Severity = v.Severity.Max(SeverityWarning)
			v.Reasons = append(v.Reasons, fmt.Sprintf("%.0f%% life remaining", *w))
		}
	}
	return v
}

// MatchDiskToVdev finds the disk of a vdev leaf name ("/dev/disk/by-id/...-part3",
// "/dev/sda1", or a by-id name without a partition suffix); nil if none.
func MatchDiskToVdev(leaf string, disks []Disk) *Disk {
	best, bestLen := -1, 0
	for i, d := range disks {
		for _, p := range []string{d.ByID, d.DevPath} {
			if p == "" || !strings.HasPrefix(leaf, p) {
				continue
			}
			rest := leaf[len(p):]
			// Only an exact match or a partition suffix counts: /dev/sda must
			// not match /dev/sdaa.
			if rest == "" || strings.HasPrefix(rest, "-part") || (rest[0] >= '0' && rest[0] <= '9') || (rest[0] == 'p' && len(rest) > 1 && rest[1] >= '0' && rest[1] <= '9') {
				if len(p) > bestLen {
					best, bestLen = i, len(p)
				}
			}
		}
	}
	if best < 0 {
		return nil
	}
	return &disks[best]
}

// Alert words a disk's verdict: the one alert for a disk, whichever tool
// reports it (list_disks for every disk, zfs_health for a pool's member
// disks), so the same fact reads the same. Nil when the disk is ok or only
// its SMART status is unknown (info). Value counts the findings (failed or
// unreadable SMART, worn out); the message names the disk by node, device,
// model and serial, then the findings.
func (v DiskVerdict) Alert() *Alert {
	if v.Severity.Rank() < SeverityWarning.Rank() {
		return nil
	}
	var id []string
	if v.Model != "" {
		id = append(id, v.Model)
	}
	if v.Serial != "" {
		id = append(id, "serial "+v.Serial)
	}
	name := v.Node + " " + v.DevPath
	if len(id) > 0 {
		name += " (" + strings.Join(id, ", ") + ")"
	}
	return &Alert{Severity: v.Severity, Subject: v.Node + ":" + v.DevPath, Metric: "disk_health", Value: float64(len(v.Reasons)),
		Message: name + ": " + joinReasons(v.Reasons), Basis: "health and wearout from /nodes/{node}/disks/list"}
}
