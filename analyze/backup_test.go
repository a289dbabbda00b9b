package analyze

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func epochOf(s string) int64 {
	t, err := time.Parse("2006-01-02 15:04:05", s)
	if err != nil {
		panic(err)
	}
	return t.Unix()
}

func parsed(lines []LogLine) *VzdumpLog {
	l := ParseVzdumpLog(lines, VzdumpParseOptions{TaskEnded: true})
	return &l
}

func TestBackupStatusDemo(t *testing.T) {
	jobs := []BackupJob{
		{ID: "backup-01", Schedule: "01:00", Storage: "backup-pool", Mode: "snapshot", Enabled: true, VMIDs: []int{100, 200}},
		{ID: "backup-02", Schedule: "02:00", Storage: "nfs-backup", Mode: "snapshot", Enabled: true, VMIDs: []int{100, 101, 102, 103, 104, 105, 106}},
		{ID: "backup-03", Schedule: "sun 03:00", Storage: "backup-pool", Mode: "snapshot", Enabled: false, All: true},
	}
	guests := []GuestRef{
		{VMID: 100, Name: "dc01-win2022", Type: "qemu", Node: "pve-node01"},
		{VMID: 103, Name: "docker-host-01", Type: "qemu", Node: "pve-node01"},
		{VMID: 200, Name: "nginx-proxy", Type: "lxc", Node: "pve-node01"},
		{VMID: 300, Name: "scratch", Type: "qemu", Node: "pve-node02"},
		{VMID: 9000, Name: "tmpl", Type: "qemu", Node: "pve-node02", Template: true},
	}
	ok01 := parsed(readLog(t, "qemu_lxc_ok.log"))
	fail02 := parsed(sevenGuestsOneFailed())
	manual := parsed(linesFromText("INFO: starting new backup job: vzdump 300 --storage local --mode stop\nINFO: Starting Backup of VM 300 (qemu)\nINFO: Backup started at 2026-02-22 14:00:00\nINFO: Finished Backup of VM 300 (00:00:10)\nINFO: Backup finished at 2026-02-22 14:00:10\nINFO: Backup job finished successfully\nTASK OK\n"))
	runs := []BackupRun{
		{Node: "pve-node01", UPID: "UPID:a", StartEpoch: epochOf("2026-02-21 02:00:02"), EndEpoch: epochOf("2026-02-21 02:47:10"), Status: "job errors", Log: fail02},
		{Node: "pve-node01", UPID: "UPID:b", StartEpoch: epochOf("2026-02-23 01:00:01"), EndEpoch: epochOf("2026-02-23 01:01:45"), Status: "OK", Log: ok01},
		{Node: "pve-node02", UPID: "UPID:c", StartEpoch: epochOf("2026-02-22 14:00:00"), EndEpoch: epochOf("2026-02-22 14:00:10"), Status: "OK", Log: manual},
		{Node: "pve-node02", UPID: "UPID:d", StartEpoch: epochOf("2026-02-22 02:03:00"), EndEpoch: epochOf("2026-02-22 02:10:00"), Status: "OK"}, // log not read
	}
	now := epochOf("2026-02-23 12:00:00")
	rep := BackupStatus(jobs, runs, guests, now, BackupOptions{})

	byID := map[string]JobReport{}
	for _, j := range rep.Jobs {
		byID[j.Job.ID] = j
	}
	if j := byID["backup-01"]; j.Outcome != OutcomeOK || j.Counts != "2/2" || j.LastRun.UPID != "UPID:b" {
		t.Fatalf("backup-01 %+v", j)
	}
	j2 := byID["backup-02"]
	// The unread run on node02 at 02:03 matches backup-02 by schedule and is the newest.
	if j2.Runs != 2 || j2.LastRun.UPID != "UPID:d" || j2.LastRun.MatchBasis == "" {
		t.Fatalf("backup-02 runs %+v", j2)
	}
	if j := byID["backup-03"]; j.Outcome != OutcomeNever || j.Selection != "all guests" {
		t.Fatalf("backup-03 %+v", j)
	}
	if len(rep.ManualRuns) != 1 || rep.ManualRuns[0].UPID != "UPID:c" {
		t.Fatalf("manual %+v", rep.ManualRuns)
	}
	var g103 GuestBackupState
	for _, g := range rep.Guests {
		if g.VMID == 103 {
			g103 = g
		}
	}
	if g103.LastFailure != "vzdump: backup size 201 GB exceeds storage limit" || g103.LastSuccessEpoch != 0 || !g103.Stale {
		t.Fatalf("103 %+v", g103)
	}
	if len(rep.Uncovered) != 1 || rep.Uncovered[0].VMID != 300 {
		t.Fatalf("uncovered %+v", rep.Uncovered)
	}
	var staleIDs []int
	for _, s := range rep.Stale {
		staleIDs = append(staleIDs, s.VMID)
	}
	if len(staleIDs) != 1 || staleIDs[0] != 103 {
		t.Fatalf("stale %v", staleIDs)
	}
}

