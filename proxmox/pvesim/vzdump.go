package pvesim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// POST /nodes/{node}/vzdump (API2/VZDump.pm, PVE/VZDump.pm): a backup run now. The worker writes the
// same log as the scheduled runs of backup_history.go (NOTES §6), leaves an archive per guest on the
// storage's content, and fails a guest whose archive does not fit ("No space left on device"), as vzdump
// does: it does not check the space beforehand.

func init() { routeSetups = append(routeSetups, (*Sim).registerVzdumpRoutes) }

// vzdumpParams: the parameters of POST /nodes/{node}/vzdump in the official API schema. Defaults that
// only matter for permission checks (bwlimit, ionice, prune-backups) are not filled in: the handler must
// see whether the caller gave them.
func vzdumpParams() []param {
	return []param{
		pBool("all").opt(),
		pInt("bwlimit").opt().min(0),
		pStr("compress").opt().enum("0", "1", "gzip", "lzo", "zstd"),
		pStr("dumpdir").opt(),
		pStr("exclude").opt().fmt("pve-vmid-list"),
		{name: "exclude-path", typ: "array", optional: true},
		pStr("fleecing").opt().fmt("backup-fleecing"),
		pInt("ionice").opt().min(0).max(8),
		pStr("job-id").opt().maxLength(50).re(`\S+`),
		pInt("lockwait").opt().min(0).def("180"),
		pStr("mailnotification").opt().enum("always", "failure").def("always"),
		pStr("mailto").opt().fmt("email-or-username-list"),
		pInt("maxfiles").opt().min(1),
		pStr("mode").opt().enum("snapshot", "suspend", "stop").def("snapshot"),
		pStr("node").opt().fmt("pve-node"),
		pStr("notes-template").opt().maxLength(1024),
		pStr("notification-mode").opt().enum("auto", "legacy-sendmail", "notification-system").def("auto"),
		pStr("pbs-change-detection-mode").opt().enum("legacy", "data", "metadata"),
		pStr("performance").opt().fmt("backup-performance"),
		pInt("pigz").opt().def("0"),
		pStr("pool").opt(),
		pBool("protected").opt(),
		pStr("prune-backups").opt().fmt("prune-backups"),
		pBool("quiet").opt(),
		pBool("remove").opt(),
		pStr("script").opt(),
		pBool("stdexcludes").opt(),
		pBool("stdout").opt(),
		pBool("stop").opt(),
		pInt("stopwait").opt().min(0).def("10"),
		pStr("storage").opt().fmt("pve-storage-id"),
		pStr("tmpdir").opt(),
		pStr("vmid").opt().fmt("pve-vmid-list"),
		pInt("zstd").opt().def("1"),
	}
}

func (s *Sim) registerVzdumpRoutes() {
	s.route("POST", "/nodes/{node}/vzdump", permNone(), vzdumpParams(), s.hVzdump)
	s.route("GET", "/nodes/{node}/vzdump/extractconfig", permNone(), []param{pNode(), pStr("volume")}, s.hVzdumpExtractConfig)
}

// hVzdumpExtractConfig is the guest config stored in a backup archive, as the .conf text.
func (s *Sim) hVzdumpExtractConfig(c *reqCtx) (any, error) {
	volid := c.Str("volume")
	sid, _, ok := strings.Cut(volid, ":")
	if !ok {
		return nil, err500("unable to parse volume ID '%s'", volid)
	}
	if s.st.storageCfg(sid) == nil {
		return nil, err500("storage '%s' does not exist", sid)
	}
	si := s.st.storageOn(c.Node, sid)
	var v *Volume
	if si != nil {
		for _, x := range si.Volumes {
			if x.VolID == volid && x.Content == "backup" && x.Ctime <= s.now().Unix() {
				v = x
			}
		}
	}
	if v == nil {
		return nil, err500("volume '%s' does not exist", volid)
	}
	if err := s.volumeAccess(c, si, v); err != nil {
		return nil, err
	}
	if v.Archived == nil {
		return "", nil
	}
	return v.Archived.Text(), nil
}

// archiveExt is the archive suffix vzdump gives a guest type and compressor.
func archiveExt(typ, compress string) string {
	base := "vma"
	if typ == "lxc" {
		base = "tar"
	}
	switch compress {
	case "zstd":
		return base + ".zst"
	case "gzip", "1":
		return base + ".gz"
	case "lzo":
		return base + ".lzo"
	}
	return base
}

// compressRatio is the archive size per allocated byte of the guest's disks.
func compressRatio(compress string) float64 {
	switch compress {
	case "zstd":
		return 0.45
	case "gzip", "1":
		return 0.5
	case "lzo":
		return 0.6
	}
	return 1
}

