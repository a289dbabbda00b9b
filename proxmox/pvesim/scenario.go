package pvesim

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

//go:embed scenarios/demo.yaml
var demoYAML []byte

// scenario is the YAML file format (documented in examples/scenarios).
type scenario struct {
	file string
	root *yaml.Node

	Cluster  scCluster   `yaml:"cluster"`
	Seed     int64       `yaml:"seed"`
	Nodes    []scNode    `yaml:"nodes"`
	Storages []scStorage `yaml:"storages"`
	Guests   []scGuest   `yaml:"guests"`
	Pools    []scPool    `yaml:"pools"`
	HA       scHA        `yaml:"ha"`
	Backup   scBackup    `yaml:"backup"`
	Access   scAccess    `yaml:"access"`
	Faults   []scFault   `yaml:"faults"`
	scDiag   `yaml:",inline"`
}

type scCluster struct {
	Name          string `yaml:"name"`
	ConfigVersion int    `yaml:"config_version"`
}

type scNode struct {
	Name       string    `yaml:"name"`
	ID         int       `yaml:"id"`
	IP         string    `yaml:"ip"`
	Online     *bool     `yaml:"online"`
	Level      string    `yaml:"level"`
	CPU        scCPU     `yaml:"cpu"`
	CPUBase    float64   `yaml:"cpu_base"`
	Memory     size      `yaml:"memory"`
	HostMem    size      `yaml:"host_mem"`
	ARC        size      `yaml:"arc"`
	Swap       size      `yaml:"swap"`
	SwapUsed   size      `yaml:"swap_used"`
	RootFS     scUsage   `yaml:"rootfs"`
	Uptime     duration  `yaml:"uptime"`
	Kernel     string    `yaml:"kernel"`
	Disks      []scDisk  `yaml:"disks"`
	ZFS        []scZPool `yaml:"zfs"`
	scNodeDiag `yaml:",inline"`
}

type scCPU struct {
	Model   string `yaml:"model"`
	Sockets int    `yaml:"sockets"`
	Cores   int    `yaml:"cores"`
	Threads int    `yaml:"threads"`
	MHz     string `yaml:"mhz"`
}

type scUsage struct {
	Size size `yaml:"size"`
	Used size `yaml:"used"`
}

type scDisk struct {
	Dev     string    `yaml:"dev"`
	Type    string    `yaml:"type"`
	Size    size      `yaml:"size"`
	Model   string    `yaml:"model"`
	Vendor  string    `yaml:"vendor"`
	Serial  string    `yaml:"serial"`
	WWN     string    `yaml:"wwn"`
	Health  string    `yaml:"health"`
	Wearout wearout   `yaml:"wearout"`
	RPM     int       `yaml:"rpm"`
	GPT     *bool     `yaml:"gpt"`
	Used    string    `yaml:"used"`
	ByID    string    `yaml:"by_id"`
	Smart   []scSmart `yaml:"smart"`
}

type scSmart struct {
	ID        int    `yaml:"id"`
	Name      string `yaml:"name"`
	Flags     string `yaml:"flags"`
	Value     int    `yaml:"value"`
	Worst     int    `yaml:"worst"`
	Threshold int    `yaml:"threshold"`
	Fail      string `yaml:"fail"`
	Raw       string `yaml:"raw"`
}

type scZPool struct {
	Name       string   `yaml:"name"`
	Size       size     `yaml:"size"`
	ExtraAlloc size     `yaml:"extra_alloc"`
	Frag       int      `yaml:"frag"`
	Dedup      float64  `yaml:"dedup"`
	Health     string   `yaml:"health"`
	Status     string   `yaml:"status"`
	Action     string   `yaml:"action"`
	See        string   `yaml:"see"`
	Errors     string   `yaml:"errors"`
	Scrub      *scScrub `yaml:"scrub"`
	Vdevs      []scVdev `yaml:"vdevs"`
	Logs       []scVdev `yaml:"logs"`
	Cache      []scVdev `yaml:"cache"`
	Spares     []scVdev `yaml:"spares"`
}

type scScrub struct {
	Ago      duration `yaml:"ago"`
	Duration string   `yaml:"duration"`
	Repaired string   `yaml:"repaired"`
	Errors   int      `yaml:"errors"`
}

type scVdev struct {
	Name     string   `yaml:"name"`
	State    string   `yaml:"state"`
	Read     int64    `yaml:"read"`
	Write    int64    `yaml:"write"`
	Cksum    int64    `yaml:"cksum"`
	Msg      string   `yaml:"msg"`
	Children []scVdev `yaml:"children"`
}

