package pvesim

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The task engine: every write of the simulator runs as a Proxmox worker task with a UPID, a log that grows
// while it runs and a final "TASK ..." line, exactly as pve-common's fork_worker and UPID.pm produce them.
//
// A worker (taskFunc) checks what the real worker checks, sleeps for a realistic duration scaled by the
// speed factor (Options.TaskSpeed, Sim.SetTaskSpeed: 1 realistic, 0 instant), and applies its state change
// under the simulator's state lock at the moment Proxmox would. Its error becomes "TASK ERROR: <first line>",
// warnings "TASK WARNINGS: N". Past tasks (the scenario's vzdump runs) enter through AddFinished. Stopping a
// task (DELETE .../tasks/{upid}) or closing the simulator interrupts its sleeps: "received interrupt".

// upidRe is the decode regex of pve-common UPID.pm (pstart may have 9 hex digits).
var upidRe = regexp.MustCompile(`^UPID:([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$`)

// upidInfo is a decoded UPID.
type upidInfo struct {
	Node      string
	PID       uint32
	PStart    uint64
	StartTime int64
	Type      string
	ID        string
	User      string // full user, "user@realm!tokenid" for tokens
}

func encodeUPID(u upidInfo) string {
	return fmt.Sprintf("UPID:%s:%08X:%08X:%08X:%s:%s:%s:", u.Node, u.PID, u.PStart, u.StartTime, u.Type, u.ID, u.User)
}

func decodeUPID(s string) (upidInfo, bool) {
	m := upidRe.FindStringSubmatch(s)
	if m == nil {
		return upidInfo{}, false
	}
	pid, _ := strconv.ParseUint(m[3], 16, 32)
	pstart, _ := strconv.ParseUint(m[4], 16, 64)
	st, _ := strconv.ParseInt(m[5], 16, 64)
	return upidInfo{Node: m[1], PID: uint32(pid), PStart: pstart, StartTime: st, Type: m[6], ID: m[7], User: m[8]}, true
}

// splitTokenUser splits "user@realm!tokenid" into user and token id, as Tasks.pm does for its output.
func splitTokenUser(full string) (user, tokenid string) {
	if i := strings.LastIndexByte(full, '!'); i > 0 && strings.Contains(full[:i], "@") && i < len(full)-1 {
		return full[:i], full[i+1:]
	}
	return full, ""
}

// normalizeStatusType maps an exit status to ok|warning|error|unknown (PVE::UPID::normalize_status_type).
func normalizeStatusType(status string) string {
	switch {
	case status == "":
		return "unknown"
	case status == "OK":
		return "ok"
	case warningsRe.MatchString(status):
		return "warning"
	case status == "unexpected status":
		return "unknown"
	default:
		return "error"
	}
}

var warningsRe = regexp.MustCompile(`^WARNINGS: \d+$`)

// statusFromLastLine is PVE::UPID::read_status on the last log line.
func statusFromLastLine(line string) string {
	switch {
	case line == "TASK OK":
		return "OK"
	case strings.HasPrefix(line, "TASK ERROR: ") && len(line) > len("TASK ERROR: "):
		return strings.TrimPrefix(line, "TASK ERROR: ")
	case strings.HasPrefix(line, "TASK WARNINGS: ") && warningsRe.MatchString(strings.TrimPrefix(line, "TASK ")):
		return strings.TrimPrefix(line, "TASK ")
	}
	return "unexpected status"
}

// finalLine is the line fork_worker writes when a worker ends with the given exit status.
func finalLine(status string) string {
	switch {
	case status == "OK":
		return "TASK OK"
	case warningsRe.MatchString(status):
		return "TASK " + status
	}
	return "TASK ERROR: " + status
}

// task is one worker task, running or finished.
type task struct {
	upidInfo
	upid    string
	seq     uint64 // insertion order, breaks ties between equal timestamps
	end     int64  // epoch; 0 while running
	status  string // exit status; "" while running
	log     []string
	warns   int
	running bool
	done    chan struct{}
	cancel  context.CancelFunc
}

