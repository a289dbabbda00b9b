package pvesim

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoQuorumRefusesWrites: with two of three nodes down, every change is
// refused as Proxmox does (check_cfs_quorum), reads still work, and the HA
// manager is not shown active with a fresh timestamp. When quorum returns,
// writes work again.
func TestNoQuorumRefusesWrites(t *testing.T) {
	w := newWSim(t)
	w.s.SetFault("pve-node02", Fault{Offline: true})
	w.s.SetFault("pve-node03", Fault{Offline: true})
	for _, c := range []struct{ method, path string }{
		{"POST", "/nodes/pve-node01/qemu/105/status/reboot"},
		{"POST", "/nodes/pve-node01/qemu/105/status/start"},
		{"PUT", "/nodes/pve-node01/qemu/105/config"},
		{"POST", "/nodes/pve-node01/qemu/105/migrate"},
	} {
		params := url.Values{}
		switch {
		case strings.HasSuffix(c.path, "/config"):
			params.Set("cores", "4")
		case strings.HasSuffix(c.path, "/migrate"):
			params.Set("target", "pve-node02")
		}
		r := w.call("operator", c.method, c.path, params)
		if r.Status != 500 || r.Reason != "cluster not ready - no quorum?" || r.Msg != "cluster not ready - no quorum?\n" {
			t.Errorf("%s %s without quorum: %d %q %q", c.method, c.path, r.Status, r.Reason, r.Msg)
		}
	}
	if g, _ := w.guest(105); g.Status != "running" || g.Conf.Get("cores") == "4" {
		t.Errorf("a refused write changed the guest: %s cores %s", g.Status, g.Conf.Get("cores"))
	}
	if r := w.call("auditor", "GET", "/cluster/resources", nil); r.Status != 200 {
		t.Errorf("reads without quorum: %d", r.Status)
	}

	var st []map[string]any
	w.ok("auditor", "GET", "/cluster/ha/status/current", nil, &st)
	for _, e := range st {
		s, _ := e["status"].(string)
		switch e["type"] {
		case "quorum":
			if e["quorate"] != float64(0) {
				t.Errorf("quorum entry %v", e)
			}
		case "master", "lrm":
			if strings.Contains(s, "(active") || strings.Contains(s, "(idle") {
				t.Errorf("%s shown working without quorum: %q", e["id"], s)
			}
			if !strings.Contains(s, "old timestamp - dead?") {
				t.Errorf("%s: %q, want an old timestamp", e["id"], s)
			}
		}
	}
	var ms struct {
		ManagerStatus struct {
			Master     string            `json:"master_node"`
			NodeStatus map[string]string `json:"node_status"`
			Timestamp  int64             `json:"timestamp"`
		} `json:"manager_status"`
		Quorum struct {
			Node    string `json:"node"`
			Quorate int    `json:"quorate"`
		} `json:"quorum"`
		LRM map[string]map[string]any `json:"lrm_status"`
	}
	w.ok("auditor", "GET", "/cluster/ha/status/manager_status", nil, &ms)
	if ms.Quorum.Quorate != 0 || ms.Quorum.Node == "" || ms.ManagerStatus.Master == "" || len(ms.LRM) != 3 {
		t.Errorf("manager_status without quorum: %+v", ms)
	}
	if now := w.s.now().Unix(); now-ms.ManagerStatus.Timestamp < 60 {
		t.Errorf("manager timestamp %d s old without quorum", now-ms.ManagerStatus.Timestamp)
	}
	if ms.ManagerStatus.NodeStatus["pve-node01"] != "online" || ms.ManagerStatus.NodeStatus["pve-node03"] == "online" {
		t.Errorf("node_status %v", ms.ManagerStatus.NodeStatus)
	}

	// Quorum back: writes work.
	w.s.SetFault("pve-node03", Fault{})
	if st := w.wait(w.upid("operator", "POST", "/nodes/pve-node01/qemu/105/status/reboot", nil)); st != "OK" {
		t.Errorf("reboot with quorum back: %q", st)
	}
	w.ok("auditor", "GET", "/cluster/ha/status/manager_status", nil, &ms)
	if ms.Quorum.Quorate != 1 || w.s.now().Unix()-ms.ManagerStatus.Timestamp > 30 {
		t.Errorf("manager_status with quorum: %+v", ms)
	}
}

// TestDirectoryIndexesServed: in the areas the simulator models fully (HA),
// every child a directory index lists that the official schema gives a GET
// is served: no 501 for a link the API itself advertises, such as
// /cluster/ha/status/manager_status. (Elsewhere the indexes list, as
// Proxmox's do, children the simulator does not model.)
func TestDirectoryIndexesServed(t *testing.T) {
	schema := loadSchema(t)
	s := startSim(t, Options{})
	upid := anyUPID(t, s)
	checked := 0
	for _, r := range s.routeList() {
		if r.method != "GET" || !strings.HasPrefix(r.pattern, "/cluster/ha") {
			continue
		}
		ret := schema[r.pattern]["GET"].Returns
		links, _ := ret["links"].([]any)
		if len(links) == 0 {
			continue
		}
		href, _ := links[0].(map[string]any)["href"].(string)
		key := strings.Trim(href, "{}")
		path := fillPath(r.pattern, vmidFor(r.pattern), upid)
		res := call(t, s, "admin", "GET", path, nil)
		if res.Status != 200 {
			continue
		}
		for _, e := range decode[[]map[string]any](t, res) {
			child, _ := e[key].(string)
			if child == "" {
				continue
			}
			if _, ok := schema[r.pattern+"/"+child]["GET"]; !ok {
				continue // a link to something that only takes other methods, or to a variable child
			}
			checked++
			if c := call(t, s, "admin", "GET", path+"/"+child, nil); c.Status == 501 {
				t.Errorf("GET %s lists %q but GET %s/%s is not served", r.pattern, child, r.pattern, child)
			}
		}
	}
	if checked < 4 {
		t.Fatalf("only %d index children checked", checked)
	}
	t.Logf("%d index children served", checked)
}

// TestFaultedPoolStorageInactive: a storage on a FAULTED pool is not
// active and reports no usage, on every read that shows it.
func TestFaultedPoolStorageInactive(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("scenarios", "demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	y := strings.Replace(string(b), "        health: DEGRADED\n", "        health: FAULTED\n", 1)
	p := filepath.Join(t.TempDir(), "faulted.yaml")
	if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startSim(t, Options{Scenario: p})
	for _, node := range []string{"pve-node03", "pve-node02"} {
		l := decode[[]map[string]any](t, call(t, s, "auditor", "GET", "/nodes/"+node+"/storage", url.Values{"storage": {"local-zfs"}}))
		if len(l) != 1 {
			t.Fatalf("%s: %v", node, l)
		}
		faulted := node == "pve-node03"
		if active := l[0]["active"] == float64(1); active == faulted {
			t.Errorf("%s local-zfs active=%v (pool FAULTED: %v)", node, l[0]["active"], faulted)
		}
		if faulted && (l[0]["used"] != float64(0) || l[0]["total"] != float64(0) || l[0]["used_fraction"] != nil) {
			t.Errorf("faulted pool storage reports usage: %v", l[0])
		}
	}
	for _, e := range decode[[]map[string]any](t, call(t, s, "auditor", "GET", "/cluster/resources", url.Values{"type": {"storage"}})) {
		if e["id"] == "storage/pve-node03/local-zfs" && (e["status"] != "unknown" || e["disk"] != nil || e["maxdisk"] != nil) {
			t.Errorf("cluster/resources shows the faulted pool's storage as %v", e)
		}
	}
}