func TestBackupOutcomeFromSevenGuests(t *testing.T) {
	jobs := []BackupJob{{ID: "backup-02", Schedule: "02:00", Storage: "nfs-backup", Mode: "snapshot", Enabled: true, VMIDs: []int{100, 101, 102, 103, 104, 105, 106}}}
	runs := []BackupRun{{Node: "pve-node01", UPID: "UPID:a", StartEpoch: epochOf("2026-02-21 02:00:02"), EndEpoch: epochOf("2026-02-21 02:47:10"), Log: parsed(sevenGuestsOneFailed())}}
	guests := []GuestRef{{VMID: 103, Name: "docker-host-01", Type: "qemu", Node: "pve-node01"}}
	rep := BackupStatus(jobs, runs, guests, epochOf("2026-02-21 12:00:00"), BackupOptions{})
	j := rep.Jobs[0]
	if j.Outcome != OutcomeWarn || j.Counts != "6/7" || len(j.LastRun.Failures) != 1 {
		t.Fatalf("%+v", j)
	}
	var found bool
	for _, a := range rep.Alerts {
		if a.Subject == "vm/103" && a.Metric == "backup" {
			found = strings.Contains(a.Message, `backup-02: VM 103 (docker-host-01) failed. Error: "vzdump: backup size 201 GB exceeds storage limit"`)
		}
	}
	if !found {
		t.Fatalf("alerts %+v", rep.Alerts)
	}
}

func TestMatchRunToJob(t *testing.T) {
	jobs := []BackupJob{
		{ID: "a", Schedule: "21:00", Storage: "local", VMIDs: []int{101, 102}, Mode: "stop"},
		{ID: "b", Schedule: "sun 01:00", Storage: "nfs", All: true, Exclude: []int{105}},
		{ID: "c", Schedule: "*/30", Storage: "nfs", Pool: "prod"},
		{ID: "d", Schedule: "03:00", Storage: "local", All: true, Node: "pve2"},
	}
	mk := func(cmd string, start string) BackupRun {
		l := ParseVzdumpLog(linesFromText("INFO: starting new backup job: "+cmd+"\n"), VzdumpParseOptions{})
		return BackupRun{StartEpoch: epochOf(start), Log: &l}
	}
	tests := []struct {
		run  BackupRun
		want string
	}{
		{mk("vzdump 101 102 --storage local --mode stop", "2026-02-20 21:00:01"), "a"},
		{mk("vzdump 102 --storage local --mode stop", "2026-02-20 21:00:01"), "a"}, // local subset
		{mk("vzdump 101 102 --storage other", "2026-02-20 21:00:01"), ""},
		{mk("vzdump --all 1 --exclude 105 --storage nfs --node pve1", "2026-02-22 01:00:01"), "b"},
		{mk("vzdump --pool prod --storage nfs", "2026-02-22 01:30:00"), "c"},
		{mk("vzdump 999 --storage local", "2026-02-22 01:30:00"), ""},
		{mk("vzdump --all --exclude 105 --storage nfs", "2026-02-22 01:00:01"), "b"}, // bare --all
		{mk("vzdump --all 1 --storage local --node pve2", "2026-02-22 03:00:05"), "d"},
		{func() BackupRun {
			r := mk("vzdump --all 1 --storage local", "2026-02-22 03:00:05")
			r.Node = "pve1"
			return r
		}(), ""}, // d runs on pve2 only
		{BackupRun{StartEpoch: epochOf("2026-02-20 21:04:00")}, "a"},
		{BackupRun{StartEpoch: epochOf("2026-02-20 22:00:00")}, ""},
	}
	for i, tc := range tests {
		if got, _ := MatchRunToJob(tc.run, jobs, nil); got != tc.want {
			t.Errorf("case %d: got %q, want %q", i, got, tc.want)
		}
	}
	if m, ok := scheduleMinuteOfDay("mon..fri 21:30"); !ok || m != 21*60+30 {
		t.Fatal(m, ok)
	}
}

