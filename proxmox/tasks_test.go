package proxmox

import (
	"context"
	"strings"
	"testing"
)

func TestTaskStatusAndTaskErrorLines(t *testing.T) {
	upid := "UPID:pve2:000B5212:0062A3F4:68A5C1D2:vzstart:203:root@pam!mcp:"
	c := canned(t, map[string]string{
		"/nodes/pve2/tasks/" + upid + "/status": `{"data":{"upid":"` + upid + `","node":"pve2","pid":750354,"starttime":1755693522,"type":"vzstart","id":"203","user":"root@pam","tokenid":"mcp","status":"stopped","exitstatus":"CT 203 already running"}}`,
		"/nodes/pve2/tasks/" + upid + "/log":    `{"data":[{"n":1,"t":"starting"},{"n":2,"t":"TASK ERROR: CT 203 already running"}],"total":2}`,
	})
	rec := NewRecorder()
	ctx := WithRecorder(context.Background(), rec)
	st, err := c.TaskStatus(ctx, upid)
	want := Task{UPID: upid, Node: "pve2", PID: 750354, StartTime: 1755693522, Type: "vzstart", ID: "203", User: "root@pam",
		TokenID: "mcp", Status: "stopped", ExitStatus: "CT 203 already running"}
	if err != nil || st != want {
		t.Fatalf("task %+v %v, want %+v", st, err, want)
	}
	lines, err := c.TaskErrorLines(ctx, upid)
	if err != nil || len(lines) != 1 || lines[0] != "TASK ERROR: CT 203 already running" {
		t.Fatalf("error lines %q %v", lines, err)
	}
	// The error lines read the whole log with limit=0 alone: the path a
	// failed write's sources name.
	calls := rec.Calls()
	if len(calls) != 2 || !strings.HasSuffix(calls[0].Path, ":/status") || !strings.HasSuffix(calls[1].Path, ":/log?limit=0") {
		t.Errorf("calls %+v", calls)
	}
	if st, err := c.TaskStatus(ctx, "UPID:../x"); KindOf(err) != KindInvalid || st != (Task{}) {
		t.Fatalf("invalid UPID: %+v %v", st, err)
	}
	if _, err := c.TaskErrorLines(ctx, "UPID:../x"); KindOf(err) != KindInvalid {
		t.Fatalf("invalid UPID: %v", err)
	}
}

func TestUPIDNode(t *testing.T) {
	for in, want := range map[string]string{
		"UPID:pve-node02:00087932:152846C9:6B094F48:vzstart:203:pvemcp@pve!operator:": "pve-node02",
		"UPID:../etc:0:0:0:x:1:u:": "",
		"not a upid":               "",
	} {
		if got := UPIDNode(in); got != want {
			t.Errorf("UPIDNode(%q) = %q, want %q", in, got, want)
		}
	}
}
