package tools

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/toolkit"
)

func init() {
	toolkit.Register(toolkit.New(toolkit.Meta{
		Name:  "list_guests",
		Title: "List VMs and containers",
		Description: "VMs and containers, cluster-wide or per node, with filters, sort and paging. " +
			"Rows are arrays in the order of \"columns\"; totals are exact over all matches, not just the page.",
		Toolset: toolkit.ToolsetInventory,
		Hints:   &toolkit.ReadHints,
		Needs:   []toolkit.Need{{Priv: "VM.Audit", Path: "/vms"}},
	}, listGuests))
}

// ListGuestsArgs are the filters, sort and paging of list_guests.
type ListGuestsArgs struct {
	Type             string `json:"type,omitempty" enum:"qemu,lxc" description:"qemu (VMs) or lxc (containers)"`
	Node             string `json:"node,omitempty" pve:"node"`
	Status           string `json:"status,omitempty" enum:"running,stopped,unknown,template"`
	Name             string `json:"name,omitempty" maxLength:"128" description:"substring of the name"`
	Tag              string `json:"tag,omitempty" maxLength:"128"`
	Pool             string `json:"pool,omitempty" maxLength:"128"`
	IncludeTemplates bool   `json:"include_templates,omitempty"`
	Sort             string `json:"sort,omitempty" enum:"vmid,name,node,status,cpu,mem,mem_pct,disk,uptime" default:"vmid"`
	Desc             bool   `json:"desc,omitempty"`
	Limit            int    `json:"limit,omitempty" minimum:"1" maximum:"1000" default:"100"`
	Cursor           string `json:"cursor,omitempty" maxLength:"64" description:"next_cursor of the previous page"`
}

// GuestColumns are the columns of a list_guests row.
var GuestColumns = []string{"vmid", "name", "node", "type", "status", "cpu_pct", "vcpus",
	"mem_used_gib", "mem_max_gib", "disk_used_gib", "disk_max_gib", "uptime_h", "tags", "pool", "ha_state"}

// ListGuestsResult is a page of guests plus exact totals.
type ListGuestsResult struct {
	Columns    []string    `json:"columns" description:"names of the values in each row of guests"`
	Guests     [][]any     `json:"guests" description:"one row per guest; figures rounded for a table (whole from 10, one decimal from 1); disk_used_gib is null for VMs (Proxmox does not see inside them); usage is null when the node is not online"`
	Totals     GuestTotals `json:"totals"`
	NextCursor string      `json:"next_cursor,omitempty"`
	Nodes      []NodeState `json:"nodes,omitempty" description:"nodes that are not online"`
	Note       string      `json:"note,omitempty"`
}

// GuestTotals are exact over every guest matching the filters.
type GuestTotals struct {
	Matched         int     `json:"matched"`
	Running         int     `json:"running"`
	Stopped         int     `json:"stopped"`
	VCPUsAllocated  float64 `json:"vcpus_allocated"`
	MemUsedGiB      float64 `json:"mem_used_gib" description:"RAM in use by running guests"`
	MemAllocatedGiB float64 `json:"mem_allocated_gib"`
}

// NodeState names a node whose guests could not be read live.
type NodeState struct {
	Node   string `json:"node"`
	Status string `json:"status"`
}

type guestRow struct {
	r    *proxmox.Resource // into the answer: a 10,000-guest list is not copied
	live bool              // the node is online, so usage figures are current
	idx  int               // position before sorting (sortGuests)
}

func listGuests(ctx context.Context, args ListGuestsArgs) (ListGuestsResult, error) {
	c, err := toolkit.Client(ctx)
	if err != nil {
		return ListGuestsResult{}, err
	}
	offset, err := decodeCursor(args.Cursor)
	if err != nil {
		return ListGuestsResult{}, &toolkit.ArgError{Arg: "cursor", Msg: err.Error()}
	}
	res, err := c.Resources(ctx, "")
	if err != nil {
		return ListGuestsResult{}, err
	}
	nodeStatus := map[string]string{}
	for i := range res {
		if r := &res[i]; r.Type == "node" {
			nodeStatus[r.Node] = r.Status
		}
	}
	if args.Node != "" {
		if _, ok := nodeStatus[args.Node]; !ok {
			return ListGuestsResult{}, fmt.Errorf("node %s is not a member of this cluster", args.Node)
		}
	}
	out := ListGuestsResult{Columns: GuestColumns, Guests: [][]any{}}
	down := map[string]int{}
	name := strings.ToLower(args.Name)
	rows := make([]guestRow, 0, len(res))
	for i := range res {
		r := &res[i]
		if !r.IsGuest() || (bool(r.Template) && !args.IncludeTemplates) {
			continue
		}
		live := nodeStatus[r.Node] == "online"
		if !live {
			down[r.Node]++
		}
		switch {
		case args.Type != "" && r.Type != args.Type,
			args.Node != "" && r.Node != args.Node,
			args.Status != "" && guestStatus(r, live) != args.Status,
			name != "" && !strings.Contains(strings.ToLower(r.Name), name),
			args.Tag != "" && !hasTag(r.Tags, args.Tag),
			args.Pool != "" && r.Pool != args.Pool:
			continue
		}
		rows = append(rows, guestRow{r: r, live: live})
	}
	for n, st := range nodeStatus {
		if st != "online" && (args.Node == "" || args.Node == n) {
			out.Nodes = append(out.Nodes, NodeState{Node: n, Status: st})
		}
	}
	sort.Slice(out.Nodes, func(i, j int) bool { return out.Nodes[i].Node < out.Nodes[j].Node })
	for _, ns := range out.Nodes {
		toolkit.AddErr(ctx, ns.Node, toolkit.NodeUnreachable("node %s is %s: the state and usage of its %d guests cannot be read live (listed with status unknown, usage null)", ns.Node, ns.Status, down[ns.Node]))
	}
	if len(out.Nodes) > 0 {
		names := make([]string, len(out.Nodes))
		for i, ns := range out.Nodes {
			names[i] = ns.Node
		}
		out.Note = fmt.Sprintf("partial result: node %s did not answer; guests of the other nodes are complete", strings.Join(names, ", "))
	}
	sortGuests(rows, args.Sort, args.Desc)

	t := &out.Totals
	var memUsed, memAll float64
	for _, g := range rows {
		t.Matched++
		t.VCPUsAllocated += float64(g.r.MaxCPU)
		memAll += float64(g.r.MaxMem)
		switch guestStatus(g.r, g.live) {
		case "running":
			t.Running++
			memUsed += float64(g.r.Mem)
		case "stopped":
			t.Stopped++
		}
	}
	t.MemUsedGiB, t.MemAllocatedGiB = toolkit.GiB(memUsed), toolkit.GiB(memAll)

	if offset > len(rows) {
		offset = len(rows)
	}
	end := min(offset+args.Limit, len(rows))
	for _, g := range rows[offset:end] {
		out.Guests = append(out.Guests, guestRowValues(g))
	}
	if end < len(rows) {
		out.NextCursor = encodeCursor(end)
	}
	return out, nil
}

