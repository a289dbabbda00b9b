package pvesim

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHARecoveryLocalDisksNeedReplication: HA cannot copy the disks of a
// guest on node-local storage off a dead node. Without a replication job to
// the node it recovers to, the CRM steals the config, the start there fails
// on the missing volume and the service goes to "error", as in Proxmox; with
// a job (the demo's), the replica is there and the guest runs.
func TestHARecoveryLocalDisksNeedReplication(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("scenarios", "demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const job = `  - {guest: 102, jobnum: 1, target: pve-node03, schedule: "*/15", last_sync_ago: 9m, duration_s: 3.1}` + "\n"
	if !strings.Contains(string(b), job) {
		t.Fatal("demo scenario changed: no replication job for 102")
	}
	p := filepath.Join(t.TempDir(), "norepl.yaml")
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), job, "", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	w := newWSimOpts(t, Options{Scenario: p})
	w.s.SetFault("pve-node02", Fault{Offline: true})
	if s := w.haServices()["vm:102"]; s.Node != "pve-node03" || s.State != "error" {
		t.Fatalf("vm:102 recovered without its disks: %+v", s)
	}
	if r := w.vmResources()["qemu/102"]; r.Status != "stopped" || r.HAState != "error" {
		t.Errorf("qemu/102 resource: %+v", r)
	}
	var tasks []map[string]any
	w.ok("admin", "GET", "/nodes/pve-node03/tasks", url.Values{"vmid": {"102"}, "typefilter": {"qmstart"}}, &tasks)
	if len(tasks) == 0 || tasks[0]["status"] != "zfs error: cannot open 'rpool/data/vm-102-disk-0': dataset does not exist" {
		t.Errorf("start of the recovery: %v", tasks)
	}
	// A start request changes nothing: the volume is not on pve-node03.
	w.wait(w.upid("admin", "POST", "/nodes/pve-node03/qemu/102/status/start", nil))
	if s := w.haServices()["vm:102"]; s.State != "error" || w.status(102) != "stopped" {
		t.Errorf("after a start request: %+v, %s", s, w.status(102))
	}
	// The volume stayed on pve-node02's local-zfs.
	if g, _ := w.guest(102); len(g.Missing) == 0 {
		t.Errorf("guest 102 lists no missing volume: %+v", g.Missing)
	}

	// With the demo's replication job the replica is there.
	w2 := newWSim(t)
	var jobs []map[string]any
	w2.ok("auditor", "GET", "/cluster/replication", nil, &jobs)
	if len(jobs) != 6 || jobs[0]["id"] != "100-0" || jobs[0]["target"] != "pve-node02" || jobs[0]["type"] != "local" {
		t.Errorf("replication jobs: %v", jobs)
	}
	var one map[string]any
	w2.ok("auditor", "GET", "/cluster/replication/102-1", nil, &one)
	if one["guest"] != float64(102) || one["target"] != "pve-node03" || one["digest"] == nil {
		t.Errorf("job 102-1: %v", one)
	}
	w2.expectErr(w2.call("auditor", "GET", "/cluster/replication/102-7", nil), 500, "replication job '102-7' does not exist")
	w2.expectErr(w2.call("auditor", "GET", "/cluster/replication/x", nil), 400, "Parameter verification failed.")
	var none []map[string]any
	w2.ok("noaccess", "GET", "/cluster/replication", nil, &none)
	if len(none) != 0 {
		t.Errorf("jobs visible without VM.Audit: %v", none)
	}
	w2.s.SetFault("pve-node02", Fault{Offline: true})
	if s := w2.haServices()["vm:102"]; s.Node != "pve-node03" || s.State != "started" {
		t.Errorf("replicated vm:102: %+v", s)
	}
}

// TestScenarioReplicationChecks: replication needs an existing guest,
// another node as target, and ZFS volumes.
func TestScenarioReplicationChecks(t *testing.T) {
	two := strings.Replace(miniScenario, "storages:", "  - {name: n2, cpu: {cores: 1}, memory: 1GiB}\nstorages:", 1)
	dirStor := strings.Replace(two, "    type: zfspool\n    pool: rpool/data\n", "    type: dir\n    path: /srv\n", 1)
	for _, c := range []struct{ yaml, want string }{
		{two + "replication:\n  - {guest: 101, target: n2}\n", "bad.yaml:20: replication: no such guest 101"},
		{two + "replication:\n  - {guest: 100, target: n9}\n", `bad.yaml:20: replication: unknown node "n9"`},
		{two + "replication:\n  - {guest: 100, target: n1}\n", "bad.yaml:20: replication of guest 100: target n1 is the node it runs on"},
		{dirStor + "replication:\n  - {guest: 100, target: n2}\n", "bad.yaml:20: replication of guest 100: missing replicate feature"},
	} {
		p := filepath.Join(t.TempDir(), "bad.yaml")
		if err := os.WriteFile(p, []byte(c.yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := loadScenario(p); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}

// TestGeneratedHAGuestsReplicated: a generated cluster replicates every HA
// guest's local disks to its group's fallback node.
func TestGeneratedHAGuestsReplicated(t *testing.T) {
	s := startSim(t, Options{Generate: "nodes=3,guests=200"})
	jobs := decode[[]map[string]any](t, call(t, s, "admin", "GET", "/cluster/replication", nil))
	res := decode[[]map[string]any](t, call(t, s, "admin", "GET", "/cluster/ha/resources", nil))
	if len(jobs) == 0 || len(jobs) != len(res) {
		t.Errorf("%d replication jobs for %d HA resources", len(jobs), len(res))
	}
}