// TaskStore holds every task of one simulated cluster, per node. It is safe for concurrent use and has its
// own mutex: callers may hold the simulator's state lock when calling it, never the other way round.
type TaskStore struct {
	now func() time.Time

	mu     sync.Mutex
	speed  float64
	seq    uint64
	byUPID map[string]*task
	byNode map[string][]*task // in insertion order; listings sort
	pids   map[string]uint32
	boot   map[string]int64 // node boot epoch, for pstart

	// checkpoints are containers suspended with lxc-checkpoint: state of the write workflows that has no
	// place in the Proxmox config model.
	checkpoints map[int]bool

	closed bool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// newTaskStore makes a store reading time from now (the simulator clock). speed scales worker durations:
// 1 realistic, 0 instant, 0.1 ten times faster.
func newTaskStore(now func() time.Time, speed float64) *TaskStore {
	if now == nil {
		now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &TaskStore{
		now:         now,
		speed:       clampSpeed(speed),
		byUPID:      map[string]*task{},
		byNode:      map[string][]*task{},
		pids:        map[string]uint32{},
		boot:        map[string]int64{},
		ctx:         ctx,
		checkpoints: map[int]bool{},
		cancel:      cancel,
	}
}

func clampSpeed(f float64) float64 {
	if f < 0 || f != f {
		return 0
	}
	return f
}

// setSpeed changes the duration factor of workers from now on.
func (ts *TaskStore) setSpeed(f float64) {
	ts.mu.Lock()
	ts.speed = clampSpeed(f)
	ts.mu.Unlock()
}

// SetNodeBoot records a node's boot time so PSTART (clock ticks since boot) is coherent with its uptime.
func (ts *TaskStore) SetNodeBoot(node string, boot time.Time) {
	ts.mu.Lock()
	ts.boot[node] = boot.Unix()
	ts.mu.Unlock()
}

// close stops all running workers (their tasks end with "received interrupt") and waits for them.
func (ts *TaskStore) close() {
	ts.mu.Lock()
	ts.closed = true // no new goroutines from now on, so Wait cannot race with Add
	ts.mu.Unlock()
	ts.cancel()
	ts.wg.Wait()
}

// scaled is d at the store's speed factor.
func (ts *TaskStore) scaled(d time.Duration) time.Duration {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return time.Duration(float64(d) * ts.speed)
}

// after runs fn once d (scaled by the speed factor) has passed, unless the store closes first. The
// simulated HA stack uses it to act a CRM round after a request.
func (ts *TaskStore) after(d time.Duration, fn func()) {
	ts.mu.Lock()
	scaled := time.Duration(float64(d) * ts.speed)
	if ts.closed {
		ts.mu.Unlock()
		return
	}
	ts.wg.Add(1)
	ts.mu.Unlock()
	go func() {
		defer ts.wg.Done()
		tm := time.NewTimer(scaled)
		defer tm.Stop()
		select {
		case <-ts.ctx.Done():
		case <-tm.C:
			fn()
		}
	}()
}

func (ts *TaskStore) checkpointed(vmid int) bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.checkpoints[vmid]
}

func (ts *TaskStore) setCheckpoint(vmid int, on bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if on {
		ts.checkpoints[vmid] = true
	} else {
		delete(ts.checkpoints, vmid)
	}
}

// nextIDs allocates a PID and computes PSTART for a task starting at start on node. Caller holds ts.mu.
func (ts *TaskStore) nextIDs(node string, start int64) (uint32, uint64) {
	pid, ok := ts.pids[node]
	if !ok {
		h := fnv.New32a()
		h.Write([]byte(node))
		pid = 200000 + h.Sum32()%400000
	}
	// Real PIDs are not consecutive: other processes take numbers in between.
	pid += 3 + uint32((ts.seq*7919)%97)
	if pid > 4000000 {
		pid = 1000
	}
	ts.pids[node] = pid
	boot, ok := ts.boot[node]
	if !ok {
		boot = ts.now().Unix() - 14*86400
	}
	// Tasks that started before the current boot belonged to an earlier boot: keep pstart positive and plausible.
	since := start - boot
	const period = 180 * 86400
	since = ((since % period) + period) % period
	return pid, uint64(since)*100 + uint64(ts.seq%100) + 1000
}

// insert registers t (upid computed here). Caller holds ts.mu.
func (ts *TaskStore) insert(t *task) {
	ts.seq++
	t.seq = ts.seq
	t.PID, t.PStart = ts.nextIDs(t.Node, t.StartTime)
	t.upid = encodeUPID(t.upidInfo)
	for ts.byUPID[t.upid] != nil { // same second, same pid: cannot happen in Proxmox, avoid it here too
		t.PID++
		t.upid = encodeUPID(t.upidInfo)
	}
	ts.byUPID[t.upid] = t
	ts.byNode[t.Node] = append(ts.byNode[t.Node], t)
}

// FinishedTask describes a task that ran in the past (scenario history such as vzdump runs).
type FinishedTask struct {
	Node, Type, ID, User string // User "root@pam" or "user@realm!tokenid"; ID "" for multi-guest vzdump jobs
	Start, End           time.Time
	// Log lines. If the last line starts with "TASK " it is kept and the status derived from it; otherwise
	// a final line is appended from Status.
	Log []string
	// Status "OK", "WARNINGS: 1", "job errors" or any error text; derived from the log when empty.
	Status string
}

// AddFinished records a finished task and returns its UPID.
func (ts *TaskStore) AddFinished(ft FinishedTask) string {
	lines := append([]string(nil), ft.Log...)
	status := ft.Status
	if n := len(lines); n > 0 && strings.HasPrefix(lines[n-1], "TASK ") {
		status = statusFromLastLine(lines[n-1])
	} else {
		if status == "" {
			status = "OK"
		}
		lines = append(lines, finalLine(status))
	}
	end := ft.End
	if end.Before(ft.Start) {
		end = ft.Start
	}
	user := ft.User
	if user == "" {
		user = "root@pam"
	}
	t := &task{
		upidInfo: upidInfo{Node: ft.Node, StartTime: ft.Start.Unix(), Type: ft.Type, ID: ft.ID, User: user},
		end:      end.Unix(),
		status:   status,
		log:      lines,
		done:     make(chan struct{}),
	}
	close(t.done)
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.insert(t)
	return t.upid
}

// worker is what a running task's function sees.
type worker struct {
	ts  *TaskStore
	t   *task
	ctx context.Context
}

// Log appends a log line.
func (w *worker) Log(format string, args ...any) {
	line := format
	if len(args) > 0 {
		line = fmt.Sprintf(format, args...)
	}
	w.ts.mu.Lock()
	w.t.log = append(w.t.log, strings.Split(line, "\n")...)
	w.ts.mu.Unlock()
}

// LogTS appends a line prefixed with the local time, as migration logs are.
func (w *worker) LogTS(format string, args ...any) {
	w.Log(w.ts.now().UTC().Format("2006-01-02 15:04:05")+" "+format, args...)
}

// Warn logs "WARN: ..." and counts it, ending the task with "TASK WARNINGS: N".
func (w *worker) Warn(format string, args ...any) {
	w.Log("WARN: "+format, args...)
	w.ts.mu.Lock()
	w.t.warns++
	w.ts.mu.Unlock()
}

// errInterrupted is the error a stopped worker dies with (fork_worker's signal handler).
var errInterrupted = errors.New("received interrupt")

// Sleep waits for d scaled by the store's speed factor. It returns errInterrupted when the task is
// stopped or the simulator closes.
func (w *worker) Sleep(d time.Duration) error {
	w.ts.mu.Lock()
	f := w.ts.speed
	w.ts.mu.Unlock()
	scaled := time.Duration(float64(d) * f)
	if scaled <= 0 {
		select {
		case <-w.ctx.Done():
			return errInterrupted
		default:
			return nil
		}
	}
	tm := time.NewTimer(scaled)
	defer tm.Stop()
	select {
	case <-w.ctx.Done():
		return errInterrupted
	case <-tm.C:
		return nil
	}
}

// taskFunc is the body of a worker: it logs, sleeps and applies its state change. A non-nil error ends
// the task with "TASK ERROR: <err>".
type taskFunc func(w *worker) error

// start creates a running task and runs fn in a goroutine. It returns the UPID at once, as the API does.
func (ts *TaskStore) start(node, typ, id, user string, fn taskFunc) string {
	ctx, cancel := context.WithCancel(ts.ctx)
	t := &task{
		upidInfo: upidInfo{Node: node, StartTime: ts.now().Unix(), Type: typ, ID: id, User: user},
		running:  true,
		done:     make(chan struct{}),
		cancel:   cancel,
	}
	ts.mu.Lock()
	ts.insert(t)
	if ts.closed {
		// The simulator is shutting down: the worker dies before it runs.
		t.running, t.status, t.end = false, errInterrupted.Error(), t.StartTime
		t.log = append(t.log, finalLine(t.status))
		ts.mu.Unlock()
		cancel()
		close(t.done)
		return t.upid
	}
	ts.wg.Add(1)
	ts.mu.Unlock()
	w := &worker{ts: ts, t: t, ctx: ctx}
	go func() {
		defer ts.wg.Done()
		defer cancel()
		err := runWorker(fn, w)
		ts.mu.Lock()
		switch {
		case err != nil:
			t.status = strings.SplitN(strings.TrimRight(err.Error(), "\n"), "\n", 2)[0]
			if t.status == "" {
				t.status = "unexpected status"
			}
		case t.warns > 0:
			t.status = fmt.Sprintf("WARNINGS: %d", t.warns)
		default:
			t.status = "OK"
		}
		t.log = append(t.log, finalLine(t.status))
		t.end = ts.now().Unix()
		if t.end < t.StartTime {
			t.end = t.StartTime
		}
		t.running = false
		ts.mu.Unlock()
		close(t.done)
	}()
	return t.upid
}

// runWorker turns a panic in a task body into a task error instead of killing the simulator.
func runWorker(fn taskFunc, w *worker) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: %v", r)
		}
	}()
	return fn(w)
}

