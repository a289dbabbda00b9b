package tools

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/pvemcp/pvemcp/analyze"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/toolkit"
)

func init() {
	toolkit.Register(toolkit.New(toolkit.Meta{
		Name:  "get_metrics",
		Title: "Metrics history (RRD)",
		Description: "RRD history of a node, guest (vmid) or storage: hour to year, AVERAGE or MAX; at most `points` " +
			"downsampled points plus min/avg/max/p95/last per field, in named units (cpu_pct, mem_used_gib, ...).",
		Toolset: toolkit.ToolsetMetrics,
		Hints:   &toolkit.ReadHints,
		Needs:   []toolkit.Need{{Priv: "Sys.Audit", Path: "/nodes"}, {Priv: "VM.Audit", Path: "/vms"}, {Priv: "Datastore.Audit", Path: "/storage"}},
	}, getMetrics))
}

// MetricsArgs selects the series.
type MetricsArgs struct {
	Node      string   `json:"node,omitempty" pve:"node" description:"node (the target unless vmid or storage is given)"`
	VMID      int      `json:"vmid,omitempty" pve:"vmid" description:"a VM or container"`
	Storage   string   `json:"storage,omitempty" pattern:"^[a-zA-Z][a-zA-Z0-9_.-]{0,63}$" description:"a storage (node optional)"`
	Timeframe string   `json:"timeframe,omitempty" enum:"hour,day,week,month,year" default:"day" description:"history window"`
	CF        string   `json:"cf,omitempty" enum:"AVERAGE,MAX" default:"AVERAGE" description:"RRD consolidation"`
	Points    int      `json:"points,omitempty" minimum:"1" maximum:"500" default:"24" description:"most points returned (downsampled)"`
	Fields    []string `json:"fields,omitempty" maxItems:"20" description:"fields (default: the main ones; see available_fields)"`
}

// Validate checks the target combination.
func (a MetricsArgs) Validate() error {
	switch {
	case a.VMID != 0 && a.Storage != "":
		return errors.New("give either vmid or storage, not both")
	case a.VMID == 0 && a.Storage == "" && a.Node == "":
		return errors.New("give node, vmid, or storage")
	}
	for _, f := range a.Fields {
		if _, ok := metricByName(f); !ok {
			return fmt.Errorf("unknown field %q (see available_fields of a result)", f)
		}
	}
	return nil
}

// MetricsResult is a downsampled series with statistics.
type MetricsResult struct {
	Target          MetricsTarget         `json:"target"`
	Timeframe       string                `json:"timeframe"`
	CF              string                `json:"cf"`
	Samples         int                   `json:"samples" description:"RRD rows read"`
	StepS           int64                 `json:"step_s,omitempty" description:"RRD resolution"`
	FromEpoch       int64                 `json:"from_epoch,omitempty"`
	ToEpoch         int64                 `json:"to_epoch,omitempty"`
	Stats           map[string]FieldStats `json:"stats" description:"per field over every sample in the window"`
	Points          []map[string]float64  `json:"points" description:"downsampled rows: time (epoch s) and the fields; a field absent from a row had no defined sample"`
	Downsampling    string                `json:"downsampling,omitempty"`
	AvailableFields []string              `json:"available_fields"`
	Basis           string                `json:"basis"`
}

// MetricsTarget names what the series describes.
type MetricsTarget struct {
	Kind    string `json:"kind" description:"node, qemu, lxc or storage"`
	Node    string `json:"node"`
	VMID    int    `json:"vmid,omitempty"`
	Name    string `json:"name,omitempty"`
	Storage string `json:"storage,omitempty"`
}

// FieldStats summarises one field.
type FieldStats struct {
	Min   float64 `json:"min"`
	Avg   float64 `json:"avg"`
	Max   float64 `json:"max"`
	P95   float64 `json:"p95"`
	Last  float64 `json:"last"`
	Count int     `json:"count"`
}

// metric maps an RRD data source to a result field with its unit.
type metric struct {
	name   string  // result field
	source string  // RRD data source ("" for a derived field)
	scale  float64 // multiply the raw value
	kinds  string  // node, guest, storage (comma list)
	def    bool    // returned by default
}

var metricsBasis = map[string]string{
	"node":    "cpu_pct and iowait_pct are % of all the node's threads; mem_pct = memused / memtotal; *_mib_s are per-second averages over each step",
	"guest":   "cpu_pct is % of the guest's own vCPUs; mem_pct = mem / maxmem; *_mib_s are per-second averages over each step",
	"storage": "used_pct = used / total",
}

const bytesPerGiB = 1 << 30
const bytesPerMiB = 1 << 20

