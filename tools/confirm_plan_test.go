package tools

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pvemcp/pvemcp/guard"
	"github.com/pvemcp/pvemcp/toolkit"
)

func init() {
	declareArgs("confirm_plan", testArgs{
		// Plans of other tools, confirmed: a power action, a command whose
		// output is capped, a backup with its archive.
		demo: computed(func(t *testing.T, call callFunc) []string {
			return []string{
				planArgs(call("guest_power", `{"vmid":203,"action":"start"}`)),
				planArgs(call("guest_exec", `{"vmid":101,"command":["seq","9000"]}`)),
				planArgs(call("backup_guest", `{"vmids":[201],"storage":"backup-pool"}`)),
			}
		}),
		// It must not run on a broken cluster as if all were well.
		broken: computed(func(t *testing.T, call callFunc) []string {
			return []string{planArgs(call("guest_power", `{"vmid":100,"action":"reboot"}`))}
		}),
		last: true,
	})
}

func TestConfirmRefusals(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	plan := w.plan("s1", "guest_power", map[string]any{"vmid": 103, "action": "shutdown"})
	bad := map[string]any{"plan_id": plan["plan_id"], "nonce": strings.Repeat("0", 32)}
	cases := []struct {
		name, session string
		args          map[string]any
		want          string
	}{
		{"wrong nonce", "s1", bad, "wrong nonce"},
		{"foreign session", "s2", map[string]any{"plan_id": plan["plan_id"], "nonce": plan["nonce"]}, "another session"},
		{"unknown plan", "s1", map[string]any{"plan_id": "plan-0000000000000000", "nonce": plan["nonce"]}, "no pending plan"},
		{"malformed nonce", "s1", map[string]any{"plan_id": plan["plan_id"], "nonce": "approve"}, "invalid arguments"},
	}
	for _, tc := range cases {
		_, errText := w.call(tc.session, "confirm_plan", tc.args)
		if !strings.Contains(errText, tc.want) {
			t.Fatalf("%s: got %q, want %q", tc.name, errText, tc.want)
		}
	}
	w.noWrites("after refused confirmations")

	w.mustConfirm("s1", plan)
	_, errText := w.confirm("s1", plan)
	if !strings.Contains(errText, "already confirmed") {
		t.Fatalf("reused nonce: %q", errText)
	}
	if n := len(w.writes()); n != 1 {
		t.Fatalf("%d writes after one confirmed plan and one replay", n)
	}

	expiring := w.plan("s1", "guest_power", map[string]any{"vmid": 101, "action": "reboot"})
	w.advance(guard.DefaultTTL + time.Second)
	if _, errText := w.confirm("s1", expiring); !strings.Contains(errText, "expired") {
		t.Fatalf("expired: %q", errText)
	}
	if n := len(w.writes()); n != 1 {
		t.Fatalf("expired plan sent something: %+v", w.writes())
	}
}

func TestConcurrentConfirmsExecuteOnce(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	plan := w.plan("s1", "guest_power", map[string]any{"vmid": 103, "action": "stop"})
	const n = 8
	var wg sync.WaitGroup
	results := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, errText := w.confirm("s1", plan)
			if errText != "" {
				results[i] = errText
			} else {
				results[i] = "executed:" + out["outcome"].(string)
			}
		}()
	}
	wg.Wait()
	executed := 0
	for _, r := range results {
		if strings.HasPrefix(r, "executed:") {
			executed++
		} else if !strings.Contains(r, "already confirmed") {
			t.Fatalf("unexpected refusal %q", r)
		}
	}
	if executed != 1 || len(w.writes()) != 1 {
		t.Fatalf("executed %d times, %d writes: %v", executed, len(w.writes()), results)
	}
}

