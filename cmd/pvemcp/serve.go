package main

import (
	"context"
	"fmt"
	"log"
	"slices"
	"strings"

	"github.com/mark3labs/mcp-go/server"
	"github.com/spf13/cobra"

	"github.com/pvemcp/pvemcp/tools"
)

type serveFlags struct {
	demo         bool
	httpAddr     string
	httpToken    string
	allowOrigins []string
	readOnly     bool
	toolsets     []string
	dynamic      bool
}

func newServeCmd(a *app) *cobra.Command {
	f := &serveFlags{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve MCP over stdio (default) or streamable HTTP (--http)",
		Long: "Serve the MCP tools. Over stdio by default (for Claude Desktop, Claude Code, VS Code, Cursor);\n" +
			"with --http ADDR over streamable HTTP at /mcp (loopback by default; a bearer token is required\n" +
			"beyond loopback). --demo serves the embedded simulator's demo cluster instead of a real one.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd.Context(), a, f)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.demo, "demo", false, "serve the embedded simulator's demo cluster (no Proxmox needed)")
	fl.StringVar(&f.httpAddr, "http", "", "serve streamable HTTP on ADDR (e.g. 127.0.0.1:8080) instead of stdio")
	fl.StringVar(&f.httpToken, "http-token", "", "bearer token HTTP clients must send (default $PVEMCP_HTTP_TOKEN; required beyond loopback)")
	fl.StringSliceVar(&f.allowOrigins, "http-allow-origin", nil, "extra browser Origin allowed over HTTP (e.g. https://app.example.com)")
	fl.BoolVar(&f.readOnly, "read-only", false, "register no write tool")
	fl.StringSliceVar(&f.toolsets, "toolsets", nil, "toolsets served from the start: default, all, or names from the list below (default $PVEMCP_TOOLSETS or the config file's toolsets)")
	fl.BoolVar(&f.dynamic, "dynamic-toolsets", true, "serve list_toolsets and enable_toolset so a client can turn on the other toolsets at run time")
	cmd.Long += "\n\nToolsets (--toolsets; default: " + strings.Join(tools.DefaultToolsets, ",") + "; the others on request):\n" + toolsetHelp()
	return cmd
}

// toolsetHelp lists the toolsets with their descriptions, one a line.
func toolsetHelp() string {
	var b strings.Builder
	for _, ts := range tools.ToolsetCatalog() {
		fmt.Fprintf(&b, "  %-12s %s\n", ts.Name, ts.Description)
	}
	return b.String()
}

// servedTools resolves --toolsets: the tools a server holds (with dynamic
// toolsets every tool the configuration allows, else only those of the named
// toolsets) and the toolsets served from the start. Serving nothing is
// refused with the reason.
func servedTools(label string, names []string, readOnly, dynamic bool) ([]*tools.Tool, []string, error) {
	start, err := tools.ResolveToolsets(names)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", label, err)
	}
	var universe []*tools.Tool
	if dynamic {
		universe = tools.Select(readOnly, nil)
	} else {
		universe = tools.Visible(tools.Select(readOnly, nil), start)
		var kept []*tools.Tool
		for _, t := range universe {
			if t.Toolset != tools.ToolsetDiscovery || slices.Contains(start, tools.ToolsetDiscovery) {
				kept = append(kept, t)
			}
		}
		universe = kept
	}
	served := 0
	for _, t := range tools.Visible(universe, start) {
		if t.Toolset != tools.ToolsetDiscovery {
			served++
		}
	}
	if served == 0 {
		why := "they have no tools"
		if readOnly {
			why = "--read-only removes their write tools"
		}
		return nil, nil, fmt.Errorf("%s %s serves no tool: %s (known toolsets: %s)", label, strings.Join(names, ","), why, strings.Join(tools.ToolsetNames(), ", "))
	}
	return universe, start, nil
}

func serve(ctx context.Context, a *app, f *serveFlags) error {
	if _, err := tools.ResolveToolsets(f.toolsets); err != nil {
		return fmt.Errorf("--toolsets: %w", err)
	}
	rt, err := newRuntime(a.configOptions(), f.demo, true, a.log)
	if err != nil {
		return err
	}
	defer rt.cleanup()
	wireGate(rt, a.log)
	names, label := f.toolsets, "--toolsets"
	if len(names) == 0 && len(rt.cfg.Toolsets) > 0 {
		names, label = rt.cfg.Toolsets, "toolsets (PVEMCP_TOOLSETS or config file)"
	}
	ts, start, err := servedTools(label, names, f.readOnly || rt.cfg.ReadOnly, f.dynamic)
	if err != nil {
		return err
	}
	srv := tools.NewServer(rt.env, ts)
	if f.dynamic {
		srv.StartWith(start)
	}
	ms := srv.MCPServer(buildVersion())
	if f.httpAddr != "" {
		tok := f.httpToken
		if tok == "" {
			tok = rt.cfg.HTTPToken
		}
		return serveHTTP(ctx, ms, httpOptions{addr: f.httpAddr, token: tok, allowOrigins: f.allowOrigins}, a.log)
	}
	a.log.Debug().Int("tools", len(srv.StartTools())).Strs("toolsets", start).Bool("read_only", f.readOnly).Msg("serving MCP over stdio")
	std := server.NewStdioServer(ms)
	std.SetErrorLogger(log.New(a.stderr, "mcp: ", log.LstdFlags))
	return std.Listen(ctx, a.stdin, a.stdout)
}
