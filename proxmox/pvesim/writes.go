package pvesim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Write endpoints of qemu-server (API2/Qemu.pm) and pve-container (API2/LXC.pm, LXC/Status.pm): power
// actions, config updates, resize and destroy. Each runs as a worker task, with Proxmox's split between
// synchronous refusals (HTTP 400/403/500 before a task exists) and task errors.

func init() { routeSetups = append(routeSetups, (*Sim).registerWriteRoutes) }

// Realistic durations of the workers at task speed 1.
const (
	durStart     = 2 * time.Second
	durStop      = 1 * time.Second
	durShutdown  = 4 * time.Second
	durReboot    = 5 * time.Second
	durPause     = 500 * time.Millisecond
	durHARequest = 500 * time.Millisecond
	durHALRM     = 3 * time.Second // CRM/LRM round until HA acts on a request
	durConfig    = 500 * time.Millisecond
	durResize    = 1 * time.Second
	durDestroy   = 2 * time.Second
)

// kindWord is how messages name a guest type.
func kindWord(typ string) string {
	if typ == "lxc" {
		return "CT"
	}
	return "VM"
}

// confMissing is AbstractConfig::load_config's message for a guest not on this node.
func confMissing(node, typ string, vmid int) string {
	dir := "qemu-server"
	if typ == "lxc" {
		dir = "lxc"
	}
	return fmt.Sprintf("Configuration file 'nodes/%s/%s/%d.conf' does not exist", node, dir, vmid)
}

// guestOn is the guest whose config lives on node (what load_config sees there). Caller holds s.mu.
func (s *Sim) guestOn(node, typ string, vmid int) *Guest {
	g := s.st.guest(vmid)
	if g == nil || g.Type != typ || g.Node != node {
		return nil
	}
	return g
}

// loadGuest is the synchronous load_config of a handler: a missing guest is a 500.
func (s *Sim) loadGuest(c *reqCtx, typ string) (*Guest, error) {
	g := s.guestOn(c.Node, typ, c.Int("vmid"))
	if g == nil {
		return nil, errNoConfig(c.Node, typ, c.Int("vmid"))
	}
	return g, nil
}

// lockMsg is check_lock's message, "" when unlocked.
func lockMsg(g *Guest) string {
	if g.Lock == "" {
		return ""
	}
	return fmt.Sprintf("%s is locked (%s)", kindWord(g.Type), g.Lock)
}

// haResourceOf is the HA resource managing g, nil when HA does not manage it (vm_is_ha_managed).
func (s *Sim) haResourceOf(g *Guest) *HAResource {
	r := s.st.haResource(haSID(g))
	if r == nil || r.State == "ignored" {
		return nil
	}
	return r
}

// rootOnly is the "Only root may use this option." check of options reserved to root@pam.
func rootOnly(c *reqCtx, names ...string) error {
	if c.User() == "root@pam" {
		return nil
	}
	for _, n := range names {
		if v := c.Str(n); v != "" && v != "0" {
			return errParam1(n, "Only root may use this option.")
		}
	}
	return nil
}

// withState runs fn holding the state lock; workers use it around every model access.
func (s *Sim) withState(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn()
}

// stateErr runs fn under the state lock and returns its error.
func (s *Sim) stateErr(fn func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fn()
}

