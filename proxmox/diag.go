package proxmox

import (
	"context"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Reads an operator diagnoses with: node logs, services, packages,
// subscription, certificates, time, DNS, network, replication, Ceph.

// SyslogLine is one line of GET /nodes/{node}/syslog.
type SyslogLine struct {
	N Int    `json:"n"`
	T string `json:"t"`
}

// SyslogQuery narrows GET /nodes/{node}/syslog. Since and Until are node
// local times "YYYY-MM-DD[ HH:MM[:SS]]".
type SyslogQuery struct {
	Start, Limit int
	Since, Until string
	Service      string
}

var (
	syslogTimeRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?$`)
	serviceRE    = regexp.MustCompile(`^[A-Za-z0-9@._\-]{1,128}$`)
)

// Syslog reads a page of a node's journal (needs Sys.Syslog on the node)
// and returns the lines with the total number of matching lines.
func (c *Client) Syslog(ctx context.Context, node string, q SyslogQuery) ([]SyslogLine, int, error) {
	if err := checkNode(node); err != nil {
		return nil, 0, err
	}
	v := url.Values{}
	if q.Start < 0 || q.Limit < 0 {
		return nil, 0, invalidf("invalid syslog range start=%d limit=%d", q.Start, q.Limit)
	}
	if q.Start > 0 {
		v.Set("start", strconv.Itoa(q.Start))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	for k, t := range map[string]string{"since": q.Since, "until": q.Until} {
		if t == "" {
			continue
		}
		if !syslogTimeRE.MatchString(t) {
			return nil, 0, invalidf("invalid syslog %s %q (want YYYY-MM-DD[ HH:MM[:SS]])", k, t)
		}
		v.Set(k, t)
	}
	if q.Service != "" {
		if !serviceRE.MatchString(q.Service) {
			return nil, 0, invalidf("invalid service name %q", q.Service)
		}
		v.Set("service", q.Service)
	}
	p := apiPath("nodes", node, "syslog")
	env, err := c.getEnvelope(ctx, p, v)
	if err != nil {
		return nil, 0, err
	}
	var out []SyslogLine
	if err := decodeInto(env.Data, &out, "GET", withQuery(p, v)); err != nil {
		return nil, 0, err
	}
	total := len(out)
	if env.Total != nil {
		total = int(*env.Total)
	}
	return out, total, nil
}

// Journal reads GET /nodes/{node}/journal between two epochs (0 = open)
// or, with last > 0, the last entries. Proxmox puts the first and last
// cursors around the entries; they are returned apart.
func (c *Client) Journal(ctx context.Context, node string, since, until int64, last int) (lines []string, err error) {
	if err := checkNode(node); err != nil {
		return nil, err
	}
	if since < 0 || until < 0 || last < 0 {
		return nil, invalidf("invalid journal range")
	}
	v := url.Values{}
	if since > 0 {
		v.Set("since", strconv.FormatInt(since, 10))
	}
	if until > 0 {
		v.Set("until", strconv.FormatInt(until, 10))
	}
	if last > 0 {
		v.Set("lastentries", strconv.Itoa(last))
	}
	var out []string
	if err := c.get(ctx, apiPath("nodes", node, "journal"), v, &out); err != nil {
		return nil, err
	}
	// Drop the cursor lines (they hold no entry).
	for _, l := range out {
		if strings.HasPrefix(l, "s=") && strings.Contains(l, ";i=") && !strings.Contains(l, " ") {
			continue
		}
		lines = append(lines, l)
	}
	return lines, nil
}

// ClusterLogEntry is one entry of GET /cluster/log.
type ClusterLogEntry struct {
	Time Int    `json:"time"`
	Pri  Int    `json:"pri"`
	Tag  string `json:"tag"`
	PID  Int    `json:"pid"`
	Node string `json:"node"`
	User string `json:"user"`
	Msg  string `json:"msg"`
}

// ClusterLog reads the newest max entries of the cluster log.
func (c *Client) ClusterLog(ctx context.Context, max int) ([]ClusterLogEntry, error) {
	if max < 1 {
		return nil, invalidf("invalid cluster log max %d", max)
	}
	var out []ClusterLogEntry
	err := c.get(ctx, "/cluster/log", url.Values{"max": {strconv.Itoa(max)}}, &out)
	return out, err
}

// Service is one systemd unit of GET /nodes/{node}/services.
type Service struct {
	Service     string `json:"service"`
	Name        string `json:"name"`
	Desc        string `json:"desc"`
	State       string `json:"state"`
	ActiveState string `json:"active-state"`
	UnitState   string `json:"unit-state"`
}

// Services lists a node's PVE-related services (Sys.Audit on the node).
func (c *Client) Services(ctx context.Context, node string) ([]Service, error) {
	return nodeRead[[]Service](ctx, c, node, "services")
}

// AptPackage is an entry of apt/update (pending) or apt/versions
// (installed PVE packages): OldVersion is installed, Version the candidate.
type AptPackage struct {
	Package        string `json:"Package"`
	Title          string `json:"Title"`
	Origin         string `json:"Origin"`
	Section        string `json:"Section"`
	Priority       string `json:"Priority"`
	OldVersion     string `json:"OldVersion"`
	Version        string `json:"Version"`
	CurrentState   string `json:"CurrentState"`
	RunningKernel  string `json:"RunningKernel"`
	ManagerVersion string `json:"ManagerVersion"`
}

// AptUpdates reads the pending updates of the node's last package list
// refresh, without refreshing (GET apt/update; Proxmox requires Sys.Modify).
func (c *Client) AptUpdates(ctx context.Context, node string) ([]AptPackage, error) {
	return nodeRead[[]AptPackage](ctx, c, node, "apt", "update")
}

// AptVersions reads the installed versions of the PVE packages.
func (c *Client) AptVersions(ctx context.Context, node string) ([]AptPackage, error) {
	return nodeRead[[]AptPackage](ctx, c, node, "apt", "versions")
}

// Subscription is GET /nodes/{node}/subscription (the key is never kept).
type Subscription struct {
	Status      string `json:"status"`
	Level       string `json:"level"`
	ProductName string `json:"productname"`
	NextDueDate string `json:"nextduedate"`
	Message     string `json:"message"`
	Sockets     Int    `json:"sockets"`
	CheckTime   Int    `json:"checktime"`
}

// Subscription reads a node's subscription status.
func (c *Client) Subscription(ctx context.Context, node string) (*Subscription, error) {
	return nodeReadRef[Subscription](ctx, c, node, "subscription")
}

// CertInfo is one certificate file of GET /nodes/{node}/certificates/info.
type CertInfo struct {
	Filename    string   `json:"filename"`
	Subject     string   `json:"subject"`
	Issuer      string   `json:"issuer"`
	NotBefore   Int      `json:"notbefore"`
	NotAfter    Int      `json:"notafter"`
	Fingerprint string   `json:"fingerprint"`
	SAN         []string `json:"san"`
}

// Certificates reads a node's certificate files (PEM bodies are skipped).
func (c *Client) Certificates(ctx context.Context, node string) ([]CertInfo, error) {
	return nodeRead[[]CertInfo](ctx, c, node, "certificates", "info")
}

// NodeTime is GET /nodes/{node}/time.
type NodeTime struct {
	Time      Int    `json:"time"`
	LocalTime Int    `json:"localtime"`
	Timezone  string `json:"timezone"`
}

// Time reads a node's clock and time zone.
func (c *Client) Time(ctx context.Context, node string) (*NodeTime, error) {
	return nodeReadRef[NodeTime](ctx, c, node, "time")
}

// NodeDNS is GET /nodes/{node}/dns.
type NodeDNS struct {
	Search string `json:"search"`
	DNS1   string `json:"dns1"`
	DNS2   string `json:"dns2"`
	DNS3   string `json:"dns3"`
}

// DNS reads a node's resolver settings.
func (c *Client) DNS(ctx context.Context, node string) (*NodeDNS, error) {
	return nodeReadRef[NodeDNS](ctx, c, node, "dns")
}

// NetIface is one entry of GET /nodes/{node}/network.
type NetIface struct {
	Iface       string `json:"iface"`
	Type        string `json:"type"`
	Active      Bool   `json:"active"`
	Autostart   Bool   `json:"autostart"`
	CIDR        string `json:"cidr"`
	Address     string `json:"address"`
	Gateway     string `json:"gateway"`
	BridgePorts string `json:"bridge_ports"`
	BondSlaves  string `json:"slaves"`
	Comments    string `json:"comments"`
}

// Network lists a node's interfaces and bridges.
func (c *Client) Network(ctx context.Context, node string) ([]NetIface, error) {
	return nodeRead[[]NetIface](ctx, c, node, "network")
}

// ReplicationJob is one job's state on its source node
// (GET /nodes/{node}/replication, pvesr status).
type ReplicationJob struct {
	ID        string `json:"id"`
	Guest     Int    `json:"guest"`
	Target    string `json:"target"`
	Source    string `json:"source"`
	Schedule  string `json:"schedule"`
	Disable   Bool   `json:"disable"`
	Rate      Num    `json:"rate"`
	Comment   string `json:"comment"`
	VMType    string `json:"vmtype"`
	LastSync  Int    `json:"last_sync"`
	LastTry   Int    `json:"last_try"`
	NextSync  Int    `json:"next_sync"`
	Duration  Num    `json:"duration"`
	FailCount Int    `json:"fail_count"`
	Error     string `json:"error"`
}

// ReplicationConfig lists the configured jobs (GET /cluster/replication).
func (c *Client) ReplicationConfig(ctx context.Context) ([]ReplicationJob, error) {
	var out []ReplicationJob
	err := c.get(ctx, "/cluster/replication", nil, &out)
	return out, err
}

// ReplicationStatus lists the state of the jobs of a node's guests.
func (c *Client) ReplicationStatus(ctx context.Context, node string) ([]ReplicationJob, error) {
	return nodeRead[[]ReplicationJob](ctx, c, node, "replication")
}

// CephStatus is the part of `ceph status` pvemcp reads.
type CephStatus struct {
	FSID   string `json:"fsid"`
	Health struct {
		Status string `json:"status"`
		Checks map[string]struct {
			Severity string `json:"severity"`
			Summary  struct {
				Message string `json:"message"`
				Count   Int    `json:"count"`
			} `json:"summary"`
			Muted Bool `json:"muted"`
		} `json:"checks"`
	} `json:"health"`
	QuorumNames []string `json:"quorum_names"`
	MonMap      struct {
		NumMons Int `json:"num_mons"`
	} `json:"monmap"`
	OSDMap struct {
		NumOSDs   Int `json:"num_osds"`
		NumUpOSDs Int `json:"num_up_osds"`
		NumInOSDs Int `json:"num_in_osds"`
	} `json:"osdmap"`
	PGMap struct {
		PGsByState []struct {
			StateName string `json:"state_name"`
			Count     Int    `json:"count"`
		} `json:"pgs_by_state"`
		NumPGs     Int `json:"num_pgs"`
		NumPools   Int `json:"num_pools"`
		BytesUsed  Int `json:"bytes_used"`
		BytesAvail Int `json:"bytes_avail"`
		BytesTotal Int `json:"bytes_total"`
	} `json:"pgmap"`
}

// CephStatus reads GET /cluster/ceph/status.
func (c *Client) CephStatus(ctx context.Context) (*CephStatus, error) {
	var out CephStatus
	if err := c.get(ctx, "/cluster/ceph/status", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CephOSD is an OSD of the CRUSH tree.
type CephOSD struct {
	ID          Int    `json:"id"`
	Name        string `json:"name"`
	Host        string `json:"host"`
	Status      string `json:"status"`
	In          Bool   `json:"in"`
	DeviceClass string `json:"device_class"`
	PercentUsed Num    `json:"percent_used"`
	TotalSpace  Int    `json:"total_space"`
}

type crushNode struct {
	CephOSD
	Type     string      `json:"type"`
	Children []crushNode `json:"children"`
}

// CephOSDs reads the OSDs of the CRUSH tree (GET /nodes/{node}/ceph/osd),
// flattened, and the cluster's OSD flags.
func (c *Client) CephOSDs(ctx context.Context, node string) ([]CephOSD, string, error) {
	if err := checkNode(node); err != nil {
		return nil, "", err
	}
	var out struct {
		Root  crushNode `json:"root"`
		Flags string    `json:"flags"`
	}
	if err := c.get(ctx, apiPath("nodes", node, "ceph", "osd"), nil, &out); err != nil {
		return nil, "", err
	}
	var osds []CephOSD
	var walk func(n crushNode)
	walk = func(n crushNode) {
		if n.Type == "osd" {
			osds = append(osds, n.CephOSD)
		}
		for _, ch := range n.Children {
			walk(ch)
		}
	}
	walk(out.Root)
	return osds, out.Flags, nil
}

// CephPool is an entry of GET /nodes/{node}/ceph/pool.
type CephPool struct {
	Name        string `json:"pool_name"`
	Size        Int    `json:"size"`
	MinSize     Int    `json:"min_size"`
	PGNum       Int    `json:"pg_num"`
	BytesUsed   Int    `json:"bytes_used"`
	PercentUsed Num    `json:"percent_used"`
	Type        string `json:"type"`
}

// CephPools lists the pools with their usage.
func (c *Client) CephPools(ctx context.Context, node string) ([]CephPool, error) {
	return nodeRead[[]CephPool](ctx, c, node, "ceph", "pool")
}
