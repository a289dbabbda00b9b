package proxmox

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// canned serves fixed Proxmox answers by path (query ignored).
func canned(t *testing.T, answers map[string]string) *Client {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(r.URL.Path, "/api2/json")
		if r.URL.Query().Get("vmid") == "106" {
			w.Header().Set("Content-Type", "application/json;charset=UTF-8")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"data":null,"message":"Parameter verification failed.\n","errors":{"vmid":"VM 106 already exists"}}`))
			return
		}
		body, ok := answers[p]
		if !ok {
			http.Error(w, "not found", http.StatusNotImplemented)
			return
		}
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	c, err := New(Options{Endpoints: []string{srv.URL}, Token: "root@pam!mcp=00000000-0000-0000-0000-000000000000", Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPlanningReads(t *testing.T) {
	upid := "UPID:pve2:000B5212:0062A3F4:68A5C1D2:vzstart:203:root@pam!mcp:"
	c := canned(t, map[string]string{
		"/cluster/nextid":                       `{"data":"106"}`,
		"/nodes/pve1/qemu/100/migrate":          `{"data":{"running":1,"allowed_nodes":["pve2"],"not_allowed_nodes":{"pve3":{"unavailable_storages":["local-zfs"]}},"local_disks":[{"volid":"local-zfs:vm-100-disk-0","drivename":"scsi0","size":85899345920,"cdrom":0,"is_unused":0}],"local_resources":[]}}`,
		"/nodes/pve1/lxc/200/migrate":           `{"data":{"running":0,"allowed-nodes":["pve2"],"not-allowed-nodes":{"pve3":{"blocking-ha-resources":[{"sid":"ct:201","cause":"resource-affinity"}]}},"dependent-ha-resources":["ct:202"]}}`,
		"/nodes/pve1/storage/local/content":     `{"data":[{"volid":"local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst","content":"vztmpl","format":"tzst","size":126556561}]}`,
		"/nodes/pve2/tasks/" + upid + "/status": `{"data":{"upid":"` + upid + `","node":"pve2","type":"vzstart","id":"203","status":"stopped","exitstatus":"CT 203 already running"}}`,
		"/nodes/pve2/tasks/" + upid + "/log":    `{"data":[{"n":1,"t":"starting"},{"n":2,"t":"TASK ERROR: CT 203 already running"}],"total":2}`,
	})
	ctx := context.Background()
	if id, err := c.NextVMID(ctx); err != nil || id != 106 {
		t.Fatalf("NextVMID %d %v", id, err)
	}
	if free, err := c.VMIDFree(ctx, 106); err != nil || free {
		t.Fatalf("VMIDFree(106) %v %v", free, err)
	}
	if free, err := c.VMIDFree(ctx, 107); err != nil || !free {
		t.Fatalf("VMIDFree(107) %v %v", free, err)
	}
	m, err := c.MigrationPrecondition(ctx, "pve1", TypeQemu, 100, "")
	if err != nil || !m.Running || m.AllowedNodes[0] != "pve2" || !strings.Contains(m.NotAllowed["pve3"], "local-zfs") || len(m.LocalDisks) != 1 || m.LocalDisks[0].Size != 85899345920 {
		t.Fatalf("qemu precondition %+v %v", m, err)
	}
	m, err = c.MigrationPrecondition(ctx, "pve1", TypeLXC, 200, "")
	if err != nil || m.Running || m.AllowedNodes[0] != "pve2" || m.BlockingHA["pve3"][0] != "ct:201" || m.DependentHA[0] != "ct:202" {
		t.Fatalf("lxc precondition %+v %v", m, err)
	}
	if _, err := c.MigrationPrecondition(ctx, "pve1", TypeQemu, 100, "../x"); err == nil {
		t.Fatal("invalid target accepted")
	}
	vols, err := c.StorageVolumes(ctx, "pve1", "local", "vztmpl")
	if err != nil || len(vols) != 1 || vols[0].Content != "vztmpl" {
		t.Fatalf("volumes %+v %v", vols, err)
	}
	if _, err := c.StorageVolumes(ctx, "pve1", "local/../x", ""); err == nil {
		t.Fatal("invalid storage accepted")
	}
	st, err := c.PollTask(ctx, upid)
	if err != nil || !st.Done() || st.OK() {
		t.Fatalf("task %+v %v", st, err)
	}
	lines, err := c.TaskErrorLines(ctx, upid)
	if err != nil || len(lines) != 1 || lines[0] != "TASK ERROR: CT 203 already running" {
		t.Fatalf("error lines %q %v", lines, err)
	}
	if _, err := c.PollTask(ctx, "UPID:../x"); err == nil {
		t.Fatal("invalid UPID accepted")
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