// stop interrupts a running task; it is a no-op on finished ones, as Proxmox's check_worker is.
func (ts *TaskStore) stop(upid string) {
	ts.mu.Lock()
	t := ts.byUPID[upid]
	ts.mu.Unlock()
	if t != nil && t.cancel != nil {
		t.cancel()
	}
}

// wait blocks until the task ends or ctx is done.
func (ts *TaskStore) wait(ctx context.Context, upid string) error {
	ts.mu.Lock()
	t := ts.byUPID[upid]
	ts.mu.Unlock()
	if t == nil {
		return fmt.Errorf("no such task %q", upid)
	}
	select {
	case <-t.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// taskView is a snapshot of one task, taken under the store lock.
type taskView struct {
	upidInfo
	UPID    string
	End     int64
	Status  string
	Running bool
	seq     uint64
}

func (t *task) view() taskView {
	return taskView{upidInfo: t.upidInfo, UPID: t.upid, End: t.end, Status: t.status, Running: t.running, seq: t.seq}
}

// get returns a snapshot of a task.
func (ts *TaskStore) get(upid string) (taskView, bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t := ts.byUPID[upid]
	if t == nil {
		return taskView{}, false
	}
	return t.view(), true
}

// logLines returns a copy of a task's log.
func (ts *TaskStore) logLines(upid string) ([]string, bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t := ts.byUPID[upid]
	if t == nil {
		return nil, false
	}
	return append([]string(nil), t.log...), true
}

// nodeTasks returns a node's tasks: the running ones (newest start first) and the finished ones in
// archive order (most recently ended first, as the task index file is read backwards).
func (ts *TaskStore) nodeTasks(node string) (active, archive []taskView) {
	ts.mu.Lock()
	for _, t := range ts.byNode[node] {
		if t.running {
			active = append(active, t.view())
		} else {
			archive = append(archive, t.view())
		}
	}
	ts.mu.Unlock()
	sort.Slice(active, func(i, j int) bool {
		if active[i].StartTime != active[j].StartTime {
			return active[i].StartTime > active[j].StartTime
		}
		return active[i].seq > active[j].seq
	})
	sort.Slice(archive, func(i, j int) bool {
		if archive[i].End != archive[j].End {
			return archive[i].End > archive[j].End
		}
		return archive[i].seq > archive[j].seq
	})
	return active, archive
}

// nodesWithTasks lists the nodes that have at least one task, sorted.
func (ts *TaskStore) nodesWithTasks() []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	out := sortedKeys(ts.byNode)
	return out
}
