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
	fl.StringSliceVar(&f.toolsets, "toolsets", nil, "serve only these toolsets (default all)")
	return cmd
}

func serve(ctx context.Context, a *app, f *serveFlags) error {
	for _, name := range f.toolsets {
		if !slices.Contains(tools.Toolsets(), name) {
			return fmt.Errorf("--toolsets: unknown toolset %q (known: %s)", name, strings.Join(tools.Toolsets(), ", "))
		}
	}
	rt, err := newRuntime(a.configOptions(), f.demo, true, a.log)
	if err != nil {
		return err
	}
	defer rt.cleanup()
	wireGate(rt, a.log)
	ts := tools.Select(f.readOnly || rt.cfg.ReadOnly, f.toolsets)
	srv := tools.NewServer(rt.env, ts)
	ms := srv.MCPServer(buildVersion())
	if f.httpAddr != "" {
		tok := f.httpToken
		if tok == "" {
			tok = rt.cfg.HTTPToken
		}
		return serveHTTP(ctx, ms, httpOptions{addr: f.httpAddr, token: tok, allowOrigins: f.allowOrigins}, a.log)
	}
	a.log.Debug().Int("tools", len(ts)).Bool("read_only", f.readOnly).Msg("serving MCP over stdio")
	std := server.NewStdioServer(ms)
	std.SetErrorLogger(log.New(a.stderr, "mcp: ", log.LstdFlags))
	return std.Listen(ctx, a.stdin, a.stdout)
}
