package toolkit

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"sync"
)

// Hints are the four MCP tool annotation hints. Every tool states all four;
// mcp-go would otherwise default a tool to destructive and open-world.
type Hints struct {
	ReadOnly    bool
	Destructive bool
	Idempotent  bool
	OpenWorld   bool
}

// ReadHints are the hints of every read tool: read-only, not destructive,
// idempotent, closed world (only the configured Proxmox cluster).
var ReadHints = Hints{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: false}

// Toolsets group tools for registration, documentation and serving: a
// client sees the default toolsets at first and turns the others on at run
// time (toolsets.go).
const (
	ToolsetInventory   = "inventory"
	ToolsetMetrics     = "metrics"
	ToolsetStorage     = "storage"
	ToolsetHA          = "ha"
	ToolsetBackup      = "backup"
	ToolsetTasks       = "tasks"
	ToolsetCapacity    = "capacity"
	ToolsetAccess      = "access"
	ToolsetWrite       = "write"
	ToolsetSnapshots   = "snapshots"
	ToolsetLifecycle   = "lifecycle"
	ToolsetAgent       = "agent"
	ToolsetDiagnostics = "diagnostics"
	// ToolsetDiscovery holds list_toolsets and enable_toolset; it is
	// always served (toolsets.go).
	ToolsetDiscovery = "discovery"
)

// ToolsetInfo names a toolset and says in one line what it answers.
type ToolsetInfo struct {
	Name        string
	Description string
}

// toolsetCatalog lists every toolset in catalog order with its one-line
// description (list_toolsets, serve --help, pvemcp tools, the README).
var toolsetCatalog = []ToolsetInfo{
	{ToolsetInventory, "cluster overview, guests and one guest's details"},
	{ToolsetMetrics, "CPU, memory, disk and network history of nodes, guests and storage"},
	{ToolsetStorage, "storage usage, contents and ZFS pool health"},
	{ToolsetHA, "high-availability resources, groups and quorum"},
	{ToolsetBackup, "backup jobs, their runs and per-guest results, guests not backed up"},
	{ToolsetTasks, "recent tasks and one task's log"},
	{ToolsetCapacity, "vCPU and RAM commitment, storage forecasts, rebalancing"},
	{ToolsetAccess, "what pvemcp's API token may do"},
	{ToolsetWrite, "power, migrate, create and resize guests; confirm_plan"},
	{ToolsetSnapshots, "snapshots and backups on demand: list, take, roll back, back up now, restore, delete"},
	{ToolsetLifecycle, "clone, convert to template, delete guests"},
	{ToolsetAgent, "QEMU guest agent: OS info, run a command"},
	{ToolsetDiagnostics, "node logs and health, replication, Ceph, firewall"},
	{ToolsetDiscovery, "list the toolsets and turn one on"},
}

// DefaultToolsets are the toolsets served from the start when none are
// named (--toolsets, config): they answer most questions and keep the
// model-facing catalog small. The write toolset is left out by --read-only.
// Every other toolset is one enable_toolset call away.
var DefaultToolsets = []string{
	ToolsetInventory, ToolsetMetrics, ToolsetStorage, ToolsetHA, ToolsetBackup,
	ToolsetTasks, ToolsetCapacity, ToolsetAccess, ToolsetWrite,
}

// Meta describes a tool. Hints is a pointer so that forgetting it is caught
// at registration instead of silently meaning "all false".
type Meta struct {
	Name        string
	Title       string
	Description string
	Toolset     string
	Hints       *Hints
	// Needs are the Proxmox privileges the tool needs (check_permissions
	// reports them); NeedsNothing for a tool that needs none of its own.
	// nil is refused at registration, so a tool cannot forget them.
	Needs []Need
}

// Need is one privilege a tool needs on a general path; a grant on a path
// below it (one guest, one storage) makes the tool work there only.
type Need struct{ Priv, Path string }

// NeedsNothing is the Needs of a tool that needs no privilege of its own.
var NeedsNothing = []Need{}

// Tool is an SDK-independent tool: metadata, reflected schemas and a typed
// handler behind an untyped invoke.
type Tool struct {
	Meta
	InputSchema  json.RawMessage
	OutputSchema json.RawMessage

	in     *Schema
	argsT  reflect.Type
	invoke func(ctx context.Context, args reflect.Value) (any, error)
}

