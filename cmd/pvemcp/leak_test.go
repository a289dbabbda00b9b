package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/pvemcp/pvemcp/config"
	"github.com/pvemcp/pvemcp/guard"
	"github.com/pvemcp/pvemcp/internal/simtest"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
	"github.com/pvemcp/pvemcp/toolkit"
)

// lockedBuffer collects logs written from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// leakArgs are argument sets per tool beyond the ones its own tests declare
// (schemas/tool-args.json, which every tool is called with first): more that
// succeed against the demo cluster, ones that fail in the tool or in Proxmox,
// and arguments for tools that publish none (get_task, confirm_plan,
// restore_backup, delete_backup). A set that repeats the published one is
// refused: a tool's demo arguments live in one place.
var leakArgs = map[string][]string{
	"backup_status":          {`{"node":"pve-node03","logs":true}`},
	"capacity_report":        {`{"evacuate_node":"pve-node01"}`},
	"check_permissions":      {`{"path":"/vms/100"}`},
	"enable_toolset":         {`{"toolset":"diagnostics"}`},
	"cluster_overview":       {`{"node":"no-such-node"}`},
	"create_container":       {`{"node":"pve-node01","ostemplate":"debian","password":"Guest-Pass-1"}`, `{"node":"pve-node01","ostemplate":"no-such-template"}`},
	"create_vm":              {`{"node":"pve-node02","name":"leak-test","cores":2,"memory_mib":2048,"disk_gib":10}`, `{"node":"pve-node02","vmid":100}`},
	"get_guest":              {`{"vmid":999999}`},
	"get_metrics":            {`{"vmid":103}`, `{"vmid":999999}`},
	"get_task":               {`{"upid":"UPID:pve-node01:00001234:00AB1234:65F00000:qmstart:100:root@pam:"}`},
	"guest_power":            {`{"vmid":101,"action":"shutdown"}`, `{"vmid":203,"action":"shutdown"}`},
	"list_guests":            {`{"node":"pve-node01","status":"running"}`},
	"list_tasks":             {`{}`, `{"node":"pve-node01","limit":5}`},
	"migrate_guest":          {`{"vmid":101,"target":"pve-node02"}`, `{"vmid":101,"target":"no-such-node"}`},
	"storage_status":         {`{"node":"pve-node03"}`},
	"update_guest_resources": {`{"vmid":101,"cores":4}`, `{"vmid":999999,"cores":4}`},
	"zfs_health":             {`{"node":"pve-node03","vdevs":true}`},
	"confirm_plan":           {`{"plan_id":"nope","nonce":"nope"}`},
	"clone_guest":            {`{"vmid":9000,"count":2,"name":"leak-{n}"}`, `{"vmid":101,"full":false}`},
	"convert_to_template":    {`{"vmid":101}`},
	"delete_guest":           {`{"vmid":203}`, `{"vmid":101}`},
	"guest_agent_info":       {`{"vmid":103}`},
	"guest_exec":             {`{"vmid":101,"command":["hostname"]}`, `{"vmid":103,"command":["hostname"]}`},
	"list_snapshots":         {`{"vmid":999999}`},
	"snapshot_guest":         {`{"vmid":203,"action":"create","name":"leak"}`, `{"vmid":102,"action":"rollback","name":"before-pg16"}`},
	"list_backups":           {`{}`, `{"storage":"no-such-storage"}`},
	"backup_guest":           {`{"vmids":[201],"storage":"local"}`, `{"vmids":[102],"storage":"local"}`},
	"restore_backup":         {`{"volid":"backup-pool:backup/vzdump-qemu-101-2020_01_01-00_00_00.vma.zst"}`, `{"volid":"nfs-backup:backup/x","vmid":101,"force":true}`},
	"delete_backup":          {`{"volid":"backup-pool:backup/vzdump-qemu-101-2020_01_01-00_00_00.vma.zst"}`},
	"node_logs":              {`{"node":"pve-node03","hours":300,"cluster_log":true}`, `{"grep":"("}`},
	"node_health":            {`{"node":"no-such-node"}`},
	"replication_status":     {`{"vmid":999999}`},
	"firewall_status":        {`{"vmid":101,"port":22}`, `{"vmid":999999}`},
	"storage_content":        {`{"available_templates":true}`, `{"storage":"no-such"}`},
}

