package tools

import (
	"testing"
)

func init() {
	declareArgs("get_metrics", testArgs{
		demo:   fixed{`{"node":"pve-node03"}`, `{"vmid":103}`, `{"storage":"local-zfs","node":"pve-node03","timeframe":"month"}`},
		broken: fixed{`{"node":"pve-node02"}`, `{"node":"pve-node03"}`, `{"vmid":102}`, `{"storage":"local-zfs","node":"pve-node03"}`},
	})
}

func TestGetMetrics(t *testing.T) {
	e := newHealthEnv(t)
	var node struct {
		MetricsResult
		envelopeOut
	}
	healthCall(t, e, "get_metrics", `{"node":"pve-node03","timeframe":"hour","points":10}`, &node)
	if node.Target.Kind != "node" || node.Samples < 50 || len(node.Points) > 10 || len(node.Points) < 5 || node.StepS != 60 {
		t.Fatalf("node metrics: kind %s samples %d points %d step %d", node.Target.Kind, node.Samples, len(node.Points), node.StepS)
	}
	mem, ok := node.Stats["mem_pct"]
	if !ok || mem.Min > mem.Avg || mem.Avg > mem.Max || mem.P95 > mem.Max || mem.Count != node.Samples {
		t.Errorf("mem_pct stats %+v", mem)
	}
	if mem.Last < 85 || node.alert("pve-node03", "mem_pct") == nil {
		t.Errorf("pve-node03 RAM should be over 85%%: %+v alerts %+v", mem, node.Alerts)
	}
	for _, p := range node.Points {
		if p["time"] == 0 || p["cpu_pct"] < 0 || p["cpu_pct"] > 100 {
			t.Errorf("point %v", p)
		}
	}
	var g MetricsResult
	healthCall(t, e, "get_metrics", `{"vmid":200,"timeframe":"day","cf":"MAX","fields":["mem_used_gib","cpu_pct"]}`, &g)
	if g.Target.Kind != "lxc" || g.Target.Node != "pve-node01" || len(g.Stats) != 2 || len(g.Points) != 24 || g.Downsampling == "" {
		t.Errorf("guest metrics: %+v stats %v points %d", g.Target, g.Stats, len(g.Points))
	}
	var s MetricsResult
	healthCall(t, e, "get_metrics", `{"storage":"nfs-backup","timeframe":"week"}`, &s)
	if s.Target.Kind != "storage" || s.Target.Node == "" || s.Stats["used_pct"].Count == 0 {
		t.Errorf("storage metrics %+v %v", s.Target, s.Stats)
	}
	for _, bad := range []string{`{}`, `{"vmid":100,"storage":"local"}`, `{"node":"pve-node01","fields":["bogus"]}`, `{"node":"pve-node01","timeframe":"decade"}`} {
		res, _ := e.call(t, "get_metrics", bad)
		if !res.IsError {
			t.Errorf("%s accepted", bad)
		}
	}
}
