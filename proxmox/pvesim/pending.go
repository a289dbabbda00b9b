package pvesim

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Pending configuration. Proxmox writes every config change into the [PENDING] section first; for a
// running guest it then applies live only what can be hot-plugged (qemu-server QemuServer.pm
// vmconfig_hotplug_pending, pve-container LXC/Config.pm vmconfig_hotplug_pending) and keeps the rest
// pending until the guest restarts. GET config shows the pending values unless current=1, GET .../pending
// lists both, and status/current keeps reporting the running values.

func init() { routeSetups = append(routeSetups, (*Sim).registerPendingRoutes) }

func (s *Sim) registerPendingRoutes() {
	for _, typ := range []string{"qemu", "lxc"} {
		s.route("GET", "/nodes/{node}/"+typ+"/{vmid}/pending", permPath("/vms/{vmid}", "VM.Audit"),
			[]param{pNode(), pVMID()}, s.guestPending(typ))
	}
}

func (g *Guest) hasPending() bool {
	return (g.Pending != nil && len(g.Pending.m) > 0) || len(g.PendingDel) > 0
}

// pendingDeleteString is print_pending_delete: sorted keys, forced ones prefixed with '!'.
func (g *Guest) pendingDeleteString() string {
	keys := sortedKeys(g.PendingDel)
	for i, k := range keys {
		if g.PendingDel[k] {
			keys[i] = "!" + k
		}
	}
	return strings.Join(keys, ",")
}

// pendingText is the body of the [PENDING] section.
func (g *Guest) pendingText() string {
	c := newConf()
	if g.Pending != nil {
		c = g.Pending.Clone()
	}
	if len(g.PendingDel) > 0 {
		c.Set("delete", g.pendingDeleteString())
	}
	return c.Text()
}

// withPending is the config as GET config shows it by default: pending values applied, pending deletions
// removed.
func (g *Guest) withPending() *Conf {
	if !g.hasPending() {
		return g.Conf
	}
	c := g.Conf.Clone()
	if g.Pending != nil {
		for k, v := range g.Pending.m {
			c.Set(k, v)
		}
	}
	for k := range g.PendingDel {
		c.Del(k)
	}
	return c
}

func (g *Guest) clearPending() { g.Pending, g.PendingDel = nil, nil }

// cleanupPending is AbstractConfig::cleanup_pending: values equal to the current ones and deletions of
// absent keys are dropped.
func (g *Guest) cleanupPending() {
	if g.Pending != nil {
		for k, v := range g.Pending.m {
			if cur, ok := g.Conf.m[k]; ok && cur == v {
				g.Pending.Del(k)
			}
		}
	}
	for k := range g.PendingDel {
		if !g.Conf.Has(k) {
			delete(g.PendingDel, k)
		}
	}
	if !g.hasPending() {
		g.clearPending()
	}
}

// hotplugFeatures is parse_hotplug_features of the qemu "hotplug" option (default network,disk,usb;
// "1" = default, "0" = none).
func hotplugFeatures(c *Conf) map[string]bool {
	v, ok := c.m["hotplug"]
	if !ok || v == "1" {
		v = "network,disk,usb"
	}
	out := map[string]bool{}
	if v == "0" {
		return out
	}
	for _, f := range splitList(v) {
		out[f] = true
	}
	return out
}

var (
	// qemuFastPlug are options qemu-server applies to a running VM's config at once ($fast_plug_option,
	// which also takes the cloud-init options).
	qemuFastPlug = setOf("description", "hookscript", "lock", "migrate_downtime", "migrate_speed", "name", "onboot",
		"protection", "shares", "startup", "tags", "vmstatestorage",
		"cicustom", "cipassword", "citype", "ciuser", "ciupgrade", "nameserver", "searchdomain", "sshkeys")
	// lxcFastPlug is pve-container's $LXC_FASTPLUG_OPTIONS.
	lxcFastPlug = setOf("description", "onboot", "startup", "protection", "hostname", "hookscript", "cores", "tags", "lock")
	usbKeyRe    = regexp.MustCompile(`^usb\d+$`)
	ideSataRe   = regexp.MustCompile(`^(ide|sata)\d+$`)
	mpDevKeyRe  = regexp.MustCompile(`^(mp|dev)\d+$`)
)

// qemuLive reports whether vmconfig_hotplug_pending applies a change of key to a running VM now; del is a
// deletion. Anything it cannot hot-plug ("die skip") stays pending.
func qemuLive(g *Guest, key, value string, del bool) bool {
	hp := hotplugFeatures(g.Conf)
	switch {
	case qemuFastPlug[key] || ipconfKeyRe.MatchString(key):
		return true
	case key == "hotplug":
		return !strings.Contains(value, "memory") && !strings.Contains(g.Conf.Get("hotplug"), "memory")
	case key == "tablet" || usbKeyRe.MatchString(key):
		return hp["usb"]
	case key == "vcpus":
		return hp["cpu"]
	case key == "balloon":
		// Enabling or disabling the balloon device is not hot-pluggable, changing its target is.
		oldOn := g.Conf.Get("balloon") != "0"
		newOn := del || value != "0"
		return oldOn == newOn
	case key == "cpuunits" || key == "cpulimit":
		return true
	case netKeyRe.MatchString(key):
		return hp["network"]
	case qemuDriveRe.MatchString(key):
		if del {
			return hp["disk"] && !ideSataRe.MatchString(key)
		}
		if key == "efidisk0" || key == "tpmstate0" {
			return false
		}
		if isCdromValue(key, value) {
			return true // a CD-ROM change is a QMP eject/change, no hotplug needed
		}
		return hp["disk"] && !ideSataRe.MatchString(key)
	case key == "memory":
		return hp["memory"]
	}
	return false
}

