package tools

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pvemcp/pvemcp/analyze"
	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/toolkit"
)

func init() {
	toolkit.Register(toolkit.New(toolkit.Meta{
		Name:  "node_health",
		Title: "Node health",
		Description: "Per node: PVE services and their state, pending package updates (from the last package list refresh, " +
			"never refreshing) and installed PVE versions, subscription, certificate expiry in days, time zone and clock, DNS, " +
			"network interfaces and bridges; alerts for failed services, certificates under 30 days and pending updates.",
		Toolset: toolkit.ToolsetDiagnostics,
		Hints:   &toolkit.ReadHints,
		Needs:   []toolkit.Need{{Priv: "Sys.Audit", Path: "/nodes"}},
	}, nodeHealth))
}

var healthSections = []string{"services", "updates", "subscription", "certificates", "time", "dns", "network"}

// NodeHealthArgs selects nodes and sections.
type NodeHealthArgs struct {
	Node     string   `json:"node,omitempty" pve:"node" description:"only this node (default: every online node)"`
	Sections []string `json:"sections,omitempty" maxItems:"7" description:"only these sections: services, updates, subscription, certificates, time, dns, network (default: all; above 8 nodes the first four, in short form)"`
}

// Validate checks the section names.
func (a NodeHealthArgs) Validate() error {
	for _, s := range a.Sections {
		if !slices.Contains(healthSections, s) {
			return fmt.Errorf("sections: unknown section %q (services, updates, subscription, certificates, time, dns, network)", s)
		}
	}
	return nil
}

// NodeHealthResult is one entry per node.
type NodeHealthResult struct {
	Nodes []NodeHealth `json:"nodes"`
	// VersionSkew lists packages whose installed version differs between nodes.
	VersionSkew []PackageSkew `json:"version_skew,omitempty" description:"PVE packages installed in different versions on different nodes"`
}

// NodeHealth is one node's state.
type NodeHealth struct {
	Node         string            `json:"node"`
	Services     *ServicesInfo     `json:"services,omitempty"`
	Updates      *UpdatesInfo      `json:"updates,omitempty"`
	Subscription *SubscriptionInfo `json:"subscription,omitempty"`
	Certificates []CertExpiry      `json:"certificates,omitempty" description:"above 8 nodes only the one expiring first"`
	Time         *TimeInfo         `json:"time,omitempty"`
	DNS          *DNSInfo          `json:"dns,omitempty"`
	Network      *NetworkInfo      `json:"network,omitempty"`
}

// ServicesInfo counts services; only those not running are listed.
type ServicesInfo struct {
	Running    int           `json:"running"`
	Total      int           `json:"total"`
	NotRunning []ServiceInfo `json:"not_running,omitempty" description:"installed services that are not active (not-installed units are left out)"`
}

// ServiceInfo is a service that is not running.
type ServiceInfo struct {
	Service     string `json:"service"`
	ActiveState string `json:"active_state"`
	State       string `json:"state"`
	UnitState   string `json:"unit_state"`
}

// UpdatesInfo is what the last package list refresh found.
type UpdatesInfo struct {
	Pending     *int         `json:"pending,omitempty" description:"pending updates per GET apt/update (absent when it could not be read)"`
	PVEPending  int          `json:"pve_pending" description:"PVE packages whose candidate version is newer than the installed one (apt/versions)"`
	Packages    []PendingPkg `json:"packages,omitempty" description:"pending updates (capped at 25)"`
	PVEVersions []PackageVer `json:"pve_versions,omitempty" description:"installed versions of the main PVE packages"`
	Kernel      string       `json:"running_kernel,omitempty"`
	Note        string       `json:"note,omitempty"`
}

// PendingPkg is one pending update.
type PendingPkg struct {
	Package string `json:"package"`
	From    string `json:"from,omitempty"`
	To      string `json:"to"`
	Origin  string `json:"origin,omitempty"`
}