type scStorage struct {
	ID           string                `yaml:"id"`
	Type         string                `yaml:"type"`
	Content      []string              `yaml:"content"`
	Shared       bool                  `yaml:"shared"`
	Nodes        []string              `yaml:"nodes"`
	Path         string                `yaml:"path"`
	Pool         string                `yaml:"pool"`
	PoolNode     string                `yaml:"pool_node"`
	Server       string                `yaml:"server"`
	Export       string                `yaml:"export"`
	Disabled     bool                  `yaml:"disabled"`
	Prune        string                `yaml:"prune_backups"`
	Size         size                  `yaml:"size"`
	Used         size                  `yaml:"used"`
	GrowthPerDay size                  `yaml:"growth_per_day"`
	PerNode      map[string]scStorNode `yaml:"per_node"`
	Volumes      []scVolume            `yaml:"volumes"`
}

type scStorNode struct {
	Size         size `yaml:"size"`
	Used         size `yaml:"used"`
	GrowthPerDay size `yaml:"growth_per_day"`
}

type scVolume struct {
	VolID   string   `yaml:"volid"`
	Node    string   `yaml:"node"`
	Size    size     `yaml:"size"`
	Format  string   `yaml:"format"`
	Content string   `yaml:"content"`
	VMID    int      `yaml:"vmid"`
	Age     duration `yaml:"age"`
	Notes   string   `yaml:"notes"`
}

type scGuest struct {
	VMID      int               `yaml:"vmid"`
	Type      string            `yaml:"type"`
	Node      string            `yaml:"node"`
	Name      string            `yaml:"name"`
	Status    string            `yaml:"status"`
	Uptime    duration          `yaml:"uptime"`
	Template  bool              `yaml:"template"`
	Cores     int               `yaml:"cores"`
	Sockets   int               `yaml:"sockets"`
	Memory    size              `yaml:"memory"`
	Swap      size              `yaml:"swap"`
	Disks     map[string]string `yaml:"disks"`
	Net       []string          `yaml:"net"`
	Config    map[string]string `yaml:"config"`
	Tags      []string          `yaml:"tags"`
	Pool      string            `yaml:"pool"`
	Lock      string            `yaml:"lock"`
	Usage     scGuestUsage      `yaml:"usage"`
	Agent     *scAgent          `yaml:"agent"`
	Snapshots []scSnapshot      `yaml:"snapshots"`
	Age       duration          `yaml:"age"`
}

type scGuestUsage struct {
	CPU       float64 `yaml:"cpu"`
	Mem       float64 `yaml:"mem"`
	Disk      float64 `yaml:"disk"`
	DiskFill  float64 `yaml:"disk_fill"`
	NetIn     size    `yaml:"net_in"`
	NetOut    size    `yaml:"net_out"`
	DiskRead  size    `yaml:"disk_read"`
	DiskWrite size    `yaml:"disk_write"`
}

// scAgent is the QEMU guest agent of a VM: present (the config gets agent: 1) and running or not, hung
// (installed, but every command times out), and what it reports.
type scAgent struct {
	Running  bool       `yaml:"running"`
	Hung     bool       `yaml:"hung"`
	IPs      []string   `yaml:"ips"`
	Hostname string     `yaml:"hostname"`
	OS       *scAgentOS `yaml:"os"`
	Exec     []scExec   `yaml:"exec"`
}

type scAgentOS struct {
	ID         string `yaml:"id"`
	Name       string `yaml:"name"`
	PrettyName string `yaml:"pretty_name"`
	Version    string `yaml:"version"`
	VersionID  string `yaml:"version_id"`
	Kernel     string `yaml:"kernel"`
}

// scExec scripts one command of agent/exec: argv joined by spaces, its output and exit code.
type scExec struct {
	Command  string `yaml:"command"`
	Stdout   string `yaml:"stdout"`
	Stderr   string `yaml:"stderr"`
	ExitCode int    `yaml:"exit_code"`
}

type scSnapshot struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	Ago         duration `yaml:"ago"`
	VMState     bool     `yaml:"vmstate"`
}

type scPool struct {
	ID       string   `yaml:"id"`
	Comment  string   `yaml:"comment"`
	VMs      []int    `yaml:"vms"`
	Storages []string `yaml:"storages"`
}

type scHA struct {
	Master    string         `yaml:"master"`
	Groups    []scHAGroup    `yaml:"groups"`
	Resources []scHAResource `yaml:"resources"`
	Rules     []scHARule     `yaml:"rules"`
}

