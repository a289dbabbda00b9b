package tools

import (
	"context"
	"fmt"
	"sort"

	"github.com/pvemcp/pvemcp/analyze"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/toolkit"
)

func init() {
	toolkit.Register(toolkit.New(toolkit.Meta{
		Name:  "list_disks",
		Title: "Physical disks",
		Description: "Physical disks of every node: type, size, model and serial, what uses them (ZFS, LVM, partitions, ...) " +
			"or that nothing does, SMART health and remaining life, worst first. Alerts for failed or worn-out disks; " +
			"only=unused lists the free disks, only=problems those not ok.",
		Toolset: toolkit.ToolsetDiagnostics,
		Hints:   &toolkit.ReadHints,
		Needs:   []toolkit.Need{{Priv: "Sys.Audit", Path: "/nodes"}},
	}, listDisks))
}

// ListDisksArgs narrows the disks listed.
type ListDisksArgs struct {
	Node  string `json:"node,omitempty" pve:"node" description:"only this node (default: every online node)"`
	Only  string `json:"only,omitempty" enum:"all,unused,problems" default:"all" description:"unused: disks nothing uses; problems: disks whose severity is not ok"`
	Limit int    `json:"limit,omitempty" minimum:"1" maximum:"1000" default:"100" description:"at most this many disks, worst first"`
}

// ListDisksResult lists disks, worst first.
type ListDisksResult struct {
	Disks  []DiskEntry `json:"disks"`
	Counts DiskCounts  `json:"counts" description:"every disk read, whatever only selects"`
}

// DiskCounts counts the disks read.
type DiskCounts struct {
	Disks    int `json:"disks"`
	Unused   int `json:"unused"`
	OK       int `json:"ok"`
	Info     int `json:"info" description:"SMART health not reported as passed (unknown, disabled)"`
	Warning  int `json:"warning"`
	Critical int `json:"critical"`
}

// DiskEntry is one physical disk of GET /nodes/{node}/disks/list.
type DiskEntry struct {
	Node                string   `json:"node"`
	DevPath             string   `json:"devpath"`
	Type                string   `json:"type" description:"hdd, ssd, nvme, usb or unknown, as Proxmox classifies it"`
	SizeGiB             float64  `json:"size_gib"`
	Model               string   `json:"model,omitempty"`
	Serial              string   `json:"serial,omitempty"`
	RPM                 int      `json:"rpm,omitempty" description:"spindle speed of a hard disk, when reported"`
	UsedBy              string   `json:"used_by,omitempty" description:"what uses the disk as Proxmox reports it (ZFS, LVM, partitions, mounted, ...); absent when nothing does"`
	Health              string   `json:"health" description:"SMART health: PASSED, OK, FAILED, UNKNOWN or SMART Disabled"`
	WearoutRemainingPct *float64 `json:"wearout_remaining_pct,omitempty" description:"remaining life; absent when the API says N/A (hard disks, unknown)"`
	Severity            string   `json:"severity" description:"ok, info, warning or critical"`
	Reasons             []string `json:"reasons,omitempty" description:"why the severity is not ok"`
}

// maxDiskIDChars caps the identifiers a disk reports about itself.
const maxDiskIDChars = 100

func listDisks(ctx context.Context, args ListDisksArgs) (ListDisksResult, error) {
	c, err := toolkit.Client(ctx)
	if err != nil {
		return ListDisksResult{}, err
	}
	if args.Limit == 0 {
		args.Limit = 100
	}
	nodes, err := onlineNodes(ctx, c, args.Node, "disks")
	if err != nil {
		return ListDisksResult{}, err
	}
	res := proxmox.ForEachNode(ctx, c, nodes, func(ctx context.Context, n string) ([]proxmox.DiskInfo, error) {
		return c.Disks(ctx, n)
	})
	all := []DiskEntry{}
	for _, r := range res {
		if r.Err != nil {
			toolkit.AddErr(ctx, r.Node, r.Err)
			continue
		}
		for _, d := range r.Value {
			wear := analyze.ParseWearout(d.Wearout.Text())
			model, serial := capText(d.Model, maxDiskIDChars), capText(d.Serial, maxDiskIDChars)
			v := analyze.EvaluateDisk(analyze.Disk{Node: r.Node, DevPath: d.DevPath, Model: model, Serial: serial, Type: d.Type,
				Health: d.Health, WearoutRemainingPct: wear}, analyze.DiskThresholds{})
			if a := v.Alert(); a != nil {
				toolkit.AddAlert(ctx, *a)
			}
			e := DiskEntry{Node: r.Node, DevPath: d.DevPath, Type: d.Type, SizeGiB: toolkit.GiB(d.Size), Model: model,
				Serial: serial, UsedBy: capText(d.Used, maxDiskIDChars), Health: d.Health,
				WearoutRemainingPct: wear, Severity: string(v.Severity), Reasons: v.Reasons}
			if d.Type == "hdd" && d.RPM > 0 {
				e.RPM = int(d.RPM)
			}
			all = append(all, e)
		}
	}
	sort.SliceStable(all, func(i, j int) bool {
		a, b := analyze.Severity(all[i].Severity).Rank(), analyze.Severity(all[j].Severity).Rank()
		if a != b {
			return a > b
		}
		if all[i].Node != all[j].Node {
			return all[i].Node < all[j].Node
		}
		return all[i].DevPath < all[j].DevPath
	})
	out := ListDisksResult{Disks: []DiskEntry{}}
	matched := 0
	for _, d := range all {
		out.Counts.Disks++
		if d.UsedBy == "" {
			out.Counts.Unused++
		}
		switch analyze.Severity(d.Severity) {
		case analyze.SeverityCritical:
			out.Counts.Critical++
		case analyze.SeverityWarning:
			out.Counts.Warning++
		case analyze.SeverityInfo:
			out.Counts.Info++
		default:
			out.Counts.OK++
		}
		if (args.Only == "unused" && d.UsedBy != "") || (args.Only == "problems" && d.Severity == string(analyze.SeverityOK)) {
			continue
		}
		matched++
		if len(out.Disks) < args.Limit {
			out.Disks = append(out.Disks, d)
		}
	}
	if matched > len(out.Disks) {
		toolkit.AddUnavailable(ctx, fmt.Sprintf("%d more disks", matched-len(out.Disks)), "listing limit reached; raise limit or name a node")
	}
	return out, nil
}
