package analyze

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// linesFromText numbers the lines of a whole log, as the task log endpoint
// does; a trailing newline does not add an empty line.
func linesFromText(text string) []LogLine {
	text = strings.TrimSuffix(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	if text == "" {
		return nil
	}
	parts := strings.Split(text, "\n")
	out := make([]LogLine, len(parts))
	for i, p := range parts {
		out[i] = LogLine{N: i + 1, Text: p}
	}
	return out
}

func readLog(t *testing.T, name string) []LogLine {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "vzdump", name))
	if err != nil {
		t.Fatal(err)
	}
	return linesFromText(string(b))
}

// guestSection writes one guest's part of a log the way vzdump does.
func guestSection(vmid int, kind, name, started string, fail string, warn ...string) []string {
	label := "VM Name"
	ext := "vma.zst"
	if kind == "lxc" {
		label, ext = "CT Name", "tar.zst"
	}
	ts := strings.NewReplacer("-", "_", " ", "-", ":", "_").Replace(started)
	l := []string{
		fmt.Sprintf("INFO: Starting Backup of VM %d (%s)", vmid, kind),
		"INFO: Backup started at " + started,
		"INFO: status = running",
		"INFO: " + label + ": " + name,
		"INFO: backup mode: snapshot",
		"INFO: ionice priority: 7",
		fmt.Sprintf("INFO: creating vzdump archive '/mnt/pve/nfs-backup/dump/vzdump-%s-%d-%s.%s'", kind, vmid, ts, ext),
	}
	l = append(l, warn...)
	st, _ := time.Parse("2006-01-02 15:04:05", started)
	end := st.Add(90 * time.Second).Format("2006-01-02 15:04:05")
	if fail != "" {
		return append(l, fmt.Sprintf("ERROR: Backup of VM %d failed - %s", vmid, fail), "INFO: Failed at "+end)
	}
	return append(l,
		"INFO: 100% (8.0 GiB of 8.0 GiB) in 1m 20s, read: 102.4 MiB/s, write: 99.1 MiB/s",
		"INFO: archive file size: 1.50GB",
		fmt.Sprintf("INFO: Finished Backup of VM %d (00:01:30)", vmid),
		"INFO: Backup finished at "+end)
}

func joinLog(parts ...[]string) []LogLine {
	var all []string
	for _, p := range parts {
		all = append(all, p...)
	}
	return linesFromText(strings.Join(all, "\n") + "\n")
}

func sevenGuestsOneFailed() []LogLine {
	head := []string{"INFO: starting new backup job: vzdump 100 101 102 103 104 105 106 --storage nfs-backup --mode snapshot --compress zstd --mailnotification failure --quiet 1"}
	var parts [][]string
	parts = append(parts, head)
	names := map[int]string{100: "dc01-win2022", 101: "app-server-prod", 102: "db-postgres-01", 103: "docker-host-01", 104: "ci-runner", 105: "monitoring-stack", 106: "jump-host"}
	start := time.Date(2026, 2, 21, 2, 0, 2, 0, time.UTC)
	for i, id := range []int{100, 101, 102, 103, 104, 105, 106} {
		fail := ""
		if id == 103 {
			fail = "vzdump: backup size 201 GB exceeds storage limit"
		}
		parts = append(parts, guestSection(id, "qemu", names[id], start.Add(time.Duration(i)*2*time.Minute).Format("2006-01-02 15:04:05"), fail))
	}
	parts = append(parts, []string{"INFO: Backup job finished with errors", "TASK ERROR: job errors"})
	return joinLog(parts...)
}

