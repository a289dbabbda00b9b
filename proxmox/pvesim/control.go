package pvesim

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// The control plane: what a test harness needs to set a scene, let an
// agent work, then check what it changed. It is not part of the Proxmox API
// and never reachable through it: Go harnesses call these methods in
// process, others use the separate, secret-protected listener of
// StartControl (control_http.go).

// control is the harness state of a Sim.
type control struct {
	clockOff atomic.Int64 // nanoseconds added to Options.Now

	jmu     sync.Mutex
	journal []JournalEntry
	jseq    int
	armed   []armedFault

	smu   sync.Mutex
	saved map[string]*savedState

	lmu sync.Mutex
	ln  *controlListener
}

// armedFault takes effect once the journal reaches seq.
type armedFault struct {
	seq    int
	target string
	f      Fault
}

type savedState struct {
	st       *state
	faults   map[string]Fault
	clockOff int64
	haMaster string
}

const maxJournal = 100000

// JournalEntry is one API call that asked for a change (every method but
// GET) of an existing endpoint, whatever the outcome (refused ones too). It holds no secret:
// the token by its id, secret-like parameters masked.
type JournalEntry struct {
	Seq     int               `json:"seq" yaml:"seq"`
	Time    time.Time         `json:"time" yaml:"time"`
	TokenID string            `json:"tokenid" yaml:"tokenid"`
	Method  string            `json:"method" yaml:"method"`
	Path    string            `json:"path" yaml:"path"` // below /api2/json
	Params  map[string]string `json:"params,omitempty" yaml:"params,omitempty"`
	Status  int               `json:"status" yaml:"status"`
	Error   string            `json:"error,omitempty" yaml:"error,omitempty"`
	UPID    string            `json:"upid,omitempty" yaml:"upid,omitempty"` // the task it started
}

// TaskRecord is one task of the cluster, running or finished.
type TaskRecord struct {
	UPID    string    `json:"upid" yaml:"upid"`
	Node    string    `json:"node" yaml:"node"`
	Type    string    `json:"type" yaml:"type"`
	ID      string    `json:"id,omitempty" yaml:"id,omitempty"`
	User    string    `json:"user" yaml:"user"`
	Start   time.Time `json:"start" yaml:"start"`
	End     time.Time `json:"end,omitzero" yaml:"end,omitempty"`
	Running bool      `json:"running" yaml:"running"`
	Status  string    `json:"status,omitempty" yaml:"status,omitempty"` // "OK", "WARNINGS: n", or the error
}

// Journal is what happened since the start or the last Reset: the calls
// that asked for a change, oldest first, and the tasks, oldest first
// (the scenario's backup history included).
type Journal struct {
	Calls []JournalEntry `json:"calls" yaml:"calls"`
	Tasks []TaskRecord   `json:"tasks" yaml:"tasks"`
}

// journalCall records a non-GET call to an existing endpoint, refused or not.
// err is the handler's (or the permission check's) error, status what
// went out.
func (s *Sim) journalCall(c *reqCtx, res any, err error, status int) {
	e := JournalEntry{Time: s.now(), Method: c.Method, Path: c.Path, Params: maskParams(c.Params), Status: status}
	if c.Principal != nil {
		e.TokenID = c.Principal.full()
	}
	if err != nil {
		e.Error = asAPIError(err).Msg
	} else if u, ok := res.(string); ok && strings.HasPrefix(u, "UPID:") && status == 200 {
		e.UPID = u
	}
	s.ctl.jmu.Lock()
	s.ctl.jseq++
	e.Seq = s.ctl.jseq
	if len(s.ctl.journal) >= maxJournal {
		s.ctl.journal = s.ctl.journal[len(s.ctl.journal)-maxJournal/2:]
	}
	s.ctl.journal = append(s.ctl.journal, e)
	var due []armedFault
	keep := s.ctl.armed[:0]
	for _, a := range s.ctl.armed {
		if a.seq <= s.ctl.jseq {
			due = append(due, a)
		} else {
			keep = append(keep, a)
		}
	}
	s.ctl.armed = keep
	s.ctl.jmu.Unlock()
	for _, a := range due {
		s.SetFault(a.target, a.f)
	}
}