// compressibility is how much better or worse than usual a guest's data
// compresses today (0.8..1.4): an estimate from the used space can be short.
func compressibility(vmid int) float64 {
	return 0.8 + 0.6*float64(hash64(0, "compressibility", int64(vmid))%1000)/1000
}

// SetStorageFree makes a storage (as node sees it) have freeBytes left, as
// if other data had filled it: a test control for full storages.
func (s *Sim) SetStorageFree(node, storage string, freeBytes int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	si := s.st.storageOn(node, storage)
	if si == nil {
		return fmt.Errorf("no storage %s on %s", storage, node)
	}
	now := s.now()
	free := s.instTotal(si, now) - s.instUsedAt(si, now)
	si.BaseUsed += free - freeBytes
	return nil
}

// notesFrom fills a notes template ({{guestname}}, {{vmid}}, {{node}}, {{cluster}}).
func (s *Sim) notesFrom(tmpl string, g *Guest) string {
	return strings.NewReplacer("{{guestname}}", g.Name(), "{{vmid}}", itoa(g.VMID), "{{node}}", g.Node, "{{cluster}}", s.st.Name).Replace(tmpl)
}

func (s *Sim) hVzdump(c *reqCtx) (any, error) {
	node := c.Node
	if err := rootOnly(c, "tmpdir", "dumpdir", "script", "job-id"); err != nil {
		return nil, err
	}
	all, pool, vmids := c.Bool("all"), c.Str("pool"), c.Str("vmid")
	switch {
	case all && vmids != "":
		return nil, errParam1("all", "option conflicts with option 'vmid'")
	case c.Has("exclude") && !all:
		return nil, errParam1("exclude", "option only makes sense in combination with option 'all'")
	case !all && vmids == "" && pool == "" && !c.Bool("stop"):
		return nil, errParam1("vmid", "property is missing")
	}
	for _, k := range []string{"bwlimit", "performance", "ionice"} {
		if c.Has(k) {
			if err := c.Check("/", "Sys.Modify"); err != nil {
				return nil, err
			}
			break
		}
	}
	storage := c.Str("storage")
	if storage == "" {
		storage = "local"
	}
	cfg := s.st.storageCfg(storage)
	if cfg == nil {
		return nil, err500("storage '%s' does not exist", storage)
	}
	if err := c.Check("/storage/"+storage, "Datastore.AllocateSpace"); err != nil {
		return nil, err
	}
	if c.Has("prune-backups") {
		if err := c.Check("/storage/"+storage, "Datastore.Allocate"); err != nil {
			return nil, err
		}
	}
	// The selection, as VZDump::get_included_guests sees it.
	var ids []int
	switch {
	case all:
		excl := parseVMIDList(c.Str("exclude"))
		for _, g := range s.st.sortedGuests() {
			if !containsInt(excl, g.VMID) {
				ids = append(ids, g.VMID)
			}
		}
	case pool != "":
		for _, g := range s.st.sortedGuests() {
			if g.Pool == pool {
				ids = append(ids, g.VMID)
			}
		}
	default:
		ids = parseVMIDList(vmids)
	}
	for _, id := range ids {
		if err := s.vmPerm(c, id, "", "VM.Backup"); err != nil {
			return nil, err
		}
	}
	var local, external []int
	for _, id := range ids {
		if g := s.st.guest(id); g != nil && g.Node != node {
			external = append(external, id)
		} else {
			local = append(local, id)
		}
	}
	job := &BackupJob{Storage: storage, Mode: c.Str("mode"), Compress: c.Str("compress"), NotesTemplate: c.Str("notes-template")}
	if job.Mode == "" {
		job.Mode = "snapshot"
	}
	protected := c.Bool("protected")
	// Retention after the run: the prune-backups option, else the storage's; remove=0 keeps everything.
	remove := !c.Has("remove") || c.Bool("remove")
	retention := c.Str("prune-backups")
	if retention == "" {
		retention = cfg.Prune
	}
	// The command line vzdump logs first, in a stable order.
	var cmd []string
	if all {
		cmd = append(cmd, "--all 1")
	} else if vmids != "" {
		cmd = append(cmd, strings.Join(strings.FieldsFunc(vmids, func(r rune) bool { return r == ',' || r == ';' || r == ' ' }), " "))
	}
	for _, k := range []string{"compress", "mode", "node", "notes-template", "pool", "protected", "remove", "storage"} {
		if v, ok := c.Params[k]; ok && (k != "node" || c.Has("node")) {
			if strings.ContainsAny(v, " {}'") {
				v = "'" + v + "'"
			}
			cmd = append(cmd, "--"+k+" "+v)
		}
	}
	id := ""
	if len(ids) == 1 {
		id = itoa(ids[0])
	}
	return s.tasks.start(node, "vzdump", id, c.User(), func(w *worker) error {
		w.Log("INFO: starting new backup job: vzdump %s", strings.Join(cmd, " "))
		if len(external) > 0 {
			var x []string
			for _, e := range external {
				x = append(x, itoa(e))
			}
			w.Log("INFO: skip external VMs: %s", strings.Join(x, ", "))
		}
		var cfgErr error
		s.withState(func() {
			if !contains(cfg.Content, "backup") {
				cfgErr = fmt.Errorf("can't use storage '%s' for backups - wrong content type", storage)
			} else if s.st.storageOn(node, storage) == nil {
				cfgErr = fmt.Errorf("storage '%s' is not available on node '%s'", storage, node)
			}
		})
		if cfgErr != nil {
			w.Log("ERROR: Backup job failed - %s", cfgErr)
			return cfgErr
		}
		failed := 0
		for _, vmid := range local {
			var lines []string
			var vol *Volume
			var elapsed time.Duration
			var missing bool
			s.withState(func() {
				g := s.st.guest(vmid)
				if g == nil || g.Node != node {
					missing = true
					return
				}
				si := s.st.storageOn(node, storage)
				start := s.now()
				var oc backupOutcome
				if m := lockMsg(g); m != "" {
					oc.err = m
				} else {
					// Space: the archive is estimated as vzdumpGuest sizes it.
					var used int64
					for _, d := range g.Disks() {
						if d.Media == "cdrom" || strings.HasPrefix(d.Key, "unused") || d.Size == 0 {
							continue
						}
						if _, v := s.st.findVolume(g.Node, d.VolID); v != nil {
							used += v.Used
						}
					}
					job.ratioFactor = compressibility(g.VMID)
					arch := int64(float64(used) * compressRatio(job.Compress) * job.ratioFactor)
					if free := s.instTotal(si, start) - s.instUsedAt(si, start); arch > free {
						if g.Type == "lxc" {
							oc.detail = "zstd: error 70 : Write error : cannot write block : No space left on device"
							oc.err = "command 'set -o pipefail && tar cpf - --totals --one-file-system -p --sparse --numeric-owner --acls --xattrs --directory=/mnt/vzsnap0 ./etc/vzdump/pct.conf . | zstd --rsyncable --threads=1' failed: exit code 2"
						} else {
							oc.err = "vma_queue_write: write error - No space left on device"
						}
					}
				}
				var end time.Time
				end, lines, vol = s.vzdumpGuest(job, g, si, start, oc, s.st.T0)
				elapsed = end.Sub(start)
				if oc.err != "" {
					failed++
					vol = nil
					return
				}
				g.Lock = "backup"
			})
			if missing {
				w.Log("ERROR: Backup of VM %d failed - unable to find configuration file for VM %d on node '%s'", vmid, vmid, node)
				failed++
				continue
			}
			if vol == nil {
				for _, l := range lines {
					w.Log("%s", l)
				}
				continue
			}
			// The last two lines ("Finished Backup", "Backup finished at") come after the archive is
			// stored, its notes added and older archives pruned.
			for _, l := range lines[:len(lines)-2] {
				w.Log("%s", l)
			}
			// The run takes time; the log's own clock is the simulated duration.
			if err := w.Sleep(min(elapsed, 8*time.Second)); err != nil {
				s.withState(func() {
					if g := s.st.guest(vmid); g != nil && g.Lock == "backup" {
						g.Lock = ""
					}
				})
				return err
			}
			s.withState(func() {
				g := s.st.guest(vmid)
				if g != nil && g.Lock == "backup" {
					g.Lock = ""
				}
				vol.Notes = ""
				if job.NotesTemplate != "" && g != nil {
					vol.Notes = s.notesFrom(job.NotesTemplate, g)
					w.Log("INFO: adding notes to backup")
				}
				if protected {
					vol.Protected = true
					w.Log("INFO: marking backup as protected")
				}
				vol.Ctime = s.now().Unix()
				if si := s.st.storageOn(node, storage); si != nil {
					s.st.addVolume(si, vol)
					if remove && g != nil {
						s.pruneAfterBackup(w, si, vmid, g.Type, retention)
					}
				}
			})
			for _, l := range lines[len(lines)-2:] {
				w.Log("%s", l)
			}
		}
		if failed > 0 {
			return fmt.Errorf("job errors")
		}
		w.Log("INFO: Backup job finished successfully")
		return nil
	}), nil
}

// parseVMIDList reads "100,101 102".
func parseVMIDList(s string) []int {
	var out []int
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' }) {
		if n, err := strconv.Atoi(p); err == nil {
			out = append(out, n)
		}
	}
	return out
}