// PackageVer is an installed package version.
type PackageVer struct {
	Package   string `json:"package"`
	Version   string `json:"version"`
	Candidate string `json:"candidate,omitempty" description:"newer version available, when there is one"`
}

// PackageSkew is a package installed in different versions across nodes.
type PackageSkew struct {
	Package  string            `json:"package"`
	Versions map[string]string `json:"versions" description:"node -> installed version"`
}

// SubscriptionInfo is the subscription status (the key is never shown).
type SubscriptionInfo struct {
	Status      string `json:"status" description:"active, notfound (no subscription), expired, invalid, new, suspended"`
	Level       string `json:"level,omitempty"`
	Product     string `json:"product,omitempty"`
	NextDueDate string `json:"next_due_date,omitempty"`
	Message     string `json:"message,omitempty"`
}

// CertExpiry is one certificate file's validity.
type CertExpiry struct {
	File     string  `json:"file"`
	Issuer   string  `json:"issuer,omitempty" description:"only when not the cluster's own CA (e.g. an ACME certificate)"`
	NotAfter string  `json:"not_after"`
	DaysLeft float64 `json:"days_left"`
}

// TimeInfo is the node clock.
type TimeInfo struct {
	Timezone string  `json:"timezone"`
	NodeTime string  `json:"node_time"`
	SkewS    float64 `json:"skew_s" description:"node clock minus pvemcp's clock, seconds (request latency included)"`
}

// DNSInfo is the resolver configuration.
type DNSInfo struct {
	Search  string   `json:"search,omitempty"`
	Servers []string `json:"servers"`
}

// NetworkInfo lists interfaces and bridges.
type NetworkInfo struct {
	Interfaces int         `json:"interfaces"`
	Bridges    []NetBridge `json:"bridges,omitempty"`
	Inactive   []string    `json:"inactive,omitempty" description:"configured interfaces that are not active"`
}

// NetBridge is a Linux or OVS bridge.
type NetBridge struct {
	Iface   string `json:"iface"`
	CIDR    string `json:"cidr,omitempty"`
	Gateway string `json:"gateway,omitempty"`
	Ports   string `json:"ports,omitempty"`
}

func nodeHealth(ctx context.Context, args NodeHealthArgs) (NodeHealthResult, error) {
	c, err := toolkit.Client(ctx)
	if err != nil {
		return NodeHealthResult{}, err
	}
	nodes, err := onlineNodes(ctx, c, args.Node, "health")
	if err != nil {
		return NodeHealthResult{}, err
	}
	sections := args.Sections
	short := false
	if len(sections) == 0 {
		sections = healthSections
		if len(nodes) > 8 {
			// Keep a large cluster's answer within the size budget.
			sections, short = healthSections[:4], true
			toolkit.AddUnavailable(ctx, "time, dns, network", fmt.Sprintf("left out for %d nodes; ask for them with sections (and node)", len(nodes)))
		}
	}
	now := toolkit.EnvFrom(ctx).Time()
	var forbidden sync.Once
	res := proxmox.ForEachNode(ctx, c, nodes, func(ctx context.Context, n string) (NodeHealth, error) {
		return readNodeHealth(ctx, c, n, sections, now, short, &forbidden), nil
	})
	if slices.Contains(sections, "updates") {
		toolkit.AddUnavailable(ctx, "security updates", "the Proxmox API does not flag security updates (Origin is 'Debian' for security and regular updates alike)")
	}
	out := NodeHealthResult{Nodes: []NodeHealth{}}
	versions := map[string]map[string]string{}
	for _, r := range res {
		if short {
			shorten(&r.Value)
		}
		out.Nodes = append(out.Nodes, r.Value)
		if u := r.Value.Updates; u != nil {
			for _, p := range u.PVEVersions {
				if versions[p.Package] == nil {
					versions[p.Package] = map[string]string{}
				}
				versions[p.Package][r.Node] = p.Version
			}
		}
	}
	for _, pkg := range sortedKeysOf(versions) {
		vs := versions[pkg]
		distinct := map[string]bool{}
		for _, v := range vs {
			distinct[v] = true
		}
		if len(distinct) > 1 && !strings.HasPrefix(pkg, "proxmox-kernel-") {
			out.VersionSkew = append(out.VersionSkew, PackageSkew{Package: pkg, Versions: vs})
		}
	}
	return out, nil
}

