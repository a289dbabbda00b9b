package pvesim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// schedule is the subset of systemd calendar events backup jobs use here:
// "[daily|dow[,dow..]|dow..dow] HH:MM".
type schedule struct {
	days   map[time.Weekday]bool // nil = every day
	hour   int
	minute int
}

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

func parseSchedule(s string) (schedule, error) {
	var sc schedule
	f := strings.Fields(s)
	if len(f) == 0 || len(f) > 2 {
		return sc, fmt.Errorf("unsupported schedule %q", s)
	}
	tm := f[len(f)-1]
	if len(f) == 2 && f[0] != "daily" {
		sc.days = map[time.Weekday]bool{}
		for _, part := range strings.Split(f[0], ",") {
			if a, b, ok := strings.Cut(part, ".."); ok {
				wa, oka := weekdays[a]
				wb, okb := weekdays[b]
				if !oka || !okb {
					return sc, fmt.Errorf("unsupported schedule %q", s)
				}
				for d := wa; ; d = (d + 1) % 7 {
					sc.days[d] = true
					if d == wb {
						break
					}
				}
				continue
			}
			wd, ok := weekdays[part]
			if !ok {
				return sc, fmt.Errorf("unsupported schedule %q", s)
			}
			sc.days[wd] = true
		}
	}
	h, m, ok := strings.Cut(tm, ":")
	if !ok {
		return sc, fmt.Errorf("unsupported schedule %q", s)
	}
	var err1, err2 error
	sc.hour, err1 = strconv.Atoi(h)
	sc.minute, err2 = strconv.Atoi(m)
	if err1 != nil || err2 != nil || sc.hour > 23 || sc.minute > 59 {
		return sc, fmt.Errorf("unsupported schedule %q", s)
	}
	return sc, nil
}

// at is the run time on the day of t (UTC), ok=false if not a run day.
func (sc schedule) at(day time.Time) (time.Time, bool) {
	y, mo, d := day.UTC().Date()
	t := time.Date(y, mo, d, sc.hour, sc.minute, 0, 0, time.UTC)
	if sc.days != nil && !sc.days[t.Weekday()] {
		return t, false
	}
	return t, true
}

// next is the first run strictly after t.
func (sc schedule) next(t time.Time) time.Time {
	for i := 0; i < 8; i++ {
		if r, ok := sc.at(t.AddDate(0, 0, i)); ok && r.After(t) {
			return r
		}
	}
	return t.AddDate(0, 0, 7)
}

// jobGuests returns the guests a job selects, by node, sorted by vmid.
func (st *state) jobGuests(j *BackupJob) map[string][]*Guest {
	out := map[string][]*Guest{}
	for _, g := range st.sortedGuests() {
		sel := false
		switch {
		case j.All:
			sel = !containsInt(j.Exclude, g.VMID)
		case j.Pool != "":
			sel = g.Pool == j.Pool
		default:
			sel = containsInt(j.VMIDs, g.VMID)
		}
		if !sel || (j.Node != "" && g.Node != j.Node) {
			continue
		}
		out[g.Node] = append(out[g.Node], g)
	}
	return out
}

// backupOutcome forces a guest's result; detail is a line the failing
// command printed before vzdump's ERROR line.
type backupOutcome struct{ err, warn, detail string }