type scHAGroup struct {
	Name       string `yaml:"name"`
	Nodes      string `yaml:"nodes"`
	Restricted bool   `yaml:"restricted"`
	NoFailback bool   `yaml:"nofailback"`
	Comment    string `yaml:"comment"`
}

type scHAResource struct {
	SID         string `yaml:"sid"`
	Group       string `yaml:"group"`
	State       string `yaml:"state"`
	MaxRestart  *int   `yaml:"max_restart"`
	MaxRelocate *int   `yaml:"max_relocate"`
	Comment     string `yaml:"comment"`
}

type scHARule struct {
	ID        string   `yaml:"id"`
	Type      string   `yaml:"type"`
	Resources []string `yaml:"resources"`
	Nodes     string   `yaml:"nodes"`
	Strict    bool     `yaml:"strict"`
	Affinity  string   `yaml:"affinity"`
	Comment   string   `yaml:"comment"`
}

type scBackup struct {
	Jobs        []scBackupJob `yaml:"jobs"`
	HistoryDays int           `yaml:"history_days"`
	Outcomes    []scOutcome   `yaml:"outcomes"`
}

type scBackupJob struct {
	ID               string `yaml:"id"`
	Schedule         string `yaml:"schedule"`
	Enabled          *bool  `yaml:"enabled"`
	Storage          string `yaml:"storage"`
	Mode             string `yaml:"mode"`
	VMIDs            []int  `yaml:"vmids"`
	All              bool   `yaml:"all"`
	Exclude          []int  `yaml:"exclude"`
	Pool             string `yaml:"pool"`
	Node             string `yaml:"node"`
	Compress         string `yaml:"compress"`
	MailNotification string `yaml:"mailnotification"`
	NotesTemplate    string `yaml:"notes_template"`
	Prune            string `yaml:"prune_backups"`
	Comment          string `yaml:"comment"`
	RepeatMissed     bool   `yaml:"repeat_missed"`
}

type scOutcome struct {
	Job     string `yaml:"job"`
	VMID    int    `yaml:"vmid"`
	DaysAgo int    `yaml:"days_ago"`
	Error   string `yaml:"error"`
	Warning string `yaml:"warning"`
}

type scAccess struct {
	Users  []scUser  `yaml:"users"`
	Tokens []scToken `yaml:"tokens"`
	Groups []scGroup `yaml:"groups"`
	Roles  []scRole  `yaml:"roles"`
	ACL    []scACL   `yaml:"acl"`
}

type scUser struct {
	ID      string   `yaml:"id"`
	Enable  *bool    `yaml:"enable"`
	Expire  int64    `yaml:"expire"`
	Groups  []string `yaml:"groups"`
	Comment string   `yaml:"comment"`
}

type scToken struct {
	ID      string `yaml:"id"`
	Secret  string `yaml:"secret"`
	Privsep *bool  `yaml:"privsep"`
	Expire  int64  `yaml:"expire"`
	Comment string `yaml:"comment"`
}

type scGroup struct {
	ID    string   `yaml:"id"`
	Users []string `yaml:"users"`
}

type scRole struct {
	ID    string   `yaml:"id"`
	Privs []string `yaml:"privs"`
}

type scACL struct {
	Path      string `yaml:"path"`
	User      string `yaml:"user"`
	Token     string `yaml:"token"`
	Group     string `yaml:"group"`
	Role      string `yaml:"role"`
	Propagate *bool  `yaml:"propagate"`
}

type scFault struct {
	Target        string   `yaml:"target"`
	Offline       bool     `yaml:"offline"`
	Latency       duration `yaml:"latency"`
	ErrorRate     float64  `yaml:"error_rate"`
	Hang          bool     `yaml:"hang"`
	MalformedJSON bool     `yaml:"malformed_json"`
	HTMLPage      bool     `yaml:"html_page"`
	ChangedCert   bool     `yaml:"changed_cert"`
	RevokedToken  string   `yaml:"revoked_token"`
	Fault         Fault    `yaml:"-"`
}

// size is a byte count written as 8GiB, 3.6TB, 512M (binary), or bytes.
type size int64

var sizeRe = regexp.MustCompile(`^(-?[0-9]+(?:\.[0-9]+)?)\s*([KMGTP]?)(i?)(B?)$`)

func (s *size) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseSizeText(n.Value)
	if err != nil || n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: invalid size %q (want e.g. 8GiB, 3.6TB, 512M)", n.Line, n.Value)
	}
	*s = size(v)
	return nil
}

