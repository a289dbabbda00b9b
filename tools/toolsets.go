package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/pvemcp/pvemcp/toolkit"
)

func init() {
	toolkit.Register(toolkit.New(toolkit.Meta{
		Name:        "list_toolsets",
		Title:       "List toolsets",
		Description: "Lists the toolsets, enabled or not, and their tools.",
		Toolset:     toolkit.ToolsetDiscovery,
		Hints:       &toolkit.ReadHints,
		Needs:       toolkit.NeedsNothing,
	}, listToolsets))
	toolkit.Register(toolkit.New(toolkit.Meta{
		Name:        "enable_toolset",
		Title:       "Enable a toolset",
		Description: "Turns on a toolset (e.g. diagnostics) for this conversation; returns its tools.",
		Toolset:     toolkit.ToolsetDiscovery,
		Hints:       &toolkit.Hints{ReadOnly: true, Idempotent: true},
		Needs:       toolkit.NeedsNothing,
	}, enableToolset))
}

// ListToolsetsResult is list_toolsets' answer.
type ListToolsetsResult struct {
	Toolsets []ToolsetEntry `json:"toolsets"`
}

// ToolsetEntry is one toolset of the server.
type ToolsetEntry struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Enabled     bool     `json:"enabled" description:"its tools are listed in this conversation"`
	Tools       []string `json:"tools"`
	Writes      bool     `json:"writes,omitempty" description:"it has write tools (plan, then confirm_plan)"`
}

func listToolsets(ctx context.Context, _ toolkit.NoArgs) (ListToolsetsResult, error) {
	s := toolkit.ServerFrom(ctx)
	if s == nil {
		return ListToolsetsResult{}, fmt.Errorf("no server in context")
	}
	enabled := s.EnabledToolsets(ctx, toolkit.CallerFrom(ctx).SessionID, toolkit.PeerFrom(ctx).Stateless())
	out := ListToolsetsResult{Toolsets: []ToolsetEntry{}}
	for _, name := range s.ServedToolsets() {
		e := ToolsetEntry{Name: name, Description: toolkit.ToolsetDescription(name), Enabled: slices.Contains(enabled, name), Tools: []string{}}
		for _, t := range s.Tools() {
			if t.Toolset == name {
				e.Tools = append(e.Tools, t.Name)
				e.Writes = e.Writes || t.Write()
			}
		}
		out.Toolsets = append(out.Toolsets, e)
	}
	return out, nil
}

// EnableToolsetArgs names the toolset to turn on.
type EnableToolsetArgs struct {
	Toolset string `json:"toolset" required:"true" maxLength:"32" pattern:"^[a-z]+$" description:"name from list_toolsets"`
}

// EnableToolsetResult is enable_toolset's answer.
type EnableToolsetResult struct {
	Toolset        string        `json:"toolset"`
	AlreadyEnabled bool          `json:"already_enabled,omitempty" description:"it was on before this call"`
	Listed         bool          `json:"listed" description:"tools/list now shows its tools (false in the stateless protocol era: call them by name)"`
	Tools          []EnabledTool `json:"tools"`
}

// EnabledTool is one tool of an enabled toolset.
type EnabledTool struct {
	Name        string          `json:"name"`
	Title       string          `json:"title"`
	Description string          `json:"description"`
	Write       bool            `json:"write,omitempty" description:"returns a plan; confirm_plan carries it out"`
	InputSchema json.RawMessage `json:"input_schema,omitempty" description:"given when tools/list does not show the tool"`
}

func enableToolset(ctx context.Context, args EnableToolsetArgs) (EnableToolsetResult, error) {
	s := toolkit.ServerFrom(ctx)
	if s == nil {
		return EnableToolsetResult{}, fmt.Errorf("no server in context")
	}
	name := args.Toolset
	if !slices.Contains(s.ServedToolsets(), name) {
		why := "unknown toolset"
		if toolkit.ToolsetDescription(name) != "" {
			why = "no tool of it is served here (left out by --read-only, --toolsets with --dynamic-toolsets=false, or none registered)"
		}
		return EnableToolsetResult{}, &toolkit.ArgError{Arg: "toolset", Msg: fmt.Sprintf("%s %q; available: %s", why, name, strings.Join(s.ServedToolsets(), ", "))}
	}
	stateless := toolkit.PeerFrom(ctx).Stateless()
	out := EnableToolsetResult{Toolset: name, Listed: !stateless || !s.Dynamic() || slices.Contains(s.BaseToolsets(ctx), name), Tools: []EnabledTool{}}
	if !s.Dynamic() || stateless {
		out.AlreadyEnabled = slices.Contains(s.EnabledToolsets(ctx, "", stateless), name)
	} else {
		out.AlreadyEnabled = !s.Enable(ctx, toolkit.CallerFrom(ctx).SessionID, name)
		if !out.AlreadyEnabled {
			// The session's next tools/list shows the toolset's tools.
			toolkit.PeerFrom(ctx).ToolsChanged()
		}
	}
	for _, t := range toolkit.Visible(s.Tools(), []string{name}) {
		if t.Toolset == toolkit.ToolsetDiscovery {
			continue
		}
		e := EnabledTool{Name: t.Name, Title: t.Title, Description: t.Description, Write: t.Write()}
		if !out.Listed {
			e.InputSchema = s.InputSchema(t)
		}
		out.Tools = append(out.Tools, e)
	}
	return out, nil
}
