package analyze

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseScan(t *testing.T) {
	tests := []struct {
		text string
		want ScanInfo
	}{
		{"scrub repaired 0B in 00:02:31 with 0 errors on Sun Aug 10 00:26:32 2025",
			ScanInfo{Kind: "scrub", State: "finished", DurationSeconds: 151, When: "Sun Aug 10 00:26:32 2025", WhenEpoch: 1754785592}},
		{"resilvered 1.21G in 00:03:12 with 0 errors on Tue Aug 12 14:03:55 2025",
			ScanInfo{Kind: "resilver", State: "finished", RepairedBytes: ParseZFSSize("1.21G"), DurationSeconds: 192, When: "Tue Aug 12 14:03:55 2025", WhenEpoch: 1755007435}},
		{"scrub repaired 128K in 1 days 02:00:00 with 3 errors on Wed Feb 18 02:00:00 2026",
			ScanInfo{Kind: "scrub", State: "finished", RepairedBytes: 128 << 10, Errors: 3, DurationSeconds: 86400 + 7200, When: "Wed Feb 18 02:00:00 2026", WhenEpoch: 1771380000}},
		{"scrub in progress since Sun Aug 10 00:24:01 2025\n\t1.23T / 1.80T scanned at 512M/s, 800G / 1.80T issued at 330M/s\n\t0B repaired, 43.40% done, 00:52:13 to go",
			ScanInfo{Kind: "scrub", State: "in_progress", When: "Sun Aug 10 00:24:01 2025", WhenEpoch: 1754785441, ProgressPct: 43.4, ToGo: "00:52:13"}},
		{"resilver in progress since Tue Aug 12 14:00:43 2025 900G / 1.80T scanned, 400G / 1.80T issued at 200M/s 395G resilvered, 22.10% done, 02:00:00 to go",
			ScanInfo{Kind: "resilver", State: "in_progress", When: "Tue Aug 12 14:00:43 2025", WhenEpoch: 1755007243, ProgressPct: 22.1, ToGo: "02:00:00"}},
		{"scrub canceled on Sun Aug 10 00:30:00 2025", ScanInfo{Kind: "scrub", State: "canceled", When: "Sun Aug 10 00:30:00 2025", WhenEpoch: 1754785800}},
		{"none requested", ScanInfo{Kind: "none", State: "none"}},
		{"", ScanInfo{Kind: "none", State: "none"}},
		{"something else entirely", ScanInfo{Kind: "unknown", State: "unknown"}},
	}
	for _, tc := range tests {
		got := ParseScan(tc.text, nil)
		got.Text = ""
		if got != tc.want {
			t.Errorf("%q\n got %+v\nwant %+v", tc.text, got, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for in, want := range map[string]ErrorsInfo{
		"No known data errors":                    {Clean: true, Text: "No known data errors"},
		"3 data errors, use '-v' for a list":      {Count: 3, Text: "3 data errors, use '-v' for a list"},
		"Permanent errors have been detected ...": {Count: -1, Text: "Permanent errors have been detected ..."},
		"": {Count: -1},
	} {
		if got := ParseErrors(in); got != want {
			t.Errorf("%q: %+v", in, got)
		}
	}
}

func mirror(pool, state string, members ...ZFSVdev) []ZFSVdev {
	return []ZFSVdev{{Name: pool, State: state, Children: []ZFSVdev{{Name: "mirror-0", State: state, Children: members}}}}
}

func TestEvaluatePool(t *testing.T) {
	now := int64(1771840000) // 2026-02-23
	okDisk := func(n string) ZFSVdev { return ZFSVdev{Name: n, State: "ONLINE", Leaf: true} }
	clean := "scrub repaired 0B in 00:10:00 with 0 errors on Fri Feb 20 02:00:00 2026"
	tests := []struct {
		name     string
		pool     ZFSPool
		sev      Severity
		reasons  []string // substrings expected among the reasons
		guidance []string
	}{
		{"online clean", ZFSPool{Node: "pve-node01", Name: "rpool", Health: "ONLINE", SizeBytes: 100, AllocBytes: 33, FragPct: 12,
			Detail: &ZFSPoolDetail{State: "ONLINE", Scan: clean, Errors: "No known data errors", Children: mirror("rpool", "ONLINE", okDisk("/dev/sda3"), okDisk("/dev/sdb3"))}},
			SeverityOK, nil, nil},
		{"demo degraded with read errors", ZFSPool{Node: "pve-node03", Name: "rpool", Health: "DEGRADED", SizeBytes: 36, AllocBytes: 28, FragPct: 31,
			Detail: &ZFSPoolDetail{State: "DEGRADED", Action: "Replace the faulted device, or use 'zpool clear' to mark the device repaired.",
				Scan:   "scrub repaired 0B in 00:41:12 with 2 errors on Wed Feb 18 02:00:00 2026",
				Errors: "No known data errors",
				Children: mirror("rpool", "DEGRADED", okDisk("/dev/disk/by-id/ata-A-part3"),
					ZFSVdev{Name: "/dev/disk/by-id/ata-B-part3", State: "FAULTED", Read: 14, Leaf: true, Msg: "too many errors"})}},
			SeverityCritical, []string{"DEGRADED", "member /dev/disk/by-id/ata-B-part3 is FAULTED (too many errors)", "read 14", "last scrub found 2 errors"},
			[]string{"`zpool status -v rpool` on pve-node03", "`zpool replace rpool /dev/disk/by-id/ata-B-part3 <new-device>` on pve-node03"}},
		{"online with counters", ZFSPool{Node: "n", Name: "tank", Health: "ONLINE", SizeBytes: 100, AllocBytes: 10,
			Detail: &ZFSPoolDetail{State: "ONLINE", Scan: clean, Errors: "No known data errors", Children: mirror("tank", "ONLINE", okDisk("a"), ZFSVdev{Name: "b", State: "ONLINE", Cksum: 3, Leaf: true})}},
			SeverityWarning, []string{"cksum 3"}, []string{"zpool status -v tank", "zpool clear tank"}},
		{"old scrub and fragmented", ZFSPool{Node: "n", Name: "tank", Health: "ONLINE", SizeBytes: 100, AllocBytes: 10, FragPct: 55,
			Detail: &ZFSPoolDetail{State: "ONLINE", Scan: "scrub repaired 0B in 00:10:00 with 0 errors on Sun Nov 30 02:00:00 2025", Errors: "No known data errors", Children: mirror("tank", "ONLINE", okDisk("a"))}},
			SeverityWarning, []string{"last scrub 85 days ago", "fragmentation 55%"}, []string{"zpool scrub tank"}},
		{"never scrubbed, data errors", ZFSPool{Node: "n", Name: "tank", Health: "ONLINE", SizeBytes: 100, AllocBytes: 85,
			Detail: &ZFSPoolDetail{State: "ONLINE", Scan: "none requested", Errors: "1 data errors, use '-v' for a list", Children: mirror("tank", "ONLINE", okDisk("a"))}},
			SeverityWarning, []string{"never scrubbed", "data errors: 1 data errors", "85% full"}, []string{"zpool status -v tank"}},
		{"faulted without detail", ZFSPool{Node: "n", Name: "tank", Health: "FAULTED"}, SeverityCritical, []string{"FAULTED"}, []string{"zpool status -v tank"}},
		{"unavail", ZFSPool{Node: "n", Name: "tank", Health: "UNAVAIL"}, SeverityCritical, []string{"UNAVAIL"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := EvaluatePool(tc.pool, now, ZFSOptions{})
			if v.Severity != tc.sev {
				t.Fatalf("severity %s, want %s; reasons %v", v.Severity, tc.sev, v.Reasons)
			}
			all := strings.Join(v.Reasons, " | ")
			for _, r := range tc.reasons {
				if !strings.Contains(all, r) {
					t.Errorf("reasons %q lack %q", all, r)
				}
			}
			g := strings.Join(v.Guidance, " | ")
			for _, r := range tc.guidance {
				if !strings.Contains(g, r) {
					t.Errorf("guidance %q lacks %q", g, r)
				}
			}
			if tc.sev == SeverityOK && (v.Alert() != nil || len(v.Guidance) > 0) {
				t.Errorf("ok pool has alert or guidance")
			}
			if tc.sev != SeverityOK && v.Alert() == nil {
				t.Errorf("no alert")
			}
		})
	}
}

func TestWalkVdevsSections(t *testing.T) {
	children := []ZFSVdev{
		{Name: "tank", State: "DEGRADED", Children: []ZFSVdev{{Name: "raidz1-0", State: "DEGRADED", Children: []ZFSVdev{
			{Name: "d1", State: "ONLINE", Leaf: true},
			{Name: "12345678901234567890", State: "UNAVAIL", Leaf: true, Msg: "was /dev/disk/by-id/ata-X-part1"}}}}},
		{Name: "logs", Children: []ZFSVdev{{Name: "l1", State: "ONLINE", Leaf: true, Write: 2}}},
		{Name: "cache", Children: []ZFSVdev{{Name: "c1", State: "ONLINE", Leaf: true}}},
		{Name: "spares", Children: []ZFSVdev{{Name: "s1", State: "AVAIL", Leaf: true}, {Name: "s2", State: "UNAVAIL", Leaf: true}}},
	}
	p := WalkVdevs(children)
	var got []string
	for _, x := range p {
		got = append(got, x.Path+":"+x.State+":"+x.Section)
	}
	want := "tank:DEGRADED:,tank/raidz1-0:DEGRADED:,tank/raidz1-0/12345678901234567890:UNAVAIL:,logs/l1:ONLINE:logs,spares/s2:UNAVAIL:spares"
	if strings.Join(got, ",") != want {
		t.Fatalf("got  %s\nwant %s", strings.Join(got, ","), want)
	}
}

func TestEvaluateDiskAndMatch(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	tests := []struct {
		d   Disk
		sev Severity
	}{
		{Disk{Health: "PASSED", WearoutRemainingPct: f(98)}, SeverityOK},
		{Disk{Health: "OK"}, SeverityOK},
		{Disk{Health: "PASSED", WearoutRemainingPct: f(18)}, SeverityWarning},
		{Disk{Health: "PASSED", WearoutRemainingPct: f(10)}, SeverityCritical},
		{Disk{Health: "FAILED", WearoutRemainingPct: f(12)}, SeverityCritical},
		{Disk{Health: "UNKNOWN", WearoutRemainingPct: ParseWearout("N/A")}, SeverityInfo},
	}
	for i, tc := range tests {
		if v := EvaluateDisk(tc.d, DiskThresholds{}); v.Severity != tc.sev {
			t.Errorf("case %d: %s %v", i, v.Severity, v.Reasons)
		}
	}
	if w := ParseWearout("97"); w == nil || *w != 97 {
		t.Fatal("wearout")
	}
	disks := []Disk{{DevPath: "/dev/sda", ByID: "/dev/disk/by-id/ata-A"}, {DevPath: "/dev/sdaa"}, {DevPath: "/dev/nvme0n1", ByID: "/dev/disk/by-id/nvme-S"}}
	for leaf, want := range map[string]string{
		"/dev/disk/by-id/ata-A-part3": "/dev/sda", "/dev/sda3": "/dev/sda", "/dev/sdaa1": "/dev/sdaa",
		"/dev/nvme0n1p3": "/dev/nvme0n1", "/dev/disk/by-id/nvme-S": "/dev/nvme0n1", "/dev/sdb": "",
	} {
		got := ""
		if d := MatchDiskToVdev(leaf, disks); d != nil {
			got = d.DevPath
		}
		if got != want {
			t.Errorf("%s → %q, want %q", leaf, got, want)
		}
	}
}

func FuzzParseScan(f *testing.F) {
	f.Add("scrub repaired 0B in 00:02:31 with 0 errors on Sun Aug 10 00:26:32 2025")
	f.Add("scrub in progress since Sun Aug 10 00:24:01 2025 1.23T / 1.80T scanned at 512M/s, 800G / 1.80T issued at 330M/s 0B repaired, 43.40% done, 00:52:13 to go")
	f.Add("resilvered 1.21G in 00:03:12 with 0 errors on Tue Aug 12 14:03:55 2025")
	f.Fuzz(func(t *testing.T, s string) {
		si := ParseScan(s, nil)
		switch si.State {
		case "finished", "in_progress", "canceled", "paused", "none", "unknown":
		default:
			t.Fatalf("state %q", si.State)
		}
		_ = ParseErrors(s)
		_ = ParseZFSSize(s)
	})
}

// TestDiskAlert: a disk's verdict is worded once, for list_disks and
// zfs_health alike: metric disk_health, Value the number of findings, the
// disk named by node, device, model and serial, then the findings.
func TestDiskAlert(t *testing.T) {
	life := func(v float64) *float64 { return &v }
	const basis = "health and wearout from /nodes/{node}/disks/list"
	tests := []struct {
		name string
		d    Disk
		want string // severity:value, "" for no alert
		msg  string
	}{
		{"worn out", Disk{Health: "PASSED", WearoutRemainingPct: life(5)}, "critical:1", "n /dev/sdb (Samsung, serial S1): 5% life remaining"},
		{"wearing", Disk{Health: "PASSED", WearoutRemainingPct: life(15)}, "warning:1", "n /dev/sdb (Samsung, serial S1): 15% life remaining"},
		{"failed SMART, no wearout", Disk{Health: "FAILED"}, "critical:1", "n /dev/sdb (Samsung, serial S1): SMART health FAILED"},
		{"failed and worn", Disk{Health: "FAILED", WearoutRemainingPct: life(8)}, "critical:2", "n /dev/sdb (Samsung, serial S1): SMART health FAILED; 8% life remaining"},
		{"unknown SMART and worn", Disk{Health: "UNKNOWN", WearoutRemainingPct: life(18)}, "warning:2", "n /dev/sdb (Samsung, serial S1): SMART health UNKNOWN; 18% life remaining"},
		{"no model", Disk{Health: "FAILED", Model: "-"}, "critical:1", "n /dev/sdb (serial S1): SMART health FAILED"},
		{"no model, no serial", Disk{Health: "FAILED", Model: "-", Serial: "-"}, "critical:1", "n /dev/sdb: SMART health FAILED"},
		{"healthy", Disk{Health: "PASSED", WearoutRemainingPct: life(97)}, "", ""},
		{"unknown SMART only", Disk{Health: "UNKNOWN"}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.d.Node, tc.d.DevPath = "n", "/dev/sdb"
			// "-" marks an identifier the disk does not report.
			for _, f := range []struct {
				p   *string
				def string
			}{{&tc.d.Model, "Samsung"}, {&tc.d.Serial, "S1"}} {
				switch *f.p {
				case "-":
					*f.p = ""
				case "":
					*f.p = f.def
				}
			}
			got := EvaluateDisk(tc.d, DiskThresholds{}).Alert()
			if tc.want == "" {
				if got != nil {
					t.Fatalf("alert %+v", got)
				}
				return
			}
			if got == nil || fmt.Sprintf("%s:%g", got.Severity, got.Value) != tc.want || got.Subject != "n:/dev/sdb" || got.Metric != "disk_health" ||
				got.Basis != basis {
				t.Fatalf("got %+v, want %s", got, tc.want)
			}
			if got.Message != tc.msg {
				t.Errorf("message %q, want %q", got.Message, tc.msg)
			}
		})
	}
}