func parseSizeText(t string) (int64, error) {
	m := sizeRe.FindStringSubmatch(strings.TrimSpace(t))
	if m == nil {
		return 0, errors.New("bad size")
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, err
	}
	exp := strings.Index("KMGTP", m[2]) + 1
	if m[2] == "" {
		exp = 0
	}
	base := 1024.0
	if m[4] == "B" && m[3] == "" && exp > 0 {
		base = 1000 // "TB" is decimal, "TiB" and "T" are binary
	}
	return int64(math.Round(f * math.Pow(base, float64(exp)))), nil
}

// duration accepts Go durations plus days: "14d6h", "30d".
type duration time.Duration

var durRe = regexp.MustCompile(`^(\d+)d(.*)$`)

func (d *duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseDur(n.Value)
	if err != nil || n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: invalid duration %q (want e.g. 14d6h, 90m, 3s)", n.Line, n.Value)
	}
	*d = duration(v)
	return nil
}

func parseDur(t string) (time.Duration, error) {
	var days time.Duration
	if m := durRe.FindStringSubmatch(t); m != nil {
		n, _ := strconv.Atoi(m[1])
		days = time.Duration(n) * 24 * time.Hour
		t = m[2]
		if t == "" {
			return days, nil
		}
	}
	v, err := time.ParseDuration(t)
	return days + v, err
}

// wearout is a number (remaining life %) or "N/A".
type wearout struct {
	set bool
	v   int
}

func (w *wearout) UnmarshalYAML(n *yaml.Node) error {
	if n.Value == "N/A" {
		*w = wearout{set: true, v: -1}
		return nil
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil || v < 0 || v > 100 {
		return fmt.Errorf("line %d: invalid wearout %q (want 0..100 or N/A)", n.Line, n.Value)
	}
	*w = wearout{set: true, v: v}
	return nil
}

// loadScenario reads "demo" (or "") from the embedded file, else a path.
func loadScenario(name string) (*scenario, error) {
	if name == "" || name == "demo" {
		return parseScenario("demo.yaml", demoYAML)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("pvesim: scenario: %w", err)
	}
	return parseScenario(filepath.Base(name), b)
}

var yamlLineRe = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// parseScenario decodes strictly (unknown keys are errors) and validates;
// every error reads "file:line: reason".
func parseScenario(file string, b []byte) (*scenario, error) {
	sc := &scenario{file: file}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, scErr(file, err)
	}
	sc.root = &root
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(sc); err != nil {
		return nil, scErr(file, err)
	}
	if err := sc.validate(); err != nil {
		return nil, err
	}
	return sc, nil
}

func scErr(file string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msgs := make([]string, 0, len(te.Errors))
		for _, e := range te.Errors {
			msgs = append(msgs, fmtYAMLErr(file, e))
		}
		return errors.New(strings.Join(msgs, "\n"))
	}
	return errors.New(fmtYAMLErr(file, err.Error()))
}

func fmtYAMLErr(file, msg string) string {
	msg = strings.TrimPrefix(msg, "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n  ")
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		reason := strings.Replace(m[2], "field ", "unknown key ", 1)
		if i := strings.Index(reason, " not found in type"); i > 0 {
			reason = reason[:i]
		}
		// custom unmarshalers put their own "line N: " in front too
		if mm := yamlLineRe.FindStringSubmatch(reason); mm != nil {
			reason = mm[2]
		}
		return fmt.Sprintf("%s:%s: %s", file, m[1], reason)
	}
	return fmt.Sprintf("%s: %s", file, msg)
}

// lineOf finds the line of a value by its path of mapping keys and
// sequence indexes, for semantic errors.
func (sc *scenario) lineOf(path ...any) int {
	n := sc.root
	if n == nil {
		return 0
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, p := range path {
		switch k := p.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return line
			}
			found := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == k {
					line = n.Content[i].Line
					n = n.Content[i+1]
					found = true
					break
				}
			}
			if !found {
				return line
			}
		case int:
			if n.Kind != yaml.SequenceNode || k >= len(n.Content) {
				return line
			}
			n = n.Content[k]
			line = n.Line
		}
	}
	return line
}

func (sc *scenario) errAt(reason string, path ...any) error {
	return fmt.Errorf("%s:%d: %s", sc.file, sc.lineOf(path...), reason)
}

