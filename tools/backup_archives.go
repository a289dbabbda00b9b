package tools

import (
	"context"
	"sort"
	"strings"

	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/toolkit"
)

// archiveSeen is the newest backup archive of a guest found on a storage.
type archiveSeen struct {
	ctime int64
	volid string // for debugging and tests
}

// backupArchives lists the backup archives on every available storage that
// holds backups, a shared storage once (read on one node that sees it),
// and returns the newest archive per guest. An archive exists only when
// its backup finished, so it is a success whichever node or run wrote it.
func backupArchives(ctx context.Context, c *proxmox.Client, nodes []string) map[int]archiveSeen {
	res, err := c.Resources(ctx, proxmox.ResourceStorage)
	if err != nil {
		toolkit.AddErr(ctx, "", err)
		toolkit.AddUnavailable(ctx, "backup archives", "GET /cluster/resources?type=storage failed: guests are judged by the run logs only")
		return nil
	}
	online := map[string]bool{}
	for _, n := range nodes {
		online[n] = true
	}
	type target struct{ node, storage string }
	seenShared := map[string]bool{}
	var targets []target
	sort.SliceStable(res, func(i, j int) bool { return res[i].Node < res[j].Node })
	for _, r := range res {
		if r.Status != "available" || !online[r.Node] || !contentHas(r.Content, "backup") {
			continue
		}
		if bool(r.Shared) {
			if seenShared[r.Storage] {
				continue
			}
			seenShared[r.Storage] = true
		}
		targets = append(targets, target{r.Node, r.Storage})
	}
	keys := make([]string, len(targets))
	for i, t := range targets {
		keys[i] = t.node + "/" + t.storage
	}
	lists := proxmox.FanOut(ctx, keys, c.FanOutLimit(), func(ctx context.Context, k string) ([]proxmox.Volume, error) {
		node, storage, _ := strings.Cut(k, "/")
		return c.StorageVolumes(ctx, node, storage, "backup")
	})
	out := map[int]archiveSeen{}
	for _, l := range lists {
		if l.Err != nil {
			node, storage, _ := strings.Cut(l.Node, "/")
			toolkit.AddErr(ctx, node, l.Err)
			toolkit.AddUnavailable(ctx, "backup archives on "+storage, "its content could not be read")
			continue
		}
		for _, v := range l.Value {
			id, t := int(v.VMID), int64(v.CTime)
			if id == 0 || t == 0 {
				continue
			}
			if cur, ok := out[id]; !ok || t > cur.ctime {
				out[id] = archiveSeen{ctime: t, volid: v.VolID}
			}
		}
	}
	return out
}

func contentHas(list, want string) bool {
	for _, c := range strings.Split(list, ",") {
		if strings.TrimSpace(c) == want {
			return true
		}
	}
	return false
}