// addBackupHistory records the past runs of every enabled job as finished
// vzdump tasks (one per node and run, as the scheduler starts them) with
// logs in the format of NOTES §6, and leaves their archives on the target
// storage (pruned as the job says).
func (s *Sim) addBackupHistory(sc *scenario) {
	days := sc.Backup.HistoryDays
	if days <= 0 {
		return
	}
	st := s.st
	outcomes := map[string]backupOutcome{}
	for _, o := range sc.Backup.Outcomes {
		outcomes[fmt.Sprintf("%s/%d/%d", o.Job, o.VMID, o.DaysAgo)] = backupOutcome{err: o.Error, warn: o.Warning}
	}
	t0 := st.T0
	type archive struct {
		si  *StorageInst
		vol *Volume
	}
	kept := map[string][]archive{} // job/vmid -> archives oldest first
	for _, j := range st.BackupJobs {
		sched, err := parseSchedule(j.Schedule)
		if err != nil || !j.Enabled {
			continue
		}
		byNode := st.jobGuests(j)
		for d := days; d >= 0; d-- {
			run, ok := sched.at(t0.AddDate(0, 0, -d))
			if !ok || !run.Before(t0) {
				continue
			}
			for ni, n := range st.Nodes {
				guests := byNode[n.Name]
				if len(guests) == 0 {
					continue
				}
				start := run.Add(time.Duration(2+ni) * time.Second)
				cur := start
				var lines []string
				failed, warns := 0, 0
				ids := make([]string, len(guests))
				for i, g := range guests {
					ids[i] = itoa(g.VMID)
				}
				cmd := vzdumpSelection(j, ids) + " --storage " + j.Storage + " --mode " + j.Mode
				if j.Compress != "" {
					cmd += " --compress " + j.Compress
				}
				if j.NotesTemplate != "" {
					cmd += " --notes-template '" + j.NotesTemplate + "'"
				}
				if len(j.Prune) > 0 {
					cmd += " --prune-backups '" + propString(j.Prune) + "'"
				}
				lines = append(lines, "INFO: starting new backup job: "+cmd+" --quiet 1")
				si := st.storageOn(n.Name, j.Storage)
				for _, g := range guests {
					oc := outcomes[fmt.Sprintf("%s/%d/%d", j.ID, g.VMID, d)]
					var gl []string
					var vol *Volume
					cur, gl, vol = s.vzdumpGuest(j, g, si, cur, oc, t0)
					lines = append(lines, gl...)
					if oc.err != "" {
						failed++
					}
					if oc.warn != "" {
						warns++
					}
					if vol != nil && si != nil {
						key := fmt.Sprintf("%s/%d", j.ID, g.VMID)
						kept[key] = append(kept[key], archive{si, vol})
					}
				}
				status := "OK"
				switch {
				case failed > 0:
					status = "job errors"
				case warns > 0:
					lines = append(lines, "INFO: Backup job finished successfully")
					status = fmt.Sprintf("WARNINGS: %d", warns)
				default:
					lines = append(lines, "INFO: Backup job finished successfully")
				}
				id := ""
				if len(guests) == 1 {
					id = itoa(guests[0].VMID)
				}
				s.tasks.AddFinished(FinishedTask{Node: n.Name, Type: "vzdump", ID: id, User: "root@pam", Start: start, End: cur.Add(time.Second), Log: lines, Status: status})
			}
		}
		keep := pruneKeep(j.Prune)
		for key, arcs := range kept {
			if !strings.HasPrefix(key, j.ID+"/") {
				continue
			}
			if keep > 0 && len(arcs) > keep {
				arcs = arcs[len(arcs)-keep:]
			}
			for _, a := range arcs {
				st.addVolume(a.si, a.vol)
			}
		}
	}
}

func propString(m map[string]string) string {
	keys := sortedKeys(m)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ",")
}

// pruneKeep approximates how many archives per guest a retention keeps.
func pruneKeep(p map[string]string) int {
	n := 0
	for k, v := range p {
		if k == "keep-all" {
			return 0
		}
		i, _ := strconv.Atoi(v)
		n += i
	}
	return n
}

