package mcpserver

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/pvemcp/pvemcp/resources"
	"github.com/pvemcp/pvemcp/toolkit"
)

// MCP Apps (extension io.modelcontextprotocol/ui): views that hosts render
// next to a tool's answer from its structured result. Everything here is
// offered only to a client that advertises the extension with the view MIME
// type, per request in the 2026-07-28 protocol era and at initialize before
// it: such a client sees the extension in the server capabilities, the
// ui:// resources in resources/list and _meta.ui.resourceUri on the tools
// the views draw. Any other client gets exactly what it got without views.
// Results are the same for every client: a view draws the tool's own
// structuredContent.

// appsOptions adds the hooks that offer the views to hooks (mcp-go keeps
// one set, shared with other features) and returns the other options.
func (a *Server) appsOptions(hooks *server.Hooks) []server.ServerOption {
	hooks.AddAfterInitialize(func(_ context.Context, _ any, req *mcp.InitializeRequest, res *mcp.InitializeResult) {
		if advertisesApps(&req.Params.Capabilities) {
			res.Capabilities.Extensions = withAppsExtension(res.Capabilities.Extensions)
		}
	})
	hooks.AddAfterDiscover(func(ctx context.Context, _ any, _ *mcp.DiscoverRequest, res *mcp.DiscoverResult) {
		if clientHasApps(ctx) {
			res.Capabilities.Extensions = withAppsExtension(res.Capabilities.Extensions)
		}
	})
	hooks.AddAfterListResources(func(ctx context.Context, _ any, _ *mcp.ListResourcesRequest, res *mcp.ListResourcesResult) {
		if !clientHasApps(ctx) {
			res.Resources = slices.DeleteFunc(slices.Clone(res.Resources), func(r mcp.Resource) bool { return isViewURI(r.URI) })
		}
	})
	return []server.ServerOption{server.WithToolFilter(a.appsToolFilter)}
}

// withAppsExtension adds the extension to a copy of the capabilities' map
// (mcp-go shares the map between answers).
func withAppsExtension(ext map[string]any) map[string]any {
	out := make(map[string]any, len(ext)+1)
	for k, v := range ext {
		out[k] = v
	}
	out[resources.AppsExtension] = map[string]any{}
	return out
}

// appsToolFilter names each served tool's view in its _meta.ui for a client
// with the extension; other clients get the tools untouched.
func (a *Server) appsToolFilter(ctx context.Context, list []mcp.Tool) []mcp.Tool {
	if !clientHasApps(ctx) {
		return list
	}
	out := make([]mcp.Tool, len(list))
	for i, t := range list {
		if uri := viewOf(t.Name); uri != "" {
			meta := map[string]any{}
			if t.Meta != nil {
				for k, v := range t.Meta.AdditionalFields {
					meta[k] = v
				}
			}
			meta["ui"] = map[string]any{"resourceUri": uri}
			// The spec's deprecated flat key too, as the extension's own
			// server SDK sets it, for hosts that read only that one.
			meta["ui/resourceUri"] = uri
			t.Meta = mcp.NewMetaFromMap(meta)
		}
		out[i] = t
	}
	return out
}

// addViews registers the views whose tools are served (a toolset left out
// takes its views with it).
func (a *Server) addViews() {
	for _, v := range resources.Views() {
		if !slices.ContainsFunc(v.Tools, func(n string) bool { return a.s.Tool(n) != nil }) {
			continue
		}
		a.ms.AddResource(mcp.Resource{URI: v.URI, Name: v.Name, Title: v.Title, Description: v.Description, MIMEType: resources.ViewMIMEType},
			a.viewHandler(v))
	}
}

// viewConfig is what a view learns of the server's settings: the alert
// thresholds it draws where the result names none.
func (a *Server) viewConfig() []byte {
	var t toolkit.Thresholds
	if env := a.s.Env(); env != nil {
		t = env.Thresholds
	}
	b, err := json.Marshal(map[string]any{"thresholds": t.WithDefaults()})
	if err != nil {
		panic(err)
	}
	return b
}

// viewHandler answers a read of a view. A client that did not advertise the
// extension is refused: the views are not offered to it.
func (a *Server) viewHandler(v resources.View) server.ResourceHandlerFunc {
	doc := v.Document(a.viewConfig())
	return func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		if !clientHasApps(ctx) {
			return nil, fmt.Errorf("%s is an MCP Apps view: the client did not advertise the %s extension with MIME type %s",
				v.URI, resources.AppsExtension, resources.ViewMIMEType)
		}
		return []mcp.ResourceContents{mcp.TextResourceContents{
			URI: v.URI, MIMEType: resources.ViewMIMEType, Text: doc,
			// No csp: the views need no external origin, so hosts apply
			// the spec's restrictive default (no network at all).
			Meta: map[string]any{"ui": map[string]any{"prefersBorder": true}},
		}}, nil
	}
}

// viewOf returns the URI of the view drawing tool's results, or "".
func viewOf(tool string) string {
	for _, v := range resources.Views() {
		if slices.Contains(v.Tools, tool) {
			return v.URI
		}
	}
	return ""
}

func isViewURI(uri string) bool { return strings.HasPrefix(uri, "ui://") }

// clientHasApps reports whether the client behind ctx advertised the
// extension: in the request's _meta (2026-07-28 era), else at initialize
// (the session's capabilities).
func clientHasApps(ctx context.Context) bool {
	return advertisesApps(clientCapabilities(ctx))
}

// advertisesApps: the spec requires the client's extension settings to list
// the MIME types it renders; pvemcp's views need text/html;profile=mcp-app.
func advertisesApps(caps *mcp.ClientCapabilities) bool {
	if caps == nil {
		return false
	}
	settings, ok := caps.Extensions[resources.AppsExtension].(map[string]any)
	if !ok {
		return false
	}
	switch types := settings["mimeTypes"].(type) {
	case []any:
		return slices.Contains(types, any(resources.ViewMIMEType))
	case []string:
		return slices.Contains(types, resources.ViewMIMEType)
	}
	return false
}
