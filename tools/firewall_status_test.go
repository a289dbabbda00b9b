package tools

import (
	"strings"
	"testing"
)

func init() {
	declareArgs("firewall_status", testArgs{demo: fixed{`{"port":22}`, `{"vmid":101,"port":22}`}})
}

// Is port 22 open to VM 101?
func TestFirewallPortQuestion(t *testing.T) {
	e := newDiagEnv(t)
	check := func(args, verdict string, from ...string) *FWGuestOut {
		t.Helper()
		var out struct {
			FirewallResult
			envelopeOut
		}
		healthCall(t, e, "firewall_status", args, &out)
		if len(out.Guests) != 1 || out.Guests[0].Port == nil {
			t.Fatalf("%s: guests %+v", args, out.Guests)
		}
		g := out.Guests[0]
		if g.Port.Verdict != verdict || strings.Join(g.Port.From, ",") != strings.Join(from, ",") {
			t.Errorf("%s: %+v", args, g.Port)
		}
		if !out.Cluster.Enabled || out.Cluster.PolicyIn != "DROP" || len(out.IPSets) != 1 || strings.Join(out.IPSets[0].CIDRs, ",") != "10.10.30.0/24,10.10.10.5" {
			t.Errorf("datacenter %+v ipsets %+v", out.Cluster, out.IPSets)
		}
		return &g
	}
	g := check(`{"vmid":101,"port":22}`, "restricted", "+admins")
	if strings.Join(g.NICs, ",") != "net0" || len(g.Port.Rules) != 2 || !strings.Contains(g.Port.Reason, "only from +admins") {
		t.Errorf("VM 101 port 22: %+v", g)
	}
	check(`{"vmid":101,"port":443}`, "open")
	check(`{"vmid":101,"port":3306}`, "closed")
	check(`{"vmid":102,"port":5432}`, "restricted", "app-server")
	check(`{"vmid":112,"port":22}`, "unfiltered")           // firewall option off
	check(`{"vmid":104,"port":22}`, "unfiltered")           // no firewall config, no NIC flag
	check(`{"vmid":200,"port":53,"proto":"udp"}`, "closed") // DROP policy
	res, _ := e.call(t, "firewall_status", `{"vmid":999999}`)
	if !res.IsError || !strings.Contains(res.Text, "999999") {
		t.Errorf("unknown guest: %s", res.Text)
	}
}
