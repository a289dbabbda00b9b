package pvesim

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Backup retention as vzdump applies it after a run (PVE::Storage::prune_mark_backup_group): the
// guest's archives on the storage, newest first, are kept by keep-last, then keep-hourly, -daily,
// -weekly, -monthly and -yearly (each counting periods not yet covered); protected archives are kept
// and not counted; the rest are removed.

var pruneOrder = []string{"keep-last", "keep-hourly", "keep-daily", "keep-weekly", "keep-monthly", "keep-yearly"}

// pruneID is the period an archive falls into for a keep option ("" for keep-last: every archive).
func pruneID(opt string, t time.Time) string {
	switch opt {
	case "keep-hourly":
		return t.Format("2006/01/02/15")
	case "keep-daily":
		return t.Format("2006/01/02")
	case "keep-weekly":
		y, w := t.ISOWeek()
		return fmt.Sprintf("%d/%02d", y, w)
	case "keep-monthly":
		return t.Format("2006/01")
	case "keep-yearly":
		return t.Format("2006")
	}
	return strconv.FormatInt(t.UnixNano(), 10)
}

// pruneMark returns the archives a retention removes (vols of one guest on one storage).
func pruneMark(vols []*Volume, retention map[string]string, loc *time.Location) []*Volume {
	if retention["keep-all"] == "1" || len(retention) == 0 {
		return nil
	}
	sorted := append([]*Volume(nil), vols...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Ctime > sorted[j].Ctime })
	keep := map[*Volume]bool{}
	for _, v := range sorted {
		if v.Protected {
			keep[v] = true
		}
	}
	removed := map[*Volume]bool{}
	for _, opt := range pruneOrder {
		n, _ := strconv.Atoi(retention[opt])
		if n <= 0 {
			continue
		}
		id := func(v *Volume) string { return pruneID(opt, time.Unix(v.Ctime, 0).In(loc)) }
		// Periods an earlier option kept an archive of are covered, not counted.
		already, newly := map[string]bool{}, map[string]bool{}
		for _, v := range sorted {
			if keep[v] && !v.Protected {
				already[id(v)] = true
			}
		}
		for _, v := range sorted {
			if keep[v] || removed[v] || already[id(v)] {
				continue
			}
			if newly[id(v)] {
				removed[v] = true
				continue
			}
			if len(newly) >= n {
				break
			}
			newly[id(v)] = true
			keep[v] = true
		}
	}
	var out []*Volume
	for _, v := range sorted {
		if !keep[v] {
			out = append(out, v)
		}
	}
	return out
}

// pruneAfterBackup applies retention to vmid's archives on si after a run, logging as vzdump does.
// Caller holds s.mu.
func (s *Sim) pruneAfterBackup(w *worker, si *StorageInst, vmid int, typ, retention string) {
	ret := parsePropString(retention)
	if len(ret) == 0 || ret["keep-all"] == "1" {
		return
	}
	var group []*Volume
	kind := "-qemu-"
	if typ == "lxc" {
		kind = "-lxc-"
	}
	for _, v := range si.Volumes {
		if v.Content == "backup" && v.VMID == vmid && strings.Contains(v.VolID, kind) {
			group = append(group, v)
		}
	}
	w.Log("INFO: prune older backups with retention: %s", strings.ReplaceAll(propString(ret), ",", ", "))
	gone := pruneMark(group, ret, time.UTC)
	for _, v := range gone {
		w.Log("INFO: removing backup '%s'", v.VolID)
		for i, x := range si.Volumes {
			if x == v {
				si.Volumes = append(si.Volumes[:i], si.Volumes[i+1:]...)
				break
			}
		}
	}
	w.Log("INFO: pruned %d backup(s) not covered by keep-retention policy", len(gone))
}