// SetFaultState sets a fault given in the scenario's terms, after checking
// its target and values; with AfterCalls it is armed instead and takes
// effect once that many more change requests have been answered (a node
// failing in the middle of an agent's work).
func (s *Sim) SetFaultState(fs FaultState) error {
	if err := s.checkFaultTarget(fs.Target, fs.Offline); err != nil {
		return err
	}
	f, err := fs.Fault()
	if err != nil {
		return err
	}
	if fs.AfterCalls < 0 {
		return fmt.Errorf("after_calls %d: want 0 or more", fs.AfterCalls)
	}
	if fs.AfterCalls > 0 {
		s.ctl.jmu.Lock()
		s.ctl.armed = append(s.ctl.armed, armedFault{seq: s.ctl.jseq + fs.AfterCalls, target: fs.Target, f: f})
		s.ctl.jmu.Unlock()
		return nil
	}
	s.SetFault(fs.Target, f)
	return nil
}

// Journal returns the calls with a sequence number above since (0: all)
// and every task.
func (s *Sim) Journal(since int) Journal {
	s.ctl.jmu.Lock()
	var calls []JournalEntry
	for _, e := range s.ctl.journal {
		if e.Seq > since {
			e.Params = copyParams(e.Params)
			calls = append(calls, e)
		}
	}
	s.ctl.jmu.Unlock()
	if calls == nil {
		calls = []JournalEntry{}
	}
	return Journal{Calls: calls, Tasks: s.taskRecords()}
}

func copyParams(p map[string]string) map[string]string {
	if p == nil {
		return nil
	}
	out := make(map[string]string, len(p))
	for k, v := range p {
		out[k] = v
	}
	return out
}