func (s *Sim) registerWriteRoutes() {
	power := []struct {
		typ, action string
		params      func() []param
		h           func(c *reqCtx) (any, error)
	}{
		{"qemu", "start", qemuStartParams, s.hQemuStart},
		{"qemu", "stop", qemuStopParams, s.hQemuStop},
		{"qemu", "shutdown", qemuShutdownParams, s.hQemuShutdown},
		{"qemu", "reboot", qemuRebootParams, s.hQemuReboot},
		{"qemu", "suspend", qemuSuspendParams, s.hQemuSuspend},
		{"qemu", "resume", qemuResumeParams, s.hQemuResume},
		{"lxc", "start", lxcStartParams, s.hLxcStart},
		{"lxc", "stop", lxcStopParams, s.hLxcStop},
		{"lxc", "shutdown", lxcShutdownParams, s.hLxcShutdown},
		{"lxc", "reboot", lxcRebootParams, s.hLxcReboot},
		{"lxc", "suspend", lxcSuspendParams, s.hLxcSuspend},
		{"lxc", "resume", lxcResumeParams, s.hLxcResume},
	}
	for _, p := range power {
		s.route("POST", "/nodes/{node}/"+p.typ+"/{vmid}/status/"+p.action, permPath("/vms/{vmid}", "VM.PowerMgmt"), p.params(), p.h)
	}
	qemuConfPrivs := []string{"VM.Config.Disk", "VM.Config.CDROM", "VM.Config.CPU", "VM.Config.Memory", "VM.Config.Network", "VM.Config.HWType", "VM.Config.Options", "VM.Config.Cloudinit"}
	lxcConfPrivs := []string{"VM.Config.Disk", "VM.Config.CPU", "VM.Config.Memory", "VM.Config.Network", "VM.Config.Options"}
	s.route("POST", "/nodes/{node}/qemu/{vmid}/config", permAny("/vms/{vmid}", qemuConfPrivs...), qemuConfigPostParams(), s.hQemuConfigPost)
	s.route("PUT", "/nodes/{node}/qemu/{vmid}/config", permAny("/vms/{vmid}", qemuConfPrivs...), qemuConfigPutParams(), s.hQemuConfigPut)
	s.route("PUT", "/nodes/{node}/lxc/{vmid}/config", permAny("/vms/{vmid}", lxcConfPrivs...), lxcConfigPutParams(), s.hLxcConfigPut)
	s.route("PUT", "/nodes/{node}/qemu/{vmid}/resize", permPath("/vms/{vmid}", "VM.Config.Disk"), qemuResizeParams(), s.hResize("qemu"))
	s.route("PUT", "/nodes/{node}/lxc/{vmid}/resize", permAny("/vms/{vmid}", "VM.Config.Disk"), lxcResizeParams(), s.hResize("lxc"))
	s.route("DELETE", "/nodes/{node}/qemu/{vmid}", permPath("/vms/{vmid}", "VM.Allocate"), qemuDestroyParams(), s.hQemuDestroy)
	s.route("DELETE", "/nodes/{node}/lxc/{vmid}", permPath("/vms/{vmid}", "VM.Allocate"), lxcDestroyParams(), s.hLxcDestroy)
}

// ---- power: the workers ----

// powerTask starts the worker of a power action on a guest and returns its UPID. It is shared by the API
// handlers and the simulated HA LRM (which acts as root@pam). Caller holds s.mu.
func (s *Sim) powerTask(node, typ string, vmid int, action, user string, opts powerOpts) string {
	ttype := map[string]string{
		"qemu/start": "qmstart", "qemu/stop": "qmstop", "qemu/shutdown": "qmshutdown", "qemu/reboot": "qmreboot",
		"qemu/pause": "qmpause", "qemu/suspend": "qmsuspend", "qemu/resume": "qmresume",
		"lxc/start": "vzstart", "lxc/stop": "vzstop", "lxc/shutdown": "vzshutdown", "lxc/reboot": "vzreboot",
		"lxc/suspend": "vzsuspend", "lxc/resume": "vzresume",
	}[typ+"/"+action]
	return s.tasks.start(node, ttype, strconv.Itoa(vmid), user, func(w *worker) error {
		return s.runPower(w, node, typ, vmid, action, opts)
	})
}

type powerOpts struct {
	skiplock  bool
	forceStop bool // shutdown of a paused VM, or shutdown timeout → stop
}

