package mcpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/pvemcp/pvemcp/resources"
	"github.com/pvemcp/pvemcp/toolkit"
)

// Server is pvemcp's MCP server: the tools of a tools.Server with the
// resources, prompts and views that go with them, served by mcp-go.
type Server struct {
	s  *toolkit.Server
	ms *server.MCPServer
}

// MCP returns the mcp-go server, for in-process clients in tests.
func (s *Server) MCP() *server.MCPServer { return s.ms }

// Tool converts a tool to mcp-go's description with all four hints set.
// The title is given once, as the tool's title (the spec has clients prefer
// it over annotations.title), not repeated in the annotations.
func Tool(t *toolkit.Tool) mcp.Tool {
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

// New builds the MCP server exposing s's tools. When s starts with some
// toolsets (StartWith) only those are listed at first; a tool filter shows
// each session the toolsets it enabled.
func New(s *toolkit.Server, version string) *Server {
	start := s.StartTools()
	a := &Server{s: s}
	opts := []server.ServerOption{
		server.WithToolCapabilities(s.Dynamic()),
		server.WithInstructions(toolkit.InstructionsFor(start)),
		server.WithTitle("pvemcp — Proxmox VE"),
		server.WithRecovery(),
	}
	// mcp-go keeps one set of hooks: toolsets and MCP Apps share it.
	hooks := &server.Hooks{}
	if s.Dynamic() {
		hooks.AddOnUnregisterSession(func(_ context.Context, sess server.ClientSession) {
			s.Forget(sess.SessionID())
		})
		opts = append(opts, server.WithToolFilter(a.toolFilter))
	}
	opts = append(opts, a.appsOptions(hooks)...) // MCP Apps views: apps.go
	opts = append(opts, server.WithHooks(hooks))
	a.ms = server.NewMCPServer("pvemcp", version, opts...)
	entries := make([]server.ServerTool, 0, len(s.Tools()))
	for _, t := range s.Tools() {
		mt := Tool(t)
		// With several clusters the served schema gains the "cluster"
		// argument; without it a client would refuse to send one.
		mt.RawInputSchema = s.InputSchema(t)
		entries = append(entries, server.ServerTool{Tool: mt, Handler: a.toolHandler(t.Name)})
	}
	a.ms.AddTools(entries...)
	served := map[string]bool{}
	for _, t := range start {
		served[t.Name] = true
	}
	for _, p := range resources.Prompts() {
		if servesAll(served, p.Tools) {
			a.ms.AddPrompt(mcpPrompt(p), promptHandler(p))
		}
	}
	a.addResources(served)
	a.addViews()
	return a
}

func servesAll(served map[string]bool, names []string) bool {
	for _, n := range names {
		if !served[n] {
			return false
		}
	}
	return true
}

// toolFilter shows a tools/list the tools enabled for its session (the
// start set in the stateless era). mcp-go also runs the filter on each
// tools/call with the one tool called: any tool of s may be called (a
// stateless client calls what enable_toolset described), so a single tool
// always passes.
func (a *Server) toolFilter(ctx context.Context, list []mcp.Tool) []mcp.Tool {
	if len(list) == 1 {
		return list
	}
	session := ""
	if sess := server.ClientSessionFromContext(ctx); sess != nil {
		session = sess.SessionID()
	}
	show := a.s.VisibleNames(ctx, session, server.IsModernRequest(ctx))
	out := make([]mcp.Tool, 0, len(show))
	for _, t := range list {
		if show[t.Name] {
			out = append(out, t)
		}
	}
	return out
}

// addResources registers the resources and templates whose tool is served
// from the start (a toolset left out takes its resources with it).
func (a *Server) addResources(served map[string]bool) {
	for _, r := range resources.Resources() {
		if served[r.Tool] {
			a.ms.AddResource(mcp.Resource{URI: r.URI, Name: r.Name, Title: r.Title, Description: r.Description, MIMEType: resources.MIMEType},
				a.resourceHandler(r))
		}
	}
	for _, r := range resources.Templates() {
		if served[r.Tool] {
			mt := mcp.NewResourceTemplate(r.URI, r.Name, mcp.WithTemplateTitle(r.Title),
				mcp.WithTemplateDescription(r.Description), mcp.WithTemplateMIMEType(resources.MIMEType))
			a.ms.AddResourceTemplate(mt, server.ResourceTemplateHandlerFunc(a.resourceHandler(r)))
		}
	}
}

// withSession returns ctx whose caller names the MCP session, when there
// is one and the transport did not name it.
func withSession(ctx context.Context) context.Context {
	caller := toolkit.CallerFrom(ctx)
	if sess := server.ClientSessionFromContext(ctx); sess != nil && caller.SessionID == "" {
		caller.SessionID = sess.SessionID()
	}
	return toolkit.WithCaller(ctx, caller)
}

// resourceHandler reads r by calling its tool through Call, so a resource's
// text is byte for byte the tool's result, read live. A tool error or an
// invalid URI parameter is a JSON-RPC error (a read has no isError).
func (a *Server) resourceHandler(r resources.Resource) server.ResourceHandlerFunc {
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
		res, err := a.s.Call(withSession(ctx), r.Tool, args)
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

// toolHandler runs a tools/call through Call, with the client behind the
// request as the call's tools.Peer. When the tool asked the user (Ask),
// the answer is that question instead of the tool's result: mcp-go sends
// it as a multi round-trip result, or as a server-initiated
// elicitation/create to a client before 2026-07-28, and the call comes
// again with the answer.
func (a *Server) toolHandler(name string) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		raw := req.Params.RawArguments
		if len(raw) == 0 && req.Params.Arguments != nil {
			b, err := json.Marshal(req.Params.Arguments)
			if err != nil {
				return mcp.NewToolResultError("arguments cannot be encoded: " + err.Error()), nil
			}
			raw = b
		}
		p := newPeer(ctx, a.ms, req)
		res, err := a.s.Call(toolkit.WithPeer(withSession(ctx), p), name, raw)
		if p.asked != nil {
			return server.NewInputRequestBuilder(p.asked.state).Elicit(p.asked.id, mcp.ElicitationParams{
				Mode:            mcp.ElicitationModeForm,
				Message:         p.asked.q.Message,
				RequestedSchema: p.asked.q.Schema,
			}).ToolResult(), nil
		}
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

// peer is the client behind one tools/call (tools.Peer).
type peer struct {
	ctx    context.Context
	ms     *server.MCPServer
	req    mcp.CallToolRequest
	modern bool
	asked  *question
}

// question is what a tool asked the user through the client.
type question struct {
	id, state string
	q         toolkit.Question
}

func newPeer(ctx context.Context, ms *server.MCPServer, req mcp.CallToolRequest) *peer {
	return &peer{ctx: ctx, ms: ms, req: req, modern: server.IsModernRequest(ctx)}
}

func (p *peer) Stateless() bool { return p.modern }

// CanElicit reports form-mode elicitation support, declared per request in
// the 2026-07-28 era and at initialize before.
func (p *peer) CanElicit() bool {
	caps := clientCapabilities(p.ctx)
	if caps == nil || caps.Elicitation == nil {
		return false
	}
	// An empty elicitation capability means form mode.
	return caps.Elicitation.Form != nil || caps.Elicitation.URL == nil
}

func (p *peer) Answer(id string) (toolkit.Answer, string, bool) {
	ans := server.ElicitationResponse(p.req.Params.InputResponses, id)
	if ans == nil {
		return toolkit.Answer{}, "", false
	}
	content, _ := ans.Content.(map[string]any)
	return toolkit.Answer{Action: string(ans.Action), Content: content}, p.req.Params.RequestState, true
}

func (p *peer) Ask(id, state string, q toolkit.Question) error {
	p.asked = &question{id: id, state: state, q: q}
	return toolkit.ErrAsked
}

// Progress sends notifications/progress when the client gave a token, and
// waits until it is on its way: a notification still queued when the
// result is written reaches the client after it (which then drops it) or,
// on mcp-go's transports, not at all.
func (p *peer) Progress(done, total float64, message string) {
	if p.req.Params.Meta == nil || p.req.Params.Meta.ProgressToken == nil {
		return
	}
	_ = p.ms.SendNotificationToClient(p.ctx, string(mcp.MethodNotificationProgress), map[string]any{
		"progressToken": p.req.Params.Meta.ProgressToken,
		"progress":      done,
		"total":         total,
		"message":       message,
	})
	awaitForwarded(p.ctx)
}

// ToolsChanged tells a 2025-era session that its tool list changed; a
// stateless request has no session to tell.
func (p *peer) ToolsChanged() {
	if p.modern {
		return
	}
	_ = p.ms.SendNotificationToClient(p.ctx, string(mcp.MethodNotificationToolsListChanged), nil)
	awaitForwarded(p.ctx)
}

// awaitForwarded waits (briefly, bounded) until the session's notification
// queue is empty and its forwarder had a moment to write: mcp-go's
// streamable HTTP transport drops a notification that its forwarder took
// off the queue just as the request ended, and its stdio transport writes
// queued notifications from another goroutine than the result, so returning
// at once could lose the list_changed or progress the client relies on.
func awaitForwarded(ctx context.Context) {
	cs := server.ClientSessionFromContext(ctx)
	if cs == nil {
		return
	}
	ch := cs.NotificationChannel()
	deadline := time.Now().Add(time.Second)
	for len(ch) > 0 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond)
}

// clientCapabilities are the capabilities of the client behind ctx: in
// the request's _meta (2026-07-28 era), else as stated at initialize (the
// session's); nil when unknown.
func clientCapabilities(ctx context.Context) *mcp.ClientCapabilities {
	if info := server.RequestProtocolInfoFromContext(ctx); info != nil && info.Modern {
		return info.ClientCapabilities
	}
	if sess, ok := server.ClientSessionFromContext(ctx).(server.SessionWithClientInfo); ok {
		caps := sess.GetClientCapabilities()
		return &caps
	}
	return nil
}
