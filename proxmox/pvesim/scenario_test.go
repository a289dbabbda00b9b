package pvesim

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const miniScenario = `cluster:
  name: mini
nodes:
  - name: n1
    cpu: {cores: 4}
    memory: 16GiB
storages:
  - id: local-zfs
    type: zfspool
    pool: rpool/data
    content: [images, rootdir]
guests:
  - vmid: 100
    type: qemu
    node: n1
    memory: 2GiB
    disks: {scsi0: "local-zfs:10G"}
`

func TestScenarioErrors(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown key", strings.Replace(miniScenario, "    memory: 16GiB", "    memroy: 16GiB", 1), "bad.yaml:6: unknown key memroy"},
		{"bad size", strings.Replace(miniScenario, "16GiB", "16XB", 1), `bad.yaml:6: invalid size "16XB"`},
		{"unknown node", strings.Replace(miniScenario, "    node: n1", "    node: n9", 1), `bad.yaml:15: unknown node "n9"`},
		{"bad type", strings.Replace(miniScenario, "type: qemu", "type: kvm", 1), `bad.yaml:14: invalid guest type "kvm"`},
		{"bad vmid", strings.Replace(miniScenario, "vmid: 100", "vmid: 99", 1), `bad.yaml:13: vmid 99 out of range`},
		{"unknown storage", strings.Replace(miniScenario, `local-zfs:10G`, `ceph:10G`, 1), `bad.yaml:17: disk scsi0: unknown storage "ceph"`},
		{"bad schedule", miniScenario + "backup:\n  jobs:\n    - {id: b1, storage: local-zfs, schedule: \"whenever\"}\n", `bad.yaml:20: backup job b1: unsupported schedule "whenever"`},
		{"bad content", strings.Replace(miniScenario, "[images, rootdir]", "[images, movies]", 1), `bad.yaml:11: invalid content type "movies"`},
		{"syntax", miniScenario + "  - [\n", "bad.yaml:"},
		{"wrong kind", strings.Replace(miniScenario, "cores: 4", "cores: four", 1), "bad.yaml:5:"},
	}
	dir := t.TempDir()
	for _, c := range cases {
		p := filepath.Join(dir, "bad.yaml")
		if err := os.WriteFile(p, []byte(c.yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := loadScenario(p)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
	// semantic errors found while building carry the line too
	p0 := filepath.Join(dir, "restricted.yaml")
	y := strings.Replace(miniScenario, "    content: [images, rootdir]", "    content: [images, rootdir]\n    nodes: [n2]", 1)
	y = strings.Replace(y, "storages:", "  - {name: n2, cpu: {cores: 1}, memory: 1GiB}\nstorages:", 1)
	os.WriteFile(p0, []byte(y), 0o600)
	if _, err := Start(context.Background(), Options{Scenario: p0}); err == nil || !strings.Contains(err.Error(), `restricted.yaml:19: guest 100: storage "local-zfs" is not available on node n1`) {
		t.Errorf("disk on a storage the node lacks: %v", err)
	}
	if _, err := loadScenario(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("missing file accepted")
	}
	p := filepath.Join(dir, "ok.yaml")
	os.WriteFile(p, []byte(miniScenario), 0o600)
	s := startSim(t, Options{Scenario: p})
	if s.ClusterName() != "mini" || len(s.Nodes()) != 1 {
		t.Errorf("mini scenario: %s %v", s.ClusterName(), s.Nodes())
	}
}

// TestExampleScenariosLoad keeps the documented examples valid, and the
// examples' copy of the demo identical to the embedded one.
func TestExampleScenariosLoad(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "examples", "scenarios", "*.yaml"))
	if len(files) == 0 {
		t.Fatal("no example scenarios found")
	}
	for _, f := range files {
		if _, err := loadScenario(f); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		s := startSim(t, Options{Scenario: f})
		var tok string
		for id, tr := range s.st.Tokens {
			tok = id + "=" + tr.Secret
		}
		mustOK(t, callURL(t, s.URL(), tok, "GET", "/cluster/resources", nil))
		if filepath.Base(f) == "demo.yaml" {
			b, _ := os.ReadFile(f)
			if string(b) != string(demoYAML) {
				t.Errorf("%s differs from the embedded demo scenario", f)
			}
		}
	}
}

