package pvesim

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

type snapEntry struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Parent      string `json:"parent"`
	SnapTime    int64  `json:"snaptime"`
	VMState     *int   `json:"vmstate"`
	Running     *int   `json:"running"`
}

func (w *wsim) snapshots(path string) map[string]snapEntry {
	w.t.Helper()
	var l []snapEntry
	w.ok("operator", "GET", path, nil, &l)
	out := map[string]snapEntry{}
	for _, e := range l {
		out[e.Name] = e
	}
	return out
}

func TestSnapshotCreateRollbackDelete(t *testing.T) {
	w := newWSim(t)
	ct := "/nodes/pve-node02/lxc/203"
	// Reserved names are refused before any task.
	w.expectErr(w.call("operator", "POST", ct+"/snapshot", url.Values{"snapname": {"current"}}), 500, "unable to use snapshot name 'current' (reserved name)")

	if st := w.wait(w.upid("operator", "POST", ct+"/snapshot", url.Values{"snapname": {"s1"}, "description": {"first"}})); st != "OK" {
		t.Fatalf("snapshot s1: %s", st)
	}
	snaps := w.snapshots(ct + "/snapshot")
	if snaps["s1"].Description != "first" || snaps["current"].Parent != "s1" || snaps["current"].Running == nil || *snaps["current"].Running != 0 {
		t.Fatalf("after s1: %+v", snaps)
	}
	// A later change is discarded by the rollback.
	w.ok("operator", "PUT", ct+"/config", url.Values{"cores": {"6"}}, nil)
	if g, _ := w.guest(203); g.Conf.Get("cores") != "6" {
		t.Fatalf("cores not changed: %s", g.Conf.Get("cores"))
	}
	up := w.upid("operator", "POST", ct+"/snapshot/s1/rollback", nil)
	if st := w.wait(up); st != "OK" {
		t.Fatalf("rollback: %s %v", st, w.logOf("pve-node02", up))
	}
	if g, _ := w.guest(203); g.Conf.Get("cores") != "2" || g.Status != "stopped" || g.Lock != "" {
		t.Fatalf("after rollback: cores %s status %s lock %q", g.Conf.Get("cores"), g.Status, g.Lock)
	}
	// ZFS: only the newest snapshot can be rolled back to.
	if st := w.wait(w.upid("operator", "POST", ct+"/snapshot", url.Values{"snapname": {"s2"}})); st != "OK" {
		t.Fatalf("snapshot s2: %s", st)
	}
	up = w.upid("operator", "POST", ct+"/snapshot/s1/rollback", nil)
	want := "can't rollback, 's1' is not most recent snapshot on 'local-zfs:subvol-203-disk-0'"
	if st := w.wait(up); st != want {
		t.Fatalf("rollback past s2: %q", st)
	}
	if l := w.logOf("pve-node02", up); l[len(l)-1] != "TASK ERROR: "+want {
		t.Fatalf("log %q", l)
	}
	// Deleting s2 makes s1 the newest again; the current state's parent follows.
	if st := w.wait(w.upid("operator", "DELETE", ct+"/snapshot/s2", nil)); st != "OK" {
		t.Fatalf("delete s2: %s", st)
	}
	if snaps := w.snapshots(ct + "/snapshot"); snaps["current"].Parent != "s1" || len(snaps) != 2 {
		t.Fatalf("after delete: %+v", snaps)
	}
	if st := w.wait(w.upid("operator", "POST", ct+"/snapshot/s1/rollback", url.Values{"start": {"1"}})); st != "OK" || w.status(203) != "running" {
		t.Fatalf("rollback with start: %s %s", st, w.status(203))
	}
	// Unknown snapshot and duplicate names fail in the task.
	if st := w.wait(w.upid("operator", "POST", ct+"/snapshot/nope/rollback", nil)); st != "snapshot 'nope' does not exist" {
		t.Fatalf("unknown: %q", st)
	}
	if st := w.wait(w.upid("operator", "POST", ct+"/snapshot", url.Values{"snapname": {"s1"}})); st != "snapshot name 's1' already used" {
		t.Fatalf("duplicate: %q", st)
	}
	// Snapshot config and description update.
	w.ok("operator", "PUT", ct+"/snapshot/s1/config", url.Values{"description": {"edited"}}, nil)
	var cfg map[string]any
	w.ok("operator", "GET", ct+"/snapshot/s1/config", nil, &cfg)
	if cfg["description"] != "edited" || fmt.Sprint(cfg["cores"]) != "2" {
		t.Fatalf("snapshot config %v", cfg)
	}
}

