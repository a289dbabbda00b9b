package pvesim

import (
	"encoding/json"
	"net/url"
	"testing"
)

type haSvc struct {
	SID, Node, State string
}

func (w *wsim) haServices() map[string]haSvc {
	w.t.Helper()
	var l []map[string]any
	w.ok("auditor", "GET", "/cluster/ha/status/current", nil, &l)
	out := map[string]haSvc{}
	for _, e := range l {
		if e["type"] == "service" {
			sid, _ := e["sid"].(string)
			node, _ := e["node"].(string)
			state, _ := e["state"].(string)
			out[sid] = haSvc{sid, node, state}
			if e["crm_state"] != state {
				w.t.Errorf("%s: crm_state %v state %v", sid, e["crm_state"], state)
			}
		}
	}
	return out
}

type clusterRes struct {
	ID      string `json:"id"`
	Node    string `json:"node"`
	Status  string `json:"status"`
	HAState string `json:"hastate"`
}

func (w *wsim) vmResources() map[string]clusterRes {
	w.t.Helper()
	var l []clusterRes
	w.ok("auditor", "GET", "/cluster/resources", url.Values{"type": {"vm"}}, &l)
	out := map[string]clusterRes{}
	for _, r := range l {
		out[r.ID] = r
	}
	return out
}

// TestHARecoveryInstant: at task speed 0, taking pve-node01 offline fences it and recovers its HA services
// onto pve-node02 (the other node of their group) before SetFault returns; non-HA guests stay, unknown.
// When the node returns, failback (the PVE 9 default) migrates them back.
func TestHARecoveryInstant(t *testing.T) {
	w := newWSim(t)
	w.s.SetFault("pve-node01", Fault{Offline: true})
	svc := w.haServices()
	for _, sid := range []string{"vm:100", "vm:101", "ct:200"} {
		if s := svc[sid]; s.Node != "pve-node02" || s.State != "started" {
			t.Errorf("%s after recovery: %+v", sid, s)
		}
	}
	if s := svc["vm:102"]; s.Node != "pve-node02" || s.State != "started" {
		t.Errorf("vm:102 disturbed: %+v", s)
	}
	res := w.vmResources()
	if r := res["qemu/100"]; r.Node != "pve-node02" || r.Status != "running" || r.HAState != "started" {
		t.Errorf("qemu/100 resource: %+v", r)
	}
	if r := res["lxc/200"]; r.Node != "pve-node02" || r.Status != "running" {
		t.Errorf("lxc/200 resource: %+v", r)
	}
	for _, id := range []string{"qemu/103", "qemu/105", "lxc/201"} {
		if r := res[id]; r.Node != "pve-node01" || r.Status != "unknown" {
			t.Errorf("non-HA %s: %+v", id, r)
		}
	}
	// The LRM of the new node started the recovered guests as root@pam, and the config followed.
	var tasks []map[string]any
	w.ok("admin", "GET", "/nodes/pve-node02/tasks", url.Values{"vmid": {"100"}, "typefilter": {"qmstart"}}, &tasks)
	if len(tasks) == 0 || tasks[0]["user"] != "root@pam" || tasks[0]["status"] != "OK" {
		t.Errorf("qmstart of the recovery: %v", tasks)
	}
	if r := w.call("auditor", "GET", "/nodes/pve-node02/qemu/100/config", nil); r.Status != 200 {
		t.Errorf("config not on pve-node02: %d %s", r.Status, r.Reason)
	}
	// The node returns: failback moves the group's services to their preferred node again.
	w.s.ClearFaults()
	svc = w.haServices()
	for _, sid := range []string{"vm:100", "vm:101", "ct:200"} {
		if s := svc[sid]; s.Node != "pve-node01" || s.State != "started" {
			t.Errorf("%s after failback: %+v", sid, s)
		}
	}
	if g, _ := w.guest(100); g.Node != "pve-node01" || g.Status != "running" {
		t.Errorf("vm 100 after failback: %s %s", g.Node, g.Status)
	}
}