var metrics = []metric{
	{"cpu_pct", "cpu", 100, "node,guest", true},
	{"loadavg", "loadavg", 1, "node", true},
	{"iowait_pct", "iowait", 100, "node", true},
	{"cpus", "maxcpu", 1, "node,guest", false},
	{"mem_used_gib", "memused", 1.0 / bytesPerGiB, "node", true},
	{"mem_used_gib", "mem", 1.0 / bytesPerGiB, "guest", true},
	{"mem_total_gib", "memtotal", 1.0 / bytesPerGiB, "node", false},
	{"mem_max_gib", "maxmem", 1.0 / bytesPerGiB, "guest", false},
	{"mem_pct", "", 1, "node,guest", true},
	{"mem_available_gib", "memavailable", 1.0 / bytesPerGiB, "node", false},
	{"mem_host_gib", "memhost", 1.0 / bytesPerGiB, "guest", false},
	{"arc_gib", "arcsize", 1.0 / bytesPerGiB, "node", false},
	{"swap_used_gib", "swapused", 1.0 / bytesPerGiB, "node", false},
	{"swap_total_gib", "swaptotal", 1.0 / bytesPerGiB, "node", false},
	{"root_used_gib", "rootused", 1.0 / bytesPerGiB, "node", false},
	{"root_total_gib", "roottotal", 1.0 / bytesPerGiB, "node", false},
	{"disk_used_gib", "disk", 1.0 / bytesPerGiB, "guest", false},
	{"disk_max_gib", "maxdisk", 1.0 / bytesPerGiB, "guest", false},
	{"net_in_mib_s", "netin", 1.0 / bytesPerMiB, "node,guest", true},
	{"net_out_mib_s", "netout", 1.0 / bytesPerMiB, "node,guest", true},
	{"disk_read_mib_s", "diskread", 1.0 / bytesPerMiB, "guest", true},
	{"disk_write_mib_s", "diskwrite", 1.0 / bytesPerMiB, "guest", true},
	{"pressure_cpu_some_pct", "pressurecpusome", 1, "node,guest", false},
	{"pressure_cpu_full_pct", "pressurecpufull", 1, "guest", false},
	{"pressure_io_some_pct", "pressureiosome", 1, "node,guest", false},
	{"pressure_io_full_pct", "pressureiofull", 1, "node,guest", false},
	{"pressure_mem_some_pct", "pressurememorysome", 1, "node,guest", false},
	{"pressure_mem_full_pct", "pressurememoryfull", 1, "node,guest", false},
	{"used_gib", "used", 1.0 / bytesPerGiB, "storage", true},
	{"total_gib", "total", 1.0 / bytesPerGiB, "storage", false},
	{"used_pct", "", 1, "storage", true},
}

func metricByName(n string) (metric, bool) {
	for _, m := range metrics {
		if m.name == n {
			return m, true
		}
	}
	return metric{}, false
}

func kindClass(kind string) string {
	if kind == "qemu" || kind == "lxc" {
		return "guest"
	}
	return kind
}

// convertRRD turns raw RRD rows into rows of named, unit-converted fields.
func convertRRD(rows []proxmox.RRDRow, kind string) []analyze.Row {
	class := kindClass(kind)
	out := make([]analyze.Row, 0, len(rows))
	for _, r := range rows {
		vals := map[string]float64{}
		for _, m := range metrics {
			if m.source == "" || !strings.Contains(m.kinds, class) {
				continue
			}
			if v, ok := r.Values[m.source]; ok {
				vals[m.name] = v * m.scale
			}
		}
		switch class {
		case "node":
			if t := r.Values["memtotal"]; t > 0 {
				if u, ok := r.Values["memused"]; ok {
					vals["mem_pct"] = 100 * u / t
				}
			}
		case "guest":
			if t := r.Values["maxmem"]; t > 0 {
				if u, ok := r.Values["mem"]; ok {
					vals["mem_pct"] = 100 * u / t
				}
			}
		case "storage":
			if t := r.Values["total"]; t > 0 {
				if u, ok := r.Values["used"]; ok {
					vals["used_pct"] = 100 * u / t
				}
			}
		}
		out = append(out, analyze.Row{Time: r.Time, Values: vals})
	}
	return out
}

