package analyze

import (
	"fmt"
	"strings"
)

// Task is a Proxmox task as the task list (/nodes/{node}/tasks) or its
// status reports it.
type Task struct {
	Node string
	Type string // "vzdump", "qmigrate", ...
	ID   string // the task's object, e.g. a VMID; may be empty
	UPID string
	// Status is the exit status ("OK", "WARNINGS: 2", an error text), or
	// "running" or "" while the task runs.
	Status string
}

// TaskOK reports an exit status that counts as success: OK, or warnings
// only.
func TaskOK(status string) bool {
	return status == "OK" || strings.HasPrefix(status, "WARNINGS")
}

// taskFailed reports a task that ended with an exit status other than
// success.
func taskFailed(status string) bool {
	return status != "" && status != "running" && !TaskOK(status)
}

// EvaluateTasks warns about the failed tasks of a list, at most max of them
// (a few alerts say enough; the list holds every failed task), and says how
// many more failed.
func EvaluateTasks(tasks []Task, max int) []Alert {
	var out []Alert
	failed := 0
	for _, t := range tasks {
		if !taskFailed(t.Status) {
			continue
		}
		if failed++; failed <= max {
			out = append(out, taskAlert(t, "exit status of "+t.UPID))
		}
	}
	if failed > max {
		out = append(out, Alert{Severity: SeverityInfo, Subject: "tasks", Metric: "task_status", Value: float64(failed),
			Message: fmt.Sprintf("%d more failed tasks in this list", failed-max), Basis: "exit status of the tasks listed"})
	}
	return out
}

// EvaluateEndedTask warns about a task that has ended with an exit status
// other than success.
func EvaluateEndedTask(t Task) []Alert {
	if TaskOK(t.Status) {
		return nil
	}
	return []Alert{taskAlert(t, "exitstatus of the task")}
}

func taskAlert(t Task, basis string) Alert {
	return Alert{Severity: SeverityWarning, Subject: t.Node + ":" + t.Type, Metric: "task_status",
		Message: fmt.Sprintf("%s task %s on %s failed: %s", t.Type, t.ID, t.Node, t.Status), Basis: basis}
}
