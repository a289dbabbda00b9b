package pvesim

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// rrdRows reads an RRD answer decoded the way a careful client decodes it:
// every data source as a float64.
func rrdRows(t *testing.T, s *Sim, path, tf, cf string) map[int64]map[string]float64 {
	t.Helper()
	rows := decode[[]map[string]float64](t, call(t, s, "operator", "GET", path, url.Values{"timeframe": {tf}, "cf": {cf}}))
	out := make(map[int64]map[string]float64, len(rows))
	for _, r := range rows {
		out[int64(r["time"])] = r
	}
	return out
}

// guestNode is where a guest is now (/cluster/resources).
func guestNode(t *testing.T, s *Sim, vmid int) string {
	t.Helper()
	res := decode[[]struct {
		VMID int    `json:"vmid"`
		Node string `json:"node"`
	}](t, call(t, s, "operator", "GET", "/cluster/resources", url.Values{"type": {"vm"}}))
	for _, r := range res {
		if r.VMID == vmid {
			return r.Node
		}
	}
	t.Fatalf("guest %d not listed", vmid)
	return ""
}

// sameHistory fails when a row that held data before lost it or changed.
func sameHistory(t *testing.T, what string, before, after map[int64]map[string]float64) {
	t.Helper()
	withData, lost := 0, 0
	for tm, b := range before {
		if _, ok := b["mem"]; !ok {
			continue
		}
		withData++
		a := after[tm]
		for k, v := range b {
			if a[k] != v {
				lost++
				if lost <= 3 {
					t.Errorf("%s: row %d field %s was %v, now %v", what, tm, k, v, a[k])
				}
				break
			}
		}
	}
	if withData < 1000 {
		t.Fatalf("%s: only %d rows with data before: the comparison tests nothing", what, withData)
	}
	if lost > 0 {
		t.Errorf("%s: %d of %d rows of history changed or vanished", what, lost, withData)
	}
}

// TestRRDHistorySurvivesOutageAndRestart: a node outage (HA fences its
// guests and recovers them elsewhere, then fails them back) and a guest's
// reboot keep the guests' CPU and memory history, as Proxmox's RRD files
// (kept per guest in pmxcfs) do.
func TestRRDHistorySurvivesOutageAndRestart(t *testing.T) {
	s := startSim(t, Options{})
	guests := []struct {
		vmid int
		typ  string
	}{{100, "qemu"}, {200, "lxc"}, {105, "qemu"}}
	before := map[int]map[int64]map[string]float64{}
	for _, g := range guests {
		before[g.vmid] = rrdRows(t, s, fmt.Sprintf("/nodes/pve-node01/%s/%d/rrddata", g.typ, g.vmid), "day", "AVERAGE")
	}
	s.SetFault("pve-node01", Fault{Offline: true})
	if n := guestNode(t, s, 100); n == "pve-node01" {
		t.Fatalf("HA did not recover VM 100 off the lost node")
	}
	for _, g := range guests[:2] { // the HA guests, read on the node that runs them now
		n := guestNode(t, s, g.vmid)
		sameHistory(t, fmt.Sprintf("%s %d on %s during the outage", g.typ, g.vmid, n),
			before[g.vmid], rrdRows(t, s, fmt.Sprintf("/nodes/%s/%s/%d/rrddata", n, g.typ, g.vmid), "day", "AVERAGE"))
	}
	s.ClearFaults()
	for _, g := range guests {
		n := guestNode(t, s, g.vmid)
		sameHistory(t, fmt.Sprintf("%s %d on %s after the outage", g.typ, g.vmid, n),
			before[g.vmid], rrdRows(t, s, fmt.Sprintf("/nodes/%s/%s/%d/rrddata", n, g.typ, g.vmid), "day", "AVERAGE"))
	}
	// A reboot restarts the guest's process, not its history.
	n := guestNode(t, s, 105)
	up := decode[string](t, call(t, s, "operator", "POST", fmt.Sprintf("/nodes/%s/qemu/105/status/reboot", n), nil))
	if err := s.WaitTask(t.Context(), up); err != nil {
		t.Fatal(err)
	}
	sameHistory(t, "VM 105 after a reboot", before[105], rrdRows(t, s, fmt.Sprintf("/nodes/%s/qemu/105/rrddata", n), "day", "AVERAGE"))
	// A stopped guest keeps its history too, with no data from the stop on.
	up = decode[string](t, call(t, s, "operator", "POST", fmt.Sprintf("/nodes/%s/qemu/105/status/stop", n), nil))
	if err := s.WaitTask(t.Context(), up); err != nil {
		t.Fatal(err)
	}
	sameHistory(t, "VM 105 after a stop", before[105], rrdRows(t, s, fmt.Sprintf("/nodes/%s/qemu/105/rrddata", n), "day", "AVERAGE"))
}

