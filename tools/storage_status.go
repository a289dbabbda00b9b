package tools

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/pvemcp/pvemcp/analyze"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/toolkit"
)

func init() {
	toolkit.Register(toolkit.New(toolkit.Meta{
		Name:  "storage_status",
		Title: "Storage usage and fill forecast",
		Description: "Storages on every node with usage and a fill forecast: days to the storage threshold (90%) by " +
			"linear fit over RRD history, with window and points, or the reason there is none (flat, shrinking).",
		Toolset: toolkit.ToolsetStorage,
		Hints:   &toolkit.ReadHints,
		Needs:   []toolkit.Need{{Priv: "Datastore.Audit", Path: "/storage"}},
	}, storageStatus))
}

// StorageArgs narrows the storages and picks the forecast window.
type StorageArgs struct {
	Node     string `json:"node,omitempty" pve:"node" description:"only storages of this node"`
	Storage  string `json:"storage,omitempty" pattern:"^[a-zA-Z][a-zA-Z0-9_.-]{0,63}$" description:"only this storage"`
	Forecast string `json:"forecast,omitempty" enum:"none,week,month,year" default:"month" description:"RRD window of the forecast"`
}

// StorageResult lists storages, fullest first.
type StorageResult struct {
	Storages     []StorageInfo `json:"storages"`
	ThresholdPct float64       `json:"threshold_pct" description:"the storage alert threshold forecasts aim at"`
}

// StorageInfo is one storage's usage and forecast. A shared storage is
// listed once with every node that sees it.
type StorageInfo struct {
	Storage  string        `json:"storage"`
	Node     string        `json:"node" description:"the node it was read on"`
	Nodes    []string      `json:"nodes,omitempty" description:"shared storage: every node that sees it"`
	Type     string        `json:"type"`
	Shared   bool          `json:"shared,omitempty"`
	Content  string        `json:"content,omitempty"`
	Status   string        `json:"status" description:"active, inactive or disabled"`
	UsedGiB  *float64      `json:"used_gib,omitempty" description:"absent unless active: Proxmox reports no size then"`
	TotalGiB *float64      `json:"total_gib,omitempty"`
	AvailGiB *float64      `json:"avail_gib,omitempty"`
	UsedPct  *float64      `json:"used_pct,omitempty"`
	Forecast *FillForecast `json:"forecast,omitempty"`

	usedB, totalB int64
	pct           float64
}

// FillForecast is a linear fill forecast.
type FillForecast struct {
	DaysToThreshold float64 `json:"days_to_threshold,omitempty"`
	ThresholdDate   string  `json:"threshold_date,omitempty" description:"YYYY-MM-DD (UTC) the threshold is reached"`
	GrowthGiBPerDay float64 `json:"growth_gib_per_day"`
	None            string  `json:"none,omitempty" description:"why there is no forecast (flat or shrinking trend, too few points, ...)"`
	Window          string  `json:"window"`
	WindowDays      float64 `json:"window_days"`
	Points          int     `json:"points"`
	R2              float64 `json:"r2,omitempty" description:"fit quality 0..1; below 0.5 the trend is weak (e.g. backups pruned in cycles)"`
}

