package pvesim

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// patternValues are demo values for path variables whose name other routes
// use for something else.
var patternValues = map[string]map[string]string{
	"/cluster/replication/{id}":             {"id": "102-0"},
	"/nodes/{node}/replication/{id}":        {"id": "102-0", "node": "pve-node02"},
	"/nodes/{node}/replication/{id}/status": {"id": "102-0", "node": "pve-node02"},
	"/cluster/firewall/groups/{group}":      {"group": "webserver"},
	"/cluster/firewall/ipset/{name}":        {"name": "admins"},
}

// cephAbsent is what PVE answers for Ceph reads where Ceph is not installed.
const cephAbsent = "binary not installed: /usr/bin/ceph-mon"

// TestFidelityCeph validates the Ceph reads against the schema on a
// generated cluster with Ceph, and the demo's answer without it.
func TestFidelityCeph(t *testing.T) {
	schema := loadSchema(t)
	s := startSim(t, Options{Generate: "nodes=4,guests=10,ceph=1"})
	n := 0
	for _, r := range s.routeList() {
		if r.method != "GET" || !strings.Contains(r.pattern, "/ceph") {
			continue
		}
		path := strings.ReplaceAll(r.pattern, "{node}", "pve01")
		res := call(t, s, "admin", "GET", path, nil)
		if res.Status != 200 {
			t.Errorf("GET %s: %d %q", path, res.Status, res.Reason)
			continue
		}
		var data any
		json.Unmarshal(res.Data, &data)
		for _, e := range validateReturn(data, schema[r.pattern]["GET"].Returns, "data", r.pattern) {
			t.Errorf("GET %s: %s", path, e)
		}
		n++
	}
	if n < 5 {
		t.Errorf("only %d Ceph routes checked", n)
	}
	demo := startSim(t, Options{})
	for _, p := range []string{"/cluster/ceph/status", "/nodes/pve-node01/ceph/status", "/nodes/pve-node01/ceph/osd", "/nodes/pve-node01/ceph/pool"} {
		res := call(t, demo, "admin", "GET", p, nil)
		if res.Status != 500 || res.Reason != cephAbsent {
			t.Errorf("demo GET %s: %d %q, want 500 %q", p, res.Status, res.Reason, cephAbsent)
		}
	}
	res := call(t, demo, "admin", "GET", "/cluster/ceph", url.Values{})
	if res.Status != 200 {
		t.Errorf("GET /cluster/ceph: %d", res.Status)
	}
}

// TestFidelityDiagEveryNodeAndGuest validates the diagnostics reads for
// every demo node and guest (each has its own services, updates, journal,
// certificate, replication jobs and firewall).
func TestFidelityDiagEveryNodeAndGuest(t *testing.T) {
	schema := loadSchema(t)
	s := startSim(t, Options{})
	check := func(pattern, path string, params url.Values) {
		t.Helper()
		res := call(t, s, "admin", "GET", path, params)
		if res.Status != 200 {
			t.Errorf("GET %s: %d %q", path, res.Status, res.Reason)
			return
		}
		var data any
		json.Unmarshal(res.Data, &data)
		for _, e := range validateReturn(data, schema[pattern]["GET"].Returns, "data", pattern) {
			t.Errorf("GET %s: %s", path, e)
		}
	}
	for _, n := range s.Nodes() {
		for _, sub := range []string{"/services", "/syslog", "/journal", "/apt/update", "/apt/versions", "/subscription", "/certificates/info",
			"/time", "/dns", "/replication", "/firewall/options", "/firewall/rules", "/aplinfo"} {
			check("/nodes/{node}"+sub, "/nodes/"+n+sub, nil)
		}
		check("/nodes/{node}/syslog", "/nodes/"+n+"/syslog", url.Values{"service": {"pvescheduler"}, "since": {"2000-01-01"}})
		check("/nodes/{node}/journal", "/nodes/"+n+"/journal", url.Values{"lastentries": {"5"}})
	}
	for _, g := range s.st.sortedGuests() {
		base := "/nodes/" + g.Node + "/" + g.Type + "/" + itoa(g.VMID) + "/firewall"
		for _, sub := range []string{"/options", "/rules", "/ipset", "/aliases"} {
			check("/nodes/{node}/"+g.Type+"/{vmid}/firewall"+sub, base+sub, nil)
		}
	}
	check("/cluster/log", "/cluster/log", url.Values{"max": {"500"}})
}