// TestRRDAveragesAreFractional: AVERAGE rows consolidate several samples,
// so byte gauges are fractional as on real Proxmox ("mem":
// 8468508117.03333); a client that decodes them as integers must fail here
// as it would there. Fixed sizes (maxmem, memtotal) stay whole.
func TestRRDAveragesAreFractional(t *testing.T) {
	s := startSim(t, Options{})
	for _, tc := range []struct {
		path   string
		fields []string
		whole  []string
	}{
		{"/nodes/pve-node01/qemu/100/rrddata", []string{"mem", "memhost"}, []string{"maxmem", "maxcpu", "maxdisk"}},
		{"/nodes/pve-node01/lxc/200/rrddata", []string{"mem"}, []string{"maxmem"}},
		{"/nodes/pve-node01/rrddata", []string{"memused", "memavailable"}, []string{"memtotal", "maxcpu"}},
	} {
		for _, tf := range []string{"hour", "day", "week"} {
			rows := rrdRows(t, s, tc.path, tf, "AVERAGE")
			for _, f := range tc.fields {
				n, frac := 0, 0
				for _, r := range rows {
					if v, ok := r[f]; ok {
						n++
						if v != math.Trunc(v) {
							frac++
						}
					}
				}
				if n == 0 || frac < n/2 {
					t.Errorf("%s %s: %d of %d %s averages fractional, want most", tc.path, tf, frac, n, f)
				}
			}
			for _, f := range tc.whole {
				for _, r := range rows {
					if v, ok := r[f]; ok && v != math.Trunc(v) {
						t.Fatalf("%s %s: %s %v is not whole", tc.path, tf, f, v)
					}
				}
			}
		}
		raw := call(t, s, "operator", "GET", tc.path, url.Values{"timeframe": {"day"}, "cf": {"AVERAGE"}})
		var asInts []map[string]int64
		if err := json.Unmarshal(raw.Data, &asInts); err == nil {
			t.Errorf("%s: rows decode as integers; real Proxmox's averages would not", tc.path)
		}
	}
}

// TestLXCSnapshotCurrentRunning: the "current" entry of a container's
// snapshot list says whether it runs, as pve-container's does.
func TestLXCSnapshotCurrentRunning(t *testing.T) {
	s := startSim(t, Options{})
	for _, tc := range []struct {
		path    string
		running float64
	}{
		{"/nodes/pve-node01/lxc/200/snapshot", 1},
		{"/nodes/pve-node02/lxc/203/snapshot", 0},
		{"/nodes/pve-node01/qemu/100/snapshot", 1},
	} {
		list := decode[[]map[string]any](t, call(t, s, "operator", "GET", tc.path, nil))
		cur := list[len(list)-1]
		if cur["name"] != "current" {
			t.Fatalf("%s: last entry %v", tc.path, cur)
		}
		if r, ok := cur["running"].(float64); !ok || r != tc.running {
			t.Errorf("%s: current entry %v, want running %v", tc.path, cur, tc.running)
		}
	}
}

// TestNVMeSmartFromDisk: each NVMe disk's SMART text follows from the
// scenario's disk: its wear, its health, its size, and its serial for the
// rest, so no two disks read alike and each reads the same every time.
func TestNVMeSmartFromDisk(t *testing.T) {
	s := startSim(t, Options{})
	field := func(text, name string) string {
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `:\s+(.*)$`).FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("no %q in\n%s", name, text)
		}
		return m[1]
	}
	num := func(s string) int64 {
		n, err := strconv.ParseInt(strings.ReplaceAll(strings.Fields(strings.TrimSuffix(s, "%"))[0], ",", ""), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	seen := map[string]string{}
	disks := 0
	for _, node := range s.Nodes() {
		list := decode[[]struct {
			DevPath string `json:"devpath"`
			Type    string `json:"type"`
			Health  string `json:"health"`
			Wearout any    `json:"wearout"`
			Serial  string `json:"serial"`
		}](t, call(t, s, "operator", "GET", "/nodes/"+node+"/disks/list", nil))
		for _, d := range list {
			if d.Type != "nvme" {
				continue
			}
			disks++
			q := url.Values{"disk": {d.DevPath}}
			sm := decode[struct {
				Type, Text, Health string
			}](t, call(t, s, "operator", "GET", "/nodes/"+node+"/disks/smart", q))
			again := decode[struct{ Text string }](t, call(t, s, "operator", "GET", "/nodes/"+node+"/disks/smart", q))
			what := node + " " + d.DevPath
			if sm.Type != "text" || sm.Health != d.Health || again.Text != sm.Text {
				t.Errorf("%s: type %q health %q (list %q), stable %v", what, sm.Type, sm.Health, d.Health, again.Text == sm.Text)
			}
			if other, dup := seen[sm.Text]; dup {
				t.Errorf("%s reads exactly like %s", what, other)
			}
			seen[sm.Text] = what
			if w, ok := d.Wearout.(float64); ok {
				if got := num(field(sm.Text, "Percentage Used")); got != 100-int64(w) {
					t.Errorf("%s: Percentage Used %d, wearout %v", what, got, w)
				}
			}
			failed := d.Health == "FAILED"
			if crit := field(sm.Text, "Critical Warning"); (crit != "0x00") != failed {
				t.Errorf("%s (%s): Critical Warning %s", what, d.Health, crit)
			}
			if errs := num(field(sm.Text, "Media and Data Integrity Errors")); (errs > 0) != failed {
				t.Errorf("%s (%s): %d media errors", what, d.Health, errs)
			}
			wr := field(sm.Text, "Data Units Written")
			units := num(wr)
			if want := "[" + siBytes(float64(units)*512000) + "]"; !strings.HasSuffix(wr, want) {
				t.Errorf("%s: %q, bracket should be %s", what, wr, want)
			}
			if units <= 0 || num(field(sm.Text, "Power On Hours")) <= 0 {
				t.Errorf("%s: no writes or hours:\n%s", what, sm.Text)
			}
		}
	}
	if disks < 2 {
		t.Fatalf("%d NVMe disks in the demo: nothing to compare", disks)
	}
	for _, c := range []struct {
		v    float64
		want string
	}{{94.3e12, "94.3 TB"}, {103.08e12, "103 TB"}, {1.234e15, "1.23 PB"}, {999, "999 B"}, {9.996e9, "10.0 GB"}} {
		if got := siBytes(c.v); got != c.want {
			t.Errorf("siBytes(%v) = %q, want %q", c.v, got, c.want)
		}
	}
	if got := thousands(184212332); got != "184,212,332" {
		t.Errorf("thousands: %q", got)
	}
}