func TestSnapshotVMStateRollbackRuns(t *testing.T) {
	w := newWSim(t)
	vm := "/nodes/pve-node01/qemu/105"
	up := w.upid("operator", "POST", vm+"/snapshot", url.Values{"snapname": {"live"}, "vmstate": {"1"}})
	if st := w.wait(up); st != "OK" {
		t.Fatalf("snapshot: %s", st)
	}
	if l := w.logOf("pve-node01", up); !hasLine(l, "saving VM state and RAM using storage 'local-zfs'") || !hasLine(l, "snapshotting 'drive-scsi0' (local-zfs:vm-105-disk-0)") {
		t.Fatalf("log %q", l)
	}
	if s := w.snapshots(vm + "/snapshot")["live"]; s.VMState == nil || *s.VMState != 1 {
		t.Fatalf("vmstate %+v", s)
	}
	w.ok("operator", "POST", vm+"/status/stop", nil, nil)
	w.waitFor("stopped", func() bool { return w.status(105) == "stopped" })
	if st := w.wait(w.upid("operator", "POST", vm+"/snapshot/live/rollback", nil)); st != "OK" {
		t.Fatalf("rollback: %s", st)
	}
	if w.status(105) != "running" {
		t.Fatalf("a RAM-state rollback resumes the VM: %s", w.status(105))
	}
	// The demo's snapshot of VM 101 holds RAM state; 102 has a chain.
	if s := w.snapshots("/nodes/pve-node01/qemu/101/snapshot")["pre-release-2-4"]; s.VMState == nil || *s.VMState != 1 {
		t.Fatalf("demo 101: %+v", s)
	}
	chain := w.snapshots("/nodes/pve-node02/qemu/102/snapshot")
	if chain["after-pg16"].Parent != "before-pg16" || chain["current"].Parent != "pre-vacuum-tuning" {
		t.Fatalf("demo 102 chain: %+v", chain)
	}
}

func TestSnapshotFeatureByStorage(t *testing.T) {
	for _, c := range []struct {
		typ, volid string
		want       bool
	}{{"zfspool", "local-zfs:vm-1-disk-0", true}, {"dir", "local:100/vm-100-disk-0.qcow2", true}, {"dir", "local:100/vm-100-disk-0.raw", false},
		{"nfs", "n:100/vm-100-disk-0.raw", false}, {"lvm", "l:vm-100-disk-0", false}, {"lvmthin", "t:vm-100-disk-0", true}} {
		if got := storageSnapshots(c.typ, c.volid); got != c.want {
			t.Errorf("%s %s: %v", c.typ, c.volid, got)
		}
	}
}

type contentEntry struct {
	VolID     string `json:"volid"`
	Size      int64  `json:"size"`
	VMID      int    `json:"vmid"`
	Notes     string `json:"notes"`
	Protected int    `json:"protected"`
	Ctime     int64  `json:"ctime"`
	Format    string `json:"format"`
}

func (w *wsim) backups(node, storage string, vmid int) []contentEntry {
	w.t.Helper()
	var l []contentEntry
	w.ok("admin", "GET", "/nodes/"+node+"/storage/"+storage+"/content", url.Values{"content": {"backup"}, "vmid": {fmt.Sprint(vmid)}}, &l)
	return l
}