// vzdumpGuest writes one guest's part of a vzdump log and returns the time
// after it and the archive it produced (nil on failure).
func (s *Sim) vzdumpGuest(j *BackupJob, g *Guest, si *StorageInst, start time.Time, oc backupOutcome, t0 time.Time) (time.Time, []string, *Volume) {
	kind, label := "qemu", "VM Name"
	if g.Type == "lxc" {
		kind, label = "lxc", "CT Name"
	}
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }
	cur := start
	status := "running"
	if !g.IsRunning() {
		status = "stopped"
	}
	lines := []string{
		fmt.Sprintf("INFO: Starting Backup of VM %d (%s)", g.VMID, kind),
		"INFO: Backup started at " + ts(cur),
		"INFO: status = " + status,
	}
	if g.Type == "lxc" {
		lines = append(lines, "INFO: CT Name: "+g.Name())
	} else {
		lines = append(lines, "INFO: "+label+": "+g.Name())
	}
	var total, used int64
	for _, d := range g.Disks() {
		if d.Media == "cdrom" || strings.HasPrefix(d.Key, "unused") || d.Size == 0 {
			continue
		}
		total += d.Size
		if _, v := s.st.findVolume(g.Node, d.VolID); v != nil {
			used += v.Used
		}
		if g.Type == "qemu" {
			lines = append(lines, fmt.Sprintf("INFO: include disk '%s' '%s' %s", d.Key, d.VolID, formatSize(d.Size)))
		} else {
			lines = append(lines, fmt.Sprintf("INFO: including mount point %s ('/') in backup", d.Key))
		}
	}
	mode := j.Mode
	if status == "stopped" {
		mode = "stop"
	}
	lines = append(lines, "INFO: backup mode: "+mode)
	stamp := cur.UTC().Format("2006_01_02-15_04_05")
	ext := archiveExt(g.Type, j.Compress)
	name := fmt.Sprintf("vzdump-%s-%d-%s.%s", kind, g.VMID, stamp, ext)
	dir := "/mnt/pve/" + j.Storage + "/dump/"
	if si != nil && si.Cfg.Path != "" {
		dir = strings.TrimSuffix(si.Cfg.Path, "/") + "/dump/"
	}
	lines = append(lines, fmt.Sprintf("INFO: creating vzdump archive '%s%s'", dir, name))
	if oc.err != "" {
		cur = cur.Add(37 * time.Second)
		if oc.detail != "" {
			lines = append(lines, "INFO: "+oc.detail)
		}
		lines = append(lines,
			fmt.Sprintf("ERROR: Backup of VM %d failed - %s", g.VMID, oc.err),
			"INFO: Failed at "+ts(cur))
		return cur.Add(2 * time.Second), lines, nil
	}
	if oc.warn != "" {
		lines = append(lines, "WARN: "+oc.warn)
	}
	// Reads at ~400 MiB/s; sparse/zero regions make guests faster.
	read := total / 2
	secs := max(int(read/(400<<20)), 8)
	for _, pct := range []int{10, 35, 60, 85, 100} {
		at := cur.Add(time.Duration(secs*pct/100) * time.Second)
		done := float64(total) * float64(pct) / 100
		rate := float64(total) / float64(secs) // zero blocks are read too, just not written
		lines = append(lines, fmt.Sprintf("INFO: %3d%% (%s of %s) in %s, read: %s/s, write: %s/s", pct, humanGiB(done), humanGiB(float64(total)),
			humanDur(at.Sub(cur)), humanMiB(rate), humanMiB(rate*0.45)))
	}
	cur = cur.Add(time.Duration(secs) * time.Second)
	// compressed archives of the allocated data
	archSize := int64(float64(used) * compressRatio(j.Compress))
	if j.ratioFactor > 0 {
		archSize = int64(float64(archSize) * j.ratioFactor)
	}
	lines = append(lines,
		fmt.Sprintf("INFO: archive file size: %s", humanGiB(float64(archSize))),
		fmt.Sprintf("INFO: Finished Backup of VM %d (%s)", g.VMID, clock(time.Duration(secs+3)*time.Second)),
		"INFO: Backup finished at "+ts(cur.Add(3*time.Second)))
	cur = cur.Add(5 * time.Second)
	if si == nil {
		return cur, lines, nil
	}
	vol := &Volume{VolID: si.Cfg.ID + ":backup/" + name, VMID: g.VMID, Size: archSize, Used: archSize, Format: ext, Content: "backup",
		Ctime: start.Unix(), Notes: g.Name(), Archived: g.Conf.Clone()}
	return cur, lines, vol
}

func humanGiB(b float64) string {
	if b >= 1<<30 {
		return fmt.Sprintf("%.1f GiB", b/(1<<30))
	}
	return fmt.Sprintf("%.1f MiB", b/(1<<20))
}

func humanMiB(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }

func humanDur(d time.Duration) string {
	s := int(d.Seconds())
	if s < 60 {
		return fmt.Sprintf("%ds", s)
	}
	return fmt.Sprintf("%dm %ds", s/60, s%60)
}

func clock(d time.Duration) string {
	s := int(d.Seconds())
	return fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
}

// vzdumpSelection is the start of a scheduled job's command line as the
// task log shows it: the job's own selection (--all 1 with --exclude,
// --pool, or the vmids), plus --node when the job is bound to one.
func vzdumpSelection(j *BackupJob, ids []string) string {
	cmd := "vzdump"
	switch {
	case j.All:
		cmd += " --all 1"
		if len(j.Exclude) > 0 {
			ex := make([]string, len(j.Exclude))
			for i, v := range j.Exclude {
				ex[i] = itoa(v)
			}
			cmd += " --exclude " + strings.Join(ex, ",")
		}
	case j.Pool != "":
		cmd += " --pool " + j.Pool
	default:
		cmd += " " + strings.Join(ids, " ")
	}
	if j.Node != "" {
		cmd += " --node " + j.Node
	}
	return cmd
}