func TestStaleLimitHours(t *testing.T) {
	j := func(s string) BackupJob { return BackupJob{Schedule: s} }
	for _, c := range []struct {
		jobs []BackupJob
		want float64
	}{
		{[]BackupJob{j("02:00")}, 48}, {[]BackupJob{j("sun 03:00")}, 192}, {[]BackupJob{j("mon..fri 21:00")}, 48},
		{[]BackupJob{j("monthly")}, 768}, {[]BackupJob{j("weekly")}, 192}, {[]BackupJob{j("sun 03:00"), j("02:00")}, 48},
		{[]BackupJob{j("mon,thu 01:00")}, 192}, {[]BackupJob{j("MON 01:00")}, 192}, {nil, 48},
	} {
		if got := StaleLimitHours(c.jobs); got != c.want {
			t.Errorf("%+v: %v, want %v", c.jobs, got, c.want)
		}
	}
}

// jobRun is a run of a job over vmids at start (UTC), the guests in fail
// failing with their reason.
func jobRun(node, upid, cmd string, start time.Time, vmids []int, fail map[int]string) BackupRun {
	parts := [][]string{{"INFO: starting new backup job: vzdump " + cmd}}
	for i, id := range vmids {
		parts = append(parts, guestSection(id, "qemu", fmt.Sprintf("vm-%d", id), start.Add(time.Duration(i)*2*time.Minute).Format("2006-01-02 15:04:05"), fail[id]))
	}
	status := "OK"
	if len(fail) > 0 {
		parts = append(parts, []string{"INFO: Backup job finished with errors", "TASK ERROR: job errors"})
		status = "job errors"
	} else {
		parts = append(parts, []string{"INFO: Backup job finished successfully", "TASK OK"})
	}
	return BackupRun{Node: node, UPID: upid, StartEpoch: start.Unix(), EndEpoch: start.Add(time.Hour).Unix(), Status: status, Log: parsed(joinLog(parts...))}
}

