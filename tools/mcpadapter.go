package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/pvemcp/pvemcp/proxmox"
	"github.com/pvemcp/pvemcp/resources"
)

// This file is the only place tools meet the MCP SDK (mcp-go): switching SDKs
// touches this file and cmd/pvemcp only.

// Instructions is the server's instructions text sent at initialization. It
// also carries what the compact output schemas leave out (see compactOutput):
// the envelope's item shapes and the reading of an untyped property.
var Instructions = instructionsText + "\n" + envelopeShapes()

const instructionsText = `pvemcp reads and operates one Proxmox VE cluster through its REST API only.
Every result is live (no cache) and carries its provenance: "sources" lists the API calls (method, path, status, ms) and "fetched_at" the time of the read.
Figures the API does not expose are listed under "unavailable"; never estimate them. Per-node failures are listed under "errors" while the rest of the result stays valid: tell the user which part is missing.
Threshold crossings are under "alerts". Sizes are in the unit named in the field (e.g. mem_used_gib), CPU as percent (cpu_pct).
Start with cluster_overview for "how is my cluster doing", list_guests for VMs and containers (filters, paging with next_cursor), get_guest for one guest's details.
Write tools (when enabled) only return a plan; nothing changes until confirm_plan is called with the plan's id and nonce after the user approved it.`

// envelopeShapes describes the envelope's lists once, from their Go types,
// e.g. "errors: [{node?, kind?, message}]" (? = may be absent), and how to
// read output schemas.
func envelopeShapes() string {
	lists := []struct {
		name string
		t    reflect.Type
	}{
		{"alerts", reflect.TypeFor[Alert]()},
		{"errors", reflect.TypeFor[ErrorEntry]()},
		{"unavailable", reflect.TypeFor[Unavailable]()},
		{"sources", reflect.TypeFor[proxmox.Call]()},
	}
	var b strings.Builder
	b.WriteString("Lists in every result (left out when empty): ")
	for i, l := range lists {
		s, err := reflectSchema(l.t, false)
		if err != nil {
			panic(err)
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(l.name + ": [{")
		for j, n := range s.Properties.Names {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(n)
			if !slices.Contains(s.Required, n) {
				b.WriteString("?")
			}
			if ty := s.Properties.Schemas[j].Type; ty != "string" {
				b.WriteString(" " + ty)
			}
		}
		b.WriteString("}]")
	}
	b.WriteString(". In output schemas a property without a type is a string.")
	return b.String()
}

// MCPTool converts a tool to mcp-go's description with all four hints set.
// The title is given once, as the tool's title (the spec has clients prefer
// it over annotations.title), not repeated in the annotations.
func MCPTool(t *Tool) mcp.Tool {
	h := t.Hints
	return mcp.Tool{
		Name:            t.Name,
		Title:           t.Title,
		Description:     t.Description,
		RawInputSchema:  t.InputSchema,
		RawOutputSchema: t.OutputSchema,
		Annotations: mcp.ToolAnnotation{
			ReadOnlyHint:    mcp.ToBoolPtr(h.ReadOnly),
			DestructiveHint: mcp.ToBoolPtr(h.Destructive),
			IdempotentHint:  mcp.ToBoolPtr(h.Idempotent),
			OpenWorldHint:   mcp.ToBoolPtr(h.OpenWorld),
		},
	}
}

// MCPServer builds an mcp-go server exposing s's tools.
func (s *Server) MCPServer(version string, opts ...server.ServerOption) *server.MCPServer {
	base := []server.ServerOption{
		server.WithToolCapabilities(false),
		server.WithInstructions(Instructions),
		server.WithTitle("pvemcp — Proxmox VE"),
		server.WithRecovery(),
	}
	ms := server.NewMCPServer("pvemcp", version, append(base, opts...)...)
	entries := make([]server.ServerTool, 0, len(s.tools))
	for _, t := range s.tools {
		h := s.mcpHandler(t.Name)
		if w := mcpWrappers[t.Name]; w != nil {
			h = w(ms, h)
		}
		mt := MCPTool(t)
		// With several clusters the served schema gains the "cluster"
		// argument; without it a client would refuse to send one.
		mt.RawInputSchema = s.InputSchema(t)
		entries = append(entries, server.ServerTool{Tool: mt, Handler: h})
	}
	ms.AddTools(entries...)
	for _, p := range resources.Prompts() {
		ms.AddPrompt(mcpPrompt(p), promptHandler(p))
	}
	s.addResources(ms)
	return ms
}

// addResources registers the resources and templates whose tool is served
// (a toolset left out takes its resources with it).
func (s *Server) addResources(ms *server.MCPServer) {
	for _, r := range resources.Resources() {
		if s.byName[r.Tool] != nil {
			ms.AddResource(mcp.Resource{URI: r.URI, Name: r.Name, Title: r.Title, Description: r.Description, MIMEType: resources.MIMEType},
				s.resourceHandler(r))
		}
	}
	for _, r := range resources.Templates() {
		if s.byName[r.Tool] != nil {
			mt := mcp.NewResourceTemplate(r.URI, r.Name, mcp.WithTemplateTitle(r.Title),
				mcp.WithTemplateDescription(r.Description), mcp.WithTemplateMIMEType(resources.MIMEType))
			ms.AddResourceTemplate(mt, server.ResourceTemplateHandlerFunc(s.resourceHandler(r)))
		}
	}
}

// resourceHandler reads r by calling its tool through Call, so a resource's
// text is byte for byte the tool's result, read live. A tool error or an
// invalid URI parameter is a JSON-RPC error (a read has no isError).
func (s *Server) resourceHandler(r resources.Resource) server.ResourceHandlerFunc {
	return func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		params := map[string]string{}
		for k, v := range req.Params.Arguments {
			// mcp-go puts a template's matched variables here as []string.
			switch v := v.(type) {
			case string:
				params[k] = v
			case []string:
				params[k] = strings.Join(v, ",")
			}
		}
		args, err := r.Args(params)
		if err != nil {
			return nil, err
		}
		caller := CallerFrom(ctx)
		if sess := server.ClientSessionFromContext(ctx); sess != nil && caller.SessionID == "" {
			caller.SessionID = sess.SessionID()
		}
		res, err := s.Call(WithCaller(ctx, caller), r.Tool, args)
		if err != nil {
			return nil, err
		}
		if res.IsError {
			return nil, errors.New(res.Text)
		}
		return []mcp.ResourceContents{mcp.TextResourceContents{URI: req.Params.URI, MIMEType: resources.MIMEType, Text: res.Text}}, nil
	}
}

