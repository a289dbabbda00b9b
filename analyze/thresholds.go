package analyze

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Severity ranks an alert or a verdict.
type Severity string

// Severities, from least to most urgent. SeverityOK is used by verdicts only;
// alerts are never "ok".
const (
	SeverityOK       Severity = "ok"
	SeverityInfo     Severity = "info"
	SeverityWarning  Severity = "warning"
	SeverityCritical Severity = "critical"
)

// Rank orders severities: ok 0, info 1, warning 2, critical 3 (unknown -1).
func (s Severity) Rank() int {
	switch s {
	case SeverityOK:
		return 0
	case SeverityInfo:
		return 1
	case SeverityWarning:
		return 2
	case SeverityCritical:
		return 3
	}
	return -1
}

// Max returns the more urgent of s and o.
func (s Severity) Max(o Severity) Severity {
	if o.Rank() > s.Rank() {
		return o
	}
	return s
}

// Default threshold values (percent of capacity) from the product description.
const (
	DefaultRAMPct      = 85
	DefaultStoragePct  = 90
	DefaultCPUPct      = 90
	DefaultCriticalPct = 95
)

// Thresholds are the usage levels, in percent (0..100], at which alerts fire.
// A value at or above a metric's threshold is a warning; at or above
// CriticalPct it is critical (whichever of the two is higher applies).
type Thresholds struct {
	RAMPct      float64 `json:"ram_pct"`
	StoragePct  float64 `json:"storage_pct"`
	CPUPct      float64 `json:"cpu_pct"`
	CriticalPct float64 `json:"critical_pct"`
}

// DefaultThresholds returns RAM 85%, storage 90%, CPU 90%, critical 95%.
func DefaultThresholds() Thresholds {
	return Thresholds{RAMPct: DefaultRAMPct, StoragePct: DefaultStoragePct, CPUPct: DefaultCPUPct, CriticalPct: DefaultCriticalPct}
}

// WithDefaults fills every zero field with its default, so callers can pass
// only the thresholds a user overrode.
func (t Thresholds) WithDefaults() Thresholds {
	d := DefaultThresholds()
	if t.RAMPct == 0 {
		t.RAMPct = d.RAMPct
	}
	if t.StoragePct == 0 {
		t.StoragePct = d.StoragePct
	}
	if t.CPUPct == 0 {
		t.CPUPct = d.CPUPct
	}
	if t.CriticalPct == 0 {
		t.CriticalPct = d.CriticalPct
	}
	return t
}

// Validate reports every field outside (0, 100].
func (t Thresholds) Validate() error {
	var errs []error
	check := func(name string, v float64) {
		if math.IsNaN(v) || v <= 0 || v > 100 {
			errs = append(errs, fmt.Errorf("threshold %s must be in (0, 100], got %v", name, v))
		}
	}
	check("ram_pct", t.RAMPct)
	check("storage_pct", t.StoragePct)
	check("cpu_pct", t.CPUPct)
	check("critical_pct", t.CriticalPct)
	return errors.Join(errs...)
}

// severityFor returns the alert severity of pct against a warning threshold,
// or "" when below it.
func (t Thresholds) severityFor(pct, warn float64) Severity {
	crit := t.CriticalPct
	if crit < warn {
		crit = warn
	}
	switch {
	case pct >= crit:
		return SeverityCritical
	case pct >= warn:
		return SeverityWarning
	}
	return ""
}

// Alert is one threshold crossing or health finding.
type Alert struct {
	Severity Severity `json:"severity"`
	// Subject names what is affected: "pve-node03", "pve-node03/local-zfs",
	// "vm/103", "ct/200", "pve-node03/rpool".
	Subject string `json:"subject"`
	// Metric is the measured figure, with its unit: "mem_pct", "cpu_pct",
	// "storage_pct", "status".
	Metric    string  `json:"metric"`
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	Message   string  `json:"message"`
	// Basis says how Value was derived, e.g. "memused/memtotal from /nodes/{node}/status".
	Basis string `json:"basis,omitempty"`
}

// NodeUsage is a node's current usage, as /cluster/resources?type=node or
// /nodes/{node}/status report it.
type NodeUsage struct {
	Node   string `json:"node"`
	Online bool   `json:"online"`
	// CPUFraction is "cpu" from the API: 0..1 of all the node's threads.
	CPUFraction   float64 `json:"cpu_fraction"`
	MemTotalBytes uint64  `json:"mem_total_bytes"`
	MemUsedBytes  uint64  `json:"mem_used_bytes"`
}