func TestVzdumpVolumesAndRestore(t *testing.T) {
	w := newWSim(t)
	before := len(w.backups("pve-node01", "nfs-backup", 105))
	up := w.upid("operator", "POST", "/nodes/pve-node01/vzdump", url.Values{"vmid": {"105"}, "storage": {"nfs-backup"}, "mode": {"snapshot"},
		"compress": {"zstd"}, "notes-template": {"{{guestname}} manual"}, "protected": {"1"}})
	if !strings.Contains(up, ":vzdump:105:") {
		t.Fatalf("upid %s", up)
	}
	if st := w.wait(up); st != "OK" {
		t.Fatalf("vzdump: %s %q", st, w.logOf("pve-node01", up))
	}
	l := w.logOf("pve-node01", up)
	if !strings.HasPrefix(l[0], "INFO: starting new backup job: vzdump 105 --compress zstd --mode snapshot") || !hasLine(l, "INFO: creating vzdump archive '/mnt/pve/nfs-backup/dump/vzdump-qemu-105-") ||
		!hasLine(l, "INFO: archive file size:") || !hasLine(l, "INFO: Backup job finished successfully") {
		t.Fatalf("log %q", l)
	}
	vols := w.backups("pve-node01", "nfs-backup", 105)
	if len(vols) != before+1 {
		t.Fatalf("volumes %d, before %d", len(vols), before)
	}
	nv := vols[len(vols)-1]
	for _, v := range vols {
		if v.Ctime > nv.Ctime {
			nv = v
		}
	}
	if nv.Notes != "monitoring-stack manual" || nv.Protected != 1 || !strings.HasSuffix(nv.VolID, ".vma.zst") || nv.Size <= 0 {
		t.Fatalf("new volume %+v", nv)
	}
	// The volume endpoint, with the "/" unescaped and escaped.
	var info map[string]any
	w.ok("operator", "GET", "/nodes/pve-node01/storage/nfs-backup/content/"+nv.VolID, nil, &info)
	if info["protected"] != float64(1) || !strings.HasPrefix(fmt.Sprint(info["path"]), "/mnt/pve/nfs-backup/dump/vzdump-qemu-105-") {
		t.Fatalf("volume info %v", info)
	}
	esc := "/nodes/pve-node01/storage/nfs-backup/content/" + url.PathEscape(nv.VolID)
	up = w.upid("operator", "DELETE", esc, nil)
	if st := w.wait(up); !strings.HasPrefix(st, "cannot remove protected archive '/mnt/pve/nfs-backup/dump/vzdump-qemu-105-") {
		t.Fatalf("delete protected: %q", st)
	}
	w.ok("operator", "PUT", esc, url.Values{"protected": {"0"}, "notes": {"n"}}, nil)
	w.expectErr(w.call("operator", "PUT", "/nodes/pve-node01/storage/local-zfs/content/local-zfs:vm-105-disk-0", url.Values{"notes": {"x"}}), 500,
		"only backups support attribute 'notes'")

	// Restore as a new VM, then refuse a restore over the running original.
	up = w.upid("operator", "POST", "/nodes/pve-node01/qemu", url.Values{"vmid": {"150"}, "archive": {nv.VolID}, "storage": {"local-zfs"}, "unique": {"1"}})
	if st := w.wait(up); st != "OK" {
		t.Fatalf("restore: %s %q", st, w.logOf("pve-node01", up))
	}
	if !strings.Contains(up, ":qmrestore:150:") || !hasLine(w.logOf("pve-node01", up), "new volume ID is 'local-zfs:vm-150-disk-0'") {
		t.Fatalf("restore task %s %q", up, w.logOf("pve-node01", up))
	}
	g, ok := w.guest(150)
	src, _ := w.guest(105)
	if !ok || g.Conf.Get("name") != "monitoring-stack" || !strings.HasPrefix(g.Conf.Get("scsi0"), "local-zfs:vm-150-disk-0,") || g.Lock != "" || g.Status != "stopped" {
		t.Fatalf("restored guest %+v %v", g, g.Conf.Text())
	}
	if g.Conf.Get("net0") == src.Conf.Get("net0") {
		t.Fatalf("unique restore kept the MAC: %s", g.Conf.Get("net0"))
	}
	w.expectErr(w.call("operator", "POST", "/nodes/pve-node01/qemu", url.Values{"vmid": {"105"}, "archive": {nv.VolID}, "force": {"1"}}), 500,
		"unable to restore VM 105 - vm is running")
	w.expectErr(w.call("operator", "POST", "/nodes/pve-node01/qemu", url.Values{"vmid": {"105"}, "archive": {nv.VolID}}), 500,
		"unable to restore VM 105 - VM 105 already exists on node 'pve-node01'")
	// Now unprotected, the archive can be deleted.
	if st := w.wait(w.upid("operator", "DELETE", esc, nil)); st != "OK" {
		t.Fatalf("delete: %s", st)
	}
	if len(w.backups("pve-node01", "nfs-backup", 105)) != before {
		t.Fatal("volume still listed")
	}
}

