package tools

import (
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/toolkit"
)

func init() {
	declareArgs("list_backups", testArgs{demo: fixed{`{"vmid":101}`}})
}

// Which backups are there, and which guest has none recent enough?
func TestListBackups(t *testing.T) {
	e := readEnv(t)
	var all struct {
		ListBackupsResult
		envelopeOut
	}
	healthCall(t, e, "list_backups", `{}`, &all)
	if all.Total < len(all.Backups) || len(all.Backups) == 0 || len(all.Storages) == 0 {
		t.Fatalf("total %d backups %d storages %+v", all.Total, len(all.Backups), all.Storages)
	}
	for i, b := range all.Backups {
		if !strings.HasPrefix(b.VolID, b.Storage+":") || b.VMID < 100 || b.SizeGiB <= 0 || (b.Type != "qemu" && b.Type != "lxc") {
			t.Errorf("backup %+v", b)
		}
		if i > 0 && b.Time > all.Backups[i-1].Time {
			t.Fatalf("not newest first at %d: %s after %s", i, b.Time, all.Backups[i-1].Time)
		}
	}
	// The demo's monitoring-stack (105) is in no backup job and has no backup.
	var none *NoRecentBackup
	for i, g := range all.NoRecent {
		if g.VMID == 105 {
			none = &all.NoRecent[i]
		}
		if g.VMID == 9000 {
			t.Errorf("template listed without a recent backup: %+v", g)
		}
	}
	if none == nil || none.Newest != "" || none.Name != "monitoring-stack" {
		t.Errorf("105 without backups: %+v in %+v", none, all.NoRecent)
	}
	if a := all.alert("vm/105", "backup_age_hours"); a == nil || a.Severity != toolkit.SeverityWarning {
		t.Errorf("no alert for 105: %+v", all.Alerts)
	}

	// One guest on one storage, a page of it.
	var one struct {
		ListBackupsResult
		envelopeOut
	}
	healthCall(t, e, "list_backups", `{"vmid":101,"storage":"nfs-backup","limit":2,"offset":1}`, &one)
	if len(one.Backups) != 2 || one.Offset != 1 || one.Total < 4 || len(one.NoRecent) != 0 {
		t.Fatalf("101 on nfs-backup: %+v", one.ListBackupsResult)
	}
	for _, b := range one.Backups {
		if b.VMID != 101 || b.Storage != "nfs-backup" || b.Guest != "app-server-prod" {
			t.Errorf("backup %+v escaped the filter", b)
		}
	}
	if len(one.Unavailable) != 1 || !strings.Contains(one.Unavailable[0].What, "older backups") {
		t.Errorf("the rest of the page not stated: %+v", one.Unavailable)
	}
	res, _ := e.call(t, "list_backups", `{"storage":"no-such-storage"}`)
	if !res.IsError || !strings.Contains(res.Text, "no-such-storage") {
		t.Errorf("unknown storage: %s", res.Text)
	}
}