// StorageUsage is one storage on one node (/nodes/{node}/storage).
type StorageUsage struct {
	Node       string `json:"node"`
	Storage    string `json:"storage"`
	Active     bool   `json:"active"`
	Shared     bool   `json:"shared"`
	TotalBytes uint64 `json:"total_bytes"`
	UsedBytes  uint64 `json:"used_bytes"`
}

// GuestUsage is one VM or container's current usage (/cluster/resources?type=vm).
type GuestUsage struct {
	VMID int `json:"vmid"`
	// Type is "qemu" or "lxc".
	Type    string `json:"type"`
	Name    string `json:"name"`
	Node    string `json:"node"`
	Running bool   `json:"running"`
	// CPUFraction is "cpu": 0..1 of the guest's own vCPUs.
	CPUFraction  float64 `json:"cpu_fraction"`
	MemMaxBytes  uint64  `json:"mem_max_bytes"`
	MemUsedBytes uint64  `json:"mem_used_bytes"`
}

// GuestSubject returns "vm/<vmid>" for qemu and "ct/<vmid>" for lxc.
func GuestSubject(typ string, vmid int) string {
	if typ == "lxc" || typ == "ct" {
		return fmt.Sprintf("ct/%d", vmid)
	}
	return fmt.Sprintf("vm/%d", vmid)
}

// Pct returns 100*used/total, or 0 when total is 0.
func Pct(used, total float64) float64 {
	if total <= 0 {
		return 0
	}
	return 100 * used / total
}

// round1 rounds to one decimal, which is what results show.
func round1(v float64) float64 { return math.Round(v*10) / 10 }

// round2 rounds to two decimals.
func round2(v float64) float64 { return math.Round(v*100) / 100 }

// EvaluateNode returns the alerts for a node: offline (critical), RAM and CPU
// over their thresholds.
func EvaluateNode(t Thresholds, n NodeUsage) []Alert {
	t = t.WithDefaults()
	if !n.Online {
		return []Alert{{
			Severity: SeverityCritical, Subject: n.Node, Metric: "status", Value: 0, Threshold: 1,
			Message: n.Node + " is offline", Basis: "node status from the cluster",
		}}
	}
	var out []Alert
	if n.MemTotalBytes > 0 {
		pct := Pct(float64(n.MemUsedBytes), float64(n.MemTotalBytes))
		if sev := t.severityFor(pct, t.RAMPct); sev != "" {
			free := float64(n.MemTotalBytes) - float64(n.MemUsedBytes)
			out = append(out, Alert{
				Severity: sev, Subject: n.Node, Metric: "mem_pct", Value: round1(pct), Threshold: t.RAMPct,
				Message: fmt.Sprintf("%s RAM at %.0f%% — %s free", n.Node, math.Round(pct), HumanBytes(free)),
				Basis:   "100 × memory used / memory total",
			})
		}
	}
	pct := 100 * n.CPUFraction
	if sev := t.severityFor(pct, t.CPUPct); sev != "" {
		out = append(out, Alert{
			Severity: sev, Subject: n.Node, Metric: "cpu_pct", Value: round1(pct), Threshold: t.CPUPct,
			Message: fmt.Sprintf("%s CPU at %.0f%%", n.Node, math.Round(pct)),
			Basis:   "100 × cpu (fraction of all node threads, current sample)",
		})
	}
	return out
}

// EvaluateStorage returns an alert when a storage is over its threshold.
// Inactive storages or storages without a size report nothing (their usage is
// unknown, not zero).
func EvaluateStorage(t Thresholds, s StorageUsage) []Alert {
	t = t.WithDefaults()
	if !s.Active || s.TotalBytes == 0 {
		return nil
	}
	pct := Pct(float64(s.UsedBytes), float64(s.TotalBytes))
	sev := t.severityFor(pct, t.StoragePct)
	if sev == "" {
		return nil
	}
	free := float64(s.TotalBytes) - float64(s.UsedBytes)
	subj := s.Node + "/" + s.Storage
	return []Alert{{
		Severity: sev, Subject: subj, Metric: "storage_pct", Value: round1(pct), Threshold: t.StoragePct,
		Message: fmt.Sprintf("%s storage at %.0f%% — %s free", subj, math.Round(pct), HumanBytes(free)),
		Basis:   "100 × used / total",
	}}
}

