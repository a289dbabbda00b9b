package tools

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/toolkit"
)

func init() {
	toolkit.Register(toolkit.New(toolkit.Meta{
		Name:  "storage_content",
		Title: "Storage content",
		Description: "ISOs, container templates, guest disks and backups on storages; optionally downloadable templates. " +
			"Its volids feed create_vm and create_container.",
		Toolset: toolkit.ToolsetStorage,
		Hints:   &toolkit.ReadHints,
		Needs:   []toolkit.Need{{Priv: "Datastore.Audit", Path: "/storage"}},
	}, storageContent))
}

// StorageContentArgs filters volumes.
type StorageContentArgs struct {
	Node      string `json:"node,omitempty" pve:"node" description:"only this node"`
	Storage   string `json:"storage,omitempty" pattern:"^[a-zA-Z][a-zA-Z0-9_.-]{0,63}$" description:"only this storage"`
	Content   string `json:"content,omitempty" enum:"iso,vztmpl,images,rootdir,backup,snippets,import" description:"only this content type"`
	VMID      int    `json:"vmid,omitempty" pve:"vmid" description:"only volumes of this guest"`
	Name      string `json:"name,omitempty" maxLength:"100" description:"volid contains this"`
	Available bool   `json:"available_templates,omitempty" description:"also downloadable templates"`
	Limit     int    `json:"limit,omitempty" minimum:"1" maximum:"150" default:"25" description:"volumes listed, newest first"`
}

// StorageContentResult lists volumes and totals.
type StorageContentResult struct {
	Volumes   []VolumeInfo    `json:"volumes"`
	Total     int             `json:"total" description:"matching volumes (all, even beyond limit)"`
	ByContent map[string]int  `json:"by_content" description:"matching volumes per content type"`
	Storages  []string        `json:"storages_read" description:"node/storage pairs read (shared storages once, as storage)"`
	Templates []TemplateOffer `json:"available_templates,omitempty"`
	TotalGiB  float64         `json:"total_gib"`
}

// VolumeInfo is one volume.
type VolumeInfo struct {
	VolID     string  `json:"volid"`
	Node      string  `json:"node,omitempty" description:"the node it was read on (absent for shared storages)"`
	Content   string  `json:"content"`
	Format    string  `json:"format,omitempty"`
	SizeGiB   float64 `json:"size_gib"`
	VMID      int     `json:"vmid,omitempty"`
	Created   string  `json:"created,omitempty"`
	Notes     string  `json:"notes,omitempty"`
	Protected bool    `json:"protected,omitempty"`
}

// TemplateOffer is a downloadable container template.
type TemplateOffer struct {
	Template string `json:"template" description:"file name to download (pveam download <storage> <template>)"`
	OS       string `json:"os"`
	Section  string `json:"section"`
	Headline string `json:"headline"`
}

type contentRead struct {
	node, storage string
	shared        bool
}

func storageContent(ctx context.Context, args StorageContentArgs) (StorageContentResult, error) {
	c, err := toolkit.Client(ctx)
	if err != nil {
		return StorageContentResult{}, err
	}
	limit := args.Limit
	if limit == 0 {
		limit = 25
	}
	nodes, err := onlineNodes(ctx, c, args.Node, "storage content")
	if err != nil {
		return StorageContentResult{}, err
	}
	lists := proxmox.ForEachNode(ctx, c, nodes, func(ctx context.Context, n string) ([]proxmox.NodeStorage, error) {
		return c.Storages(ctx, n)
	})
	var reads []contentRead
	seenShared := map[string]bool{}
	found := false
	for _, r := range lists {
		if r.Err != nil {
			toolkit.AddErr(ctx, r.Node, r.Err)
			continue
		}
		for _, s := range r.Value {
			if args.Storage != "" && s.Storage != args.Storage {
				continue
			}
			found = true
			if !bool(s.Active) || !bool(s.Enabled) {
				continue
			}
			if args.Content != "" && !slices.Contains(strings.Split(s.Content, ","), args.Content) {
				continue
			}
			if bool(s.Shared) {
				if seenShared[s.Storage] {
					continue
				}
				seenShared[s.Storage] = true
			}
			reads = append(reads, contentRead{node: r.Node, storage: s.Storage, shared: bool(s.Shared)})
		}
	}
	if args.Storage != "" && !found && !toolkit.HasErrors(ctx) {
		return StorageContentResult{}, fmt.Errorf("storage %s is not available on %s (per /nodes/{node}/storage)", args.Storage, strings.Join(nodes, ", "))
	}
	sort.Slice(reads, func(i, j int) bool {
		if reads[i].storage != reads[j].storage {
			return reads[i].storage < reads[j].storage
		}
		return reads[i].node < reads[j].node
	})
	type got struct {
		r    contentRead
		vols []proxmox.ContentItem
		err  error
	}
	results := make([]got, len(reads))
	keys := make([]string, len(reads))
	for i := range reads {
		keys[i] = fmt.Sprint(i)
	}
	fan := proxmox.ForEachNode(ctx, c, keys, func(ctx context.Context, k string) ([]proxmox.ContentItem, error) {
		var i int
		fmt.Sscan(k, &i)
		return c.StorageContent(ctx, reads[i].node, reads[i].storage, args.Content, args.VMID)
	})
	for _, f := range fan {
		var i int
		fmt.Sscan(f.Node, &i)
		results[i] = got{r: reads[i], vols: f.Value, err: f.Err}
	}
	out := StorageContentResult{Volumes: []VolumeInfo{}, ByContent: map[string]int{}, Storages: []string{}}
	name := strings.ToLower(args.Name)
	var all []VolumeInfo
	var bytes int64
	for _, g := range results {
		if g.err != nil {
			toolkit.AddErr(ctx, g.r.node, g.err)
			continue
		}
		where := g.r.node + "/" + g.r.storage
		if g.r.shared {
			where = g.r.storage
		}
		out.Storages = append(out.Storages, where)
		for _, v := range g.vols {
			if name != "" && !strings.Contains(strings.ToLower(v.VolID), name) {
				continue
			}
			vi := VolumeInfo{VolID: v.VolID, Content: v.Content, Format: v.Format, SizeGiB: toolkit.GiB2(v.Size), VMID: int(v.VMID), Notes: v.Notes, Protected: bool(v.Protected)}
			if !g.r.shared {
				vi.Node = g.r.node
			}
			if v.CTime > 0 {
				vi.Created = time.Unix(int64(v.CTime), 0).UTC().Format(time.RFC3339)
			}
			out.ByContent[v.Content]++
			bytes += int64(v.Size)
			all = append(all, vi)
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Created > all[j].Created })
	out.Total = len(all)
	out.TotalGiB = toolkit.GiB2(bytes)
	if len(all) > limit {
		toolkit.AddUnavailable(ctx, fmt.Sprintf("%d more volumes", len(all)-limit), "beyond limit: narrow with node, storage, content, vmid or name")
		all = all[:limit]
	}
	out.Volumes = append(out.Volumes, all...)
	if args.Available && len(nodes) > 0 {
		apl, err := c.Appliances(ctx, nodes[0])
		if err != nil {
			toolkit.AddErr(ctx, nodes[0], err)
		} else {
			for _, a := range apl {
				out.Templates = append(out.Templates, TemplateOffer{Template: a.Template, OS: a.OS, Section: a.Section, Headline: a.Headline})
			}
		}
	}
	return out, nil
}
