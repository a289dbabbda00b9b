package toolkit

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Toolsets at run time.
//
// A server holds a set of tools (its universe, e.g. every tool, without the
// write tools under --read-only) and serves at first only those of its start
// toolsets (DefaultToolsets unless --toolsets names others). The discovery
// tools list_toolsets and enable_toolset (tools/toolsets.go), always served, let a client turn
// the other toolsets on, in the two protocol eras as each allows:
//
//   - 2025-11-25 (initialize, sessions: stdio and stateful HTTP): the enabled
//     set belongs to the session. enable_toolset adds the toolset to it and
//     sends notifications/tools/list_changed to that session, whose next
//     tools/list shows the new tools. Other sessions see no change.
//   - 2026-07-28 (stateless): there is no session, and the specification
//     forbids a tool list that varies per connection or as a side effect of
//     other requests (tools/list is cacheable). The enabled set travels
//     with the request instead: the request may name its toolsets
//     (WithRequestToolsets; over HTTP the X-MCP-Toolsets header, as
//     github-mcp-server's remote server does), else it gets the start set;
//     tools/call accepts any tool of the universe by name, and
//     enable_toolset answers with the toolset's full tool definitions
//     (input schemas included) so the model can call them at once. It
//     changes nothing, so no list_changed is sent.
//
// Hiding a tool is about the model's context, not access: the universe is
// what the configuration allows, and every call still goes through the
// argument checks, the token's Proxmox permissions and, for writes, the
// approval gate. The HTTP principal is deliberately not the carrier: one
// bearer token serves many conversations, and one conversation's choice
// would leak into the others' tool lists.

// ToolsetCatalog returns every known toolset, in catalog order, with its
// one-line description (whether or not a tool of it is registered).
func ToolsetCatalog() []ToolsetInfo { return slices.Clone(toolsetCatalog) }

// ToolsetDescription returns the one-line description of a toolset ("" for
// an unknown one).
func ToolsetDescription(name string) string {
	for _, ts := range toolsetCatalog {
		if ts.Name == name {
			return ts.Description
		}
	}
	return ""
}

// ToolsetNames returns the names of every known toolset in catalog order.
func ToolsetNames() []string {
	out := make([]string, len(toolsetCatalog))
	for i, ts := range toolsetCatalog {
		out[i] = ts.Name
	}
	return out
}

// ResolveToolsets expands a --toolsets list: "default" stands for
// DefaultToolsets and "all" for every toolset; other names must be known
// toolsets. An empty list is the default. Unknown names are refused with
// the list of known ones. The result is deduplicated, in catalog order.
func ResolveToolsets(names []string) ([]string, error) {
	if len(names) == 0 {
		names = []string{"default"}
	}
	want := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(strings.ToLower(n))
		switch {
		case n == "default":
			for _, d := range DefaultToolsets {
				want[d] = true
			}
		case n == "all":
			for _, d := range ToolsetNames() {
				want[d] = true
			}
		case ToolsetDescription(n) != "":
			want[n] = true
		default:
			return nil, fmt.Errorf("unknown toolset %q (known: %s; or default, all)", n, strings.Join(ToolsetNames(), ", "))
		}
	}
	var out []string
	for _, n := range ToolsetNames() {
		if want[n] {
			out = append(out, n)
		}
	}
	return out, nil
}

// Visible returns the tools of ts that belong to the named toolsets, in
// ts's order. confirm_plan comes with any write tool (a plan is useless
// without it), and the discovery tools are always visible.
func Visible(ts []*Tool, toolsets []string) []*Tool {
	var out []*Tool
	write := false
	for _, t := range ts {
		if slices.Contains(toolsets, t.Toolset) && t.Write() {
			write = true
		}
	}
	for _, t := range ts {
		if slices.Contains(toolsets, t.Toolset) || t.Toolset == ToolsetDiscovery || (write && t.Name == ConfirmPlanName) {
			out = append(out, t)
		}
	}
	return out
}

// ConfirmPlanName names the tool that carries out plans: it comes with any
// write tool (Visible).
const ConfirmPlanName = "confirm_plan"