func TestParseVzdumpRealisticOK(t *testing.T) {
	l := ParseVzdumpLog(readLog(t, "qemu_lxc_ok.log"), VzdumpParseOptions{TaskEnded: true})
	if l.Status != VzdumpOK || len(l.Guests) != 2 || l.GuestsOK != 2 || len(l.Unparsed) != 0 {
		t.Fatalf("status %s guests %d ok %d unparsed %v", l.Status, len(l.Guests), l.GuestsOK, l.Unparsed)
	}
	if fmt.Sprint(l.VMIDs) != "[100 200]" || l.Storage != "backup-pool" || l.Mode != "snapshot" || l.Node != "pve-node01" {
		t.Fatalf("selection %+v", l)
	}
	if l.Options["prune-backups"] != "keep-daily=7,keep-weekly=4" || l.Options["notes-template"] != "{{guestname}}" {
		t.Fatalf("options %v", l.Options)
	}
	g := l.Guests[0]
	want := GuestBackup{VMID: 100, Kind: "qemu", Name: "dc01-win2022", GuestState: "running", Status: "ok",
		Started: "2026-02-23 01:00:02", StartedEpoch: 1771808402, Finished: "2026-02-23 01:01:31", FinishedEpoch: 1771808491,
		DurationSeconds: 89, Archive: "/mnt/backup-pool/dump/vzdump-qemu-100-2026_02_23-01_00_02.vma.zst",
		SizeBytes: parseHumanSize("7.84", "GB"), TransferredBytes: 32 << 30, FirstLine: 2, LastLine: 28}
	if fmt.Sprintf("%+v", g) != fmt.Sprintf("%+v", want) {
		t.Fatalf("guest 100\n got %+v\nwant %+v", g, want)
	}
	if c := l.Guests[1]; c.Kind != "lxc" || c.Name != "nginx-proxy" || c.SizeBytes != 402<<20 || c.DurationSeconds != 14 {
		t.Fatalf("guest 200 %+v", c)
	}
	if l.Summary() != "ok (2/2)" {
		t.Fatal(l.Summary())
	}
}

func TestParseVzdumpPBS(t *testing.T) {
	l := ParseVzdumpLog(readLog(t, "pbs_ok.log"), VzdumpParseOptions{TaskEnded: true})
	g := l.Guests[0]
	if l.Status != VzdumpOK || !g.ArchivePBS || g.Archive != "vm/102/2026-02-22T03:00:01Z" || g.Status != GuestBackupOK || g.SizeBytes != 0 {
		t.Fatalf("%+v", l)
	}
	if g.TransferredBytes != parseHumanSize("12.40", "GiB") || len(l.Unparsed) != 0 {
		t.Fatalf("%+v", g)
	}
}

func TestParseVzdumpOneFailedOfSeven(t *testing.T) {
	l := ParseVzdumpLog(sevenGuestsOneFailed(), VzdumpParseOptions{TaskEnded: true})
	if l.Status != VzdumpFailed || l.TaskError != "job errors" || len(l.Guests) != 7 || l.GuestsOK != 6 || l.GuestsFailed != 1 {
		t.Fatalf("status %s guests %d ok %d failed %d", l.Status, len(l.Guests), l.GuestsOK, l.GuestsFailed)
	}
	g := l.Guests[3]
	if g.VMID != 103 || g.Status != GuestBackupFailed || g.Reason != "vzdump: backup size 201 GB exceeds storage limit" {
		t.Fatalf("%+v", g)
	}
	if len(g.Errors) != 1 || g.Errors[0].Text != "ERROR: Backup of VM 103 failed - vzdump: backup size 201 GB exceeds storage limit" {
		t.Fatalf("errors %+v", g.Errors)
	}
	if g.Finished != "2026-02-21 02:07:32" || g.Name != "docker-host-01" {
		t.Fatalf("%+v", g)
	}
	if l.Summary() != "failed (6/7)" || len(l.Unparsed) != 0 || len(l.JobErrors) != 0 {
		t.Fatalf("%s %v %v", l.Summary(), l.Unparsed, l.JobErrors)
	}
}

