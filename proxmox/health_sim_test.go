package proxmox

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/pvemcp/pvemcp/proxmox/pvesim"
)

// The health area reads (rrd, storage, disks, zfs, ha, backup, tasks) decoded
// against the simulator's demo scenario.

var (
	healthSimOnce sync.Once
	healthSim     *pvesim.Sim
	healthSimErr  error
)

func demoClient(t *testing.T) (*Client, *pvesim.Sim) {
	t.Helper()
	healthSimOnce.Do(func() {
		healthSim, healthSimErr = pvesim.Start(context.Background(), pvesim.Options{Scenario: "demo"})
	})
	if healthSimErr != nil {
		t.Fatal(healthSimErr)
	}
	c, err := New(Options{Endpoints: []string{healthSim.URL()}, Token: healthSim.Token("operator"), Fingerprint: healthSim.Fingerprint()})
	if err != nil {
		t.Fatal(err)
	}
	return c, healthSim
}

func TestRRDDecode(t *testing.T) {
	c, _ := demoClient(t)
	ctx := context.Background()
	rows, err := c.NodeRRD(ctx, "pve-node03", "hour", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 50 || rows[0].Time == 0 || rows[0].Values["memtotal"] <= 0 || rows[0].Values["memused"] <= 0 {
		t.Fatalf("node rrd: %d rows, first %+v", len(rows), rows[0])
	}
	if _, ok := rows[0].Values["cpu"]; !ok {
		t.Errorf("no cpu in %+v", rows[0])
	}
	if _, ok := rows[0].Values["time"]; ok {
		t.Errorf("time decoded as a value in %+v", rows[0])
	}
	rows, err = c.StorageRRD(ctx, "pve-node03", "local-zfs", "month", "AVERAGE")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 100 || rows[len(rows)-1].Values["used"] <= rows[0].Values["used"] {
		t.Errorf("local-zfs should grow: %d rows", len(rows))
	}
	rows, err = c.GuestRRD(ctx, "pve-node01", TypeQemu, 100, "day", "MAX")
	if err != nil || len(rows) == 0 {
		t.Fatalf("guest rrd: %v %d", err, len(rows))
	}
	for _, bad := range []func() error{
		func() error { _, err := c.NodeRRD(ctx, "pve-node03", "decadeX", ""); return err },
		func() error { _, err := c.NodeRRD(ctx, "pve-node03", "hour", "MIN"); return err },
		func() error { _, err := c.GuestRRD(ctx, "pve-node03", TypeQemu, 100, "decade", ""); return err },
		func() error { _, err := c.StorageRRD(ctx, "pve-node03", "../x", "hour", ""); return err },
	} {
		if err := bad(); KindOf(err) != KindInvalid {
			t.Errorf("want invalid, got %v", err)
		}
	}
}

func TestRRDRowLoose(t *testing.T) {
	var rows []RRDRow
	if err := json.Unmarshal([]byte(`[{"time":"100","cpu":"0.5","mem":3,"x":"","y":null,"z":"N/A"},{"time":160}]`), &rows); err != nil {
		t.Fatal(err)
	}
	if rows[0].Time != 100 || rows[0].Values["cpu"] != 0.5 || rows[0].Values["mem"] != 3 || len(rows[0].Values) != 2 || len(rows[1].Values) != 0 {
		t.Errorf("%+v", rows)
	}
}

func TestStorageDisksZFS(t *testing.T) {
	c, _ := demoClient(t)
	ctx := context.Background()
	st, err := c.Storages(ctx, "pve-node03")
	if err != nil {
		t.Fatal(err)
	}
	var zfs *NodeStorage
	for i := range st {
		if st[i].Storage == "local-zfs" {
			zfs = &st[i]
		}
	}
	if zfs == nil || !bool(zfs.Active) || zfs.Total <= 0 || zfs.Used <= 0 || zfs.Type != "zfspool" {
		t.Fatalf("local-zfs: %+v", zfs)
	}
	disks, err := c.Disks(ctx, "pve-node03")
	if err != nil {
		t.Fatal(err)
	}
	var failed, na int
	for _, d := range disks {
		if d.Health == "FAILED" {
			failed++
		}
		if !d.Wearout.Known {
			na++
			if d.Wearout.Text() != "N/A" {
				t.Errorf("wearout text %q", d.Wearout.Text())
			}
		}
	}
	if failed != 1 || na == 0 {
		t.Errorf("disks: failed %d, N/A %d: %+v", failed, na, disks)
	}
	var w []Wearout
	if err := json.Unmarshal([]byte(`[97,"88","N/A",null]`), &w); err != nil || !w[0].Known || w[1].Pct != 88 || w[2].Known || w[3].Known {
		t.Errorf("wearout %v %+v", err, w)
	}
	pools, err := c.ZFSPools(ctx, "pve-node03")
	if err != nil || len(pools) == 0 {
		t.Fatal(err, pools)
	}
	if pools[0].Name != "rpool" || pools[0].Health != "DEGRADED" || pools[0].Size <= 0 || pools[0].Frag <= 0 {
		t.Errorf("pool %+v", pools[0])
	}
	d, err := c.ZFSPoolDetail(ctx, "pve-node03", "rpool")
	if err != nil {
		t.Fatal(err)
	}
	if d.State != "DEGRADED" || len(d.Children) == 0 || d.Scan == "" || d.Errors == "" {
		t.Errorf("detail %+v", d)
	}
	leaves := 0
	var walk func(v []ZFSVdev)
	walk = func(v []ZFSVdev) {
		for _, x := range v {
			if x.Leaf {
				leaves++
			}
			walk(x.Children)
		}
	}
	walk(d.Children)
	if leaves < 2 {
		t.Errorf("leaves %d", leaves)
	}
	if _, err := c.ZFSPoolDetail(ctx, "pve-node03", "rpool/../x"); KindOf(err) != KindInvalid {
		t.Errorf("bad pool name: %v", err)
	}
}

func TestHABackupReads(t *testing.T) {
	c, _ := demoClient(t)
	ctx := context.Background()
	res, err := c.HAResources(ctx)
	if err != nil || len(res) == 0 {
		t.Fatal(err, res)
	}
	if res[0].MaxRestart == nil || res[0].SID == "" {
		t.Errorf("resource %+v", res[0])
	}
	rules, err := c.HARules(ctx)
	if err != nil || len(rules) == 0 {
		t.Fatal(err, rules)
	}
	if n := ParseHANodes(rules[0].Nodes); len(n) == 0 {
		t.Errorf("rule nodes %q", rules[0].Nodes)
	}
	if _, err := c.HAGroups(ctx); err == nil || !IsHAGroupsMigrated(err) {
		t.Errorf("PVE 9 groups: %v", err)
	}
	jobs, err := c.BackupJobs(ctx)
	if err != nil || len(jobs) == 0 {
		t.Fatal(err, jobs)
	}
	for _, j := range jobs {
		if j.ID == "" || j.Schedule == "" || !j.IsEnabled() || len(j.VMIDs()) == 0 || j.NextRun == 0 {
			t.Errorf("job %+v", j)
		}
	}
	nb, err := c.NotBackedUp(ctx)
	if err != nil || len(nb) == 0 || nb[0].VMID == 0 {
		t.Errorf("not backed up: %v %+v", err, nb)
	}
	if got := ParseVMIDList("100, 101;x,5,102"); len(got) != 3 {
		t.Errorf("ParseVMIDList %v", got)
	}
}

func TestTasksReads(t *testing.T) {
	c, _ := demoClient(t)
	ctx := context.Background()
	tasks, total, err := c.Tasks(ctx, "pve-node01", TaskFilter{TypeFilter: "vzdump", Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) == 0 || len(tasks) > 5 || total < len(tasks) {
		t.Fatalf("tasks %d total %d", len(tasks), total)
	}
	tk := tasks[0]
	if tk.Type != "vzdump" || tk.StartTime == 0 || UPIDNode(tk.UPID) != "pve-node01" {
		t.Errorf("task %+v", tk)
	}
	st, err := c.TaskStatus(ctx, tk.UPID)
	if err != nil || st.Status != "stopped" || st.ExitStatus == "" {
		t.Errorf("status %v %+v", err, st)
	}
	lines, n, err := c.TaskLog(ctx, tk.UPID, 0, 0)
	if err != nil || len(lines) == 0 || n != len(lines) || lines[0].N != 1 {
		t.Fatalf("log %v %d %d", err, len(lines), n)
	}
	if !strings.HasPrefix(lines[len(lines)-1].T, "TASK") {
		t.Errorf("last line %q", lines[len(lines)-1].T)
	}
	tail, n2, err := c.TaskLog(ctx, tk.UPID, n-2, 2)
	if err != nil || len(tail) != 2 || n2 != n || tail[1].T != lines[len(lines)-1].T {
		t.Errorf("tail %v %+v", err, tail)
	}
	if _, _, err := c.Tasks(ctx, "pve-node01", TaskFilter{TypeFilter: "a&b=c"}); KindOf(err) != KindInvalid {
		t.Errorf("bad type filter: %v", err)
	}
	if _, err := c.TaskStatus(ctx, "UPID:../x"); KindOf(err) != KindInvalid {
		t.Errorf("bad upid: %v", err)
	}
}

func BenchmarkRRDDecode(b *testing.B) {
	row := `{"time":1755693480,"loadavg":0.215,"maxcpu":16,"cpu":0.0241803278688525,"iowait":0.000412,"memtotal":67219447808,"memused":23154331648,"memavailable":43008401408,"swaptotal":8589930496,"swapused":0,"roottotal":100861726720,"rootused":12345678848,"netin":15324.4833333333,"netout":9876.1,"arcsize":8232435712,"pressurecpusome":0,"pressureiosome":0.05,"pressureiofull":0.05,"pressurememorysome":0,"pressurememoryfull":0}`
	data := []byte("[" + strings.TrimSuffix(strings.Repeat(row+",", 1440), ",") + "]")
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var rows []RRDRow
		if err := json.Unmarshal(data, &rows); err != nil || len(rows) != 1440 {
			b.Fatal(err)
		}
	}
}

// FuzzRRDRow checks that the fast path decodes like encoding/json and never
// panics.
func FuzzRRDRow(f *testing.F) {
	for _, s := range []string{`{"time":1,"cpu":0.5}`, `{"time":"2","mem":"3","x":""}`, `{"time":3,"a":null,"b":"N/A"}`,
		`{ "time" : 4 , "c" : 1e3 }`, `{"time":5,"d":{"x":1}}`, `{"t\u0069me":6}`, `{}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var fast, slow RRDRow
		if !fast.fastDecode([]byte(s)) || !json.Valid([]byte(s)) {
			return
		}
		if err := slow.slowDecode([]byte(s)); err != nil {
			t.Fatalf("fast path accepted what encoding/json refuses: %q: %v", s, err)
		}
		if fast.Time != slow.Time || len(fast.Values) != len(slow.Values) {
			t.Fatalf("%q: fast %+v, slow %+v", s, fast, slow)
		}
		for k, v := range slow.Values {
			if fv, ok := fast.Values[k]; !ok || fv != v {
				t.Fatalf("%q: %s fast %v slow %v", s, k, fv, v)
			}
		}
	})
}