func TestVzdumpNoSpaceAndLxcForcedRestore(t *testing.T) {
	w := newWSim(t)
	// 102's 500 GB disk does not fit into node02's 100 GiB "local".
	up := w.upid("operator", "POST", "/nodes/pve-node02/vzdump", url.Values{"vmid": {"102"}, "storage": {"local"}, "compress": {"zstd"}})
	if st := w.wait(up); st != "job errors" {
		t.Fatalf("vzdump: %q", st)
	}
	if l := w.logOf("pve-node02", up); !hasLine(l, "ERROR: Backup of VM 102 failed - vma_queue_write: write error - No space left on device") {
		t.Fatalf("log %q", l)
	}
	if n := len(w.backups("pve-node02", "local", 102)); n != 0 {
		t.Fatalf("a failed backup left %d volumes", n)
	}
	// A forced restore over the stopped container 203 replaces its disk.
	vols := w.backups("pve-node02", "backup-pool", 203)
	if len(vols) == 0 {
		t.Fatal("demo has no backup of CT 203")
	}
	before, _ := w.guest(203)
	up = w.upid("operator", "POST", "/nodes/pve-node02/lxc", url.Values{"vmid": {"203"}, "ostemplate": {vols[0].VolID}, "restore": {"1"}, "force": {"1"}})
	if st := w.wait(up); st != "OK" {
		t.Fatalf("restore: %s %q", st, w.logOf("pve-node02", up))
	}
	l := w.logOf("pve-node02", up)
	if !strings.Contains(up, ":vzrestore:203:") || !hasLine(l, "destroying old disk '"+strings.Split(before.Conf.Get("rootfs"), ",")[0]+"'") {
		t.Fatalf("restore %s %q", up, l)
	}
	if g, _ := w.guest(203); g.Conf.Get("hostname") != "dev-sandbox" || g.Lock != "" {
		t.Fatalf("restored CT %v", g.Conf.Text())
	}
}

// demoBackupVolume is a backup volume node sees, for calls that need one.
func demoBackupVolume(t *testing.T, s *Sim, node string) string {
	t.Helper()
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, si := range s.storagesSeenFrom(node) {
		for _, v := range si.Volumes {
			if v.Content == "backup" && v.Archived != nil {
				return v.VolID
			}
		}
	}
	t.Fatalf("no backup volume on %s", node)
	return ""
}

func TestVzdumpExtractConfig(t *testing.T) {
	w := newWSim(t)
	var text string
	w.ok("operator", "GET", "/nodes/pve-node01/vzdump/extractconfig", url.Values{"volume": {demoBackupVolume(t, w.s, "pve-node01")}}, &text)
	if !strings.Contains(text, "\nscsi0: local-zfs:") && !strings.Contains(text, "rootfs: local-zfs:") {
		t.Fatalf("config %q", text)
	}
}

func TestZFSSnapshotTakesSpaceAsGuestWrites(t *testing.T) {
	var mu sync.Mutex
	now := fixedNow
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	w := newWSimOpts(t, Options{Scenario: "demo", Now: clock})
	used := func() int64 {
		var st struct {
			Used int64 `json:"used"`
		}
		w.ok("operator", "GET", "/nodes/pve-node03/storage/local-zfs/status", nil, &st)
		return st.Used
	}
	base := used()
	advance(time.Hour)
	noSnap := used() - base // the storage's own growth
	if st := w.wait(w.upid("operator", "POST", "/nodes/pve-node03/qemu/104/snapshot", url.Values{"snapname": {"space"}})); st != "OK" {
		t.Fatalf("snapshot: %s", st)
	}
	before := used()
	advance(time.Hour)
	grown := used() - before - noSnap
	// k8s-worker-01 writes 3 MB/s; a tenth overwrites snapshotted blocks.
	if want := int64(3_000_000 * 0.1 * 3600); grown < want*9/10 || grown > want*11/10 {
		t.Fatalf("an hour with a snapshot grew the storage by %d bytes beyond its own growth, want about %d", grown, want)
	}
	if st := w.wait(w.upid("operator", "DELETE", "/nodes/pve-node03/qemu/104/snapshot/space", nil)); st != "OK" {
		t.Fatalf("delete: %s", st)
	}
	if freed := used() - base - 2*noSnap; freed > noSnap || freed < -noSnap {
		t.Fatalf("deleting the snapshot left %d bytes", freed)
	}
}