// TestDemoCoherence checks that the demo's numbers add up.
func TestDemoCoherence(t *testing.T) {
	s := startSim(t, Options{})
	guests := decode[[]map[string]any](t, call(t, s, "admin", "GET", "/cluster/resources", url.Values{"type": {"vm"}}))
	qemu, lxc := 0, 0
	memByNode := map[string]float64{}
	for _, g := range guests {
		if g["type"] == "qemu" {
			qemu++
		} else {
			lxc++
		}
		if g["status"] == "running" {
			memByNode[g["node"].(string)] += g["mem"].(float64)
		}
	}
	if qemu != 10 || lxc != 5 {
		t.Errorf("demo has %d qemu (9 VMs + template) and %d CTs, want 10/5", qemu, lxc)
	}
	nodes := decode[[]map[string]any](t, call(t, s, "admin", "GET", "/nodes", nil))
	for _, n := range nodes {
		name := n["node"].(string)
		if n["mem"].(float64) < memByNode[name] {
			t.Errorf("%s mem %v < its guests' %v", name, n["mem"], memByNode[name])
		}
		if name == "pve-node03" {
			if pct := n["mem"].(float64) / n["maxmem"].(float64); pct < 0.87 || pct > 0.95 {
				t.Errorf("pve-node03 RAM at %.1f%%, want ~91%%", pct*100)
			}
		}
	}
	if id := decode[string](t, call(t, s, "admin", "GET", "/cluster/nextid", nil)); id != "106" {
		t.Errorf("nextid %s", id)
	}
	// storages hold their volumes
	for _, n := range s.Nodes() {
		for _, st := range decode[[]map[string]any](t, call(t, s, "admin", "GET", "/nodes/"+n+"/storage", nil)) {
			content := decode[[]map[string]any](t, call(t, s, "admin", "GET", "/nodes/"+n+"/storage/"+st["storage"].(string)+"/content", nil))
			var sum float64
			for _, v := range content {
				if u, ok := v["used"].(float64); ok {
					sum += u
				} else {
					sum += v["size"].(float64)
				}
			}
			if st["used"].(float64) < sum || st["used"].(float64) > st["total"].(float64) {
				t.Errorf("%s/%s used %v, volumes %v, total %v", n, st["storage"], st["used"], sum, st["total"])
			}
		}
	}
	pools := decode[[]map[string]any](t, call(t, s, "admin", "GET", "/nodes/pve-node03/disks/zfs", nil))
	if len(pools) != 1 || pools[0]["health"] != "DEGRADED" || pools[0]["frag"] != float64(31) {
		t.Errorf("pve-node03 pools %v", pools)
	}
	nb := decode[[]map[string]any](t, call(t, s, "admin", "GET", "/cluster/backup-info/not-backed-up", nil))
	if len(nb) != 1 || nb[0]["vmid"] != float64(105) {
		t.Errorf("not backed up: %v", nb)
	}
	// VM 103's failure in backup-02, five days ago, on pve-node01
	day := fixedNow.AddDate(0, 0, -5)
	tasks := decode[[]map[string]any](t, call(t, s, "admin", "GET", "/nodes/pve-node01/tasks",
		url.Values{"typefilter": {"vzdump"}, "errors": {"1"}, "limit": {"50"}}))
	found := false
	for _, tk := range tasks {
		st := time.Unix(int64(tk["starttime"].(float64)), 0).UTC()
		if st.YearDay() != day.YearDay() || st.Hour() != 2 {
			continue
		}
		if tk["status"] != "job errors" {
			t.Errorf("backup-02 run on day -5: status %v", tk["status"])
		}
		r := call(t, s, "admin", "GET", "/nodes/pve-node01/tasks/"+tk["upid"].(string)+"/log", url.Values{"limit": {"0"}})
		log := string(r.Data)
		if !strings.Contains(log, "ERROR: Backup of VM 103 failed - vzdump: backup size 201 GB exceeds storage limit") || !strings.Contains(log, "TASK ERROR: job errors") {
			t.Errorf("failure log: %s", log)
		}
		found = true
	}
	if !found {
		t.Error("no failed backup-02 run five days before now")
	}
	// the one run with a warning
	warn := false
	for _, n := range s.Nodes() {
		for _, tk := range decode[[]map[string]any](t, call(t, s, "admin", "GET", "/nodes/"+n+"/tasks", url.Values{"typefilter": {"vzdump"}, "limit": {"100"}})) {
			if tk["status"] == "WARNINGS: 1" {
				warn = true
			}
		}
	}
	if !warn {
		t.Error("no vzdump run with WARNINGS: 1")
	}
}