// runPower is the body of a power worker: checks as the worker does them, a realistic delay, then the
// state change.
func (s *Sim) runPower(w *worker, node, typ string, vmid int, action string, opts powerOpts) error {
	kind := kindWord(typ)
	var dur time.Duration
	switch action {
	case "start", "resume":
		dur = durStart
		if action == "resume" {
			dur = durPause
		}
	case "stop":
		dur = durStop
	case "shutdown":
		dur = durShutdown
	case "reboot":
		dur = durReboot
	default:
		dur = durPause
	}
	// Phase 1: the checks the worker makes under the config lock.
	noop := false
	err := s.stateErr(func() error {
		g := s.guestOn(node, typ, vmid)
		if g == nil {
			return fmt.Errorf("%s", confMissing(node, typ, vmid))
		}
		switch action {
		case "start":
			if g.Template() {
				if typ == "lxc" {
					return fmt.Errorf("you can't start a CT if it's a template")
				}
				return fmt.Errorf("you can't start a vm if it's a template")
			}
			if m := lockMsg(g); m != "" && !opts.skiplock && !(typ == "qemu" && g.Lock == "suspended") {
				return fmt.Errorf("%s", m)
			}
			if g.IsRunning() {
				return fmt.Errorf("%s %d already running", kind, vmid)
			}
			if len(g.Missing) > 0 {
				return fmt.Errorf("%s", s.missingVolumeError(g.Missing[0]))
			}
		case "stop", "shutdown":
			// qemu-server PVE/API2/Qemu.pm, handlers vm_stop and vm_shutdown: neither checks that the VM
			// runs before forking qmstop/qmshutdown (only vm_reboot, vm_suspend and vm_resume die "VM <id>
			// not running"); the worker's PVE::QemuServer::vm_stop -> _do_vm_stop does
			// "my $pid = check_running($vmid, $nocheck); return if !$pid;", so the task ends OK. (NOTES
			// §1.5/§2.18 list a synchronous 500 for shutdown: the source says otherwise.) LXC handlers do
			// refuse synchronously; see hLxcStop/hLxcShutdown.
			if !g.IsRunning() {
				noop = true
				return nil
			}
			if m := lockMsg(g); m != "" && !opts.skiplock {
				return fmt.Errorf("%s", m)
			}
		case "reboot", "pause", "suspend":
			if !g.IsRunning() {
				return fmt.Errorf("%s %d not running", kind, vmid)
			}
			if m := lockMsg(g); m != "" && !opts.skiplock {
				return fmt.Errorf("%s", m)
			}
		case "resume":
			if typ == "lxc" {
				if !s.tasks.checkpointed(vmid) {
					return fmt.Errorf("command 'lxc-checkpoint -n %d -r --foreground -D /var/lib/vz/dump' failed: exit code 1", vmid)
				}
			} else if g.Lock != "suspended" && g.Status != "paused" {
				noop = true // QMP 'cont' on a running VM changes nothing
			}
		}
		return nil
	})
	if err != nil || noop {
		return err
	}
	if typ == "qemu" && action == "shutdown" && opts.forceStop {
		s.withState(func() {
			if g := s.guestOn(node, typ, vmid); g != nil && g.Status == "paused" {
				w.Log("VM is paused - stop instead of shutdown")
			}
		})
	}
	if err := w.Sleep(dur); err != nil {
		return err
	}
	// Phase 2: the state change.
	return s.stateErr(func() error {
		g := s.guestOn(node, typ, vmid)
		if g == nil {
			return fmt.Errorf("%s", confMissing(node, typ, vmid))
		}
		now := s.now()
		switch action {
		case "start":
			if g.IsRunning() {
				return fmt.Errorf("%s %d already running", kind, vmid)
			}
			// vm_start (qemu-server and pve-container) applies pending changes before starting.
			s.applyPending(w, g)
			g.Status, g.StartedAt = "running", now
			if g.Lock == "suspended" {
				g.Lock = ""
			}
		case "stop", "shutdown":
			g.endRun(now)
			g.Status = "stopped"
			if typ == "qemu" {
				// _do_vm_stop ends with vm_stop_cleanup(..., $apply_pending_changes = 1).
				s.applyPending(w, g)
			}
		case "reboot":
			// A reboot is a shutdown plus vm_start: pending changes take effect.
			s.applyPending(w, g)
			g.endRun(now)
			g.Status, g.StartedAt = "running", now
		case "pause":
			g.Status = "paused"
		case "suspend":
			g.endRun(now)
			if typ == "lxc" {
				// lxc-checkpoint -s dumps the container's state and stops it.
				s.tasks.setCheckpoint(vmid, true)
				g.Status = "stopped"
			} else {
				g.Status, g.Lock = "stopped", "suspended"
			}
		case "resume":
			if typ == "lxc" {
				s.tasks.setCheckpoint(vmid, false)
				g.Status, g.StartedAt = "running", now
			} else if g.Lock == "suspended" {
				g.Status, g.StartedAt, g.Lock = "running", now, ""
			} else {
				g.Status = "running"
			}
		}
		return nil
	})
}