func TestParseVzdumpEdgeCases(t *testing.T) {
	head := []string{"INFO: starting new backup job: vzdump --all 1 --exclude 105,106 --storage local --mode stop"}
	tests := []struct {
		name  string
		lines []LogLine
		opt   VzdumpParseOptions
		check func(t *testing.T, l VzdumpLog)
	}{
		{"warnings", joinLog(head,
			guestSection(200, "lxc", "nginx-proxy", "2026-02-20 01:00:00", "",
				"WARN: tar: ./var/log/journal/system.journal: file changed as we read it"),
			guestSection(201, "lxc", "pihole", "2026-02-20 01:02:00", ""),
			[]string{"INFO: Backup job finished successfully", "TASK WARNINGS: 1"}), VzdumpParseOptions{TaskEnded: true},
			func(t *testing.T, l VzdumpLog) {
				if l.Status != VzdumpWarnings || l.WarningCount != 1 || l.GuestsWarning != 1 || l.GuestsOK != 1 {
					t.Fatalf("%+v", l)
				}
				if !l.All || fmt.Sprint(l.Exclude) != "[105 106]" || l.Mode != "stop" {
					t.Fatalf("selection %+v", l)
				}
				if l.Guests[0].Warnings[0].N != 9 {
					t.Fatalf("warning line %+v", l.Guests[0].Warnings)
				}
			}},
		{"notification error after success", joinLog(head,
			guestSection(100, "qemu", "dc01", "2026-02-20 01:00:00", ""),
			[]string{"INFO: Backup job finished successfully",
				"ERROR: could not notify via target `mail-to-root`: could not notify via endpoint(s): mail-to-root: At least one recipient has to be specified!",
				"TASK OK"}), VzdumpParseOptions{TaskEnded: true},
			func(t *testing.T, l VzdumpLog) {
				if l.Status != VzdumpOK || l.GuestsOK != 1 || len(l.NotificationErrors) != 1 || len(l.JobErrors) != 0 {
					t.Fatalf("%+v", l)
				}
			}},
		{"truncated tail", func() []LogLine {
			all := sevenGuestsOneFailed()
			return all[30:50] // a window of the log: no head, no end
		}(), VzdumpParseOptions{TaskEnded: true},
			func(t *testing.T, l VzdumpLog) {
				if l.Status != VzdumpTruncated || !l.HeadMissing || l.Command != "" {
					t.Fatalf("%+v", l)
				}
				// Lines before the first guest start are kept, not misread.
				if len(l.Unparsed) == 0 || l.Unparsed[0].N != 31 {
					t.Fatalf("unparsed %+v", l.Unparsed)
				}
				for _, g := range l.Guests {
					if g.VMID == 103 && g.Status != GuestBackupFailed {
						t.Fatalf("103 %+v", g)
					}
				}
			}},
		{"running", joinLog(head,
			guestSection(100, "qemu", "dc01", "2026-02-20 01:00:00", ""),
			guestSection(101, "qemu", "app", "2026-02-20 01:02:00", "")[:5]), VzdumpParseOptions{},
			func(t *testing.T, l VzdumpLog) {
				if l.Status != VzdumpRunning || l.GuestsOK != 1 || l.GuestsUnknown != 1 || l.Summary() != "running (1/2)" {
					t.Fatalf("%+v %s", l, l.Summary())
				}
			}},
		{"guest and job errors in one run", func() []LogLine {
			g100 := guestSection(100, "qemu", "dc01", "2026-02-20 01:00:00", "VM 100 qmp command 'backup' failed - got timeout")
			// vzdump logs the cause inside the section before the failure line.
			n := len(g100)
			g100 = append(g100[:n-2:n-2], "ERROR: VM 100 qmp command 'backup' failed - got timeout", "INFO: aborting backup job", g100[n-2], g100[n-1])
			return joinLog(head, g100,
				guestSection(101, "qemu", "app", "2026-02-20 01:02:00", ""),
				[]string{"INFO: Backup job finished with errors",
					"ERROR: job-end hook script '/usr/local/bin/vzdump-hook' failed: exit code 2",
					"TASK ERROR: job errors"})
		}(), VzdumpParseOptions{TaskEnded: true},
			func(t *testing.T, l VzdumpLog) {
				if l.Status != VzdumpFailed || len(l.Guests) != 2 || l.GuestsFailed != 1 || l.GuestsOK != 1 {
					t.Fatalf("%+v", l)
				}
				g := l.Guests[0]
				if g.VMID != 100 || len(g.Errors) != 2 || g.Errors[0].N != 9 || g.Errors[1].N != 11 ||
					!strings.HasPrefix(g.Errors[0].Text, "ERROR: VM 100 qmp") || !strings.HasPrefix(g.Errors[1].Text, "ERROR: Backup of VM 100 failed") {
					t.Fatalf("guest 100's errors: %+v", g.Errors)
				}
				if len(l.Guests[1].Errors) != 0 {
					t.Fatalf("guest 101 got errors: %+v", l.Guests[1].Errors)
				}
				if len(l.JobErrors) != 1 || !strings.Contains(l.JobErrors[0].Text, "job-end hook script") || l.JobErrors[0].N != 25 {
					t.Fatalf("job errors: %+v", l.JobErrors)
				}
			}},
		{"job error before any guest", linesFromText("INFO: starting new backup job: vzdump 100 --storage nfs-backup\nERROR: could not activate storage 'nfs-backup': storage 'nfs-backup' is not online\nTASK ERROR: could not activate storage 'nfs-backup': storage 'nfs-backup' is not online\n"),
			VzdumpParseOptions{TaskEnded: true},
			func(t *testing.T, l VzdumpLog) {
				if l.Status != VzdumpError || len(l.JobErrors) != 1 || len(l.Guests) != 0 || !strings.Contains(l.TaskError, "not online") {
					t.Fatalf("%+v", l)
				}
			}},
		{"unknown lines kept", joinLog(head,
			[]string{"something new in PVE 10", "INFO: a job-level line we have not seen"},
			guestSection(100, "qemu", "dc01", "2026-02-20 01:00:00", "", "tar: a raw continuation line"),
			[]string{"INFO: Backup job finished successfully", "TASK OK", "trailing garbage"}), VzdumpParseOptions{TaskEnded: true},
			func(t *testing.T, l VzdumpLog) {
				if len(l.Unparsed) != 4 || l.Unparsed[2].VMID != 100 || l.Unparsed[0].VMID != 0 || l.Unparsed[3].Text != "trailing garbage" {
					t.Fatalf("unparsed %+v", l.Unparsed)
				}
				if l.Status != VzdumpOK || l.GuestsOK != 1 {
					t.Fatalf("%+v", l)
				}
			}},
		{"skip external", joinLog([]string{"INFO: starting new backup job: vzdump 100 101 102 --storage nfs-backup --mode snapshot",
			"INFO: skip external VMs: 101, 102"},
			guestSection(100, "qemu", "dc01", "2026-02-20 01:00:00", ""),
			[]string{"INFO: Backup job finished successfully", "TASK OK"}), VzdumpParseOptions{TaskEnded: true},
			func(t *testing.T, l VzdumpLog) {
				if fmt.Sprint(l.SkippedExternal) != "[101 102]" || len(l.Unparsed) != 0 || l.Summary() != "ok (1/1)" {
					t.Fatalf("%+v", l)
				}
			}},
		{"empty log", []LogLine{{N: 1, Text: "no content"}}, VzdumpParseOptions{},
			func(t *testing.T, l VzdumpLog) {
				if l.Status != VzdumpTruncated || len(l.Unparsed) != 0 {
					t.Fatalf("%+v", l)
				}
			}},
		{"finish line of another guest is not misread", joinLog(head,
			[]string{"INFO: Starting Backup of VM 100 (qemu)", "INFO: Finished Backup of VM 999 (00:00:01)", "TASK OK"}), VzdumpParseOptions{TaskEnded: true},
			func(t *testing.T, l VzdumpLog) {
				if l.Guests[0].Status != GuestBackupUnknown || len(l.Unparsed) != 1 {
					t.Fatalf("%+v", l)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, kinds := parseVzdump(tc.lines, tc.opt)
			checkAccounting(t, tc.lines, l, kinds)
			tc.check(t, l)
		})
	}
}

// checkAccounting verifies that every input line was accounted for exactly
// once and that the lists hold exactly the lines of their kind.
func checkAccounting(t *testing.T, lines []LogLine, l VzdumpLog, kinds []lineKind) {
	t.Helper()
	if len(kinds) != len(lines) || l.Lines != len(lines) {
		t.Fatalf("kinds %d, lines %d, Lines %d", len(kinds), len(lines), l.Lines)
	}
	count := map[lineKind]int{}
	for i, k := range kinds {
		if k < kindJob || k > kindNoContent {
			t.Fatalf("line %d (%q) not accounted for", i+1, lines[i].Text)
		}
		count[k]++
	}
	var gErr, gWarn int
	for _, g := range l.Guests {
		gErr += len(g.Errors)
		gWarn += len(g.Warnings)
	}
	if count[kindUnparsed] != len(l.Unparsed) || count[kindGuestError] != gErr || count[kindGuestWarning] != gWarn ||
		count[kindJobError] != len(l.JobErrors) || count[kindJobWarning] != len(l.JobWarnings) || count[kindNotify] != len(l.NotificationErrors) {
		t.Fatalf("accounting mismatch: kinds %v, unparsed %d, guest errors %d, warnings %d, job errors %d, job warnings %d, notify %d",
			count, len(l.Unparsed), gErr, gWarn, len(l.JobErrors), len(l.JobWarnings), len(l.NotificationErrors))
	}
	// Each listed line is the input line with that number, verbatim.
	byN := map[int]string{}
	for _, ln := range lines {
		byN[ln.N] = ln.Text
	}
	for _, u := range l.Unparsed {
		if byN[u.N] != u.Text {
			t.Fatalf("unparsed line %d altered: %q", u.N, u.Text)
		}
	}
}

func FuzzParseVzdumpLog(f *testing.F) {
	for _, name := range []string{"qemu_lxc_ok.log", "pbs_ok.log"} {
		b, err := os.ReadFile(filepath.Join("testdata", "vzdump", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b), true)
	}
	var sb strings.Builder
	for _, l := range sevenGuestsOneFailed() {
		sb.WriteString(l.Text + "\n")
	}
	f.Add(sb.String(), false)
	f.Add("ERROR: Backup of VM 1 failed - x\nINFO: Finished Backup of VM 1 (1:00:00)\nTASK WARNINGS: 99999999999999999999", true)
	f.Fuzz(func(t *testing.T, text string, ended bool) {
		lines := linesFromText(text)
		l, kinds := parseVzdump(lines, VzdumpParseOptions{TaskEnded: ended})
		checkAccounting(t, lines, l, kinds)
		if l.GuestsOK+l.GuestsWarning+l.GuestsFailed+l.GuestsUnknown != len(l.Guests) {
			t.Fatal("guest counts do not add up")
		}
		switch l.Status {
		case VzdumpOK, VzdumpWarnings, VzdumpFailed, VzdumpError, VzdumpRunning, VzdumpTruncated:
		default:
			t.Fatalf("status %q", l.Status)
		}
	})
}

func BenchmarkParseVzdumpSeven(b *testing.B) {
	lines := sevenGuestsOneFailed()
	b.ReportAllocs()
	for b.Loop() {
		ParseVzdumpLog(lines, VzdumpParseOptions{TaskEnded: true})
	}
}

func TestVzdumpLogAlerts(t *testing.T) {
	l := ParseVzdumpLog(sevenGuestsOneFailed(), VzdumpParseOptions{TaskEnded: true})
	got := l.Alerts()
	if len(got) != 1 {
		t.Fatalf("%+v", got)
	}
	if a := got[0]; a.Severity != SeverityWarning || a.Subject != "vm/103" || a.Metric != "backup" ||
		a.Message != "backup of VM 103 (docker-host-01) failed: vzdump: backup size 201 GB exceeds storage limit" || a.Basis != "ERROR line of this vzdump task log" {
		t.Errorf("%+v", a)
	}
	ct := ParseVzdumpLog(joinLog(guestSection(200, "lxc", "", "2026-02-21 02:00:00", "no space")), VzdumpParseOptions{TaskEnded: true}).Alerts()
	if len(ct) != 1 || ct[0].Subject != "ct/200" || ct[0].Message != "backup of VM 200 failed: no space" {
		t.Errorf("container: %+v", ct)
	}
	if ok := ParseVzdumpLog(readLog(t, "qemu_lxc_ok.log"), VzdumpParseOptions{TaskEnded: true}).Alerts(); len(ok) != 0 {
		t.Errorf("alerts for a good run: %+v", ok)
	}
}
