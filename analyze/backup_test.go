package analyze

import (
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