func TestStateChangeBetweenPlanAndConfirmIsRefused(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	first := w.plan("s1", "guest_power", map[string]any{"vmid": 203, "action": "start"})
	// Someone else starts the container meanwhile (through the gate too).
	other := w.plan("s2", "guest_power", map[string]any{"vmid": 203, "action": "start"})
	w.mustConfirm("s2", other)
	before := len(w.writes())
	_, errText := w.confirm("s1", first)
	if !strings.Contains(errText, "precondition") && !strings.Contains(errText, "now running") {
		t.Fatalf("stale plan: %q", errText)
	}
	if !strings.Contains(errText, "now running") {
		t.Fatalf("refusal does not give the reason: %q", errText)
	}
	if len(w.writes()) != before {
		t.Fatal("a refused plan sent a write")
	}
}

func TestAuditorTokenRefusedAtPlanTime(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "auditor")
	cases := []struct {
		tool string
		args map[string]any
		want string
	}{
		{"guest_power", map[string]any{"vmid": 103, "action": "start"}, "VM.PowerMgmt on /vms/103"},
		{"migrate_guest", map[string]any{"vmid": 103, "target": "pve-node02"}, "VM.Migrate on /vms/103"},
		{"create_vm", map[string]any{"node": "pve-node02", "cores": 2}, "VM.Allocate on /vms/106"},
		{"create_container", map[string]any{"node": "pve-node02", "ostemplate": "debian-12"}, "VM.Allocate on /vms/106"},
		{"update_guest_resources", map[string]any{"vmid": 103, "cores": 4}, "VM.Config.CPU on /vms/103"},
	}
	for _, tc := range cases {
		_, errText := w.call("s1", tc.tool, tc.args)
		if !strings.Contains(errText, "lacks "+tc.want) {
			t.Errorf("%s: got %q, want the missing privilege %q", tc.tool, errText, tc.want)
		}
	}
	if w.gate.Store.Pending() != 0 {
		t.Fatal("a refused tool left a plan")
	}
	w.noWrites("auditor")
}

func TestProtectedGuestRefused(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	w.gate.Protection = guard.Protection{VMIDs: []int{103}, Tags: []string{"dev"}}
	for _, args := range []map[string]any{{"vmid": 103, "action": "stop"}, {"vmid": 203, "action": "start"}} {
		if _, errText := w.call("s1", "guest_power", args); !strings.Contains(errText, "protected") {
			t.Fatalf("%v: %q", args, errText)
		}
	}
}

func TestAuditLogHasEveryStepAndNoSecret(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	plan := w.plan("s1", "create_container", map[string]any{"node": "pve-node02", "ostemplate": "debian-12", "password": "Sup3r-Secret!"})
	if strings.Contains(mustJSON(t, plan), "Sup3r-Secret!") {
		t.Fatal("plan shows the password")
	}
	w.call("s1", "confirm_plan", map[string]any{"plan_id": plan["plan_id"], "nonce": strings.Repeat("1", 32)})
	w.mustConfirm("s1", plan)
	f, err := os.Open(w.audit)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var kinds []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "Sup3r-Secret!") || strings.Contains(line, plan["nonce"].(string)) {
			t.Fatalf("audit line holds a secret: %s", line)
		}
		var ev guard.Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, ev.Event)
		if ev.Event == guard.EventOutcome && (len(ev.UPIDs) != 1 || !strings.Contains(ev.UPIDs[0], ":vzcreate:106:")) {
			t.Fatalf("outcome without the task id: %+v", ev)
		}
		if ev.Caller != "session:s1" {
			t.Fatalf("caller %q", ev.Caller)
		}
	}
	if got := strings.Join(kinds, ","); got != "plan,refusal,confirm,outcome" {
		t.Fatalf("audit events %s", got)
	}
}

func TestReadOnlyRegistersNoWriteTool(t *testing.T) {
	for _, tl := range toolkit.Select(true, nil) {
		switch tl.Name {
		case "guest_power", "migrate_guest", "create_vm", "create_container", "update_guest_resources", "confirm_plan":
			t.Fatalf("%s served in read-only mode", tl.Name)
		}
	}
	found := false
	for _, tl := range toolkit.Select(false, nil) {
		found = found || tl.Name == "confirm_plan"
	}
	if !found {
		t.Fatal("confirm_plan not registered")
	}
}
