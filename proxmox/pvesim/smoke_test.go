package pvesim

import "testing"

func TestSmokeVersion(t *testing.T) {
	s := startSim(t, Options{})
	v := decode[map[string]any](t, call(t, s, "auditor", "GET", "/version", nil))
	if v["release"] != "9.1" {
		t.Fatalf("version %v", v)
	}
	r := call(t, s, "auditor", "GET", "/cluster/resources", nil)
	mustOK(t, r)
	t.Logf("%d bytes", len(r.Body))
}