func (s *Sim) taskRecords() []TaskRecord {
	out := []TaskRecord{}
	for _, n := range s.tasks.nodesWithTasks() {
		active, archive := s.tasks.nodeTasks(n)
		for _, t := range append(active, archive...) {
			r := TaskRecord{UPID: t.UPID, Node: t.Node, Type: t.Type, ID: t.ID, User: t.User,
				Start: time.Unix(t.StartTime, 0).UTC(), Running: t.Running, Status: t.Status}
			if t.End != 0 {
				r.End = time.Unix(t.End, 0).UTC()
			}
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// simClock wraps the configured clock with the harness's offset.
func (s *Sim) simClock(base func() time.Time) func() time.Time {
	return func() time.Time { return base().Add(time.Duration(s.ctl.clockOff.Load())) }
}

// Now is the simulated time.
func (s *Sim) Now() time.Time { return s.now() }

// AdvanceClock moves the simulated clock forward by d (never back: task
// and RRD history must stay in the past), e.g. to age backups or reach a
// forecast date.
func (s *Sim) AdvanceClock(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("pvesim: the clock only moves forward (got %s)", d)
	}
	s.ctl.clockOff.Add(int64(d))
	return nil
}

// Faults returns the faults in effect, by target.
func (s *Sim) Faults() map[string]Fault {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	out := make(map[string]Fault, len(s.faults))
	for k, v := range s.faults {
		out[k] = v
	}
	return out
}

// SaveSnapshot keeps a copy of the cluster state, the faults and the clock
// offset under name, for Reset(name). Tasks are not part of it.
func (s *Sim) SaveSnapshot(name string) error {
	if name == "" {
		return errors.New("pvesim: a snapshot needs a name")
	}
	s.mu.RLock()
	st := cloneState(s.st)
	s.mu.RUnlock()
	sv := &savedState{st: st, faults: s.Faults(), clockOff: s.ctl.clockOff.Load(), haMaster: s.haMasterName}
	s.ctl.smu.Lock()
	if s.ctl.saved == nil {
		s.ctl.saved = map[string]*savedState{}
	}
	s.ctl.saved[name] = sv
	s.ctl.smu.Unlock()
	return nil
}

// Snapshots lists the saved snapshot names.
func (s *Sim) Snapshots() []string {
	s.ctl.smu.Lock()
	defer s.ctl.smu.Unlock()
	return sortedKeys(s.ctl.saved)
}

// Reset brings the cluster back to the scenario's start (snapshot "") or
// to a saved snapshot: state, faults and clock. Running tasks are stopped;
// the journal, armed faults and the request log are emptied. A reset to
// the start also replaces the task list with the scenario's history; a
// reset to a snapshot keeps finished tasks. Call it between runs, while no
// client is mid-request: a request in flight may see either state.
func (s *Sim) Reset(snapshot string) error {
	select {
	case <-s.closed:
		return errors.New("pvesim: closed")
	default:
	}
	var sv *savedState
	var sc *scenario
	if snapshot != "" {
		s.ctl.smu.Lock()
		saved := s.ctl.saved[snapshot]
		s.ctl.smu.Unlock()
		if saved == nil {
			return fmt.Errorf("pvesim: no snapshot %q (saved: %s)", snapshot, strings.Join(s.Snapshots(), ", "))
		}
		// Copy again, so the snapshot can be restored more than once.
		sv = &savedState{st: cloneState(saved.st), faults: saved.faults, clockOff: saved.clockOff, haMaster: saved.haMaster}
	} else {
		var err error
		if s.opts.Generate != "" {
			sc, err = generateScenario(s.opts.Generate)
		} else {
			sc, err = loadScenario(s.opts.Scenario)
		}
		if err != nil {
			return err
		}
	}
	// Stop workers first: they may wait for the state lock.
	s.tasks.restart(snapshot == "")
	s.setFaultsQuietly(nil)

	s.mu.Lock()
	if sv != nil {
		s.ctl.clockOff.Store(sv.clockOff)
		s.st = sv.st
		s.haMasterName = sv.haMaster
	} else {
		// What Start does, on the same store and listeners.
		s.ctl.clockOff.Store(0)
		st, err := s.buildState(sc)
		if err != nil {
			s.mu.Unlock()
			return err
		}
		s.st = st
		for _, n := range st.Nodes {
			s.tasks.SetNodeBoot(n.Name, n.BootTime)
		}
		s.haMasterName = sc.HA.Master
		s.addBackupHistory(sc)
		s.buildDiag(sc)
		st.finishStorage()
	}
	s.mu.Unlock()

	if sv != nil {
		// The saved state already shows their consequences (HA recovery).
		s.setFaultsQuietly(sv.faults)
	} else {
		faults := map[string]Fault{}
		for _, f := range sc.Faults {
			faults[f.Target] = f.Fault
		}
		for _, n := range s.st.Nodes {
			if n.OfflineAt {
				f := faults[n.Name]
				f.Offline = true
				faults[n.Name] = f
			}
		}
		// As in Start: a node down from the start is treated as just lost.
		for _, t := range sortedKeys(faults) {
			s.SetFault(t, faults[t])
		}
	}
	s.ctl.jmu.Lock()
	s.ctl.journal = nil
	s.ctl.armed = nil
	s.ctl.jmu.Unlock()
	s.ResetRequests()
	return nil
}

// setFaultsQuietly replaces the faults without the consequences a change
// has (HA fencing or failback), only opening and closing node listeners.
func (s *Sim) setFaultsQuietly(faults map[string]Fault) {
	s.fmu.Lock()
	s.faults = map[string]Fault{}
	for t, f := range faults {
		s.faults[t] = f
	}
	s.faultSeq = map[string]uint64{}
	s.fmu.Unlock()
	for n, l := range s.nodeLns {
		if faults[n].Offline {
			l.stop()
		} else {
			l.start()
		}
	}
}

// restart stops every running worker and pending timer, then accepts new
// ones; clear also forgets every task.
func (ts *TaskStore) restart(clear bool) {
	ts.mu.Lock()
	if ts.closed {
		ts.mu.Unlock()
		return
	}
	ts.closed = true
	ts.mu.Unlock()
	ts.cancel()
	ts.wg.Wait()
	ts.mu.Lock()
	ts.ctx, ts.cancel = context.WithCancel(context.Background())
	ts.closed = false
	if clear {
		ts.byUPID = map[string]*task{}
		ts.byNode = map[string][]*task{}
		ts.checkpoints = map[int]bool{}
	}
	ts.mu.Unlock()
}

// cloneState deep-copies the model, keeping shared pointers shared (the
// node index and the node list point to the same nodes).
func cloneState(st *state) *state {
	c := cloneValue(reflect.ValueOf(st), map[ptrKey]reflect.Value{})
	return c.Interface().(*state)
}

type ptrKey struct {
	t reflect.Type
	p uintptr
}

var timeType = reflect.TypeOf(time.Time{})

func cloneValue(v reflect.Value, memo map[ptrKey]reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		k := ptrKey{v.Type(), v.Pointer()}
		if c, ok := memo[k]; ok {
			return c
		}
		c := reflect.New(v.Type().Elem())
		memo[k] = c
		c.Elem().Set(cloneValue(v.Elem(), memo))
		return c
	case reflect.Struct:
		if v.Type() == timeType {
			return v
		}
		src := v
		if !src.CanAddr() {
			src = reflect.New(v.Type()).Elem()
			src.Set(v)
		}
		out := reflect.New(v.Type()).Elem()
		for i := 0; i < v.NumField(); i++ {
			settable(out, i).Set(cloneValue(settable(src, i), memo))
		}
		return out
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			out.Index(i).Set(cloneValue(v.Index(i), memo))
		}
		return out
	case reflect.Array:
		out := reflect.New(v.Type()).Elem()
		for i := 0; i < v.Len(); i++ {
			out.Index(i).Set(cloneValue(v.Index(i), memo))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		it := v.MapRange()
		for it.Next() {
			out.SetMapIndex(cloneValue(it.Key(), memo), cloneValue(it.Value(), memo))
		}
		return out
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		out := reflect.New(v.Type()).Elem()
		out.Set(cloneValue(v.Elem(), memo))
		return out
	}
	return v
}

// settable is field i of an addressable struct, writable even when
// unexported (the model's indexes are).
func settable(v reflect.Value, i int) reflect.Value {
	f := v.Field(i)
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
}

// ClusterState is the cluster as it is now, in the vocabulary of the
// scenario format (same keys, examples/scenarios/README.md): what a
// harness checks after an agent's run. Guest config holds every key of the
// guest's configuration as Proxmox shows it.
type ClusterState struct {
	Cluster struct {
		Name string `json:"name" yaml:"name"`
	} `json:"cluster" yaml:"cluster"`
	Now    time.Time    `json:"now" yaml:"now"`
	Nodes  []NodeState  `json:"nodes" yaml:"nodes"`
	Guests []GuestState `json:"guests" yaml:"guests"`
	Pools  []PoolState  `json:"pools,omitempty" yaml:"pools,omitempty"`
	HA     struct {
		Resources []HAState `json:"resources,omitempty" yaml:"resources,omitempty"`
	} `json:"ha" yaml:"ha"`
	Faults []FaultState `json:"faults,omitempty" yaml:"faults,omitempty"`
}

// NodeState is one node.
type NodeState struct {
	Name   string `json:"name" yaml:"name"`
	Online bool   `json:"online" yaml:"online"`
}

// GuestState is one guest.
type GuestState struct {
	VMID          int               `json:"vmid" yaml:"vmid"`
	Type          string            `json:"type" yaml:"type"`
	Node          string            `json:"node" yaml:"node"`
	Name          string            `json:"name" yaml:"name"`
	Status        string            `json:"status" yaml:"status"`
	Template      bool              `json:"template,omitempty" yaml:"template,omitempty"`
	Cores         int               `json:"cores,omitempty" yaml:"cores,omitempty"`
	Memory        string            `json:"memory,omitempty" yaml:"memory,omitempty"` // "24576MiB"
	MemoryMiB     int               `json:"memory_mib,omitempty" yaml:"-"`
	Tags          []string          `json:"tags,omitempty" yaml:"tags,omitempty"`
	Pool          string            `json:"pool,omitempty" yaml:"pool,omitempty"`
	Lock          string            `json:"lock,omitempty" yaml:"lock,omitempty"`
	Config        map[string]string `json:"config" yaml:"config"`
	Pending       map[string]string `json:"pending,omitempty" yaml:"pending,omitempty"` // changes waiting for a restart
	PendingDelete []string          `json:"pending_delete,omitempty" yaml:"pending_delete,omitempty"`
	Snapshots     []SnapshotState   `json:"snapshots,omitempty" yaml:"snapshots,omitempty"`
}

// SnapshotState is one guest snapshot.
type SnapshotState struct {
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	VMState     bool   `json:"vmstate,omitempty" yaml:"vmstate,omitempty"`
}

// PoolState is one resource pool.
type PoolState struct {
	ID  string `json:"id" yaml:"id"`
	VMs []int  `json:"vms,omitempty" yaml:"vms,omitempty"`
}

// HAState is one HA resource.
type HAState struct {
	SID   string `json:"sid" yaml:"sid"`
	State string `json:"state" yaml:"state"`
	Group string `json:"group,omitempty" yaml:"group,omitempty"`
}

// FaultState is one fault in effect, with the scenario's keys.
type FaultState struct {
	Target        string  `json:"target" yaml:"target"`
	Offline       bool    `json:"offline,omitempty" yaml:"offline,omitempty"`
	Latency       string  `json:"latency,omitempty" yaml:"latency,omitempty"`
	ErrorRate     float64 `json:"error_rate,omitempty" yaml:"error_rate,omitempty"`
	Hang          bool    `json:"hang,omitempty" yaml:"hang,omitempty"`
	MalformedJSON bool    `json:"malformed_json,omitempty" yaml:"malformed_json,omitempty"`
	HTMLPage      bool    `json:"html_page,omitempty" yaml:"html_page,omitempty"`
	ChangedCert   bool    `json:"changed_cert,omitempty" yaml:"changed_cert,omitempty"`
	RevokedToken  string  `json:"revoked_token,omitempty" yaml:"revoked_token,omitempty"`
	// AfterCalls arms the fault: it takes effect after this many more
	// change requests (only when setting it).
	AfterCalls int `json:"after_calls,omitempty" yaml:"after_calls,omitempty"`
}

// Fault converts back.
func (f FaultState) Fault() (Fault, error) {
	out := Fault{Offline: f.Offline, ErrorRate: f.ErrorRate, Hang: f.Hang, MalformedJSON: f.MalformedJSON,
		HTMLPage: f.HTMLPage, ChangedCert: f.ChangedCert, RevokedToken: f.RevokedToken}
	if f.ErrorRate < 0 || f.ErrorRate > 1 {
		return Fault{}, fmt.Errorf("error_rate %v: want 0..1", f.ErrorRate)
	}
	if f.Latency != "" {
		d, err := time.ParseDuration(f.Latency)
		if err != nil || d < 0 {
			return Fault{}, fmt.Errorf("latency %q: want a duration like 200ms", f.Latency)
		}
		out.Latency = d
	}
	return out, nil
}

func faultState(target string, f Fault) FaultState {
	fs := FaultState{Target: target, Offline: f.Offline, ErrorRate: f.ErrorRate, Hang: f.Hang, MalformedJSON: f.MalformedJSON,
		HTMLPage: f.HTMLPage, ChangedCert: f.ChangedCert, RevokedToken: f.RevokedToken}
	if f.Latency > 0 {
		fs.Latency = f.Latency.String()
	}
	return fs
}

// State returns the cluster as it is now.
func (s *Sim) State() ClusterState {
	var cs ClusterState
	cs.Now = s.now().UTC()
	s.mu.RLock()
	cs.Cluster.Name = s.st.Name
	for _, n := range s.st.Nodes {
		cs.Nodes = append(cs.Nodes, NodeState{Name: n.Name, Online: !s.nodeOffline(n.Name)})
	}
	ids := make([]int, 0, len(s.st.Guests))
	for id := range s.st.Guests {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	for _, id := range ids {
		g := s.st.Guests[id]
		gs := GuestState{VMID: g.VMID, Type: g.Type, Node: g.Node, Status: g.Status, Pool: g.Pool, Lock: g.Lock, Config: map[string]string{}}
		for _, k := range g.Conf.Keys() {
			gs.Config[k] = g.Conf.Get(k)
		}
		gs.Name = gs.Config["name"]
		if g.Type == "lxc" {
			gs.Name = gs.Config["hostname"]
		}
		gs.Template = gs.Config["template"] == "1"
		gs.Cores, _ = strconv.Atoi(gs.Config["cores"])
		if m, err := strconv.Atoi(gs.Config["memory"]); err == nil {
			gs.MemoryMiB, gs.Memory = m, fmt.Sprintf("%dMiB", m)
		}
		if t := gs.Config["tags"]; t != "" {
			gs.Tags = strings.FieldsFunc(t, func(r rune) bool { return r == ';' || r == ',' || r == ' ' })
		}
		if g.Pending != nil && len(g.Pending.Keys()) > 0 {
			gs.Pending = map[string]string{}
			for _, k := range g.Pending.Keys() {
				gs.Pending[k] = g.Pending.Get(k)
			}
		}
		for k := range g.PendingDel {
			gs.PendingDelete = append(gs.PendingDelete, k)
		}
		sort.Strings(gs.PendingDelete)
		for _, sn := range g.Snapshots {
			gs.Snapshots = append(gs.Snapshots, SnapshotState{Name: sn.Name, Description: sn.Description, VMState: sn.VMState})
		}
		cs.Guests = append(cs.Guests, gs)
	}
	for _, p := range s.st.Pools {
		cs.Pools = append(cs.Pools, PoolState{ID: p.ID, VMs: append([]int(nil), p.VMs...)})
	}
	for _, r := range s.st.HAResources {
		cs.HA.Resources = append(cs.HA.Resources, HAState{SID: r.SID, State: r.State, Group: r.Group})
	}
	s.mu.RUnlock()
	faults := s.Faults()
	for _, t := range sortedKeys(faults) {
		cs.Faults = append(cs.Faults, faultState(t, faults[t]))
	}
	return cs
}

// Effective is a config key's value once pending changes apply: the
// pending value if there is one, "" if its deletion is pending.
func (g *GuestState) Effective(key string) string {
	if v, ok := g.Pending[key]; ok {
		return v
	}
	if slices.Contains(g.PendingDelete, key) {
		return ""
	}
	return g.Config[key]
}

// Guest returns one guest of a state, or nil.
func (cs ClusterState) Guest(vmid int) *GuestState {
	for i := range cs.Guests {
		if cs.Guests[i].VMID == vmid {
			return &cs.Guests[i]
		}
	}
	return nil
}