// TestFidelityWriteReturnsSnapshotsBackups: the new write endpoints answer
// what their official "returns" schema says (a task id string, or null).
func TestFidelityWriteReturnsSnapshotsBackups(t *testing.T) {
	schema := loadSchema(t)
	s := startSim(t, Options{})
	vol := demoBackupVolume(t, s, "pve-node01")
	cases := []struct {
		method, pattern, path string
		params                url.Values
	}{
		{"POST", "/nodes/{node}/qemu/{vmid}/snapshot", "/nodes/pve-node01/qemu/105/snapshot", url.Values{"snapname": {"f1"}}},
		{"PUT", "/nodes/{node}/qemu/{vmid}/snapshot/{snapname}/config", "/nodes/pve-node01/qemu/100/snapshot/pre-kb5034439/config", url.Values{"description": {"d"}}},
		{"POST", "/nodes/{node}/qemu/{vmid}/snapshot/{snapname}/rollback", "/nodes/pve-node01/qemu/100/snapshot/pre-kb5034439/rollback", nil},
		{"DELETE", "/nodes/{node}/qemu/{vmid}/snapshot/{snapname}", "/nodes/pve-node01/qemu/100/snapshot/pre-kb5034439", nil},
		{"POST", "/nodes/{node}/lxc/{vmid}/snapshot", "/nodes/pve-node01/lxc/201/snapshot", url.Values{"snapname": {"f1"}}},
		{"PUT", "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}/config", "/nodes/pve-node01/lxc/200/snapshot/pre-nginx-upgrade/config", url.Values{"description": {"d"}}},
		{"POST", "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}/rollback", "/nodes/pve-node01/lxc/200/snapshot/pre-nginx-upgrade/rollback", nil},
		{"DELETE", "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}", "/nodes/pve-node01/lxc/200/snapshot/pre-nginx-upgrade", nil},
		{"POST", "/nodes/{node}/vzdump", "/nodes/pve-node01/vzdump", url.Values{"vmid": {"201"}, "storage": {"local"}}},
		{"POST", "/nodes/{node}/qemu", "/nodes/pve-node01/qemu", url.Values{"vmid": {"160"}, "archive": {vol}}},
		{"PUT", "/nodes/{node}/storage/{storage}/content/{volume}", "/nodes/pve-node01/storage/local/content/" + vol, url.Values{"notes": {"n"}}},
		{"DELETE", "/nodes/{node}/storage/{storage}/content/{volume}", "/nodes/pve-node01/storage/local/content/" + vol, nil},
	}
	for _, c := range cases {
		if strings.Contains(c.path, "/content/") && !strings.HasPrefix(vol, "local:") {
			c.path = strings.Replace(c.path, "/storage/local/", "/storage/"+strings.SplitN(vol, ":", 2)[0]+"/", 1)
		}
		if strings.HasSuffix(c.pattern, "/qemu") && strings.Contains(vol, "vzdump-lxc-") {
			continue // the demo volume picked is a container's
		}
		res := call(t, s, "admin", c.method, c.path, c.params)
		if res.Status != 200 {
			t.Errorf("%s %s: %d %s", c.method, c.path, res.Status, res.Body)
			continue
		}
		var data any
		_ = json.Unmarshal(res.Data, &data)
		want := schemaType(schema[c.pattern][c.method].Returns)
		switch {
		case want == "string":
			if u, ok := data.(string); !ok || !strings.HasPrefix(u, "UPID:") {
				t.Errorf("%s %s: want a UPID, got %s", c.method, c.pattern, res.Data)
			}
		case want == "null" && data != nil:
			t.Errorf("%s %s: want null, got %s", c.method, c.pattern, res.Data)
		}
	}
}