func storageStatus(ctx context.Context, args StorageArgs) (StorageResult, error) {
	c, err := toolkit.Client(ctx)
	if err != nil {
		return StorageResult{}, err
	}
	if args.Forecast == "" {
		args.Forecast = "month"
	}
	th := toolkit.EnvFrom(ctx).Thresholds.WithDefaults()
	nodes, err := onlineNodes(ctx, c, args.Node, "storages")
	if err != nil {
		return StorageResult{}, err
	}
	res := proxmox.ForEachNode(ctx, c, nodes, func(ctx context.Context, n string) ([]proxmox.NodeStorage, error) {
		return c.Storages(ctx, n)
	})
	out := StorageResult{Storages: []StorageInfo{}, ThresholdPct: th.StoragePct}
	shared := map[string]int{} // storage → index in out.Storages
	for _, r := range res {
		if r.Err != nil {
			toolkit.AddErr(ctx, r.Node, r.Err)
			continue
		}
		for _, s := range r.Value {
			if args.Storage != "" && s.Storage != args.Storage {
				continue
			}
			info := StorageInfo{Storage: s.Storage, Node: r.Node, Type: s.Type, Shared: bool(s.Shared), Content: s.Content,
				Status: storageState(s)}
			if info.Status == "active" {
				info.UsedGiB, info.TotalGiB, info.AvailGiB = new(toolkit.GiB(s.Used)), new(toolkit.GiB(s.Total)), new(toolkit.GiB(s.Avail))
				info.pct = toolkit.Pct(s.Used, s.Total)
				info.UsedPct, info.usedB, info.totalB = new(info.pct), int64(s.Used), int64(s.Total)
			}
			if info.Shared {
				if i, ok := shared[s.Storage]; ok {
					out.Storages[i].Nodes = append(out.Storages[i].Nodes, r.Node)
					// Prefer an active view of a shared storage.
					if out.Storages[i].Status != "active" && info.Status == "active" {
						nodes := out.Storages[i].Nodes
						info.Nodes = nodes
						out.Storages[i] = info
					}
					continue
				}
				info.Nodes = []string{r.Node}
				shared[s.Storage] = len(out.Storages)
			}
			out.Storages = append(out.Storages, info)
		}
	}
	for i := range out.Storages {
		s := &out.Storages[i]
		if s.Status != "active" {
			toolkit.AddUnavailable(ctx, "usage of "+s.Node+"/"+s.Storage, "storage is "+s.Status+" on "+s.Node+": Proxmox reports no size")
			continue
		}
		toolkit.AddAlert(ctx, withBasis(analyze.EvaluateStorage(th, analyze.StorageUsage{Node: s.Node, Storage: s.Storage, Active: true,
			Shared: s.Shared, TotalBytes: uint64(s.totalB), UsedBytes: uint64(s.usedB)}), "/nodes/"+s.Node+"/storage")...)
	}
	if args.Storage != "" && len(out.Storages) == 0 && !toolkit.HasErrors(ctx) {
		return out, fmt.Errorf("no storage %s on the nodes read", args.Storage)
	}
	if args.Forecast != "none" {
		forecastStorages(ctx, c, out.Storages, args.Forecast, th)
	}
	sort.SliceStable(out.Storages, func(i, j int) bool {
		if out.Storages[i].pct != out.Storages[j].pct {
			return out.Storages[i].pct > out.Storages[j].pct
		}
		return out.Storages[i].Node+out.Storages[i].Storage < out.Storages[j].Node+out.Storages[j].Storage
	})
	return out, nil
}

func storageState(s proxmox.NodeStorage) string {
	switch {
	case !bool(s.Enabled):
		return "disabled"
	case !bool(s.Active):
		return "inactive"
	}
	return "active"
}

// forecastStorages reads each active storage's RRD (in parallel) and fits
// the fill forecast.
func forecastStorages(ctx context.Context, c *proxmox.Client, list []StorageInfo, window string, th toolkit.Thresholds) {
	var idx []string
	for i, s := range list {
		if s.Status == "active" && s.totalB > 0 {
			idx = append(idx, strconv.Itoa(i))
		}
	}
	res := proxmox.FanOut(ctx, idx, c.FanOutLimit(), func(ctx context.Context, k string) (*FillForecast, error) {
		i, _ := strconv.Atoi(k)
		s := list[i]
		rows, err := c.StorageRRD(ctx, s.Node, s.Storage, window, "")
		if err != nil {
			return nil, err
		}
		f, fc := fitStorage(rows, window, th.StoragePct)
		toolkit.AddAlert(ctx, analyze.EvaluateStorageForecast(s.Node, s.Storage, window, fc)...)
		return f, nil
	})
	for _, r := range res {
		i, _ := strconv.Atoi(r.Node)
		if r.Err != nil {
			toolkit.AddErr(ctx, list[i].Node, r.Err)
			toolkit.AddUnavailable(ctx, "forecast of "+list[i].Node+"/"+list[i].Storage, "its RRD history could not be read")
			continue
		}
		list[i].Forecast = r.Value
	}
}

// fitStorage fits analyze's forecast over a storage RRD series; it returns
// the result's view of it and the forecast itself.
func fitStorage(rows []proxmox.RRDRow, window string, thresholdPct float64) (*FillForecast, analyze.Forecast) {
	fc := analyze.FillForecastRows(rrdRows(rows), "used", "total", thresholdPct, analyze.ForecastOptions{})
	f := &FillForecast{GrowthGiBPerDay: toolkit.Round(fc.SlopeBytesPerDay/toolkit.BytesPerGiB, 2), Window: window, WindowDays: toolkit.Round(fc.WindowDays, 1),
		Points: fc.Points, R2: toolkit.Round(fc.R2, 3)}
	if fc.Available {
		f.DaysToThreshold = fc.DaysToThreshold
		f.ThresholdDate = time.Unix(fc.ThresholdEpoch, 0).UTC().Format("2006-01-02")
	} else {
		f.None = fc.Reason
		f.R2 = 0
	}
	return f, fc
}

// rrdRows turns RRD rows into analyze's rows.
func rrdRows(rows []proxmox.RRDRow) []analyze.Row {
	out := make([]analyze.Row, len(rows))
	for i, r := range rows {
		out[i] = analyze.Row{Time: r.Time, Values: r.Values}
	}
	return out
}
