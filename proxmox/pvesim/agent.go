package pvesim

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The QEMU guest agent endpoints of qemu-server (API2/Qemu/Agent.pm): ping, info, get-fsinfo, exec and
// exec-status, next to get-osinfo, get-host-name and network-get-interfaces (reads_extra.go,
// reads_guests.go). Every command first passes agentReady: "No QEMU guest agent configured", "VM <id> is not
// running", "QEMU guest agent is not running" or a QMP timeout, as Proxmox answers them.

func init() { routeSetups = append(routeSetups, (*Sim).registerAgentRoutes) }

const (
	// agentVersion is what guest-info reports (qemu-guest-agent of Debian 12 / Ubuntu 24.04).
	agentVersion = "8.2.2"
	// durExec is how long a command runs in the guest before exec-status reports it exited.
	durExec = 300 * time.Millisecond
	// execMaxOutput is qemu-ga's GUEST_EXEC_MAX_OUTPUT: more is dropped and "out-truncated" set.
	execMaxOutput = 16 << 20
)

// ExecScript is a scripted answer of agent/exec: the command (argv joined by single spaces) and what it
// prints and returns.
type ExecScript struct {
	Command  string
	Stdout   string
	Stderr   string
	ExitCode int
}

// execRun is one command started through agent/exec, kept until exec-status has reported its end (qemu-ga
// forgets a pid once its exit was read).
type execRun struct {
	vmid           int
	stdout, stderr string
	exit           int
	done           time.Time
}

// execTable holds the commands started in guests, by pid.
type execTable struct {
	mu      sync.Mutex
	nextPID int
	runs    map[int]*execRun
}

func (s *Sim) execs() *execTable {
	s.execOnce.Do(func() { s.execT = &execTable{nextPID: 4100, runs: map[int]*execRun{}} })
	return s.execT
}

func (s *Sim) registerAgentRoutes() {
	read := permAny("/vms/{vmid}", "VM.GuestAgent.Audit", "VM.GuestAgent.Unrestricted")
	exec := permPath("/vms/{vmid}", "VM.GuestAgent.Unrestricted")
	if s.ver < 9 {
		// PVE 8 had VM.Monitor where PVE 9 has the VM.GuestAgent.* privileges.
		read = permPath("/vms/{vmid}", "VM.Monitor")
		exec = read
	}
	nv := []param{pNode(), pVMID()}
	s.route("POST", "/nodes/{node}/qemu/{vmid}/agent/ping", read, nv, s.agentCall("ping", func(*Guest) any { return map[string]any{} }))
	s.route("GET", "/nodes/{node}/qemu/{vmid}/agent/info", read, nv, s.agentCall("info", agentInfo))
	s.route("GET", "/nodes/{node}/qemu/{vmid}/agent/get-fsinfo", read, nv, s.agentCall("get-fsinfo", s.agentFSInfo))
	s.route("POST", "/nodes/{node}/qemu/{vmid}/agent/exec", exec,
		[]param{pArr("command"), pStr("input-data").opt().maxLength(65536), pNode(), pVMID()}, s.hAgentExec)
	s.route("GET", "/nodes/{node}/qemu/{vmid}/agent/exec-status", exec, []param{pNode(), pInt("pid"), pVMID()}, s.hAgentExecStatus)
}

// agentHostname is what get-host-name reports: the scenario's, else the guest's name.
func (g *Guest) agentHostname() string {
	if g.AgentHost != "" {
		return g.AgentHost
	}
	return g.Name()
}

func agentInfo(*Guest) any {
	cmds := []string{"guest-exec", "guest-exec-status", "guest-fsfreeze-freeze", "guest-fsfreeze-status", "guest-fsfreeze-thaw",
		"guest-fstrim", "guest-get-fsinfo", "guest-get-host-name", "guest-get-osinfo", "guest-get-time", "guest-get-timezone",
		"guest-get-users", "guest-get-vcpus", "guest-info", "guest-network-get-interfaces", "guest-ping", "guest-set-user-password",
		"guest-shutdown", "guest-suspend-disk", "guest-suspend-ram", "guest-sync", "guest-sync-delimited"}
	list := make([]map[string]any, len(cmds))
	for i, c := range cmds {
		list[i] = map[string]any{"name": c, "enabled": true, "success-response": c != "guest-shutdown"}
	}
	return map[string]any{"version": agentVersion, "supported_commands": list}
}

