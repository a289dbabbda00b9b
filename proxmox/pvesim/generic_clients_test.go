package pvesim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	goproxmox "github.com/luthermonson/go-proxmox"
)

// Plain Proxmox clients, as the popular MCP servers write them, call the
// snapshot and backup endpoints directly: a JSON body with string VMIDs
// (gilby125/mcp-proxmox), a JSON body with numbers and an encodeURIComponent
// volume in the path (Bldg-7/proxmox-mcp), form encoding (proxmoxer), and
// go-proxmox's typed calls. Each must work against the simulator as against
// Proxmox, and what Proxmox refuses must be refused the same way.

// rawCall sends one request the way a fetch-based client does.
func rawCall(t *testing.T, s *Sim, method, path, contentType string, body []byte) (int, json.RawMessage, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL()+"/api2/json"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "PVEAPIToken="+s.Token("operator"))
	res, err := insecureClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	_ = json.Unmarshal(b, &env)
	return res.StatusCode, env.Data, res.Status + " " + string(b)
}

func jsonBody(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitUPID polls the task status as these clients do and returns the exit status.
func waitUPID(t *testing.T, s *Sim, node string, data json.RawMessage) string {
	t.Helper()
	var upid string
	if err := json.Unmarshal(data, &upid); err != nil || !strings.HasPrefix(upid, "UPID:") {
		t.Fatalf("not a UPID: %s", data)
	}
	for i := 0; i < 500; i++ {
		code, st, raw := rawCall(t, s, "GET", "/nodes/"+node+"/tasks/"+upid+"/status", "", nil)
		if code != 200 {
			t.Fatalf("task status: %s", raw)
		}
		var ts struct {
			Status     string `json:"status"`
			ExitStatus string `json:"exitstatus"`
		}
		_ = json.Unmarshal(st, &ts)
		if ts.Status == "stopped" {
			return ts.ExitStatus
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("task %s did not end", upid)
	return ""
}

func TestGenericClientsSnapshotsAndVzdump(t *testing.T) {
	s := startSim(t, Options{TaskSpeed: 0})
	const js = "application/json"

	// gilby125-style: JSON bodies, VMIDs as strings.
	code, data, raw := rawCall(t, s, "POST", "/nodes/pve-node01/qemu/105/snapshot", js, jsonBody(t, map[string]any{"snapname": "gilby", "description": "via fetch"}))
	if code != 200 {
		t.Fatalf("snapshot create: %s", raw)
	}
	if st := waitUPID(t, s, "pve-node01", data); st != "OK" {
		t.Fatalf("snapshot task: %s", st)
	}
	code, data, raw = rawCall(t, s, "GET", "/nodes/pve-node01/qemu/105/snapshot", "", nil)
	var snaps []map[string]any
	if code != 200 || json.Unmarshal(data, &snaps) != nil || len(snaps) != 2 || snaps[0]["name"] != "gilby" || snaps[1]["name"] != "current" {
		t.Fatalf("snapshot list: %s", raw)
	}
	code, data, raw = rawCall(t, s, "POST", "/nodes/pve-node01/vzdump", js, jsonBody(t, map[string]any{"vmid": "105", "storage": "local", "mode": "snapshot", "compress": "zstd"}))
	if code != 200 {
		t.Fatalf("vzdump: %s", raw)
	}
	if st := waitUPID(t, s, "pve-node01", data); st != "OK" {
		t.Fatalf("vzdump task: %s", st)
	}
	code, data, raw = rawCall(t, s, "GET", "/nodes/pve-node01/storage/local/content?content=backup", "", nil)
	var vols []map[string]any
	if code != 200 || json.Unmarshal(data, &vols) != nil || len(vols) != 1 || !strings.HasPrefix(vols[0]["volid"].(string), "local:backup/vzdump-qemu-105-") {
		t.Fatalf("backup list: %s", raw)
	}
	volid := vols[0]["volid"].(string)

	// Bldg-7-style: numbers and booleans in JSON; the volume URL-encoded.
	code, data, raw = rawCall(t, s, "POST", "/nodes/pve-node02/lxc/202/snapshot", js, jsonBody(t, map[string]any{"snapname": "bldg7"}))
	if code != 200 || waitUPID(t, s, "pve-node02", data) != "OK" {
		t.Fatalf("lxc snapshot: %s", raw)
	}
	code, data, raw = rawCall(t, s, "POST", "/nodes/pve-node01/qemu/101/snapshot", js, jsonBody(t, map[string]any{"snapname": "bldg7ram", "vmstate": true}))
	if code != 200 || waitUPID(t, s, "pve-node01", data) != "OK" {
		t.Fatalf("vm snapshot with RAM: %s", raw)
	}
	code, data, raw = rawCall(t, s, "POST", "/nodes/pve-node02/vzdump", js, jsonBody(t, map[string]any{"vmid": 202, "storage": "local", "mode": "snapshot", "compress": "zstd"}))
	if code != 200 || waitUPID(t, s, "pve-node02", data) != "OK" {
		t.Fatalf("lxc vzdump: %s", raw)
	}
	code, data, raw = rawCall(t, s, "DELETE", "/nodes/pve-node01/storage/local/content/"+url.PathEscape(volid), "", nil)
	if code != 200 || waitUPID(t, s, "pve-node01", data) != "OK" {
		t.Fatalf("delete backup: %s", raw)
	}
	// What Proxmox refuses, refused alike: "notes" is not a vzdump option
	// (notes-template is), and a VM restore takes no "restore".
	if code, _, raw = rawCall(t, s, "POST", "/nodes/pve-node01/vzdump", js, jsonBody(t, map[string]any{"vmid": "105", "notes": "x"})); code != 400 || !strings.Contains(raw, `"notes":"property is not defined in schema`) {
		t.Fatalf("vzdump with notes: %s", raw)
	}
	if code, _, raw = rawCall(t, s, "POST", "/nodes/pve-node01/qemu", js, jsonBody(t, map[string]any{"vmid": 150, "archive": volid, "restore": 1})); code != 400 || !strings.Contains(raw, `"restore":"property is not defined in schema`) {
		t.Fatalf("qemu restore with restore=1: %s", raw)
	}

	// proxmoxer-style: form encoding.
	form := url.Values{"snapname": {"proxmoxer"}, "description": {"form"}}
	code, data, raw = rawCall(t, s, "POST", "/nodes/pve-node03/qemu/112/snapshot", "application/x-www-form-urlencoded", []byte(form.Encode()))
	if code != 200 || waitUPID(t, s, "pve-node03", data) != "OK" {
		t.Fatalf("form snapshot: %s", raw)
	}

	// go-proxmox's typed calls.
	ctx := context.Background()
	c := gpClient(t, s, "operator")
	node, err := c.Node(ctx, "pve-node03")
	if err != nil {
		t.Fatal(err)
	}
	vm, err := node.VirtualMachine(ctx, 104)
	if err != nil {
		t.Fatal(err)
	}
	task, err := vm.NewSnapshot(ctx, "goproxmox")
	if err != nil {
		t.Fatalf("NewSnapshot: %v", err)
	}
	if err := task.Wait(ctx, 10*time.Millisecond, 10*time.Second); err != nil || !task.IsSuccessful {
		t.Fatalf("snapshot task: %v %+v", err, task)
	}
	list, err := vm.Snapshots(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "goproxmox" {
		t.Fatalf("Snapshots: %v %+v", err, list)
	}
	dump, err := node.Vzdump(ctx, &goproxmox.VirtualMachineBackupOptions{VMID: 104, Storage: "nfs-backup", Mode: "snapshot", Compress: "zstd"})
	if err != nil {
		t.Fatalf("Vzdump: %v", err)
	}
	if err := dump.Wait(ctx, 10*time.Millisecond, 10*time.Second); err != nil || !dump.IsSuccessful {
		t.Fatalf("vzdump task: %v %+v", err, dump)
	}
}