// ---- power: HA ----

// haRequest is what the API does for an HA-managed guest: a hastart/hastop worker that only asks the HA
// stack (ha-manager set/crm-command), then the simulated LRM of the guest's node acts after a CRM round.
// hard is the stop API's "crm-command stop <sid> 0": the LRM stops instead of shutting down.
// Caller holds s.mu.
func (s *Sim) haRequest(c *reqCtx, g *Guest, state string, hard bool) string {
	vmid := g.VMID
	typ := ttypeHA(state)
	verb := "start"
	if state == "stopped" {
		verb = "stop"
	}
	sid, kind := haSID(g), kindWord(g.Type)
	return s.tasks.start(c.Node, typ, strconv.Itoa(vmid), c.User(), func(w *worker) error {
		w.Log("Requesting HA %s for %s %d", verb, kind, vmid)
		if err := w.Sleep(durHARequest); err != nil {
			return err
		}
		// ha-manager set / crm-command: the request lands in the HA resource's state.
		s.withState(func() {
			if r := s.st.haResource(sid); r != nil {
				r.State = state
			}
		})
		s.tasks.after(durHALRM, func() { s.haApply(sid, hard) })
		return nil
	})
}

func ttypeHA(state string) string {
	if state == "stopped" {
		return "hastop"
	}
	return "hastart"
}

// haApply is the LRM acting on a resource's requested state, as root@pam on the guest's node.
func (s *Sim) haApply(sid string, hard bool) {
	s.withState(func() {
		r := s.st.haResource(sid)
		if r == nil {
			return
		}
		g := s.st.guest(r.VMID())
		if g == nil || s.nodeOffline(g.Node) {
			return // a dead node's LRM does nothing; fencing and recovery are not simulated
		}
		switch {
		case r.State == "started" && !g.IsRunning() && g.Lock == "":
			s.powerTask(g.Node, g.Type, g.VMID, "start", "root@pam", powerOpts{})
		case (r.State == "stopped" || r.State == "disabled") && g.IsRunning():
			if hard {
				s.powerTask(g.Node, g.Type, g.VMID, "stop", "root@pam", powerOpts{})
			} else {
				s.powerTask(g.Node, g.Type, g.VMID, "shutdown", "root@pam", powerOpts{forceStop: true})
			}
		}
	})
}

// ---- power: qemu handlers ----

func (s *Sim) hQemuStart(c *reqCtx) (any, error) {
	if err := rootOnly(c, "stateuri", "skiplock", "migratedfrom", "migration_type", "migration_network", "targetstorage", "force-cpu", "with-conntrack-state", "nets-host-mtu"); err != nil {
		return nil, err
	}
	if c.Has("targetstorage") && !c.Has("migratedfrom") {
		return nil, errParam1("targetstorage", "targetstorage can only by used with migratedfrom.")
	}
	vmid := c.Int("vmid")
	// vm_start only looks at HA before forking; a missing config fails inside the worker.
	if g := s.guestOn(c.Node, "qemu", vmid); g != nil {
		if s.haResourceOf(g) != nil && !c.Has("stateuri") {
			return s.haRequest(c, g, "started", false), nil
		}
	}
	return s.powerTask(c.Node, "qemu", vmid, "start", c.User(), powerOpts{skiplock: c.Bool("skiplock")}), nil
}

func (s *Sim) hQemuStop(c *reqCtx) (any, error) {
	if err := rootOnly(c, "skiplock", "keepActive", "migratedfrom"); err != nil {
		return nil, err
	}
	vmid := c.Int("vmid")
	if g := s.guestOn(c.Node, "qemu", vmid); g != nil {
		if s.haResourceOf(g) != nil && !c.Has("migratedfrom") {
			if c.Bool("overrule-shutdown") {
				return nil, errParam1("overrule-shutdown", "Not applicable for HA resources.")
			}
			return s.haRequest(c, g, "stopped", true), nil
		}
	}
	return s.powerTask(c.Node, "qemu", vmid, "stop", c.User(), powerOpts{skiplock: c.Bool("skiplock")}), nil
}

