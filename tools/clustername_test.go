package tools

import (
	"context"
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/internal/simtest"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
	"github.com/pvemcp/pvemcp/toolkit"
)

// TestClusterNameReadOncePerProcess: configured without a name (or with the
// placeholder "default" of an environment configuration), results carry the
// cluster's real name from /cluster/status, read once for the process.
func TestClusterNameReadOncePerProcess(t *testing.T) {
	for _, name := range []string{"", "default"} {
		sim := simtest.Demo(t)
		c, err := proxmox.New(proxmox.Options{Name: name, Endpoints: []string{sim.URL()}, Token: sim.Token("auditor"), Fingerprint: sim.Fingerprint()})
		if err != nil {
			t.Fatal(err)
		}
		e := &testEnv{sim: sim, client: c, srv: toolkit.NewServer(&toolkit.Env{Client: c}, toolkit.Select(true, nil)), logs: &syncBuffer{}}
		for i := 0; i < 3; i++ {
			res, m := e.call(t, "list_guests", `{}`)
			if res.IsError || m["cluster"] != sim.ClusterName() {
				t.Fatalf("name %q call %d: cluster %v (%s)", name, i, m["cluster"], res.Text)
			}
			read := strings.Contains(res.Text, `"path":"/cluster/status"`)
			if read != (i == 0) {
				t.Errorf("name %q call %d: /cluster/status read %v", name, i, read)
			}
		}
	}
	// A configured name is the label (it is what the "cluster" argument takes).
	e := simEnv(t, pvesim.Options{}, nil)
	c, err := proxmox.New(proxmox.Options{Name: "prod", Endpoints: []string{e.sim.URL()}, Token: e.sim.Token("auditor"), Fingerprint: e.sim.Fingerprint()})
	if err != nil {
		t.Fatal(err)
	}
	res, err := toolkit.NewServer(&toolkit.Env{Client: c}, toolkit.Select(true, nil)).Call(context.Background(), "list_guests", nil)
	if err != nil || !strings.Contains(res.Text, `"cluster":"prod"`) {
		t.Errorf("configured name: %v %s", err, res.Text)
	}
}