func TestBackupStalenessBySchedule(t *testing.T) {
	now := time.Date(2026, 2, 23, 12, 0, 0, 0, time.UTC)
	day := func(d int) time.Time { return time.Date(2026, 2, 23+d, 2, 0, 0, 0, time.UTC) }
	jobs := []BackupJob{
		{ID: "daily", Schedule: "02:00", Storage: "nfs", Enabled: true, VMIDs: []int{100, 101, 102}},
		{ID: "weekly", Schedule: "sun 03:00", Storage: "nfs", Enabled: true, VMIDs: []int{200}},
		{ID: "off", Schedule: "03:00", Storage: "nfs", VMIDs: []int{300}},
	}
	guests := []GuestRef{{VMID: 100, Type: "qemu"}, {VMID: 101, Type: "qemu"}, {VMID: 102, Name: "ct", Type: "lxc"}, {VMID: 200, Type: "qemu"},
		{VMID: 300, Type: "qemu"}, {VMID: 900, Type: "qemu", Template: true}}
	runs := []BackupRun{
		// 100 backed up three days ago (daily: stale), 101 yesterday, 102 never.
		jobRun("n1", "UPID:d3", "100 --storage nfs", day(-3), []int{100}, nil),
		jobRun("n1", "UPID:d1", "101 --storage nfs", day(-1), []int{101}, nil),
		// 200 five days ago: fresh for a weekly job.
		{Node: "n1", UPID: "UPID:w", StartEpoch: day(-5).Add(time.Hour).Unix(), EndEpoch: day(-5).Add(2 * time.Hour).Unix(), Status: "OK",
			Log: jobRun("n1", "", "200 --storage nfs", day(-5).Add(time.Hour), []int{200}, nil).Log},
		// A run whose log was not read.
		{Node: "n2", UPID: "UPID:unread", StartEpoch: day(-2).Unix(), EndEpoch: day(-2).Add(time.Minute).Unix(), Status: "OK"},
	}
	stale := func(rep BackupReport) map[int]GuestBackupState {
		out := map[int]GuestBackupState{}
		for _, s := range rep.Stale {
			out[s.VMID] = s
		}
		return out
	}
	alert := func(rep BackupReport, subject string) *Alert {
		for i, a := range rep.Alerts {
			if a.Subject == subject && a.Metric == "backup_age_hours" {
				return &rep.Alerts[i]
			}
		}
		return nil
	}

	rep := BackupStatus(jobs, runs, guests, now.Unix(), BackupOptions{WindowDays: 7})
	st := stale(rep)
	if len(st) != 2 || st[100].LimitHours != 48 || st[100].AgeHours != 82 || st[102].AgeHours != 0 || st[102].LimitHours != 48 {
		t.Fatalf("stale %+v", rep.Stale)
	}
	if a := alert(rep, "vm/100"); a == nil || a.Message != "VM 100 (vm-100) last backed up 3.4 days ago (limit 48 h)" || a.Value != 82 || a.Threshold != 48 {
		t.Errorf("100: %+v", a)
	}
	if a := alert(rep, "ct/102"); a == nil || a.Message != "VM 102 (ct) has no successful backup in the runs examined (7 days); "+
		"older runs that ended OK were judged by task status only (logs=all reads them)" || a.Severity != SeverityWarning {
		t.Errorf("102: %+v", a)
	}
	if rep.LogsRead != 3 || !strings.Contains(rep.Basis, "3 of 4 logs read") {
		t.Errorf("logs read %d, basis %q", rep.LogsRead, rep.Basis)
	}
	if len(rep.Uncovered) != 1 || rep.Uncovered[0].VMID != 300 {
		t.Errorf("uncovered %+v", rep.Uncovered)
	}

	// One limit for every guest: 200 (five days) is stale at 100 h, 101 is not.
	rep = BackupStatus(jobs, runs, guests, now.Unix(), BackupOptions{StaleAfterSeconds: 100 * 3600})
	if st := stale(rep); len(st) != 2 || st[200].LimitHours != 100 || st[102].LimitHours != 100 {
		t.Fatalf("stale at 100 h: %+v", rep.Stale)
	}
	// Without a window the message says none; with every log read, no note.
	if a := alert(rep, "ct/102"); a == nil || a.Message != "VM 102 (ct) has no successful backup in the runs examined; older runs that ended OK were judged by task status only (logs=all reads them)" {
		t.Errorf("102 without window: %+v", a)
	}
	rep = BackupStatus(jobs, runs[:3], guests, now.Unix(), BackupOptions{WindowDays: 7})
	if a := alert(rep, "ct/102"); a == nil || a.Message != "VM 102 (ct) has no successful backup in the runs examined (7 days)" {
		t.Errorf("102 with every log read: %+v", a)
	}

	// An archive newer than the logs' success makes 100 fresh, and 102 gets one.
	rep = BackupStatus(jobs, runs, guests, now.Unix(), BackupOptions{WindowDays: 7,
		ArchiveEpochs: map[int]int64{100: day(0).Unix(), 102: day(-4).Unix(), 999: day(0).Unix()}})
	st = stale(rep)
	if _, ok := st[100]; ok || st[102].LastSuccessEpoch != day(-4).Unix() || len(st) != 1 {
		t.Fatalf("with archives: %+v", rep.Stale)
	}
	for _, g := range rep.Guests {
		if g.VMID == 999 {
			t.Errorf("an archive of an unknown guest made a guest: %+v", g)
		}
	}
}

