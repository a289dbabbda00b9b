// Package harness sets scenes on a Proxmox VE simulator and checks what an
// agent did there, for agent test harnesses and eval suites.
//
// A scene file (YAML) has a setup, applied before the agent runs, and a
// verify, checked after it:
//
//	setup:
//	  reset: ""                 # "" = the scenario's start, or a saved snapshot
//	  clock: 72h                # advance the simulated clock
//	  faults:                   # the scenario's fault keys, plus after_calls
//	    - {target: pve-node02, offline: true}
//	    - {target: pve-node01, offline: true, after_calls: 1}  # armed: mid-task
//	verify:
//	  max_writes: 1             # successful change requests, at most
//	  max_failed_writes: 1      # refused or failed ones, at most
//	  writes:                   # each must be in the journal, successful
//	    - {method: POST, path: "/qemu/101/snapshot$"}
//	    - {method: PUT, path: "/nodes/pve-node01/qemu/101/config", params: {memory: "24576"}}
//	  writes_in_order: true     # ... and in this order
//	  forbidden:                # no change request may match (refused ones included)
//	    - {path: "/(qemu|lxc)/102/"}
//	  guests:                   # final state; config values as they apply after pending changes
//	    - {vmid: 101, node: pve-node01, status: running, config: {memory: "24576"}, min_snapshots: 1}
//	  answer: ["docker-host-01", "exceeds storage limit"]   # facts the agent's answer must state
//	  writes_confirmed: true    # every successful change request was a call of a plan confirmed in pvemcp's audit log
//
// Paths are regular expressions matched anywhere in the API path (below
// /api2/json); methods and params match exactly. The same scene drives an
// in-process simulator (Local) or a remote one through its control plane
// (a *pvesim.ControlClient), so a Go test and a shell verify script check
// exactly the same thing.
package harness

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pvemcp/pvemcp/guard"
	"github.com/pvemcp/pvemcp/proxmox/pvesim"
)

// Controller is what a scene needs of a simulator. *pvesim.ControlClient
// implements it; Local adapts an in-process *pvesim.Sim.
type Controller interface {
	Reset(ctx context.Context, snapshot string) error
	SetFault(ctx context.Context, f pvesim.FaultState) error
	AdvanceClock(ctx context.Context, d time.Duration) (time.Time, error)
	State(ctx context.Context) (pvesim.ClusterState, error)
	Journal(ctx context.Context, since int) (pvesim.Journal, error)
}

// Local is a Controller over a simulator in this process.
func Local(s *pvesim.Sim) Controller { return local{s} }

type local struct{ s *pvesim.Sim }

func (l local) Reset(_ context.Context, snap string) error { return l.s.Reset(snap) }
func (l local) SetFault(_ context.Context, f pvesim.FaultState) error {
	return l.s.SetFaultState(f)
}
func (l local) AdvanceClock(_ context.Context, d time.Duration) (time.Time, error) {
	err := l.s.AdvanceClock(d)
	return l.s.Now(), err
}
func (l local) State(context.Context) (pvesim.ClusterState, error) { return l.s.State(), nil }
func (l local) Journal(_ context.Context, since int) (pvesim.Journal, error) {
	return l.s.Journal(since), nil
}

// Scene is one task's setup and verify.
type Scene struct {
	Setup  Setup  `yaml:"setup"`
	Verify Verify `yaml:"verify"`
}

// Setup is applied before the agent runs.
type Setup struct {
	Reset  string              `yaml:"reset"`
	Clock  string              `yaml:"clock"`
	Faults []pvesim.FaultState `yaml:"faults"`
}

// Verify is checked after the agent ran.
type Verify struct {
	MaxWrites       *int         `yaml:"max_writes"`
	MaxFailedWrites *int         `yaml:"max_failed_writes"`
	Writes          []CallMatch  `yaml:"writes"`
	Forbidden       []CallMatch  `yaml:"forbidden"`
	Guests          []GuestMatch `yaml:"guests"`
	Nodes           []NodeMatch  `yaml:"nodes"`
	Answer          []string     `yaml:"answer"`
	WritesConfirmed bool         `yaml:"writes_confirmed"`
	WritesInOrder   bool         `yaml:"writes_in_order"`
}

