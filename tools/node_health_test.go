package tools

import (
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/toolkit"
)

// Are my nodes up to date? When does the node certificate expire? Which
// service is down?
func TestNodeHealthDemo(t *testing.T) {
	e := newDiagEnv(t, "admin")
	var out struct {
		NodeHealthResult
		envelopeOut
	}
	healthCall(t, e, "node_health", `{}`, &out)
	if len(out.Nodes) != 3 {
		t.Fatalf("nodes: %+v", out.Nodes)
	}
	by := map[string]NodeHealth{}
	for _, n := range out.Nodes {
		by[n.Node] = n
	}
	n1, n2, n3 := by["pve-node01"], by["pve-node02"], by["pve-node03"]
	if n1.Updates == nil || n1.Updates.Pending == nil || *n1.Updates.Pending != 4 || n1.Updates.PVEPending != 2 {
		t.Errorf("pve-node01 updates: %+v", n1.Updates)
	}
	if n3.Updates == nil || n3.Updates.Pending == nil || *n3.Updates.Pending != 0 || n3.Updates.Note == "" {
		t.Errorf("pve-node03 updates (never refreshed): %+v", n3.Updates)
	}
	var mgr *PackageVer
	for i, p := range n1.Updates.PVEVersions {
		if p.Package == "pve-manager" {
			mgr = &n1.Updates.PVEVersions[i]
		}
	}
	if mgr == nil || mgr.Version != "9.1.6" || mgr.Candidate != "9.1.7" {
		t.Errorf("pve-manager on pve-node01: %+v", mgr)
	}
	if n1.Services == nil || len(n1.Services.NotRunning) != 1 || n1.Services.NotRunning[0].Service != "postfix" || n1.Services.NotRunning[0].ActiveState != "failed" {
		t.Errorf("pve-node01 services: %+v", n1.Services)
	}
	if a := out.alert("pve-node01/postfix", "service_state"); a == nil || a.Severity != toolkit.SeverityWarning {
		t.Errorf("no warning for postfix: %+v", out.Alerts)
	}
	var ssl *CertExpiry
	for i, c := range n2.Certificates {
		if c.File == "pve-ssl.pem" {
			ssl = &n2.Certificates[i]
		}
	}
	if ssl == nil || ssl.DaysLeft < 20 || ssl.DaysLeft > 21 {
		t.Errorf("pve-node02 pve-ssl.pem: %+v", n2.Certificates)
	}
	if a := out.alert("pve-node02/pve-ssl.pem", "cert_days_left"); a == nil || a.Severity != toolkit.SeverityWarning || a.Threshold != 30 {
		t.Errorf("no certificate alert for pve-node02: %+v", out.Alerts)
	}
	if out.alert("pve-node01/pve-ssl.pem", "") != nil {
		t.Error("pve-node01's certificate (330 days) alerted")
	}
	if n1.Subscription == nil || n1.Subscription.Status != "notfound" {
		t.Errorf("subscription: %+v", n1.Subscription)
	}
	if n1.Time == nil || n1.Time.Timezone != "Europe/Berlin" || n1.DNS == nil || len(n1.DNS.Servers) != 2 || n1.Network == nil || len(n1.Network.Bridges) != 1 {
		t.Errorf("time/dns/network: %+v %+v %+v", n1.Time, n1.DNS, n1.Network)
	}
	secu := false
	for _, u := range out.Unavailable {
		secu = secu || u.What == "security updates"
	}
	if !secu {
		t.Errorf("security updates not reported unavailable: %+v", out.Unavailable)
	}

	// The operator token lacks Sys.Modify: the full list is refused, named
	// once, and the PVE packages still show from apt/versions.
	op := newDiagEnv(t)
	var o2 struct {
		NodeHealthResult
		envelopeOut
	}
	healthCall(t, op, "node_health", `{"node":"pve-node01","sections":["updates"]}`, &o2)
	if len(o2.Errors) != 1 || !strings.Contains(o2.Errors[0].Message, "Sys.Modify") {
		t.Errorf("errors: %+v", o2.Errors)
	}
	if u := o2.Nodes[0].Updates; u == nil || u.Pending != nil || u.PVEPending != 2 || !strings.Contains(u.Note, "Sys.Modify") {
		t.Errorf("updates with the operator token: %+v", u)
	}
	if o2.Nodes[0].Services != nil {
		t.Error("services read though not asked for")
	}
	res, _ := op.call(t, "node_health", `{"sections":["nope"]}`)
	if !res.IsError || !strings.Contains(res.Text, "sections") {
		t.Errorf("bad section: %s", res.Text)
	}
}