// hQemuShutdown follows qemu-server PVE/API2/Qemu.pm vm_shutdown: a paused VM is refused, a stopped one is
// not (the qmshutdown task ends OK, see runPower).
func (s *Sim) hQemuShutdown(c *reqCtx) (any, error) {
	if err := rootOnly(c, "skiplock", "keepActive"); err != nil {
		return nil, err
	}
	vmid := c.Int("vmid")
	g := s.guestOn(c.Node, "qemu", vmid)
	// Sending a powerdown to a paused VM would be delivered on resume: Proxmox refuses it.
	if g != nil && g.Status == "paused" && !c.Bool("forceStop") {
		return nil, err500("VM is paused - cannot shutdown")
	}
	if g != nil {
		if s.haResourceOf(g) != nil {
			return s.haRequest(c, g, "stopped", false), nil
		}
	}
	return s.powerTask(c.Node, "qemu", vmid, "shutdown", c.User(), powerOpts{skiplock: c.Bool("skiplock"), forceStop: c.Bool("forceStop")}), nil
}

func (s *Sim) hQemuReboot(c *reqCtx) (any, error) {
	g, err := s.loadGuest(c, "qemu")
	if err != nil {
		return nil, err
	}
	if g.Status == "paused" {
		return nil, err500("VM is paused - cannot shutdown")
	}
	if !g.IsRunning() {
		return nil, err500("VM %d not running", g.VMID)
	}
	return s.powerTask(c.Node, "qemu", g.VMID, "reboot", c.User(), powerOpts{}), nil
}

func (s *Sim) hQemuSuspend(c *reqCtx) (any, error) {
	if err := rootOnly(c, "skiplock"); err != nil {
		return nil, err
	}
	g, err := s.loadGuest(c, "qemu")
	if err != nil {
		return nil, err
	}
	if !g.IsRunning() {
		return nil, err500("VM %d not running", g.VMID)
	}
	todisk := c.Bool("todisk")
	if todisk {
		if s.haResourceOf(g) != nil {
			return nil, err500("Cannot suspend HA managed VM to disk")
		}
		if err := c.Check(fmt.Sprintf("/vms/%d", g.VMID), "VM.Config.Disk"); err != nil {
			return nil, err
		}
		return s.powerTask(c.Node, "qemu", g.VMID, "suspend", c.User(), powerOpts{skiplock: c.Bool("skiplock")}), nil
	}
	return s.powerTask(c.Node, "qemu", g.VMID, "pause", c.User(), powerOpts{skiplock: c.Bool("skiplock")}), nil
}

func (s *Sim) hQemuResume(c *reqCtx) (any, error) {
	if err := rootOnly(c, "skiplock", "nocheck"); err != nil {
		return nil, err
	}
	vmid := c.Int("vmid")
	g := s.guestOn(c.Node, "qemu", vmid)
	if g == nil {
		// check_running asserts the config exists on this node.
		return nil, errNoConfig(c.Node, "qemu", vmid)
	}
	if g.Lock != "suspended" && !g.IsRunning() {
		return nil, err500("VM %d not running", vmid)
	}
	return s.powerTask(c.Node, "qemu", vmid, "resume", c.User(), powerOpts{skiplock: c.Bool("skiplock")}), nil
}

// ---- power: lxc handlers ----
//
// LXC/Status.pm checks the running state (a cgroup lookup, no config needed) before anything else, so a
// CT that does not exist is "not running", and a start of it fails only in the worker.

// lxcRunning is PVE::LXC::check_running for the path's node.
func (s *Sim) lxcRunning(c *reqCtx) (*Guest, bool) {
	g := s.guestOn(c.Node, "lxc", c.Int("vmid"))
	return g, g != nil && g.IsRunning()
}

func (s *Sim) hLxcStart(c *reqCtx) (any, error) {
	if err := rootOnly(c, "skiplock"); err != nil {
		return nil, err
	}
	g, running := s.lxcRunning(c)
	vmid := c.Int("vmid")
	if running {
		return nil, err500("CT %d already running", vmid)
	}
	if g != nil && s.haResourceOf(g) != nil {
		return s.haRequest(c, g, "started", false), nil
	}
	return s.powerTask(c.Node, "lxc", vmid, "start", c.User(), powerOpts{skiplock: c.Bool("skiplock")}), nil
}