func TestStorageGrowthInRRD(t *testing.T) {
	s := startSim(t, Options{})
	pts := decode[[]map[string]float64](t, call(t, s, "admin", "GET", "/nodes/pve-node03/storage/local-zfs/rrddata", url.Values{"timeframe": {"month"}}))
	if len(pts) != 1440 {
		t.Fatalf("month points: %d", len(pts))
	}
	a, b := pts[0], pts[len(pts)-1]
	perDay := (b["used"] - a["used"]) / ((b["time"] - a["time"]) / 86400)
	if perDay < 1.19e9 || perDay > 1.21e9 {
		t.Errorf("local-zfs on pve-node03 grows %.0f bytes/day, want 1.2 GB/day", perDay)
	}
	// RRD shapes per version
	for _, tc := range []struct {
		ver, n int
		tf     string
	}{{9, 1440, "day"}, {8, 70, "day"}, {9, 336, "week"}, {8, 60, "hour"}} {
		sv := startSim(t, Options{PVEVersion: tc.ver})
		pts := decode[[]map[string]any](t, call(t, sv, "admin", "GET", "/nodes/pve-node01/qemu/100/rrddata", url.Values{"timeframe": {tc.tf}}))
		if len(pts) != tc.n {
			t.Errorf("pve%d %s: %d points, want %d", tc.ver, tc.tf, len(pts), tc.n)
		}
	}
	// a stopped guest has only max* fields
	pts2 := decode[[]map[string]any](t, call(t, s, "admin", "GET", "/nodes/pve-node02/lxc/203/rrddata", url.Values{"timeframe": {"hour"}}))
	for k := range pts2[0] {
		if k != "time" && k != "maxcpu" && k != "maxmem" && k != "maxdisk" && k != "disk" {
			t.Errorf("stopped guest rrd has %s", k)
		}
	}
}

func TestGenerate(t *testing.T) {
	start := time.Now()
	s := startSim(t, Options{Generate: "nodes=64,guests=10000,seed=3"})
	if len(s.Nodes()) != 64 {
		t.Fatalf("nodes %d", len(s.Nodes()))
	}
	if len(s.st.Guests) != 10000 {
		t.Errorf("guests %d", len(s.st.Guests))
	}
	// one node's share (the whole list is measured by BenchmarkClusterResources10k)
	vms := decode[[]map[string]any](t, call(t, s, "admin", "GET", "/nodes/pve01/qemu", nil))
	cts := decode[[]map[string]any](t, call(t, s, "admin", "GET", "/nodes/pve01/lxc", nil))
	if n := len(vms) + len(cts); n < 150 || n > 160 {
		t.Errorf("pve01 has %d guests, want ~10000/64", n)
	}
	t.Logf("generated and listed in %v", time.Since(start))
	for _, bad := range []string{"nodes=0", "nodes=x", "pods=3", "nodes"} {
		if _, err := generateScenario(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func BenchmarkGenerate64x10000(b *testing.B) {
	for i := 0; i < b.N; i++ {
		sc, err := generateScenario("nodes=64,guests=10000")
		if err != nil {
			b.Fatal(err)
		}
		s := &Sim{now: func() time.Time { return fixedNow }, ver: 9, faults: map[string]Fault{}, tasks: newTaskStore(time.Now, 0)}
		if _, err := s.buildState(sc); err != nil {
			b.Fatal(err)
		}
	}
}
