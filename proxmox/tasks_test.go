package proxmox

import (
	"context"
	"testing"
)

func TestPollTaskAndTaskErrorLines(t *testing.T) {
	upid := "UPID:pve2:000B5212:0062A3F4:68A5C1D2:vzstart:203:root@pam!mcp:"
	c := canned(t, map[string]string{
		"/nodes/pve2/tasks/" + upid + "/status": `{"data":{"upid":"` + upid + `","node":"pve2","type":"vzstart","id":"203","status":"stopped","exitstatus":"CT 203 already running"}}`,
		"/nodes/pve2/tasks/" + upid + "/log":    `{"data":[{"n":1,"t":"starting"},{"n":2,"t":"TASK ERROR: CT 203 already running"}],"total":2}`,
	})
	ctx := context.Background()
	st, err := c.PollTask(ctx, upid)
	if err != nil || !st.Done() || st.OK() {
		t.Fatalf("task %+v %v", st, err)
	}
	lines, err := c.TaskErrorLines(ctx, upid)
	if err != nil || len(lines) != 1 || lines[0] != "TASK ERROR: CT 203 already running" {
		t.Fatalf("error lines %q %v", lines, err)
	}
	if _, err := c.PollTask(ctx, "UPID:../x"); KindOf(err) != KindInvalid {
		t.Fatalf("invalid UPID: %v", err)
	}
}

func TestTaskStateOK(t *testing.T) {
	for _, tc := range []struct {
		st       TaskState
		done, ok bool
	}{
		{TaskState{Status: "running"}, false, false},
		{TaskState{Status: "stopped", ExitStatus: "OK"}, true, true},
		{TaskState{Status: "stopped", ExitStatus: "WARNINGS: 2"}, true, true},
		{TaskState{Status: "stopped", ExitStatus: "unable to lock"}, true, false},
	} {
		if tc.st.Done() != tc.done || tc.st.OK() != tc.ok {
			t.Errorf("%+v: Done %v OK %v, want %v %v", tc.st, tc.st.Done(), tc.st.OK(), tc.done, tc.ok)
		}
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