// EvaluateGuest returns alerts for a running guest whose memory or CPU use is
// over the threshold of its own allocation.
func EvaluateGuest(t Thresholds, g GuestUsage) []Alert {
	t = t.WithDefaults()
	if !g.Running {
		return nil
	}
	subj := GuestSubject(g.Type, g.VMID)
	label := subj
	if g.Name != "" {
		label = subj + " (" + g.Name + ")"
	}
	var out []Alert
	if g.MemMaxBytes > 0 {
		pct := Pct(float64(g.MemUsedBytes), float64(g.MemMaxBytes))
		if sev := t.severityFor(pct, t.RAMPct); sev != "" {
			free := float64(g.MemMaxBytes) - float64(g.MemUsedBytes)
			out = append(out, Alert{
				Severity: sev, Subject: subj, Metric: "mem_pct", Value: round1(pct), Threshold: t.RAMPct,
				Message: fmt.Sprintf("%s memory at %.0f%% of its allocation — %s free", label, math.Round(pct), HumanBytes(free)),
				Basis:   "100 × mem / maxmem of the guest",
			})
		}
	}
	pct := 100 * g.CPUFraction
	if sev := t.severityFor(pct, t.CPUPct); sev != "" {
		out = append(out, Alert{
			Severity: sev, Subject: subj, Metric: "cpu_pct", Value: round1(pct), Threshold: t.CPUPct,
			Message: fmt.Sprintf("%s CPU at %.0f%% of its vCPUs", label, math.Round(pct)),
			Basis:   "100 × cpu (fraction of the guest's vCPUs, current sample)",
		})
	}
	return out
}

// NodeSampleAlerts returns a node's RAM and CPU alerts from its newest RRD
// sample (memPct and cpuPct in percent), for a figure that did not come from
// a /cluster/resources row: the same rule as EvaluateNode, worded for a
// sample.
func NodeSampleAlerts(t Thresholds, node string, memPct, cpuPct float64) []Alert {
	t = t.WithDefaults()
	var out []Alert
	if sev := t.severityFor(memPct, t.RAMPct); sev != "" {
		out = append(out, Alert{Severity: sev, Subject: node, Metric: "mem_pct", Value: round1(memPct), Threshold: t.RAMPct,
			Message: fmt.Sprintf("%s RAM at %.0f%% in the newest RRD sample", node, memPct), Basis: "100 × memused / memtotal of the newest node RRD sample"})
	}
	if sev := t.severityFor(cpuPct, t.CPUPct); sev != "" {
		out = append(out, Alert{Severity: sev, Subject: node, Metric: "cpu_pct", Value: round1(cpuPct), Threshold: t.CPUPct,
			Message: fmt.Sprintf("%s CPU at %.0f%% in the newest RRD sample", node, cpuPct), Basis: "100 × cpu of the newest node RRD sample"})
	}
	return out
}

// StorageSampleAlerts returns a storage's fill alert from its newest RRD
// sample (usedPct in percent): the same rule as EvaluateStorage.
func StorageSampleAlerts(t Thresholds, node, storage string, usedPct float64) []Alert {
	t = t.WithDefaults()
	sev := t.severityFor(usedPct, t.StoragePct)
	if sev == "" {
		return nil
	}
	return []Alert{{Severity: sev, Subject: node + "/" + storage, Metric: "storage_pct", Value: round1(usedPct), Threshold: t.StoragePct,
		Message: fmt.Sprintf("%s/%s at %.0f%% in the newest RRD sample", node, storage, usedPct),
		Basis:   "100 × used / total of the newest storage RRD sample"}}
}

// SortAlerts orders alerts most urgent first, then by subject and metric, so
// results are stable.
func SortAlerts(a []Alert) {
	sort.SliceStable(a, func(i, j int) bool {
		if ri, rj := a[i].Severity.Rank(), a[j].Severity.Rank(); ri != rj {
			return ri > rj
		}
		if a[i].Subject != a[j].Subject {
			return a[i].Subject < a[j].Subject
		}
		return a[i].Metric < a[j].Metric
	})
}

// HumanBytes formats a byte count with binary units and one decimal
// ("5.8 GiB"), the way Proxmox's GUI does.
func HumanBytes(b float64) string {
	neg := b < 0
	if neg {
		b = -b
	}
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	i := 0
	for b >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	var s string
	if i == 0 {
		s = fmt.Sprintf("%.0f B", b)
	} else {
		s = fmt.Sprintf("%.1f %s", b, units[i])
	}
	if neg {
		return "-" + s
	}
	return s
}

// joinReasons joins non-empty reasons with "; ".
func joinReasons(r []string) string {
	var keep []string
	for _, s := range r {
		if s != "" {
			keep = append(keep, s)
		}
	}
	return strings.Join(keep, "; ")
}