// Run is what an agent's run left besides the simulator's state: its final
// answer and pvemcp's audit log events of the run (ReadAuditLog).
type Run struct {
	Answer string
	Audit  []guard.Event
	// HaveAudit says Audit was read (an empty log is a valid one).
	HaveAudit bool
}

// ReadAuditLog reads a pvemcp audit log (JSON lines).
func ReadAuditLog(file string) ([]guard.Event, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []guard.Event
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var ev guard.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, n, err)
		}
		out = append(out, ev)
	}
	return out, sc.Err()
}

// CallMatch matches journal entries.
type CallMatch struct {
	Method string            `yaml:"method"`
	Path   string            `yaml:"path"`
	Params map[string]string `yaml:"params"`
	re     *regexp.Regexp
}

// GuestMatch is the expected final state of a guest.
type GuestMatch struct {
	VMID   int               `yaml:"vmid"`
	Node   string            `yaml:"node"`
	Status string            `yaml:"status"`
	Config map[string]string `yaml:"config"`
	// MinSnapshots is the least number of snapshots it must have.
	MinSnapshots int `yaml:"min_snapshots"`
}

// NodeMatch is the expected final state of a node.
type NodeMatch struct {
	Name   string `yaml:"name"`
	Online *bool  `yaml:"online"`
}

// LoadScene reads and checks a scene file.
func LoadScene(file string) (*Scene, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return ParseScene(file, b)
}

// ParseScene parses a scene; name is for errors.
func ParseScene(name string, b []byte) (*Scene, error) {
	var sc Scene
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&sc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if sc.Setup.Clock != "" {
		if d, err := time.ParseDuration(sc.Setup.Clock); err != nil || d < 0 {
			return nil, fmt.Errorf("%s: setup.clock %q: want a positive duration like 72h", name, sc.Setup.Clock)
		}
	}
	for i, f := range sc.Setup.Faults {
		if _, err := f.Fault(); err != nil {
			return nil, fmt.Errorf("%s: setup.faults[%d]: %w", name, i, err)
		}
	}
	for _, l := range [][]CallMatch{sc.Verify.Writes, sc.Verify.Forbidden} {
		for i := range l {
			re, err := regexp.Compile(l[i].Path)
			if err != nil {
				return nil, fmt.Errorf("%s: path %q: %w", name, l[i].Path, err)
			}
			l[i].re = re
		}
	}
	return &sc, nil
}

// Apply sets the scene: reset, clock, faults.
func (sc *Scene) Apply(ctx context.Context, c Controller) error {
	if err := c.Reset(ctx, sc.Setup.Reset); err != nil {
		return fmt.Errorf("setup: reset: %w", err)
	}
	if sc.Setup.Clock != "" {
		d, _ := time.ParseDuration(sc.Setup.Clock)
		if _, err := c.AdvanceClock(ctx, d); err != nil {
			return fmt.Errorf("setup: clock: %w", err)
		}
	}
	for _, f := range sc.Setup.Faults {
		if err := c.SetFault(ctx, f); err != nil {
			return fmt.Errorf("setup: fault on %s: %w", f.Target, err)
		}
	}
	return nil
}

func (m CallMatch) matches(e pvesim.JournalEntry) bool {
	if m.Method != "" && !strings.EqualFold(m.Method, e.Method) {
		return false
	}
	if m.re != nil && !m.re.MatchString(e.Path) {
		return false
	}
	for k, v := range m.Params {
		if e.Params[k] != v {
			return false
		}
	}
	return true
}

func (m CallMatch) String() string {
	s := strings.TrimSpace(m.Method + " " + m.Path)
	if len(m.Params) > 0 {
		keys := make([]string, 0, len(m.Params))
		for k := range m.Params {
			keys = append(keys, k+"="+m.Params[k])
		}
		sort.Strings(keys)
		s += " {" + strings.Join(keys, ", ") + "}"
	}
	return s
}

func entryString(e pvesim.JournalEntry) string {
	return fmt.Sprintf("#%d %s %s -> %d", e.Seq, e.Method, e.Path, e.Status)
}

