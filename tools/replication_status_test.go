package tools

import (
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/toolkit"
)

// Is replication failing?
func TestReplicationStatusDemo(t *testing.T) {
	e := newDiagEnv(t)
	var out struct {
		ReplicationResult
		envelopeOut
	}
	healthCall(t, e, "replication_status", `{}`, &out)
	if out.Counts.Jobs != 6 || out.Counts.Failing != 1 || out.Counts.OK != 5 || len(out.Jobs) != 6 {
		t.Fatalf("counts %+v jobs %+v", out.Counts, out.Jobs)
	}
	f := out.Jobs[0]
	if f.ID != "104-0" || f.State != "failing" || f.FailCount != 4 || f.Source != "pve-node03" || f.Target != "pve-node02" ||
		!strings.Contains(f.Error, "failed: exit code 255") || f.LastSyncAge < 139 || f.LastSyncAge > 141 {
		t.Errorf("failing job: %+v", f)
	}
	if a := out.alert("replication/104-0", "fail_count"); a == nil || a.Severity != toolkit.SeverityCritical {
		t.Errorf("no critical alert for 104-0: %+v", out.Alerts)
	}
	var ok ReplJob
	for _, j := range out.Jobs {
		if j.ID == "102-0" {
			ok = j
		}
	}
	if ok.ID != "102-0" || ok.State != "ok" || ok.Guest != "db-postgres-01" || ok.NextSync == "" || ok.Target != "pve-node01" {
		t.Errorf("ok job: %+v", ok)
	}
	out.Jobs = nil
	healthCall(t, e, "replication_status", `{"failed":true}`, &out)
	if len(out.Jobs) != 1 || out.Jobs[0].ID != "104-0" {
		t.Errorf("failed only: %+v", out.Jobs)
	}
	out.Jobs = nil
	healthCall(t, e, "replication_status", `{"vmid":102}`, &out)
	if len(out.Jobs) != 2 || out.Jobs[0].ID != "102-0" || out.Jobs[1].ID != "102-1" {
		t.Errorf("vmid 102: %+v", out.Jobs)
	}
}