func (s *Sim) hLxcStop(c *reqCtx) (any, error) {
	if err := rootOnly(c, "skiplock"); err != nil {
		return nil, err
	}
	g, running := s.lxcRunning(c)
	if !running {
		return nil, err500("CT %d not running", c.Int("vmid"))
	}
	if s.haResourceOf(g) != nil {
		if c.Bool("overrule-shutdown") {
			return nil, errParam1("overrule-shutdown", "Not applicable for HA resources.")
		}
		return s.haRequest(c, g, "stopped", true), nil
	}
	return s.powerTask(c.Node, "lxc", g.VMID, "stop", c.User(), powerOpts{skiplock: c.Bool("skiplock")}), nil
}

func (s *Sim) hLxcShutdown(c *reqCtx) (any, error) {
	g, running := s.lxcRunning(c)
	if !running {
		return nil, err500("CT %d not running", c.Int("vmid"))
	}
	if s.haResourceOf(g) != nil {
		return s.haRequest(c, g, "stopped", false), nil
	}
	return s.powerTask(c.Node, "lxc", g.VMID, "shutdown", c.User(), powerOpts{forceStop: c.Bool("forceStop")}), nil
}

func (s *Sim) hLxcReboot(c *reqCtx) (any, error) {
	g, running := s.lxcRunning(c)
	if !running {
		// LXC/Status.pm really says "VM" here.
		return nil, err500("VM %d not running", c.Int("vmid"))
	}
	return s.powerTask(c.Node, "lxc", g.VMID, "reboot", c.User(), powerOpts{}), nil
}

func (s *Sim) hLxcSuspend(c *reqCtx) (any, error) {
	g, running := s.lxcRunning(c)
	if !running {
		return nil, err500("CT %d not running", c.Int("vmid"))
	}
	return s.powerTask(c.Node, "lxc", g.VMID, "suspend", c.User(), powerOpts{}), nil
}

func (s *Sim) hLxcResume(c *reqCtx) (any, error) {
	if _, running := s.lxcRunning(c); running {
		return nil, err500("CT %d already running", c.Int("vmid"))
	}
	return s.powerTask(c.Node, "lxc", c.Int("vmid"), "resume", c.User(), powerOpts{}), nil
}

// ---- destroy ----

func (s *Sim) hQemuDestroy(c *reqCtx) (any, error) {
	if err := rootOnly(c, "skiplock"); err != nil {
		return nil, err
	}
	return s.destroy(c, "qemu")
}

func (s *Sim) hLxcDestroy(c *reqCtx) (any, error) { return s.destroy(c, "lxc") }

// destroyChecks are the early checks of destroy_vm, repeated by the worker.
func (s *Sim) destroyChecks(g *Guest, typ string, purge, force, skiplock bool) error {
	kind := kindWord(typ)
	if g.Conf.Get("protection") == "1" {
		return fmt.Errorf("can't remove %s %d - protection mode enabled", kind, g.VMID)
	}
	if typ == "lxc" && g.Lock != "" {
		return fmt.Errorf("%s", lockMsg(g))
	}
	if s.st.haResource(haSID(g)) != nil && !purge {
		return fmt.Errorf("unable to remove %s %d - used in HA resources and purge parameter not set.", kind, g.VMID)
	}
	if g.IsRunning() {
		if typ == "qemu" {
			return fmt.Errorf("VM %d is running - destroy failed", g.VMID)
		}
		if !force {
			return fmt.Errorf("unable to destroy CT %d - container is running", g.VMID)
		}
	}
	if typ == "qemu" && g.Lock != "" && !skiplock {
		return fmt.Errorf("%s", lockMsg(g))
	}
	return nil
}