var (
	reNodeName = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?$`)
	reSIDHA    = regexp.MustCompile(`^(vm|ct):(\d+)$`)
)

func (sc *scenario) validate() error {
	if sc.Cluster.Name == "" {
		return sc.errAt("cluster.name is required", "cluster")
	}
	if len(sc.Nodes) == 0 {
		return sc.errAt("at least one node is required", "nodes")
	}
	nodes := map[string]bool{}
	for i, n := range sc.Nodes {
		if !reNodeName.MatchString(n.Name) {
			return sc.errAt(fmt.Sprintf("invalid node name %q", n.Name), "nodes", i, "name")
		}
		if nodes[n.Name] {
			return sc.errAt(fmt.Sprintf("duplicate node %q", n.Name), "nodes", i, "name")
		}
		nodes[n.Name] = true
		if n.Memory <= 0 {
			return sc.errAt("node memory must be > 0", "nodes", i, "memory")
		}
		if n.CPU.Cores <= 0 {
			return sc.errAt("node cpu.cores must be > 0", "nodes", i, "cpu")
		}
		for j, d := range n.Disks {
			switch d.Type {
			case "nvme", "ssd", "hdd", "usb", "unknown":
			default:
				return sc.errAt(fmt.Sprintf("invalid disk type %q (nvme, ssd, hdd, usb, unknown)", d.Type), "nodes", i, "disks", j, "type")
			}
		}
		for j, z := range n.ZFS {
			switch z.Health {
			case "ONLINE", "DEGRADED", "FAULTED", "OFFLINE", "UNAVAIL", "REMOVED":
			default:
				return sc.errAt(fmt.Sprintf("invalid zfs health %q", z.Health), "nodes", i, "zfs", j, "health")
			}
		}
	}
	stors := map[string]bool{}
	for i, s := range sc.Storages {
		if !reSID.MatchString(s.ID) {
			return sc.errAt(fmt.Sprintf("invalid storage id %q", s.ID), "storages", i, "id")
		}
		stors[s.ID] = true
		switch s.Type {
		case "dir", "zfspool", "nfs", "lvmthin", "lvm", "cifs", "pbs", "cephfs", "rbd":
		default:
			return sc.errAt(fmt.Sprintf("invalid storage type %q", s.Type), "storages", i, "type")
		}
		for j, n := range s.Nodes {
			if !nodes[n] {
				return sc.errAt(fmt.Sprintf("unknown node %q", n), "storages", i, "nodes", j)
			}
		}
		for n := range s.PerNode {
			if !nodes[n] {
				return sc.errAt(fmt.Sprintf("unknown node %q", n), "storages", i, "per_node")
			}
		}
		for j, v := range s.Volumes {
			if !s.Shared && !nodes[v.Node] {
				return sc.errAt(fmt.Sprintf("volume of a local storage needs a known node (got %q)", v.Node), "storages", i, "volumes", j)
			}
			if !strings.HasPrefix(v.VolID, s.ID+":") {
				return sc.errAt(fmt.Sprintf("volid %q must start with %q", v.VolID, s.ID+":"), "storages", i, "volumes", j, "volid")
			}
		}
	}
	vmids := map[int]bool{}
	for i, g := range sc.Guests {
		if g.VMID < 100 || g.VMID > 999999999 {
			return sc.errAt(fmt.Sprintf("vmid %d out of range 100..999999999", g.VMID), "guests", i, "vmid")
		}
		if vmids[g.VMID] {
			return sc.errAt(fmt.Sprintf("duplicate vmid %d", g.VMID), "guests", i, "vmid")
		}
		vmids[g.VMID] = true
		if g.Type != "qemu" && g.Type != "lxc" {
			return sc.errAt(fmt.Sprintf("invalid guest type %q (qemu or lxc)", g.Type), "guests", i, "type")
		}
		if !nodes[g.Node] {
			return sc.errAt(fmt.Sprintf("unknown node %q", g.Node), "guests", i, "node")
		}
		switch g.Status {
		case "running", "stopped", "paused":
		case "":
		default:
			return sc.errAt(fmt.Sprintf("invalid status %q (running, stopped, paused)", g.Status), "guests", i, "status")
		}
		for k, d := range g.Disks {
			st, _, _ := strings.Cut(d, ":")
			if st != "none" && !stors[st] {
				return sc.errAt(fmt.Sprintf("disk %s: unknown storage %q", k, st), "guests", i, "disks", k)
			}
		}
	}
	for i, r := range sc.HA.Resources {
		m := reSIDHA.FindStringSubmatch(r.SID)
		if m == nil {
			return sc.errAt(fmt.Sprintf("invalid HA sid %q (vm:ID or ct:ID)", r.SID), "ha", "resources", i, "sid")
		}
		id, _ := strconv.Atoi(m[2])
		if !vmids[id] {
			return sc.errAt(fmt.Sprintf("HA resource %s: no such guest", r.SID), "ha", "resources", i, "sid")
		}
	}
	groups := map[string]bool{}
	for _, g := range sc.HA.Groups {
		groups[g.Name] = true
	}
	for i, r := range sc.HA.Resources {
		if r.Group != "" && !groups[r.Group] {
			return sc.errAt(fmt.Sprintf("HA resource %s: group '%s' does not exist", r.SID, r.Group), "ha", "resources", i, "group")
		}
		switch r.State {
		case "", "started", "stopped", "enabled", "disabled", "ignored":
		default:
			return sc.errAt(fmt.Sprintf("invalid HA state %q (started, stopped, enabled, disabled, ignored)", r.State), "ha", "resources", i, "state")
		}
	}
	if sc.HA.Master != "" && !nodes[sc.HA.Master] {
		return sc.errAt(fmt.Sprintf("unknown node %q", sc.HA.Master), "ha", "master")
	}
	jobs := map[string]bool{}
	for i, j := range sc.Backup.Jobs {
		if j.ID == "" {
			return sc.errAt("backup job id is required", "backup", "jobs", i)
		}
		jobs[j.ID] = true
		if !stors[j.Storage] {
			return sc.errAt(fmt.Sprintf("backup job %s: unknown storage %q", j.ID, j.Storage), "backup", "jobs", i, "storage")
		}
		if _, err := parseSchedule(j.Schedule); err != nil {
			return sc.errAt(fmt.Sprintf("backup job %s: %v (want \"HH:MM\", \"sun 03:00\", \"mon..fri 21:00\")", j.ID, err), "backup", "jobs", i, "schedule")
		}
		switch j.Mode {
		case "", "snapshot", "suspend", "stop":
		default:
			return sc.errAt(fmt.Sprintf("invalid backup mode %q (snapshot, suspend, stop)", j.Mode), "backup", "jobs", i, "mode")
		}
		if j.Node != "" && !nodes[j.Node] {
			return sc.errAt(fmt.Sprintf("unknown node %q", j.Node), "backup", "jobs", i, "node")
		}
	}
	for i, o := range sc.Backup.Outcomes {
		if !jobs[o.Job] {
			return sc.errAt(fmt.Sprintf("unknown backup job %q", o.Job), "backup", "outcomes", i, "job")
		}
		if (o.Error == "") == (o.Warning == "") {
			return sc.errAt("an outcome needs exactly one of error or warning", "backup", "outcomes", i)
		}
	}
	for i, s := range sc.Storages {
		if s.PoolNode != "" && !nodes[s.PoolNode] {
			return sc.errAt(fmt.Sprintf("unknown node %q", s.PoolNode), "storages", i, "pool_node")
		}
		for j, c := range s.Content {
			switch c {
			case "images", "rootdir", "iso", "vztmpl", "backup", "snippets", "import":
			default:
				return sc.errAt(fmt.Sprintf("invalid content type %q", c), "storages", i, "content", j)
			}
		}
	}
	for i, f := range sc.Faults {
		n, _, _ := strings.Cut(f.Target, "/")
		if n != "" && n != "*" && !nodes[n] {
			return sc.errAt(fmt.Sprintf("fault target: unknown node %q", n), "faults", i, "target")
		}
		if f.ErrorRate < 0 || f.ErrorRate > 1 {
			return sc.errAt("error_rate must be within 0..1", "faults", i, "error_rate")
		}
		sc.Faults[i].Fault = Fault{Offline: f.Offline, Latency: time.Duration(f.Latency), ErrorRate: f.ErrorRate, Hang: f.Hang,
			MalformedJSON: f.MalformedJSON, HTMLPage: f.HTMLPage, ChangedCert: f.ChangedCert, RevokedToken: f.RevokedToken}
	}
	for i, t := range sc.Access.Tokens {
		if !tokenIDRe.MatchString(t.ID) {
			return sc.errAt(fmt.Sprintf("invalid token id %q (user@realm!name)", t.ID), "access", "tokens", i, "id")
		}
	}
	if err := sc.validateDiag(nodes, vmids); err != nil {
		return err
	}
	if err := sc.checkReplication(); err != nil {
		return err
	}
	return sc.checkPlausible()
}
