package analyze

import (
	"fmt"
	"testing"
)

func TestTaskOK(t *testing.T) {
	for status, want := range map[string]bool{"OK": true, "WARNINGS: 2": true, "job errors": false, "": false, "running": false, "unexpected status": false} {
		if TaskOK(status) != want {
			t.Errorf("TaskOK(%q) = %v", status, !want)
		}
	}
}

func TestEvaluateTasks(t *testing.T) {
	task := func(id, status string) Task {
		return Task{Node: "n1", Type: "qmigrate", ID: id, UPID: "UPID:" + id, Status: status}
	}
	ok := []Task{task("1", "OK"), task("2", "WARNINGS: 1"), task("3", "running"), task("4", "")}
	if got := EvaluateTasks(ok, 5); len(got) != 0 {
		t.Fatalf("alerts for tasks that did not fail: %+v", got)
	}
	var list []Task
	for i := range 7 {
		list = append(list, task(fmt.Sprint(100+i), "migration aborted"))
	}
	got := EvaluateTasks(append(ok, list...), 5)
	if len(got) != 6 {
		t.Fatalf("%d alerts: %+v", len(got), got)
	}
	if a := got[0]; a.Severity != SeverityWarning || a.Subject != "n1:qmigrate" || a.Metric != "task_status" ||
		a.Message != "qmigrate task 100 on n1 failed: migration aborted" || a.Basis != "exit status of UPID:100" {
		t.Errorf("first %+v", a)
	}
	if a := got[5]; a.Severity != SeverityInfo || a.Subject != "tasks" || a.Value != 7 || a.Message != "2 more failed tasks in this list" {
		t.Errorf("overflow %+v", a)
	}
	if got := EvaluateTasks(list[:5], 5); len(got) != 5 {
		t.Errorf("exactly max failed: %d alerts", len(got))
	}
	if got := EvaluateTasks(list[:6], 5); len(got) != 6 || got[5].Message != "1 more failed tasks in this list" {
		t.Errorf("one more than max failed: %+v", got)
	}
}

func TestEvaluateEndedTask(t *testing.T) {
	for status, want := range map[string]int{"OK": 0, "WARNINGS: 3": 0, "job errors": 1, "": 1} {
		got := EvaluateEndedTask(Task{Node: "n1", Type: "vzdump", ID: "100", Status: status})
		if len(got) != want {
			t.Errorf("%q: %+v", status, got)
		}
		if want == 1 && (got[0].Message != "vzdump task 100 on n1 failed: "+status || got[0].Basis != "exitstatus of the task") {
			t.Errorf("%q: %+v", status, got[0])
		}
	}
}