// guestFS is one filesystem the agent reports, derived from a disk of the guest's config: what the guest
// sees agrees with the volume on the storage (its size, and its allocation as the data written).
type guestFS struct {
	name, mount, fstype, dev, key string
	total, used                   int64
}

// guestFilesystems lists the guest's filesystems: one per data disk, the first one the root. Caller holds
// s.mu.
func (s *Sim) guestFilesystems(g *Guest) []guestFS {
	windows := strings.HasPrefix(g.Conf.Get("ostype"), "win")
	var out []guestFS
	letter := 'C'
	n := 0
	for _, d := range g.Disks() {
		if d.Media == "cdrom" || strings.HasPrefix(d.Key, "unused") || d.Key == "efidisk0" || d.Key == "tpmstate0" || strings.Contains(d.VolID, "cloudinit") {
			continue
		}
		size, used := d.Size, d.Size/2
		if _, v := s.st.findVolume(g.Node, d.VolID); v != nil {
			size, used = v.Size, v.Used
		}
		dev := "/dev/sd" + string(rune('a'+n))
		fs := guestFS{key: d.Key, dev: dev}
		if windows {
			// NTFS on the whole disk after the 100 MiB system and 16 MiB reserved partitions.
			fs.name, fs.mount, fs.fstype = fmt.Sprintf(`\\?\Volume{%s}\`, s.newUUID("ntfs/"+d.Key, g.VMID, 0)), string(letter)+`:\`, "NTFS"
			fs.total = size - 116<<20
			letter++
		} else {
			fs.fstype, fs.name = "ext4", strings.TrimPrefix(dev, "/dev/")+"1"
			fs.mount = "/"
			fs.total = size - 1<<30 // /boot/efi and the ext4 reserve
			if n > 0 {
				fs.mount = fmt.Sprintf("/data%d", n)
				fs.total = size - size/50
			}
		}
		fs.used = used
		if fs.used > fs.total*98/100 {
			fs.used = fs.total * 98 / 100
		}
		if fs.total > 0 {
			out = append(out, fs)
		}
		n++
	}
	return out
}

func (s *Sim) agentFSInfo(g *Guest) any {
	out := []map[string]any{}
	for i, fs := range s.guestFilesystems(g) {
		out = append(out, map[string]any{"name": fs.name, "mountpoint": fs.mount, "type": fs.fstype,
			"total-bytes": fs.total, "used-bytes": fs.used,
			"disk": []map[string]any{{"bus-type": "scsi", "bus": 0, "target": 0, "unit": i, "dev": fs.dev + "1",
				"serial":         "0QEMU_QEMU_HARDDISK_drive-" + fs.key,
				"pci-controller": map[string]any{"domain": 0, "bus": 9, "slot": 1 + i, "function": 0}}}})
	}
	return out
}

// List is an array parameter: repeated form keys or a JSON array, one plain value as a one-element list.
func (c *reqCtx) List(name string) []string {
	v, ok := c.Params[name]
	if !ok {
		return nil
	}
	var l []string
	if strings.HasPrefix(v, "[") && json.Unmarshal([]byte(v), &l) == nil {
		return l
	}
	return []string{v}
}

func (s *Sim) hAgentExec(c *reqCtx) (any, error) {
	g, err := s.agentReady(c, "exec")
	if err != nil {
		return nil, err
	}
	argv := c.List("command")
	if len(argv) == 0 || argv[0] == "" {
		return nil, errParam1("command", "no command specified")
	}
	run, ok := s.runInGuest(g, argv, c.Str("input-data"))
	if !ok {
		return nil, err500("VM %d qmp command 'guest-exec' failed - Guest agent command failed, error was 'Failed to execute child process \u201c%s\u201d (No such file or directory)'", g.VMID, argv[0])
	}
	t := s.execs()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.nextPID++
	run.vmid = g.VMID
	run.done = time.Now().Add(s.tasks.scaled(durExec))
	t.runs[t.nextPID] = run
	return map[string]any{"pid": t.nextPID}, nil
}

func (s *Sim) hAgentExecStatus(c *reqCtx) (any, error) {
	g, err := s.agentReady(c, "exec-status")
	if err != nil {
		return nil, err
	}
	pid := c.Int("pid")
	t := s.execs()
	t.mu.Lock()
	defer t.mu.Unlock()
	run := t.runs[pid]
	if run == nil || run.vmid != g.VMID {
		return nil, err500("VM %d qmp command 'guest-exec-status' failed - Invalid parameter 'pid'", g.VMID)
	}
	if time.Now().Before(run.done) {
		return map[string]any{"exited": 0}, nil
	}
	delete(t.runs, pid)
	out := map[string]any{"exited": 1, "exitcode": run.exit}
	if run.stdout != "" {
		o, trunc := capOutput(run.stdout)
		out["out-data"] = o
		if trunc {
			out["out-truncated"] = 1
		}
	}
	if run.stderr != "" {
		e, trunc := capOutput(run.stderr)
		out["err-data"] = e
		if trunc {
			out["err-truncated"] = 1
		}
	}
	return out, nil
}

func capOutput(s string) (string, bool) {
	if len(s) <= execMaxOutput {
		return s, false
	}
	return s[:execMaxOutput], true
}

// runInGuest decides what a command does: a scripted answer of the scenario, else a few commands every
// Linux guest has, answered from the guest's own state. ok is false when the program does not exist.
func (s *Sim) runInGuest(g *Guest, argv []string, stdin string) (*execRun, bool) {
	line := strings.Join(argv, " ")
	for _, sc := range g.Exec {
		if sc.Command == line {
			return &execRun{stdout: sc.Stdout, stderr: sc.Stderr, exit: sc.ExitCode}, true
		}
	}
	if strings.HasPrefix(g.Conf.Get("ostype"), "win") {
		if argv[0] == "hostname" || strings.EqualFold(argv[0], "hostname.exe") {
			return &execRun{stdout: g.agentHostname() + "\r\n"}, true
		}
		return nil, false
	}
	switch argv[0] {
	case "true":
		return &execRun{}, true
	case "false":
		return &execRun{exit: 1}, true
	case "echo":
		return &execRun{stdout: strings.Join(argv[1:], " ") + "\n"}, true
	case "cat":
		if len(argv) == 1 {
			return &execRun{stdout: stdin}, true
		}
		return &execRun{stderr: fmt.Sprintf("cat: %s: Permission denied\n", argv[1]), exit: 1}, true
	case "hostname":
		return &execRun{stdout: g.agentHostname() + "\n"}, true
	case "id":
		return &execRun{stdout: "uid=0(root) gid=0(root) groups=0(root)\n"}, true
	case "uptime":
		up := time.Since(g.StartedAt)
		return &execRun{stdout: fmt.Sprintf(" up %d days, %d min\n", int(up.Hours())/24, int(up.Minutes())%60)}, true
	case "seq":
		// seq N: a long output on demand (bounded well above qemu-ga's cap is not needed).
		n, err := strconv.Atoi(argv[len(argv)-1])
		if err != nil || n < 0 {
			return &execRun{stderr: fmt.Sprintf("seq: invalid floating point argument: '%s'\n", argv[len(argv)-1]), exit: 1}, true
		}
		n = min(n, 1_000_000)
		var b strings.Builder
		for i := 1; i <= n; i++ {
			b.WriteString(strconv.Itoa(i))
			b.WriteByte('\n')
		}
		return &execRun{stdout: b.String()}, true
	case "df":
		var b strings.Builder
		b.WriteString("Filesystem     1K-blocks      Used Available Use% Mounted on\n")
		fss := s.guestFilesystems(g)
		sort.Slice(fss, func(i, j int) bool { return fss[i].mount < fss[j].mount })
		for _, fs := range fss {
			avail := fs.total - fs.used
			fmt.Fprintf(&b, "%-14s %10d %9d %9d %3d%% %s\n", fs.dev+"1", fs.total>>10, fs.used>>10, avail>>10, (fs.used*100+fs.total-1)/fs.total, fs.mount)
		}
		return &execRun{stdout: b.String()}, true
	case "systemctl":
		if len(argv) == 3 && argv[1] == "is-active" {
			return &execRun{stdout: "inactive\n", exit: 3}, true
		}
		return &execRun{stderr: "System has not been booted with systemd as init system (PID 1). Can't operate.\n", exit: 1}, true
	}
	return nil, false
}