// shorten keeps what a large cluster's overview needs per node: the
// counts, what is wrong, the nearest certificate expiry.
func shorten(h *NodeHealth) {
	if s := h.Subscription; s != nil {
		h.Subscription = &SubscriptionInfo{Status: s.Status, Level: s.Level}
	}
	if u := h.Updates; u != nil {
		u.Note, u.Kernel = "", ""
	}
	if len(h.Certificates) > 1 {
		first := h.Certificates[0]
		for _, ce := range h.Certificates[1:] {
			if ce.DaysLeft < first.DaysLeft {
				first = ce
			}
		}
		h.Certificates = []CertExpiry{first}
	}
}

func sortedKeysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// mainPVEPackages are shown in pve_versions; the rest only when outdated.
var mainPVEPackages = map[string]bool{"proxmox-ve": true, "pve-manager": true, "pve-qemu-kvm": true, "qemu-server": true, "pve-container": true,
	"pve-cluster": true, "pve-ha-manager": true, "zfsutils-linux": true, "corosync": true, "ceph": true, "ceph-fuse": true}

// readNodeHealth reads the sections concurrently; each failure is recorded
// and leaves its section out.
func readNodeHealth(ctx context.Context, c *proxmox.Client, node string, sections []string, now time.Time, short bool, forbidden *sync.Once) NodeHealth {
	h := NodeHealth{Node: node}
	var mu sync.Mutex
	var wg sync.WaitGroup
	run := func(section string, fn func() error) {
		if !slices.Contains(sections, section) {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(); err != nil {
				toolkit.AddErr(ctx, node, err)
			}
		}()
	}
	run("services", func() error {
		svcs, err := c.Services(ctx, node)
		if err != nil {
			return err
		}
		si := &ServicesInfo{}
		for _, s := range svcs {
			if s.UnitState == "not-found" || (s.Service == "proxmox-firewall" && s.ActiveState == "inactive") {
				continue // not installed; the nftables firewall only runs when chosen
			}
			si.Total++
			if s.ActiveState == "active" {
				si.Running++
				continue
			}
			si.NotRunning = append(si.NotRunning, ServiceInfo{Service: s.Service, ActiveState: s.ActiveState, State: s.State, UnitState: s.UnitState})
			if a := analyze.ServiceAlert(node, s.Service, s.ActiveState, s.UnitState); a != nil {
				toolkit.AddAlert(ctx, *a)
			}
		}
		mu.Lock()
		h.Services = si
		mu.Unlock()
		return nil
	})
	run("updates", func() error {
		u := &UpdatesInfo{}
		vers, verr := c.AptVersions(ctx, node)
		for _, p := range vers {
			outdated := p.Version != "" && p.OldVersion != "" && p.Version != p.OldVersion
			if outdated {
				u.PVEPending++
			}
			if p.RunningKernel != "" {
				u.Kernel = p.RunningKernel
			}
			if (mainPVEPackages[p.Package] && !short) || outdated {
				pv := PackageVer{Package: p.Package, Version: p.OldVersion}
				if pv.Version == "" {
					pv.Version = p.Version
				}
				if outdated {
					pv.Candidate = p.Version
				}
				u.PVEVersions = append(u.PVEVersions, pv)
			}
		}
		pending, perr := c.AptUpdates(ctx, node)
		if perr == nil {
			n := len(pending)
			u.Pending = &n
			for i, p := range pending {
				if i == 25 || short {
					break
				}
				u.Packages = append(u.Packages, PendingPkg{Package: p.Package, From: p.OldVersion, To: p.Version, Origin: p.Origin})
			}
			if n == 0 {
				u.Note = "no pending updates in the last package list; Proxmox cannot tell whether the list was ever refreshed (apt update / pveupdate)"
			}
			toolkit.AddAlert(ctx, analyze.EvaluateUpdates(node, n, u.PVEPending)...)
		} else if proxmox.IsForbidden(perr) {
			// The same ACL usually denies it on every node: report it once.
			forbidden.Do(func() { toolkit.AddErr(ctx, node, perr) })
			u.Note = "the full pending list needs Sys.Modify on /nodes/" + node + " (GET apt/update); pve_pending comes from apt/versions"
		} else {
			toolkit.AddErr(ctx, node, perr)
		}
		mu.Lock()
		h.Updates = u
		mu.Unlock()
		return verr
	})
	run("subscription", func() error {
		s, err := c.Subscription(ctx, node)
		if err != nil {
			return err
		}
		si := &SubscriptionInfo{Status: s.Status, Level: s.Level, Product: s.ProductName, NextDueDate: s.NextDueDate, Message: s.Message}
		toolkit.AddAlert(ctx, analyze.EvaluateSubscription(node, s.Status, s.Message)...)
		mu.Lock()
		h.Subscription = si
		mu.Unlock()
		return nil
	})
	run("certificates", func() error {
		certs, err := c.Certificates(ctx, node)
		if err != nil {
			return err
		}
		var l []CertExpiry
		for _, ci := range certs {
			na := time.Unix(int64(ci.NotAfter), 0)
			ce := CertExpiry{File: ci.Filename, NotAfter: na.UTC().Format(time.RFC3339), DaysLeft: analyze.CertDaysLeft(na, now)}
			if !strings.Contains(ci.Issuer, "PVE Cluster Manager CA") {
				ce.Issuer = ci.Issuer // self-signed by the cluster CA unless said otherwise
			}
			l = append(l, ce)
			if a := analyze.CertAlert(node, ci.Filename, na, now); a != nil {
				toolkit.AddAlert(ctx, *a)
			}
		}
		mu.Lock()
		h.Certificates = l
		mu.Unlock()
		return nil
	})
	run("time", func() error {
		t, err := c.Time(ctx, node)
		if err != nil {
			return err
		}
		nt := time.Unix(int64(t.Time), 0)
		mu.Lock()
		h.Time = &TimeInfo{Timezone: t.Timezone, NodeTime: nt.UTC().Format(time.RFC3339), SkewS: toolkit.Round(nt.Sub(now).Seconds(), 0)}
		mu.Unlock()
		return nil
	})
	run("dns", func() error {
		d, err := c.DNS(ctx, node)
		if err != nil {
			return err
		}
		di := &DNSInfo{Search: d.Search, Servers: []string{}}
		for _, s := range []string{d.DNS1, d.DNS2, d.DNS3} {
			if s != "" {
				di.Servers = append(di.Servers, s)
			}
		}
		toolkit.AddAlert(ctx, analyze.EvaluateDNS(node, len(di.Servers))...)
		mu.Lock()
		h.DNS = di
		mu.Unlock()
		return nil
	})
	run("network", func() error {
		ifs, err := c.Network(ctx, node)
		if err != nil {
			return err
		}
		ni := &NetworkInfo{Interfaces: len(ifs)}
		for _, f := range ifs {
			if f.Type == "bridge" || f.Type == "OVSBridge" {
				ni.Bridges = append(ni.Bridges, NetBridge{Iface: f.Iface, CIDR: f.CIDR, Gateway: f.Gateway, Ports: f.BridgePorts})
			}
			if !bool(f.Active) {
				ni.Inactive = append(ni.Inactive, f.Iface)
			}
		}
		mu.Lock()
		h.Network = ni
		mu.Unlock()
		return nil
	})
	wg.Wait()
	return h
}
