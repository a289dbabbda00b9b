package pvesim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDiagScenarioErrors: the diagnostics keys are validated with the
// file and line of the bad value.
func TestDiagScenarioErrors(t *testing.T) {
	node := "    memory: 16GiB\n"
	cases := []struct{ name, yaml, want string }{
		{"unknown service", strings.Replace(miniScenario, node, node+"    services: {pveproxyy: failed}\n", 1), `bad.yaml:7: unknown service "pveproxyy"`},
		{"bad service state", strings.Replace(miniScenario, node, node+"    services: {postfix: broken}\n", 1), `service postfix: invalid state "broken"`},
		{"bad subscription", strings.Replace(miniScenario, node, node+"    subscription: gold\n", 1), `bad.yaml:7: invalid subscription status "gold"`},
		{"update without version", strings.Replace(miniScenario, node, node+"    updates: [{package: x}]\n", 1), `bad.yaml:7: an update needs package and new`},
		{"bad log priority", strings.Replace(miniScenario, node, node+"    logs: [{ident: kernel, text: x, priority: loud}]\n", 1), `invalid log priority "loud"`},
		{"bad task", strings.Replace(miniScenario, node, node+"    tasks: [{type: \"Qm Start\", ago: 1d}]\n", 1), `a task needs a type`},
		{"replication guest", miniScenario + "replication: [{guest: 999, target: n1}]\n", `bad.yaml:18: replication: no such guest 999`},
		{"replication target", miniScenario + "replication: [{guest: 100, target: n7}]\n", `replication: unknown node "n7"`},
		{"replication schedule", miniScenario + "replication: [{guest: 100, target: n1, schedule: \"sometimes\"}]\n", `unsupported schedule "sometimes"`},
		{"ceph health", miniScenario + "ceph: {health: FINE}\n", `bad.yaml:18: invalid ceph health "FINE"`},
		{"ceph osd node", miniScenario + "ceph: {health: HEALTH_OK, osds: [{id: 0, node: n5, size: 1TB}]}\n", `ceph osd.0: unknown node "n5"`},
		{"firewall rule type", miniScenario + "firewall: {rules: [{type: sideways, action: ACCEPT}]}\n", `firewall rule: invalid type "sideways"`},
		{"firewall action", miniScenario + "firewall: {rules: [{type: in, action: \"ACCEPT ALL\"}]}\n", `firewall rule: invalid action "ACCEPT ALL"`},
		{"firewall guest", miniScenario + "firewall: {guests: {555: {enable: true}}}\n", `firewall: no such guest 555`},
		{"unknown key", miniScenario + "firewall: {enabled: true}\n", `unknown key enabled`},
	}
	dir := t.TempDir()
	for _, c := range cases {
		p := filepath.Join(dir, "bad.yaml")
		if err := os.WriteFile(p, []byte(c.yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := loadScenario(p)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}
