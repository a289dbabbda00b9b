package tools

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/toolkit"
)

func init() {
	declareArgs("get_task", testArgs{
		// One task of each kind: OK or not, backup (parsed per guest) or not.
		demo: computed(func(t *testing.T, call callFunc) []string {
			list, _ := call("list_tasks", `{"limit":200,"since_hours":720}`)["tasks"].([]any)
			if len(list) == 0 {
				t.Fatal("list_tasks: no tasks in the demo scenario")
			}
			var out []string
			picked := map[string]bool{}
			for _, x := range list {
				task, _ := x.(map[string]any)
				upid, _ := task["upid"].(string)
				kind := fmt.Sprint(task["status"] == "OK", task["type"] == "vzdump")
				if upid == "" || picked[kind] {
					continue
				}
				picked[kind] = true
				out = append(out, fmt.Sprintf(`{"upid":%q,"lines":5}`, upid))
			}
			return out
		}),
		broken: computed(func(t *testing.T, call callFunc) []string {
			tasks, _ := call("list_tasks", `{"limit":1}`)["tasks"].([]any)
			if len(tasks) == 0 {
				t.Fatal("list_tasks: no task to read")
			}
			return []string{fmt.Sprintf(`{"upid":%q}`, tasks[0].(map[string]any)["upid"])}
		}),
	})
}

// TestGetTaskUnknownLogLines feeds get_task a vzdump log with lines no parser
// has seen (from a fake Proxmox): they are kept verbatim, never dropped or
// read as outcomes.
func TestGetTaskUnknownLogLines(t *testing.T) {
	const upid = "UPID:pve1:000B4F01:0062A100:68A5C0A0:vzdump::root@pam:"
	log := []string{
		"INFO: starting new backup job: vzdump 100 101 --storage pbs1 --mode snapshot",
		"INFO: Starting Backup of VM 100 (qemu)",
		"INFO: Backup started at 2026-11-20 01:00:02",
		"INFO: VM Name: web",
		"QUANTUM: flux capacitor recalibrated (100 VM)",
		"INFO: Finished Backup of VM 100 (00:01:10)",
		"INFO: Backup finished at 2026-11-20 01:01:12",
		"INFO: Starting Backup of VM 101 (qemu)",
		"ERROR: Backup of VM 101 failed - lost contact with the datastore",
		"INFO: Failed at 2026-11-20 01:01:40",
		"~~~ an unknown future line ~~~",
		"TASK ERROR: job errors",
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/status"):
			fmt.Fprintf(w, `{"data":{"upid":%q,"node":"pve1","type":"vzdump","id":"","user":"root@pam","starttime":1763600402,"status":"stopped","exitstatus":"job errors"}}`, upid)
		case strings.HasSuffix(r.URL.Path, "/log"):
			var rows []string
			for i, l := range log {
				b, _ := json.Marshal(l)
				rows = append(rows, fmt.Sprintf(`{"n":%d,"t":%s}`, i+1, b))
			}
			fmt.Fprintf(w, `{"data":[%s],"total":%d}`, strings.Join(rows, ","), len(log))
		default:
			http.Error(w, "no", http.StatusNotImplemented)
		}
	}))
	defer srv.Close()
	c, err := proxmox.New(proxmox.Options{Endpoints: []string{srv.URL}, Token: "root@pam!test=00000000-0000-0000-0000-000000000000",
		Fingerprint: proxmox.FingerprintOf(srv.Certificate().Raw, false)})
	if err != nil {
		t.Fatal(err)
	}
	s := toolkit.NewServer(&toolkit.Env{Client: c, Log: zerolog.Nop()}, toolkit.Select(true, healthToolsets))
	res, err := s.Call(t.Context(), "get_task", json.RawMessage(`{"upid":"`+upid+`"}`))
	if err != nil || res.IsError {
		t.Fatalf("%v %+v", err, res)
	}
	var out GetTaskResult
	if err := json.Unmarshal(res.Structured, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Tail) != len(log) || out.Backup == nil {
		t.Fatalf("tail %d backup %+v", len(out.Tail), out.Backup)
	}
	kept := map[string]bool{}
	for _, u := range out.Backup.Unparsed {
		kept[u.Text] = true
	}
	for _, want := range []string{log[4], log[10]} {
		if !kept[want] {
			t.Errorf("unknown line %q not kept: %+v", want, out.Backup.Unparsed)
		}
	}
	if len(out.Backup.Guests) != 2 || out.Backup.Guests[0].Status != "ok" || out.Backup.Guests[1].Status != "failed" ||
		out.Backup.Guests[1].Reason != "lost contact with the datastore" {
		t.Errorf("guests %+v", out.Backup.Guests)
	}
}

// TestTaskEndedOK: a status answer is a success once stopped with OK or
// warnings; running or stopped with an error is not.
func TestTaskEndedOK(t *testing.T) {
	for _, tc := range []struct {
		st proxmox.Task
		ok bool
	}{
		{proxmox.Task{Status: "running"}, false},
		{proxmox.Task{Status: "running", ExitStatus: "OK"}, false},
		{proxmox.Task{Status: "stopped", ExitStatus: "OK"}, true},
		{proxmox.Task{Status: "stopped", ExitStatus: "WARNINGS: 2"}, true},
		{proxmox.Task{Status: "stopped", ExitStatus: "unable to lock"}, false},
		{proxmox.Task{Status: "stopped"}, false},
	} {
		if got := taskEndedOK(tc.st); got != tc.ok {
			t.Errorf("%+v: taskEndedOK %v, want %v", tc.st, got, tc.ok)
		}
	}
}