func (s *Sim) destroy(c *reqCtx, typ string) (any, error) {
	g, err := s.loadGuest(c, typ)
	if err != nil {
		return nil, err
	}
	purge, force, skiplock := c.Bool("purge"), c.Bool("force"), c.Bool("skiplock")
	unref := c.Bool("destroy-unreferenced-disks")
	// qemu checks its lock only in the worker (destroy_vm); the rest is checked early.
	early := s.destroyChecks(g, typ, purge, force, true)
	if early != nil {
		return nil, err500("%s", early.Error())
	}
	vmid, node := g.VMID, c.Node
	ttype := "qmdestroy"
	if typ == "lxc" {
		ttype = "vzdestroy"
	}
	return s.tasks.start(node, ttype, strconv.Itoa(vmid), c.User(), func(w *worker) error {
		if typ == "lxc" && force {
			var running bool
			s.withState(func() {
				if g := s.guestOn(node, typ, vmid); g != nil && g.IsRunning() {
					running = true
				}
			})
			if running {
				if err := w.Sleep(durStop); err != nil {
					return err
				}
				s.withState(func() {
					if g := s.guestOn(node, typ, vmid); g != nil {
						g.endRun(s.now())
						g.Status = "stopped"
					}
				})
			}
		}
		if err := w.Sleep(durDestroy); err != nil {
			return err
		}
		return s.stateErr(func() error {
			g := s.guestOn(node, typ, vmid)
			if g == nil {
				return fmt.Errorf("%s", confMissing(node, typ, vmid))
			}
			if err := s.destroyChecks(g, typ, purge, force, skiplock); err != nil {
				return err
			}
			if msg := s.baseInUse(g); msg != "" {
				return fmt.Errorf("%s", msg)
			}
			s.destroyVolumes(w, g, unref)
			if purge {
				w.Log("purging %s %d from related configurations..", kindWord(typ), vmid)
				s.purgeFromJobs(vmid)
				if s.st.haResource(haSID(g)) != nil {
					s.removeHAResource(haSID(g))
					w.Log("NOTE: removed %s %d from HA resource configuration.", kindWord(typ), vmid)
				}
			}
			s.st.removeGuest(vmid)
			return nil
		})
	}), nil
}

// destroyVolumes frees a guest's volumes: its disks (not ISO images it merely references) and, when asked,
// volumes of the VMID no config references. Caller holds s.mu.
func (s *Sim) destroyVolumes(w *worker, g *Guest, unreferenced bool) {
	for _, d := range g.Disks() {
		if d.VolID == "" || d.VolID == "none" {
			continue
		}
		// Ownership decides: ISO images are shared, a cloud-init drive belongs to the guest.
		si, v := s.st.findVolume(g.Node, d.VolID)
		if v == nil || v.VMID != g.VMID {
			continue
		}
		s.logFree(w, si, v)
		s.st.removeVolume(d.VolID)
	}
	if unreferenced {
		for _, si := range s.storagesSeenFrom(g.Node) {
			for _, v := range append([]*Volume(nil), si.Volumes...) {
				if v.VMID == g.VMID && (v.Content == "images" || v.Content == "rootdir") {
					s.logFree(w, si, v)
					s.st.removeVolume(v.VolID)
				}
			}
		}
	}
}

func (s *Sim) logFree(w *worker, si *StorageInst, v *Volume) {
	if si == nil {
		return
	}
	switch si.Cfg.Type {
	case "lvm", "lvmthin":
		_, name, _ := strings.Cut(v.VolID, ":")
		w.Log("  Logical volume \"%s\" successfully removed.", name)
	case "dir", "nfs", "cifs":
		w.Log("Removing image: 100%% complete...done.")
	}
}

// storagesSeenFrom lists the storage instances available on node. Caller holds s.mu.
func (s *Sim) storagesSeenFrom(node string) []*StorageInst {
	var out []*StorageInst
	for _, c := range s.st.Storages {
		if si := s.st.storageOn(node, c.ID); si != nil {
			out = append(out, si)
		}
	}
	return out
}

// purgeFromJobs removes a VMID from backup jobs, as purge does. Caller holds s.mu.
func (s *Sim) purgeFromJobs(vmid int) {
	for _, j := range s.st.BackupJobs {
		for i, id := range j.VMIDs {
			if id == vmid {
				j.VMIDs = append(j.VMIDs[:i], j.VMIDs[i+1:]...)
				break
			}
		}
	}
}

// removeHAResource drops an HA resource and its references in rules. Caller holds s.mu.
func (s *Sim) removeHAResource(sid string) {
	for i, r := range s.st.HAResources {
		if r.SID == sid {
			s.st.HAResources = append(s.st.HAResources[:i], s.st.HAResources[i+1:]...)
			break
		}
	}
	for _, r := range s.st.HARules {
		for i, x := range r.Resources {
			if x == sid {
				r.Resources = append(r.Resources[:i], r.Resources[i+1:]...)
				break
			}
		}
	}
}