// Write reports a tool that can change state (derived from the read-only hint).
func (t *Tool) Write() bool { return !t.Hints.ReadOnly }

var toolNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{1,63}$`)

// New builds a tool from a plain Go function. A is the argument struct
// (reflected into the input schema and strictly decoded); R is the result
// struct (reflected into the output schema, then merged with the common
// envelope). New panics on a programming error (bad metadata or types), so
// a broken tool fails at start-up and in every test.
func New[A any, R any](m Meta, fn func(ctx context.Context, args A) (R, error)) *Tool {
	t, err := build(m, reflect.TypeFor[A](), reflect.TypeFor[R](), func(ctx context.Context, v reflect.Value) (any, error) {
		return fn(ctx, v.Interface().(A))
	})
	if err != nil {
		panic(fmt.Sprintf("tool %s: %v", m.Name, err))
	}
	return t
}

// NoArgs is the argument type of a tool without arguments.
type NoArgs struct{}

func build(m Meta, at, rt reflect.Type, invoke func(context.Context, reflect.Value) (any, error)) (*Tool, error) {
	switch {
	case !toolNameRE.MatchString(m.Name):
		return nil, fmt.Errorf("name must be snake_case")
	case m.Title == "":
		return nil, fmt.Errorf("title missing")
	case m.Description == "":
		return nil, fmt.Errorf("description missing")
	case m.Toolset == "":
		return nil, fmt.Errorf("toolset missing")
	case m.Hints == nil:
		return nil, fmt.Errorf("hints missing: set all four explicitly (toolkit.ReadHints for reads)")
	case m.Needs == nil:
		return nil, fmt.Errorf("needs missing: list the Proxmox privileges it needs (toolkit.NeedsNothing if none)")
	case m.Hints.ReadOnly && m.Hints.Destructive:
		return nil, fmt.Errorf("a read-only tool cannot be destructive")
	}
	if at.Kind() != reflect.Struct {
		return nil, fmt.Errorf("arguments must be a struct, got %s", at)
	}
	if rt.Kind() != reflect.Struct {
		return nil, fmt.Errorf("result must be a struct, got %s", rt)
	}
	in, err := reflectSchema(at, true)
	if err != nil {
		return nil, fmt.Errorf("arguments: %w", err)
	}
	out, err := reflectSchema(rt, false)
	if err != nil {
		return nil, fmt.Errorf("result: %w", err)
	}
	for _, n := range envelopeNames {
		if out.Properties[n] != nil {
			return nil, fmt.Errorf("result field %q collides with the envelope", n)
		}
	}
	addEnvelope(out)
	h := *m.Hints
	m.Hints = &h
	return &Tool{Meta: m, InputSchema: marshalSchema(in), OutputSchema: marshalSchema(out), in: in, argsT: at, invoke: invoke}, nil
}

// registry holds every tool registered (by package tools, from init).
var registry struct {
	mu    sync.Mutex
	tools map[string]*Tool
}

// Register adds tools to the catalog; tool files call it from init. A
// duplicate name panics.
func Register(ts ...*Tool) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if registry.tools == nil {
		registry.tools = map[string]*Tool{}
	}
	for _, t := range ts {
		if _, dup := registry.tools[t.Name]; dup {
			panic("tool registered twice: " + t.Name)
		}
		registry.tools[t.Name] = t
	}
}

// All returns every registered tool, sorted by toolset then name.
func All() []*Tool {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	out := make([]*Tool, 0, len(registry.tools))
	for _, t := range registry.tools {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Toolset != out[j].Toolset {
			return toolsetRank(out[i].Toolset) < toolsetRank(out[j].Toolset)
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func toolsetRank(s string) int {
	for i, ts := range toolsetCatalog {
		if ts.Name == s {
			return i
		}
	}
	return len(toolsetCatalog)
}

// Select returns the tools to serve: without write tools when readOnly, and
// only the named toolsets when toolsets is not empty.
func Select(readOnly bool, toolsets []string) []*Tool {
	var out []*Tool
	for _, t := range All() {
		if readOnly && t.Write() {
			continue
		}
		if len(toolsets) > 0 && !contains(toolsets, t.Toolset) {
			continue
		}
		out = append(out, t)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