func getMetrics(ctx context.Context, args MetricsArgs) (MetricsResult, error) {
	c, err := toolkit.Client(ctx)
	if err != nil {
		return MetricsResult{}, err
	}
	if args.Timeframe == "" {
		args.Timeframe = "day"
	}
	if args.CF == "" {
		args.CF = "AVERAGE"
	}
	if args.Points == 0 {
		args.Points = 24
	}
	out := MetricsResult{Timeframe: args.Timeframe, CF: args.CF, Stats: map[string]FieldStats{}, Points: []map[string]float64{}}
	var rows []proxmox.RRDRow
	th := toolkit.EnvFrom(ctx).Thresholds.WithDefaults()
	switch {
	case args.VMID != 0:
		g, err := findGuest(ctx, c, args.VMID)
		if err != nil {
			return out, err
		}
		if args.Node != "" && g.Node != args.Node {
			return out, fmt.Errorf("guest %d is on %s, not %s (per /cluster/resources)", args.VMID, g.Node, args.Node)
		}
		out.Target = MetricsTarget{Kind: g.Type, Node: g.Node, VMID: args.VMID, Name: g.Name}
		rows, err = c.GuestRRD(ctx, g.Node, proxmox.GuestType(g.Type), args.VMID, args.Timeframe, args.CF)
		if err != nil {
			return out, err
		}
		toolkit.AddAlert(ctx, withBasis(analyze.EvaluateGuest(th, analyze.GuestUsage{VMID: args.VMID, Type: g.Type, Name: g.Name, Node: g.Node,
			Running: g.Status == "running", CPUFraction: float64(g.CPU), MemMaxBytes: uint64(g.MaxMem), MemUsedBytes: uint64(g.Mem)}), "/cluster/resources")...)
	case args.Storage != "":
		node := args.Node
		if node == "" {
			node, err = storageNode(ctx, c, args.Storage)
			if err != nil {
				return out, err
			}
		}
		out.Target = MetricsTarget{Kind: "storage", Node: node, Storage: args.Storage}
		rows, err = c.StorageRRD(ctx, node, args.Storage, args.Timeframe, args.CF)
		if err != nil {
			return out, err
		}
	default:
		out.Target = MetricsTarget{Kind: "node", Node: args.Node}
		rows, err = c.NodeRRD(ctx, args.Node, args.Timeframe, args.CF)
		if err != nil {
			return out, err
		}
	}
	out.Basis = metricsBasis[kindClass(out.Target.Kind)] + "; RRD omits undefined samples, so counts may differ per field"
	conv := convertRRD(rows, out.Target.Kind)
	out.Samples = len(conv)
	if len(conv) > 0 {
		out.FromEpoch, out.ToEpoch = conv[0].Time, conv[len(conv)-1].Time
	}
	if len(conv) > 1 {
		out.StepS = conv[1].Time - conv[0].Time
	}
	class := kindClass(out.Target.Kind)
	present := map[string]bool{}
	for _, r := range conv {
		for k := range r.Values {
			present[k] = true
		}
	}
	for _, m := range metrics {
		if strings.Contains(m.kinds, class) && present[m.name] && !slices.Contains(out.AvailableFields, m.name) {
			out.AvailableFields = append(out.AvailableFields, m.name)
		}
	}
	want := args.Fields
	if len(want) == 0 {
		for _, m := range metrics {
			if m.def && strings.Contains(m.kinds, class) && present[m.name] && !slices.Contains(want, m.name) {
				want = append(want, m.name)
			}
		}
	}
	for _, f := range want {
		if !present[f] {
			toolkit.AddUnavailable(ctx, f, fmt.Sprintf("no %s sample for this %s in the %s window (RRD omits undefined samples, e.g. while a guest is stopped)", f, class, args.Timeframe))
		}
	}
	sel := make([]analyze.Row, len(conv))
	for i, r := range conv {
		v := make(map[string]float64, len(want))
		for _, f := range want {
			if x, ok := r.Values[f]; ok {
				v[f] = x
			}
		}
		sel[i] = analyze.Row{Time: r.Time, Values: v}
	}
	for f, s := range analyze.SummarizeRows(sel) {
		if s.Count == 0 {
			continue
		}
		out.Stats[f] = FieldStats{Min: toolkit.Compact(s.Min), Avg: toolkit.Compact(s.Avg), Max: toolkit.Compact(s.Max), P95: toolkit.Compact(s.P95), Last: toolkit.Compact(s.Last), Count: s.Count}
	}
	var ds []analyze.Row
	if args.CF == "MAX" {
		ds = analyze.DownsampleRowsMax(sel, args.Points)
	} else {
		ds = analyze.DownsampleRows(sel, args.Points)
	}
	if len(ds) < len(sel) {
		how := "mean"
		if args.CF == "MAX" {
			how = "maximum"
		}
		out.Downsampling = fmt.Sprintf("%d samples reduced to %d points, each the %s of its time bucket", len(sel), len(ds), how)
	}
	for _, r := range ds {
		p := make(map[string]float64, len(r.Values)+1)
		p["time"] = float64(r.Time)
		for k, v := range r.Values {
			p[k] = toolkit.Compact(v)
		}
		out.Points = append(out.Points, p)
	}
	// The newest sample decides the alert, as on a dashboard.
	if s, ok := out.Stats["mem_pct"]; ok && class == "node" {
		toolkit.AddAlert(ctx, analyze.NodeSampleAlerts(th, args.Node, s.Last, out.Stats["cpu_pct"].Last)...)
	}
	if s, ok := out.Stats["used_pct"]; ok && class == "storage" {
		toolkit.AddAlert(ctx, analyze.StorageSampleAlerts(th, out.Target.Node, args.Storage, s.Last)...)
	}
	return out, nil
}

// storageNode finds a node that has the storage (for a shared storage, the
// first online one), from /cluster/resources.
func storageNode(ctx context.Context, c *proxmox.Client, storage string) (string, error) {
	rs, err := c.Resources(ctx, proxmox.ResourceStorage)
	if err != nil {
		return "", err
	}
	var nodes []string
	for _, r := range rs {
		if r.Storage == storage && r.Status == "available" {
			nodes = append(nodes, r.Node)
		}
	}
	if len(nodes) == 0 {
		return "", fmt.Errorf("no available storage %s in this cluster (per /cluster/resources)", storage)
	}
	sort.Strings(nodes)
	return nodes[0], nil
}