// lxcLive is pve-container's vmconfig_hotplug_pending decision for a running CT.
func lxcLive(g *Guest, key string, del bool) bool {
	switch {
	case lxcFastPlug[key]:
		return true
	case key == "cpulimit" || key == "cpuunits" || key == "swap" || netKeyRe.MatchString(key):
		return true
	case del:
		return unusedKeyRe.MatchString(key)
	case key == "memory":
		return true
	case mpDevKeyRe.MatchString(key):
		return !g.Conf.Has(key) // no hotplug over an existing mount point or device
	}
	return false
}

// splitPending divides a change to a running guest into what is applied now and what goes to the pending
// section. unusedN deletions are always done at once (update_vm_api destroys them directly).
func splitPending(g *Guest, ch configChange) (live, pending configChange) {
	live.set, pending.set = map[string]string{}, map[string]string{}
	for k, v := range ch.set {
		ok := k == "lock"
		if !ok {
			if g.Type == "lxc" {
				ok = lxcLive(g, k, false)
			} else {
				ok = qemuLive(g, k, v, false)
			}
		}
		if ok {
			live.set[k] = v
		} else {
			pending.set[k] = v
		}
	}
	for _, k := range ch.del {
		ok := k == "lock" || unusedKeyRe.MatchString(k)
		if !ok {
			if g.Type == "lxc" {
				ok = lxcLive(g, k, true)
			} else {
				ok = qemuLive(g, k, "", true)
			}
		}
		if ok {
			live.del = append(live.del, k)
		} else {
			pending.del = append(pending.del, k)
		}
	}
	return live, pending
}

// updateConfig applies a change the way update_vm_api / update_pct_config do: reverts drop pending
// entries; a stopped guest takes everything (vmconfig_apply_pending); a running one takes the hot-pluggable
// part and keeps the rest pending. w may be nil. Caller holds s.mu.
func (s *Sim) updateConfig(w *worker, g *Guest, ch configChange, revert []string, force bool) error {
	for _, k := range revert {
		if g.Pending != nil {
			g.Pending.Del(k)
		}
		delete(g.PendingDel, k)
	}
	// A new value or a deletion replaces what was pending for that key.
	for k := range ch.set {
		delete(g.PendingDel, k)
		if g.Pending != nil {
			g.Pending.Del(k)
		}
	}
	for _, k := range ch.del {
		if g.Pending != nil {
			g.Pending.Del(k)
		}
	}
	if v, ok := ch.set["memory"]; ok && g.Type == "qemu" {
		if _, err := strconv.Atoi(strings.TrimPrefix(v, "current=")); err != nil {
			return fmt.Errorf("invalid format - value '%s' does not look like a valid memory size", v)
		}
	}
	if !g.IsRunning() {
		err := s.applyConfig(w, g, ch)
		g.cleanupPending()
		return err
	}
	live, pend := splitPending(g, ch)
	if len(pend.set) > 0 && g.Pending == nil {
		g.Pending = newConf()
	}
	for k, v := range pend.set {
		g.Pending.Set(k, v)
	}
	for _, k := range pend.del {
		if !g.Conf.Has(k) {
			continue
		}
		if g.PendingDel == nil {
			g.PendingDel = map[string]bool{}
		}
		g.PendingDel[k] = force
	}
	err := s.applyConfig(w, g, live)
	g.cleanupPending()
	return err
}

// applyPending is vmconfig_apply_pending at a (re)start or stop: the pending section becomes the config.
// Caller holds s.mu.
func (s *Sim) applyPending(w *worker, g *Guest) {
	if !g.hasPending() {
		return
	}
	ch := configChange{set: map[string]string{}}
	if g.Pending != nil {
		for k, v := range g.Pending.m {
			ch.set[k] = v
		}
	}
	ch.del = append(ch.del, sortedKeys(g.PendingDel)...)
	g.clearPending()
	if err := s.applyConfig(w, g, ch); err != nil && w != nil {
		w.Warn("unable to apply pending changes: %s", err)
	}
}

// guestPending is GET .../pending (PVE::GuestHelpers::config_with_pending_array): one entry per key of the
// loaded config (which includes its digest and lock) with the current "value", the "pending" value, and
// "delete" 1 (2 = forced) for a pending deletion; then keys only pending. Values are typed as in GET config.
// Proxmox emits them in hash order; the simulator sorts by key.
func (s *Sim) guestPending(typ string) handler {
	return func(c *reqCtx) (any, error) {
		g, err := s.guestOnPath(c, typ)
		if err != nil {
			return nil, err
		}
		cur := typedConf(typ, g.Conf)
		cur["digest"] = g.Digest()
		if g.Lock != "" {
			cur["lock"] = g.Lock
		}
		var pend map[string]any
		if g.Pending != nil {
			pend = typedConf(typ, g.Pending)
		}
		keys := map[string]bool{}
		for k := range cur {
			keys[k] = true
		}
		for k := range pend {
			keys[k] = true
		}
		for k := range g.PendingDel {
			keys[k] = true
		}
		names := sortedKeys(keys)
		out := make([]any, 0, len(names))
		for _, k := range names {
			e := obj{}.set("key", k)
			if v, ok := cur[k]; ok {
				if k == "cipassword" || k == "password" {
					v = "**********"
				}
				e = e.set("value", v)
			}
			if v, ok := pend[k]; ok {
				e = e.set("pending", v)
			}
			if force, ok := g.PendingDel[k]; ok {
				d := 1
				if force {
					d = 2
				}
				e = e.set("delete", d)
			}
			out = append(out, e)
		}
		return out, nil
	}
}
