package tools

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/internal/simtest"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
	"github.com/pvemcp/pvemcp/toolkit"
)

// TestBackupStatusJobSelections: runs of jobs that select guests by all
// (with or without exclude), pool or node are attributed to their job, not
// listed as manual runs; and a backup on a shared storage counts for its
// guest even when the run's log was not read.
func TestBackupStatusJobSelections(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "examples", "scenarios", "small.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	y := string(b)
	const jobs = "    - {id: nightly, schedule: \"03:30\", storage: local, mode: snapshot, all: true, compress: zstd, prune_backups: keep-last=3}\n"
	if !strings.Contains(y, jobs) {
		t.Fatal("small.yaml changed: no nightly job")
	}
	y = strings.Replace(y, jobs, jobs+
		"    - {id: media, schedule: \"04:00\", storage: nas, mode: snapshot, pool: media}\n"+
		"    - {id: most, schedule: \"05:00\", storage: local, mode: stop, all: true, exclude: [101]}\n"+
		"    - {id: on-pve, schedule: \"06:00\", storage: nas, mode: suspend, all: true, node: pve}\n", 1)
	y = strings.Replace(y, "guests:\n", "  - {id: nas, type: nfs, server: 192.168.1.5, export: /backup, content: [backup], size: 4TB, used: 1TB}\npools:\n  - {id: media, vms: [101]}\nguests:\n", 1)
	p := filepath.Join(t.TempDir(), "jobs.yaml")
	if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	sim := simtest.Start(t, pvesim.Options{Scenario: p})
	c, err := proxmox.New(proxmox.Options{Endpoints: []string{sim.URL()}, Token: sim.Token("homelab"), Fingerprint: sim.Fingerprint()})
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{sim: sim, client: c, srv: toolkit.NewServer(&toolkit.Env{Client: c}, toolkit.Select(true, nil)), logs: &syncBuffer{}}

	var out struct {
		BackupResult
		envelopeOut
	}
	healthCall(t, e, "backup_status", `{"logs":"all"}`, &out)
	if len(out.Manual) != 0 {
		t.Errorf("runs of scheduled jobs listed as manual: %+v", out.Manual)
	}
	want := map[string]string{"nightly": "all guests", "media": "pool media", "most": "all guests except 101", "on-pve": "all guests on pve"}
	for _, j := range out.Jobs {
		if want[j.ID] == "" {
			t.Errorf("unexpected job %s", j.ID)
			continue
		}
		if j.Selection != want[j.ID] || j.Runs < 7 || j.LastRun == nil || j.Outcome != "ok" {
			t.Errorf("job %s: selection %q runs %d outcome %s last %+v", j.ID, j.Selection, j.Runs, j.Outcome, j.LastRun)
		}
		delete(want, j.ID)
	}
	if len(want) > 0 {
		t.Errorf("jobs missing: %v", want)
	}

	// Only the nightly job's runs are read (job filter): guest 101's newest
	// backup is an archive the 06:00 on-pve job wrote to the shared NFS
	// storage, and it counts.
	var one BackupResult
	healthCall(t, e, "backup_status", `{"job":"nightly"}`, &one)
	found := false
	for _, g := range one.Guests {
		if g.VMID == 101 && strings.Contains(g.LastSuccess, "T06:0") {
			found = true
		}
	}
	if !found {
		t.Errorf("guest 101's newer backup on the shared storage not counted: %+v", one.Guests)
	}
}