func TestBackupJobWithoutRuns(t *testing.T) {
	now := time.Date(2026, 2, 23, 12, 0, 0, 0, time.UTC).Unix()
	jobs := []BackupJob{
		{ID: "daily", Schedule: "02:00", Enabled: true, VMIDs: []int{100}},
		{ID: "weekly", Schedule: "sun 03:00", Enabled: true, VMIDs: []int{100}},
		{ID: "monthly", Schedule: "monthly", Enabled: true, VMIDs: []int{100}},
		{ID: "off", Schedule: "02:00", VMIDs: []int{100}},
	}
	missed := func(opt BackupOptions) []string {
		var out []string
		for _, a := range BackupStatus(jobs, nil, nil, now, opt).Alerts {
			if a.Metric == "backup_runs" {
				out = append(out, a.Subject+": "+a.Message)
			}
		}
		return out
	}
	tests := []struct {
		name string
		opt  BackupOptions
		want []string
	}{
		{"one day: no period has passed", BackupOptions{WindowDays: 1}, nil},
		{"two days: the daily job", BackupOptions{WindowDays: 2}, []string{"backup-job/daily: backup job daily (02:00) has no run in the last 2 days"}},
		{"eight days: daily and weekly", BackupOptions{WindowDays: 8}, []string{"backup-job/daily: backup job daily (02:00) has no run in the last 8 days",
			"backup-job/weekly: backup job weekly (sun 03:00) has no run in the last 8 days"}},
		{"one node read", BackupOptions{WindowDays: 40, SomeNodes: true}, nil},
		{"no window", BackupOptions{}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := missed(tc.opt); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestBackupEarlierFailures(t *testing.T) {
	at := func(d, h int) time.Time { return time.Date(2026, 2, 20+d, h, 0, 0, 0, time.UTC) }
	jobs := []BackupJob{{ID: "daily", Schedule: "02:00", Storage: "nfs", Enabled: true, VMIDs: []int{100, 101, 102, 104}}}
	guests := []GuestRef{{VMID: 100, Type: "qemu"}, {VMID: 101, Type: "qemu"}, {VMID: 102, Type: "lxc"}, {VMID: 104, Type: "qemu"}}
	runs := []BackupRun{
		// Day 0: 100 and 101 fail; day 1: 101 fails again, 104 (never
		// backed up) too, 102 in a manual run fails; day 2 (the last
		// round, without 104): 102 fails.
		jobRun("n1", "UPID:0", "100 101 102 --storage nfs", at(0, 2), []int{100, 101, 102}, map[int]string{100: "disk full", 101: "lock timeout"}),
		jobRun("n1", "UPID:1", "100 101 102 104 --storage nfs", at(1, 2), []int{100, 101, 102, 104}, map[int]string{101: "lock timeout", 104: "no space"}),
		jobRun("n1", "UPID:m", "102 --storage local", at(1, 14), []int{102}, map[int]string{102: "no space"}),
		jobRun("n1", "UPID:2", "100 101 102 --storage nfs", at(2, 2), []int{100, 101, 102}, map[int]string{102: "io error"}),
	}
	rep := BackupStatus(jobs, runs, guests, at(2, 12).Unix(), BackupOptions{WindowDays: 7})
	got := map[string]string{}
	for _, a := range rep.Alerts {
		if a.Metric == "backup" {
			if _, dup := got[a.Subject]; dup {
				t.Errorf("two failure alerts for %s", a.Subject)
			}
			got[a.Subject] = a.Message + " | " + a.Basis
		}
	}
	want := map[string]string{
		// The last round's failure, with analyze's last-round wording.
		"ct/102": `daily: VM 102 (vm-102) failed. Error: "io error" | ERROR line of the vzdump task log UPID:2`,
		// Earlier failures: the newest one per guest, with a later success.
		"vm/101": `daily: VM 101 (vm-101) failed on 2026-02-21. Error: "lock timeout"; backed up successfully since, at 2026-02-22T02:03:30Z | ERROR line of the vzdump task log UPID:1`,
		"vm/100": `daily: VM 100 (vm-100) failed on 2026-02-20. Error: "disk full"; backed up successfully since, at 2026-02-22T02:01:30Z | ERROR line of the vzdump task log UPID:0`,
		"vm/104": `daily: VM 104 (vm-104) failed on 2026-02-21. Error: "no space" | ERROR line of the vzdump task log UPID:1`,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("failure alerts\n got %v\nwant %v", got, want)
	}
	// Runs: newest first.
	var order []string
	for _, r := range rep.Runs {
		order = append(order, r.UPID)
	}
	if fmt.Sprint(order) != "[UPID:2 UPID:m UPID:1 UPID:0]" || len(rep.ManualRuns) != 1 || rep.ManualRuns[0].UPID != "UPID:m" || rep.Runs[0].TaskStatus != "job errors" {
		t.Errorf("runs %v, manual %+v", order, rep.ManualRuns)
	}
}

func TestBackupRunsOrderOnTies(t *testing.T) {
	// Runs that start together: manual ones first, then the others as given.
	jobs := []BackupJob{{ID: "j", Schedule: "02:00", Enabled: true, VMIDs: []int{1, 2}}}
	t0 := time.Date(2026, 2, 20, 2, 0, 0, 0, time.UTC).Unix()
	runs := []BackupRun{
		{Node: "b", UPID: "job-b", StartEpoch: t0, Status: "OK", EndEpoch: t0 + 60},
		{Node: "a", UPID: "job-a", StartEpoch: t0, Status: "OK", EndEpoch: t0 + 60},
		{Node: "c", UPID: "manual", StartEpoch: t0 + 7200, Status: "OK", EndEpoch: t0 + 7260},
		{Node: "c", UPID: "manual-tie", StartEpoch: t0, Status: "OK", EndEpoch: t0 + 60, Log: parsed(linesFromText("INFO: starting new backup job: vzdump 9 --storage x\nTASK OK\n"))},
	}
	var order []string
	for _, r := range BackupStatus(jobs, runs, nil, t0+86400, BackupOptions{}).Runs {
		order = append(order, r.UPID)
	}
	if fmt.Sprint(order) != "[manual manual-tie job-b job-a]" {
		t.Errorf("order %v", order)
	}
}

func TestEvaluateArchiveAge(t *testing.T) {
	now := time.Date(2026, 2, 23, 12, 0, 0, 0, time.UTC).Unix()
	jobs := []BackupJob{
		{ID: "daily", Schedule: "02:00", Enabled: true, VMIDs: []int{100}},
		{ID: "weekly", Schedule: "sun 03:00", Enabled: true, VMIDs: []int{100, 200}},
		{ID: "off", Schedule: "02:00", VMIDs: []int{200}},
	}
	h := func(hours float64) int64 { return now - int64(hours*3600) }
	tests := []struct {
		name         string
		g            GuestRef
		newest       int64
		limit        float64
		stale        bool
		jobs, limitH string
		message      string
	}{
		{"daily, fresh", GuestRef{VMID: 100, Type: "qemu"}, h(47), 0, false, "[daily weekly]", "48", ""},
		{"daily, old", GuestRef{VMID: 100, Name: "web", Type: "qemu"}, h(60), 0, true, "[daily weekly]", "48", "VM 100 (web): newest backup is 2.5 days old (limit 48 h)"},
		{"weekly only", GuestRef{VMID: 200, Type: "lxc"}, h(100), 0, false, "[weekly]", "192", ""},
		{"override", GuestRef{VMID: 200, Type: "lxc"}, h(100), 24, true, "[weekly]", "24", "VM 200: newest backup is 4.2 days old (limit 24 h)"},
		{"none", GuestRef{VMID: 300, Name: "db", Type: "qemu"}, 0, 0, true, "[]", "48", "VM 300 (db) has no backup on the storages read"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, alerts := EvaluateArchiveAge(tc.g, jobs, tc.newest, now, tc.limit)
			if s.Stale != tc.stale || fmt.Sprint(s.Jobs) != tc.jobs || fmt.Sprint(s.LimitHours) != tc.limitH || len(alerts) != map[bool]int{true: 1}[tc.stale] {
				t.Fatalf("state %+v, alerts %+v", s, alerts)
			}
			if tc.stale {
				a := alerts[0]
				if a.Message != tc.message || a.Subject != GuestSubject(tc.g.Type, tc.g.VMID) || a.Metric != "backup_age_hours" || a.Value != s.AgeHours || a.Threshold != s.LimitHours {
					t.Errorf("alert %+v", a)
				}
			}
		})
	}
}

func TestEvaluateUncovered(t *testing.T) {
	got := EvaluateUncovered([]GuestRef{{VMID: 100, Name: "web", Type: "qemu"}, {VMID: 200, Type: "lxc"}})
	if len(got) != 2 || got[0].Subject != "vm/100" || got[0].Message != "VM 100 (web) is covered by no enabled backup job" ||
		got[1].Subject != "ct/200" || got[1].Message != "VM 200 is covered by no enabled backup job" || got[1].Metric != "backup_job" {
		t.Errorf("%+v", got)
	}
	if EvaluateUncovered(nil) != nil {
		t.Error("alerts without guests")
	}
}