func TestVzdumpPrunesByStorageRetention(t *testing.T) {
	w := newWSim(t)
	before := w.backups("pve-node01", "nfs-backup", 101)
	if len(before) != 7 {
		t.Fatalf("demo: %d archives of 101 on nfs-backup (keep-last=7)", len(before))
	}
	oldest := before[0]
	for _, v := range before {
		if v.Ctime < oldest.Ctime {
			oldest = v
		}
	}
	up := w.upid("operator", "POST", "/nodes/pve-node01/vzdump", url.Values{"vmid": {"101"}, "storage": {"nfs-backup"}, "compress": {"zstd"}})
	if st := w.wait(up); st != "OK" {
		t.Fatalf("vzdump: %s", st)
	}
	l := w.logOf("pve-node01", up)
	if !hasLine(l, "INFO: prune older backups with retention: keep-last=7") || !hasLine(l, "INFO: removing backup '"+oldest.VolID+"'") ||
		!hasLine(l, "INFO: pruned 1 backup(s) not covered by keep-retention policy") {
		t.Fatalf("log %q", l)
	}
	if n := len(w.backups("pve-node01", "nfs-backup", 101)); n != 7 {
		t.Fatalf("after the run: %d archives", n)
	}
	// A protected archive is kept and not counted; remove=0 prunes nothing.
	w.wait(w.upid("operator", "POST", "/nodes/pve-node01/vzdump", url.Values{"vmid": {"101"}, "storage": {"nfs-backup"}, "protected": {"1"}}))
	if n := len(w.backups("pve-node01", "nfs-backup", 101)); n != 8 {
		t.Fatalf("with a protected one: %d archives", n)
	}
	w.wait(w.upid("operator", "POST", "/nodes/pve-node01/vzdump", url.Values{"vmid": {"101"}, "storage": {"nfs-backup"}, "remove": {"0"}}))
	if n := len(w.backups("pve-node01", "nfs-backup", 101)); n != 9 {
		t.Fatalf("remove=0: %d archives", n)
	}
}

func TestPruneMark(t *testing.T) {
	day := func(d, h int) *Volume {
		return &Volume{VolID: fmt.Sprintf("s:backup/%02d-%02d", d, h), Ctime: time.Date(2026, 3, d, h, 0, 0, 0, time.UTC).Unix()}
	}
	// Two a day for ten days (March 1..10, 2026: Sunday the 1st).
	var vols []*Volume
	for d := 1; d <= 10; d++ {
		vols = append(vols, day(d, 1), day(d, 13))
	}
	gone := func(ret string) string {
		var names []string
		for _, v := range pruneMark(vols, parsePropString(ret), time.UTC) {
			names = append(names, strings.TrimPrefix(v.VolID, "s:backup/"))
		}
		return strings.Join(names, " ")
	}
	if g := gone("keep-last=18"); g != "01-13 01-01" {
		t.Errorf("keep-last=18 removes %s", g)
	}
	// keep-last=2 keeps 10-13 and 10-01; keep-daily=3 then takes the newest of days 9, 8 and 7.
	if g := gone("keep-last=2,keep-daily=3"); !strings.HasPrefix(g, "09-01 08-01 07-01 06-13") || strings.Contains(g, "09-13") {
		t.Errorf("keep-last=2,keep-daily=3 removes %s", g)
	}
	// keep-weekly=2: the newest of ISO weeks 11 (9..10 March) and 10 (2..8 March).
	if g := gone("keep-weekly=2"); strings.Contains(g, "10-13") || strings.Contains(g, "08-13") || !strings.Contains(g, "10-01") {
		t.Errorf("keep-weekly=2 removes %s", g)
	}
	vols[0].Protected = true
	if g := gone("keep-last=1"); strings.Contains(g, "01-01") {
		t.Errorf("a protected archive was pruned: %s", g)
	}
	if gone("keep-all=1") != "" {
		t.Error("keep-all pruned")
	}
}
