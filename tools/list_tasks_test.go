package tools

import (
	"strings"
	"testing"

	"github.com/pvemcp/pvemcp/proxmox/pvesim"
)

func init() {
	declareArgs("list_tasks", testArgs{demo: fixed{`{"limit":200,"since_hours":720}`}})
}

func TestTasksDemo(t *testing.T) {
	e := newHealthEnv(t)
	var list struct {
		ListTasksResult
		envelopeOut
	}
	healthCall(t, e, "list_tasks", `{"type":"vzdump","limit":100,"since_hours":168}`, &list)
	if list.Returned != len(list.Tasks) || list.Total < list.Returned || list.Returned < 40 {
		t.Fatalf("returned %d total %d", list.Returned, list.Total)
	}
	for i := 1; i < len(list.Tasks); i++ {
		if list.Tasks[i].Start > list.Tasks[i-1].Start {
			t.Fatal("not newest first")
		}
	}
	var failed *TaskInfo
	for i, tk := range list.Tasks {
		if tk.Status == "job errors" {
			failed = &list.Tasks[i]
		}
	}
	if failed == nil || failed.Node != "pve-node01" || list.alert("pve-node01:vzdump", "task_status") == nil {
		t.Fatalf("the failed backup-02 run: %+v", failed)
	}
	var errs ListTasksResult
	healthCall(t, e, "list_tasks", `{"status":"error","node":"pve-node01"}`, &errs)
	if len(errs.Tasks) == 0 {
		t.Fatal("no failed task with status=error")
	}
	for _, tk := range errs.Tasks {
		if tk.Status == "OK" {
			t.Errorf("status=error returned %+v", tk)
		}
	}
	var one struct {
		GetTaskResult
		envelopeOut
	}
	healthCall(t, e, "get_task", `{"upid":"`+failed.UPID+`","lines":5}`, &one)
	if one.State != "stopped" || one.OK || one.ExitStatus != "job errors" || len(one.Tail) != 5 || one.LogLines <= 5 {
		t.Fatalf("get_task: %+v", one.GetTaskResult)
	}
	if one.Task.End == "" || one.Task.DurationS <= 0 || one.Task.End != failed.End {
		t.Errorf("end time / duration: %+v (list: %+v)", one.Task, failed)
	}
	if one.Tail[4] != "TASK ERROR: job errors" || one.TailFrom != one.LogLines-4 {
		t.Errorf("tail %v from %d", one.Tail, one.TailFrom)
	}
	const exact = "ERROR: Backup of VM 103 failed - vzdump: backup size 201 GB exceeds storage limit"
	if len(one.ErrorLines) == 0 || one.ErrorLines[0].Text != exact {
		t.Errorf("error lines %+v", one.ErrorLines)
	}
	b := one.Backup
	if b == nil || b.Status != "failed" || len(b.Guests) < 2 {
		t.Fatalf("backup %+v", b)
	}
	for _, g := range b.Guests {
		if (g.VMID == 103) != (g.Status == "failed") {
			t.Errorf("guest %+v", g)
		}
	}
	res, _ := e.call(t, "get_task", `{"upid":"UPID:../../x:0:0:0:a:b:c:"}`)
	if !res.IsError {
		t.Error("bad UPID accepted")
	}
}

func TestListTasksNodeOffline(t *testing.T) {
	e := newHealthEnv(t)
	defer e.sim.ClearFaults()
	e.sim.SetFault("pve-node03", pvesim.Fault{Offline: true})
	var out struct {
		ListTasksResult
		envelopeOut
	}
	healthCall(t, e, "list_tasks", `{"limit":50}`, &out)
	if !out.errorFor("pve-node03") || len(out.Tasks) == 0 {
		t.Fatalf("errors %+v tasks %d", out.Errors, len(out.Tasks))
	}
	for _, tk := range out.Tasks {
		if tk.Node == "pve-node03" {
			t.Errorf("task of the offline node: %+v", tk)
		}
	}
	// Single-target reads of the offline node fail whole, in plain words.
	res, _ := e.call(t, "get_metrics", `{"node":"pve-node03","timeframe":"hour"}`)
	if !res.IsError || !strings.Contains(res.Text, "pve-node03") {
		t.Errorf("get_metrics of the offline node: %s", res.Text)
	}
	var ha struct {
		HAResult
		envelopeOut
	}
	healthCall(t, e, "ha_status", `{}`, &ha)
	if ha.Quorum == nil || ha.Quorum.NodesOnline != 2 || ha.alert("pve-node03", "status") == nil {
		t.Errorf("HA with node03 offline: quorum %+v alerts %+v", ha.Quorum, ha.Alerts)
	}
}