// dynamic is the run-time toolset state of a server started with
// StartWith.
type dynamic struct {
	start []string // toolsets served from the start
	mu    sync.Mutex
	// sessions holds the toolsets each 2025-era session enabled.
	sessions map[string][]string
}

// StartWith makes s serve at first only the tools of the named toolsets
// (and the discovery tools); enable_toolset turns on the others among s's
// tools. Without it every tool of s is served from the start.
func (s *Server) StartWith(toolsets []string) *Server {
	s.dyn = &dynamic{start: slices.Clone(toolsets), sessions: map[string][]string{}}
	return s
}

// StartTools returns the tools served from the start, in catalog order.
func (s *Server) StartTools() []*Tool {
	if s.dyn == nil {
		return s.tools
	}
	return Visible(s.tools, s.dyn.start)
}

// ServedToolsets returns the toolsets of s's tools, in catalog order.
func (s *Server) ServedToolsets() []string {
	var out []string
	for _, t := range s.tools {
		if t.Toolset != ToolsetDiscovery && !slices.Contains(out, t.Toolset) {
			out = append(out, t.Toolset)
		}
	}
	return out
}

// BaseToolsets returns the toolsets a request starts from: those it names
// (WithRequestToolsets, e.g. an HTTP header) or the server's start set.
func (s *Server) BaseToolsets(ctx context.Context) []string {
	if ts, ok := ctx.Value(requestToolsetsKey{}).([]string); ok {
		return ts
	}
	return s.dyn.start
}

// EnabledToolsets returns the toolsets enabled for a request: its base set
// plus those its session turned on (2025 era); every toolset of s when s is
// static.
func (s *Server) EnabledToolsets(ctx context.Context, session string, stateless bool) []string {
	if s.dyn == nil {
		return s.ServedToolsets()
	}
	base := slices.Clone(s.BaseToolsets(ctx))
	if stateless {
		return base
	}
	s.dyn.mu.Lock()
	defer s.dyn.mu.Unlock()
	return append(base, s.dyn.sessions[session]...)
}

// Enable adds a toolset to a session's set; it reports false when the
// toolset was already on for this request.
func (s *Server) Enable(ctx context.Context, session, toolset string) bool {
	if s.dyn == nil || slices.Contains(s.BaseToolsets(ctx), toolset) {
		return false
	}
	s.dyn.mu.Lock()
	defer s.dyn.mu.Unlock()
	if slices.Contains(s.dyn.sessions[session], toolset) {
		return false
	}
	s.dyn.sessions[session] = append(s.dyn.sessions[session], toolset)
	return true
}

// Dynamic reports whether s was started with StartWith: its tool list
// changes at run time.
func (s *Server) Dynamic() bool { return s.dyn != nil }

// Forget drops a closed session's enabled set.
func (s *Server) Forget(session string) {
	if s.dyn == nil {
		return
	}
	s.dyn.mu.Lock()
	delete(s.dyn.sessions, session)
	s.dyn.mu.Unlock()
}

// VisibleNames returns the names of the tools a tools/list shows: to the
// session (2025 era) or to a stateless request.
func (s *Server) VisibleNames(ctx context.Context, session string, stateless bool) map[string]bool {
	out := map[string]bool{}
	for _, t := range Visible(s.tools, s.EnabledToolsets(ctx, session, stateless)) {
		out[t.Name] = true
	}
	return out
}

type requestToolsetsKey struct{}

// WithRequestToolsets returns ctx naming the toolsets a request starts from
// instead of the server's start set: how a stateless client chooses its
// tool list (over HTTP, the X-MCP-Toolsets header). The names must come
// from ResolveToolsets.
func WithRequestToolsets(ctx context.Context, toolsets []string) context.Context {
	return context.WithValue(ctx, requestToolsetsKey{}, slices.Clone(toolsets))
}

type serverKey struct{}

func withServer(ctx context.Context, s *Server) context.Context {
	return context.WithValue(ctx, serverKey{}, s)
}

// ServerFrom returns the server running this call (nil outside Server.Call);
// the discovery tools read its toolsets.
func ServerFrom(ctx context.Context) *Server {
	s, _ := ctx.Value(serverKey{}).(*Server)
	return s
}
