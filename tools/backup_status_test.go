package tools

import (
	"strings"
	"testing"
)

func TestBackupStatusDemo(t *testing.T) {
	e := newHealthEnv(t)
	var out struct {
		BackupResult
		envelopeOut
	}
	healthCall(t, e, "backup_status", `{}`, &out)
	if len(out.Jobs) != 3 || out.Window.Days != 7 || out.Runs.Total == 0 || out.Window.LogsRead == 0 {
		t.Fatalf("jobs %d window %+v runs %+v", len(out.Jobs), out.Window, out.Runs)
	}
	var f *BackupFailure
	for i := range out.Failures {
		if out.Failures[i].VMID == 103 {
			f = &out.Failures[i]
		}
	}
	const exact = "vzdump: backup size 201 GB exceeds storage limit"
	if f == nil || f.Job != "backup-02" || f.Reason != exact || len(f.ErrorLines) == 0 || !strings.Contains(f.ErrorLines[0], exact) {
		t.Fatalf("VM 103 failure: %+v (all: %+v)", f, out.Failures)
	}
	if f.Name != "docker-host-01" {
		t.Errorf("failure name %q", f.Name)
	}
	a := out.alert("vm/103", "backup")
	if a == nil || !strings.Contains(a.Message, exact) {
		t.Errorf("alert for VM 103: %+v", out.Alerts)
	}
	if len(out.Uncovered) != 1 || out.Uncovered[0].VMID != 105 {
		t.Errorf("not backed up: %+v", out.Uncovered)
	}
	for _, j := range out.Jobs {
		if j.Runs == 0 || j.LastRun == nil || j.NextRun == "" || j.Selection == "" {
			t.Errorf("job %+v", j)
		}
	}
	// Weekly job's containers are not stale five days after their run.
	for _, s := range out.Stale {
		if s.VMID >= 200 && s.VMID < 300 {
			t.Errorf("weekly-backed container reported stale: %+v", s)
		}
	}
	var one struct {
		BackupResult
		envelopeOut
	}
	healthCall(t, e, "backup_status", `{"job":"backup-03","days":14,"node":"pve-node02"}`, &one)
	if len(one.Jobs) != 1 || one.Jobs[0].ID != "backup-03" || one.Jobs[0].Runs != 2 || one.Window.Days != 14 ||
		one.Runs.Total != 2 || len(one.Manual) != 0 || len(one.Failures) != 0 {
		t.Errorf("backup-03 on pve-node02 over 14 days: jobs %+v runs %+v manual %d", one.Jobs, one.Runs, len(one.Manual))
	}
	if len(one.Unavailable) == 0 {
		t.Error("node filter not stated as unavailable runs")
	}
	if res, _ := e.call(t, "backup_status", `{"job":"nope"}`); !res.IsError {
		t.Error("unknown job accepted")
	}
	// Reading every log gives the same failure and more logs.
	var all BackupResult
	healthCall(t, e, "backup_status", `{"logs":"all"}`, &all)
	if all.Window.LogsRead <= out.Window.LogsRead || all.Runs.Total != out.Runs.Total || len(all.Failures) != len(out.Failures) {
		t.Errorf("logs=all: read %d (auto %d), runs %d/%d, failures %d/%d", all.Window.LogsRead, out.Window.LogsRead,
			all.Runs.Total, out.Runs.Total, len(all.Failures), len(out.Failures))
	}
}