// TestHARecoveryNoFailback: without failback (PVE 9 resource flag) the services stay where they were
// recovered; PVE 8 takes the flag from the group's nofailback.
func TestHARecoveryNoFailback(t *testing.T) {
	for _, ver := range []int{9, 8} {
		w := newWSimOpts(t, Options{Scenario: "demo", PVEVersion: ver})
		w.s.withState(func() {
			if ver >= 9 {
				w.s.st.haResource("vm:102").Failback = false
			} else {
				w.s.st.haGroup("ha-group2").NoFailback = true
			}
		})
		w.s.SetFault("pve-node02", Fault{Offline: true})
		if s := w.haServices()["vm:102"]; s.Node != "pve-node03" || s.State != "started" {
			t.Fatalf("pve%d vm:102 recovery: %+v", ver, s)
		}
		w.s.SetFault("pve-node02", Fault{})
		if s := w.haServices()["vm:102"]; s.Node != "pve-node03" {
			t.Errorf("pve%d vm:102 failed back without failback: %+v", ver, s)
		}
	}
}

// TestHARecoveryStrict: a strict node-affinity rule without an online node leaves the service in
// "recovery" on the dead node.
func TestHARecoveryStrict(t *testing.T) {
	w := newWSim(t)
	w.s.withState(func() {
		for _, r := range w.s.st.HARules {
			if r.ID == "ha-group-ha-group2" {
				r.Nodes, r.Strict = "pve-node02", true
			}
		}
	})
	w.s.SetFault("pve-node02", Fault{Offline: true})
	if s := w.haServices()["vm:102"]; s.Node != "pve-node02" || s.State != "recovery" {
		t.Fatalf("vm:102: %+v", s)
	}
	if r := w.vmResources()["qemu/102"]; r.HAState != "recovery" || r.Status != "unknown" {
		t.Errorf("resource: %+v", r)
	}
	// The node returns: the service continues there.
	w.s.ClearFaults()
	if s := w.haServices()["vm:102"]; s.Node != "pve-node02" || s.State == "recovery" || s.State == "fence" {
		t.Errorf("vm:102 after return: %+v", s)
	}
}

// TestHARecoverySequence: with a non-zero speed the CRM states are observable: fence first, then
// recovery/started on the new node, never anything else.
func TestHARecoverySequence(t *testing.T) {
	w := newWSim(t)
	w.s.SetTaskSpeed(0.03) // fence after 1.8 s: room for a loaded machine to look first
	w.s.SetFault("pve-node02", Fault{Offline: true})
	if s := w.haServices()["vm:102"]; s.State != "fence" || s.Node != "pve-node02" {
		t.Fatalf("right after the loss: %+v", s)
	}
	seen := []string{}
	w.waitFor("vm:102 started on pve-node03", func() bool {
		s := w.haServices()["vm:102"]
		if len(seen) == 0 || seen[len(seen)-1] != s.State {
			seen = append(seen, s.State)
		}
		g, _ := w.guest(102)
		return s.Node == "pve-node03" && s.State == "started" && g.Status == "running"
	})
	allowed := map[string]bool{"fence": true, "recovery": true, "starting": true, "started": true}
	for _, st := range seen {
		if !allowed[st] {
			t.Errorf("unexpected state %q in %v", st, seen)
		}
	}
	if seen[0] != "fence" {
		t.Errorf("sequence %v", seen)
	}
	b, _ := json.Marshal(seen)
	t.Logf("states: %s", b)
}

// TestHARecoveryNeedsQuorum: with two of three nodes down the cluster has no quorum and nothing is
// recovered; when one node returns, the stuck service is recovered onto it.
func TestHARecoveryNeedsQuorum(t *testing.T) {
	w := newWSim(t)
	w.s.SetFault("pve-node03", Fault{Offline: true})
	w.s.SetFault("pve-node02", Fault{Offline: true})
	if s := w.haServices()["vm:102"]; s.Node != "pve-node02" || s.State != "recovery" {
		t.Fatalf("without quorum: %+v", s)
	}
	w.s.SetFault("pve-node03", Fault{})
	if s := w.haServices()["vm:102"]; s.Node != "pve-node03" || s.State != "started" {
		t.Fatalf("after pve-node03 returned: %+v", s)
	}
}