// guestStatus is the status to report: templates are "template", and a guest
// on a node that is not online is "unknown" whatever was last recorded.
func guestStatus(r *proxmox.Resource, live bool) string {
	switch {
	case !live:
		return "unknown"
	case bool(r.Template):
		return "template"
	case r.Status == "":
		return "unknown"
	}
	return r.Status
}

func guestRowValues(g guestRow) []any {
	r := g.r
	status := guestStatus(r, g.live)
	var cpu, memUsed, diskUsed, uptime any
	if g.live {
		cpu = toolkit.Compact(float64(r.CPU) * 100)
		memUsed = toolkit.Compact(float64(r.Mem) / toolkit.BytesPerGiB)
		uptime = toolkit.Compact(float64(r.Uptime) / 3600)
		if r.Type == "lxc" {
			diskUsed = toolkit.Compact(float64(r.Disk) / toolkit.BytesPerGiB)
		}
	}
	return []any{int64(r.VMID), r.Name, r.Node, r.Type, status, cpu, float64(r.MaxCPU),
		memUsed, toolkit.Compact(float64(r.MaxMem) / toolkit.BytesPerGiB), diskUsed, toolkit.Compact(float64(r.MaxDisk) / toolkit.BytesPerGiB), uptime, r.Tags, r.Pool, r.HAState}
}

func hasTag(tags, want string) bool {
	for _, t := range proxmox.SplitTags(tags) {
		if strings.EqualFold(t, want) {
			return true
		}
	}
	return false
}

// sortGuests orders rows by key, ties (and the default sort) by VMID
// ascending for stable paging; VMIDs are unique, so the order is total.
func sortGuests(rows []guestRow, key string, desc bool) {
	byVMID := key == "" || key == "vmid"
	var lower []string // names folded once, not per comparison
	if key == "name" {
		lower = make([]string, len(rows))
		for i := range rows {
			lower[i] = strings.ToLower(rows[i].r.Name)
			rows[i].idx = i
		}
	}
	by := func(x, y guestRow) int {
		a, b := x.r, y.r
		switch key {
		case "name":
			return strings.Compare(lower[x.idx], lower[y.idx])
		case "node":
			return strings.Compare(a.Node, b.Node)
		case "status":
			return strings.Compare(a.Status, b.Status)
		case "cpu":
			return cmpF(float64(a.CPU)*float64(a.MaxCPU), float64(b.CPU)*float64(b.MaxCPU))
		case "mem":
			return cmpF(float64(a.Mem), float64(b.Mem))
		case "mem_pct":
			return cmpF(toolkit.Pct(a.Mem, a.MaxMem), toolkit.Pct(b.Mem, b.MaxMem))
		case "disk":
			return cmpF(float64(a.MaxDisk), float64(b.MaxDisk))
		case "uptime":
			return cmpF(float64(a.Uptime), float64(b.Uptime))
		}
		return 0
	}
	slices.SortFunc(rows, func(x, y guestRow) int {
		if !byVMID {
			if c := by(x, y); c != 0 {
				if desc {
					return -c
				}
				return c
			}
		}
		c := cmp.Compare(x.r.VMID, y.r.VMID)
		if byVMID && desc {
			return -c
		}
		return c
	})
}

func cmpF(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Cursors are opaque offsets into the sorted, filtered list. Each page is a
// new live read, so a guest created between pages can shift the rows.
func encodeCursor(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("o" + strconv.Itoa(offset)))
}

func decodeCursor(c string) (int, error) {
	if c == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) < 2 || b[0] != 'o' {
		return 0, fmt.Errorf("is not a cursor returned by list_guests")
	}
	n, err := strconv.Atoi(string(b[1:]))
	if err != nil || n < 0 || n > 10_000_000 {
		return 0, fmt.Errorf("is not a cursor returned by list_guests")
	}
	return n, nil
}