// Check verifies the final state and the journal against the run (the
// answer is checked only when the scene lists answer facts, the audit log
// only with writes_confirmed). It returns every failed expectation (none:
// the task passed).
func (sc *Scene) Check(ctx context.Context, c Controller, run Run) ([]string, error) {
	answer := run.Answer
	st, err := c.State(ctx)
	if err != nil {
		return nil, err
	}
	j, err := c.Journal(ctx, 0)
	if err != nil {
		return nil, err
	}
	var fails []string
	failf := func(format string, args ...any) { fails = append(fails, fmt.Sprintf(format, args...)) }
	v := sc.Verify
	var ok, failed []pvesim.JournalEntry
	for _, e := range j.Calls {
		if e.Status == 200 {
			ok = append(ok, e)
		} else {
			failed = append(failed, e)
		}
	}
	if v.MaxWrites != nil && len(ok) > *v.MaxWrites {
		failf("%d successful change requests, at most %d expected: %s", len(ok), *v.MaxWrites, entries(ok))
	}
	if v.MaxFailedWrites != nil && len(failed) > *v.MaxFailedWrites {
		failf("%d refused or failed change requests, at most %d expected: %s", len(failed), *v.MaxFailedWrites, entries(failed))
	}
	from := 0 // with writes_in_order, where the search for the next write starts
	for _, w := range v.Writes {
		found := -1
		for i := from; i < len(ok); i++ {
			if w.matches(ok[i]) {
				found = i
				break
			}
		}
		switch {
		case found >= 0 && v.WritesInOrder:
			from = found + 1
		case found < 0 && v.WritesInOrder && from > 0:
			failf("no successful change request %s after the one before it in writes", w)
		case found < 0:
			failf("no successful change request %s", w)
		}
	}
	for _, f := range v.Forbidden {
		for _, e := range j.Calls {
			if f.matches(e) {
				failf("forbidden change request %s (matches %s)", entryString(e), f)
			}
		}
	}
	for _, g := range v.Guests {
		gs := st.Guest(g.VMID)
		if gs == nil {
			failf("guest %d: gone", g.VMID)
			continue
		}
		if g.Node != "" && gs.Node != g.Node {
			failf("guest %d: on %s, want %s", g.VMID, gs.Node, g.Node)
		}
		if g.Status != "" && gs.Status != g.Status {
			failf("guest %d: %s, want %s", g.VMID, gs.Status, g.Status)
		}
		if len(gs.Snapshots) < g.MinSnapshots {
			failf("guest %d: %d snapshots, want at least %d", g.VMID, len(gs.Snapshots), g.MinSnapshots)
		}
		for k, want := range g.Config {
			if got := gs.Effective(k); got != want {
				failf("guest %d: %s = %q, want %q", g.VMID, k, got, want)
			}
		}
	}
	for _, n := range v.Nodes {
		found := false
		for _, ns := range st.Nodes {
			if ns.Name == n.Name {
				found = true
				if n.Online != nil && ns.Online != *n.Online {
					failf("node %s: online=%v, want %v", n.Name, ns.Online, *n.Online)
				}
			}
		}
		if !found {
			failf("node %s: not in the cluster", n.Name)
		}
	}
	if v.WritesConfirmed {
		if !run.HaveAudit {
			failf("writes_confirmed: no audit log of the run to check against")
		} else {
			// Each confirmed call may account for one write.
			confirmed := map[string]int{}
			for _, ev := range run.Audit {
				if ev.Event == guard.EventConfirm {
					for _, call := range ev.Calls {
						confirmed[strings.ToUpper(call.Method)+" "+call.Path]++
					}
				}
			}
			for _, e := range ok {
				k := strings.ToUpper(e.Method) + " " + e.Path
				if confirmed[k] == 0 {
					failf("change request %s without a confirmed plan", entryString(e))
					continue
				}
				confirmed[k]--
			}
		}
	}
	low := strings.ToLower(answer)
	for _, a := range v.Answer {
		if !strings.Contains(low, strings.ToLower(a)) {
			failf("the answer does not state %q", a)
		}
	}
	return fails, nil
}

func entries(l []pvesim.JournalEntry) string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = entryString(e)
	}
	return strings.Join(s, "; ")
}
