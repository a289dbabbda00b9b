package tools

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/proxmox/pvesim"
)

func init() {
	declareArgs("guest_exec", testArgs{
		demo:   fixed{`{"vmid":101,"command":["seq","9000"]}`},
		broken: fixed{`{"vmid":101,"command":["systemctl","is-active","nginx"]}`},
	})
}

func fmtJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func execStep(t *testing.T, out map[string]any) map[string]any {
	t.Helper()
	st := out["steps"].([]any)[0].(map[string]any)
	ex, ok := st["exec"].(map[string]any)
	if !ok {
		t.Fatalf("step without exec outcome: %v", st)
	}
	return ex
}

func TestGuestExec(t *testing.T) {
	t.Parallel()
	w := newWriteEnv(t, "operator")
	plan := w.plan("s1", "guest_exec", map[string]any{"vmid": 101, "command": []string{"echo", "hello world"}})
	c := planCalls(plan)[0]
	if c["path"] != "/nodes/pve-node01/qemu/101/agent/exec" || !strings.Contains(plan["summary"].(string), `["echo", "hello world"]`) {
		t.Fatalf("plan %v", plan)
	}
	if argv := c["lists"].(map[string]any)["command"].([]any); len(argv) != 2 || argv[1] != "hello world" {
		t.Fatalf("argv %v", c["lists"])
	}
	w.noWrites("after planning")
	ex := execStep(t, w.mustConfirm("s1", plan))
	outp := ex["untrusted_guest_output"].(map[string]any)
	if ex["exited"] != true || ex["exit_code"] != float64(0) || outp["stdout"] != "hello world\n" {
		t.Fatalf("exec %v", ex)
	}
	// Output over the cap is truncated, and the result says so.
	ex = execStep(t, w.mustConfirm("s1", w.plan("s1", "guest_exec", map[string]any{"vmid": 101, "command": []string{"seq", "10000"}})))
	outp = ex["untrusted_guest_output"].(map[string]any)
	if outp["stdout_truncated"] != true || len(outp["stdout"].(string)) != execOutputCap || outp["stdout_bytes"] != float64(48894) ||
		!strings.Contains(ex["note"].(string), "stdout truncated to 16384 of 48894 bytes") {
		t.Fatalf("truncation: %v %v", ex["note"], outp["stdout_bytes"])
	}
	// stdin, and a failing command: the plan ran, the command's exit code says how it went.
	ex = execStep(t, w.mustConfirm("s1", w.plan("s1", "guest_exec", map[string]any{"vmid": 101, "command": []string{"cat"}, "stdin": "from stdin"})))
	if ex["untrusted_guest_output"].(map[string]any)["stdout"] != "from stdin" {
		t.Fatalf("stdin: %v", ex)
	}
	done := w.mustConfirm("s1", w.plan("s1", "guest_exec", map[string]any{"vmid": 101, "command": []string{"false"}}))
	if !strings.Contains(done["message"].(string), "exited with code 1") {
		t.Fatalf("message %v", done["message"])
	}
	ex = execStep(t, done)
	if ex["exit_code"] != float64(1) {
		t.Fatalf("false: %v", ex)
	}
	// A program that does not exist: Proxmox's agent error fails the step.
	out, errText := w.confirm("s1", w.plan("s1", "guest_exec", map[string]any{"vmid": 101, "command": []string{"no-such-tool"}}))
	if errText != "" || out["outcome"] != "failed" || !strings.Contains(out["message"].(string), "No such file or directory") {
		t.Fatalf("missing program: %v %s", out, errText)
	}

	before := len(w.writes())
	for _, c := range []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"vmid": 103, "command": []string{"uptime"}}, "QEMU guest agent is not running"},
		{map[string]any{"vmid": 112, "command": []string{"hostname"}}, "No QEMU guest agent configured"},
		{map[string]any{"vmid": 203, "command": []string{"uptime"}}, "container"},
		{map[string]any{"vmid": 101, "command": []string{}}, `argument "command"`},
		{map[string]any{"vmid": 101, "command": []string{"x"}, "shell": true}, "shell"},
	} {
		if _, errText := w.call("s1", "guest_exec", c.args); !strings.Contains(errText, c.want) {
			t.Errorf("%v: %q, want %q", c.args, errText, c.want)
		}
	}
	if len(w.writes()) != before {
		t.Fatal("a refused plan sent a write")
	}
}

// TestGuestExecPrivilege: a token without the privilege Proxmox requires is refused at plan time, naming
// it: VM.GuestAgent.Unrestricted on PVE 9, VM.Monitor on PVE 8. With it, the command runs on both.
func TestGuestExecPrivilege(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		ver  int
		priv string
	}{{9, "VM.GuestAgent.Unrestricted"}, {8, "VM.Monitor"}} {
		w := newWriteEnvOpts(t, "auditor", pvesim.Options{PVEVersion: c.ver})
		_, errText := w.call("s1", "guest_exec", map[string]any{"vmid": 101, "command": []string{"hostname"}})
		if !strings.Contains(errText, "lacks "+c.priv+" on /vms/101") {
			t.Errorf("PVE %d auditor: %q", c.ver, errText)
		}
		w.noWrites("after the refusal")
		w = newWriteEnvOpts(t, "operator", pvesim.Options{PVEVersion: c.ver})
		plan := w.plan("s1", "guest_exec", map[string]any{"vmid": 101, "command": []string{"hostname"}})
		if pre := fmtJSON(plan["preconditions"]); !strings.Contains(pre, c.priv+" on /vms/101") {
			t.Errorf("PVE %d preconditions %s", c.ver, pre)
		}
		ex := execStep(t, w.mustConfirm("s1", plan))
		if ex["untrusted_guest_output"].(map[string]any)["stdout"] != "app-server-prod\n" {
			t.Errorf("PVE %d: %v", c.ver, ex)
		}
	}
}