func mcpPrompt(p resources.Prompt) mcp.Prompt {
	mp := mcp.Prompt{Name: p.Name, Title: p.Title, Description: p.Description}
	for _, a := range p.Args {
		mp.Arguments = append(mp.Arguments, mcp.PromptArgument{Name: a.Name, Description: a.Description, Required: a.Required})
	}
	return mp
}

func promptHandler(p resources.Prompt) server.PromptHandlerFunc {
	return func(_ context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		text, err := p.Render(req.Params.Arguments)
		if err != nil {
			return nil, err
		}
		return &mcp.GetPromptResult{
			Description: p.Description,
			Messages:    []mcp.PromptMessage{{Role: mcp.RoleUser, Content: mcp.NewTextContent(text)}},
		}, nil
	}
}

// mcpWrappers let a tool use MCP features the typed layer does not carry
// (confirm_plan: elicitation and progress notifications), keyed by tool name;
// tool files fill it from init.
var mcpWrappers = map[string]func(ms *server.MCPServer, next server.ToolHandlerFunc) server.ToolHandlerFunc{}

func (s *Server) mcpHandler(name string) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		raw := req.Params.RawArguments
		if len(raw) == 0 && req.Params.Arguments != nil {
			b, err := json.Marshal(req.Params.Arguments)
			if err != nil {
				return mcp.NewToolResultError("arguments cannot be encoded: " + err.Error()), nil
			}
			raw = b
		}
		caller := CallerFrom(ctx)
		if sess := server.ClientSessionFromContext(ctx); sess != nil && caller.SessionID == "" {
			caller.SessionID = sess.SessionID()
		}
		res, err := s.Call(WithCaller(ctx, caller), name, raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out := &mcp.CallToolResult{
			Content: []mcp.Content{mcp.NewTextContent(res.Text)},
			IsError: res.IsError,
		}
		if res.Structured != nil {
			out.RawStructuredContent = res.Structured
		}
		return out, nil
	}
}