// declaredToolArgs are the arguments each tool's own tests declare for the
// demo cluster (tools/toolargs_test.go), as make snapshots publishes them:
// a tool without a leakArgs entry is called with those.
func declaredToolArgs(t *testing.T) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "schemas", "tool-args.json"))
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatalf("schemas/tool-args.json: %v", err)
	}
	out := map[string][]string{}
	for tool, args := range raw {
		var c bytes.Buffer
		if err := json.Compact(&c, args); err != nil {
			t.Fatalf("schemas/tool-args.json, %s: %v", tool, err)
		}
		out[tool] = []string{c.String()}
	}
	return out
}

// sameJSON says whether two JSON texts hold the same value, whatever the
// order of their keys.
func sameJSON(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal([]byte(a), &x); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}

// heavyTools compute much from many reads (slow under -race): their fault
// paths are covered by the token and proxy faults, which fail at once.
var heavyTools = map[string]bool{"capacity_report": true, "storage_status": true, "get_metrics": true}

var upidRE = regexp.MustCompile(`"upid":"(UPID:[^"]+)"`)

// TestSecretNeverLeaks runs every tool (success and failure paths, under
// every simulator fault), the plan confirmations and their audit log, the
// CLI commands and doctor, all with logs at debug level, and checks the
// token secret appears in none of their output.
func TestSecretNeverLeaks(t *testing.T) {
	clearEnv(t)
	mockKeyring(t)
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "xdg"))
	logs := &lockedBuffer{}
	sim := simtest.Start(t, pvesim.Options{Logger: zerolog.New(logs).Level(zerolog.DebugLevel)})
	token := sim.Token("operator")
	tokenID, secret, err := proxmox.ParseToken(token)
	if err != nil || len(secret) < 8 {
		t.Fatalf("token: %v", err)
	}
	var seen bytes.Buffer // everything a user, model or log reader could see
	record := func(what string, parts ...string) {
		for _, p := range parts {
			seen.WriteString(what + ": " + p + "\n")
		}
	}

	// In process: every tool with a gate and an audit log.
	auditPath := filepath.Join(dir, "audit.jsonl")
	audit, err := guard.OpenAuditLog(auditPath)
	if err != nil {
		t.Fatal(err)
	}
	defer audit.Close()
	c, err := proxmox.New(proxmox.Options{Name: "leak", Endpoints: []string{sim.URL()}, Token: token, Fingerprint: sim.Fingerprint()})
	if err != nil {
		t.Fatal(err)
	}
	env := &toolkit.Env{Client: c, Log: zerolog.New(logs).Level(zerolog.DebugLevel)}
	env.Gate = toolkit.NewGate(guard.NewStore(guard.WithAudit(audit)), guard.ApprovalNonce, guard.Protection{})
	env.Gate.TaskPoll = 1
	srv := toolkit.NewServer(env, toolkit.All())
	ctx := context.Background()
	call := func(name, args string) *toolkit.Result {
		res, err := srv.Call(ctx, name, json.RawMessage(args))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		record(name+" "+args, res.Text, string(res.Structured))
		return res
	}
	declared := declaredToolArgs(t)
	for tool, sets := range leakArgs {
		for _, s := range sets {
			if d := declared[tool]; len(d) > 0 && sameJSON(t, s, d[0]) {
				t.Errorf("leakArgs[%s] repeats %s, the arguments schemas/tool-args.json publishes for it: drop the set", tool, s)
			}
		}
	}
	var successes, failures, confirmed int
	runAll := func(phase string) {
		for _, tool := range srv.Tools() {
			if phase == "partial" && heavyTools[tool.Name] {
				continue
			}
			sets := append(append([]string(nil), declared[tool.Name]...), leakArgs[tool.Name]...)
			if len(sets) == 0 {
				t.Errorf("no arguments for tool %s: declare them in tools/%s_test.go (make snapshots publishes them) or add it to leakArgs", tool.Name, tool.Name)
				continue
			}
			if phase != "healthy" {
				sets = sets[:1] // faults fail every call alike; one set is enough
			}
			for _, args := range append(sets, `{"not_an_argument":1}`) {
				res := call(tool.Name, args)
				if res.IsError {
					failures++
					continue
				}
				successes++
				if phase != "healthy" {
					continue
				}
				var plan struct {
					PlanID string `json:"plan_id"`
					Nonce  string `json:"nonce"`
				}
				if json.Unmarshal(res.Structured, &plan) == nil && plan.PlanID != "" {
					call("confirm_plan", `{"plan_id":"`+plan.PlanID+`","nonce":"00000000000000000000000000000000"}`)
					if r := call("confirm_plan", `{"plan_id":"`+plan.PlanID+`","nonce":"`+plan.Nonce+`"}`); !r.IsError {
						confirmed++
					}
				}
				if m := upidRE.FindStringSubmatch(string(res.Structured)); m != nil {
					call("get_task", `{"upid":"`+m[1]+`"}`)
				}
			}
		}
	}
	runAll("healthy")
	for _, f := range []struct {
		target string
		fault  pvesim.Fault
		phase  string
	}{
		{"*/", pvesim.Fault{RevokedToken: tokenID}, "fault"},
		{"*/", pvesim.Fault{HTMLPage: true}, "fault"},
		{"*/", pvesim.Fault{MalformedJSON: true}, "fault"},
		{"*/", pvesim.Fault{ErrorRate: 1}, "fault"},
		{"pve-node02", pvesim.Fault{Offline: true}, "partial"},
	} {
		sim.ClearFaults()
		sim.SetFault(f.target, f.fault)
		runAll(f.phase)
	}
	sim.ClearFaults()
	if successes < 20 || failures < 80 || confirmed < 3 {
		t.Errorf("too little exercised: %d successes, %d failures, %d confirmed plans", successes, failures, confirmed)
	}

	// The CLI: call, tools, doctor and auth status, configured by the
	// environment, logs at debug level.
	t.Setenv(config.EnvEndpoint, sim.URL())
	t.Setenv(config.EnvToken, token)
	t.Setenv(config.EnvFingerprint, sim.Fingerprint())
	t.Setenv(EnvAuditLog, auditPath)
	for _, args := range [][]string{
		{"call", "cluster_overview"}, {"call", "get_guest", `{"vmid":999999}`}, {"call", "guest_power", `{"vmid":101,"action":"reboot"}`},
		{"doctor", "--probes", "2"}, {"auth", "status"},
	} {
		_, out, errs := runCLI(t, "", append([]string{"--log-level", "debug"}, args...)...)
		record(strings.Join(args, " "), out, errs)
	}
	sim.SetFault("*/", pvesim.Fault{RevokedToken: tokenID})
	_, out, errs := runCLI(t, "", "--log-level", "debug", "doctor", "--probes", "1")
	record("doctor revoked", out, errs)
	if !strings.Contains(out, "was rejected") {
		t.Errorf("doctor did not see the revoked token:\n%s", out)
	}
	sim.ClearFaults()
	// Configuration errors that involve the token.
	for _, bad := range []string{"bad id " + secret, "root@pam!x=" + secret, "root@pam!mcp=" + secret + " trailing"} {
		t.Setenv(config.EnvToken, bad)
		_, out, errs := runCLI(t, "", "--log-level", "debug", "call", "cluster_overview")
		record("bad token", out, errs)
	}

	auditBytes, err := os.ReadFile(auditPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(auditBytes, []byte("plan")) {
		t.Error("the audit log recorded nothing")
	}
	record("audit log", string(auditBytes))
	record("logs", logs.String())
	for _, r := range sim.Requests() {
		b, _ := json.Marshal(r)
		record("simulator request log", string(b))
	}

	all := seen.String()
	for _, form := range []string{secret, url.QueryEscape(secret), strings.ToUpper(secret)} {
		if i := strings.Index(all, form); i >= 0 {
			start := max(0, strings.LastIndex(all[:i], "\n"))
			t.Fatalf("the token secret leaked in: %.300s", all[start:])
		}
	}
	if !strings.Contains(all, tokenID) {
		t.Error("the token id appears nowhere: is the scan looking at the right output?")
	}
	t.Logf("scanned %d bytes: %d tool successes, %d failures, %d confirmed plans", len(all), successes, failures, confirmed)
}
