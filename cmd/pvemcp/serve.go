package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pvemcp/pvemcp/mcpserver"
	"github.com/pvemcp/pvemcp/toolkit"
)

type serveFlags struct {
	demo          bool
	httpAddr      string
	httpToken     string
	httpTokenFile string
	tokensFile    string
	tlsCert       string
	tlsKey        string
	oauth         oauthOptions
	allowOrigins  []string
	readOnly      bool
	toolsets      []string
	dynamic       bool
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
	fl.StringVar(&f.httpToken, "http-token", "", "bearer token HTTP clients must send; visible in the process list, prefer $PVEMCP_HTTP_TOKEN, $PVEMCP_HTTP_TOKEN_FILE or --http-token-file (at least 16 characters)")
	fl.StringVar(&f.httpTokenFile, "http-token-file", "", "file holding the bearer token HTTP clients must send (at least 16 characters)")
	fl.StringVar(&f.tokensFile, "http-tokens-file", "", "YAML file of named HTTP clients: name, role (read-only|read-write) and the SHA-256 of each token (mode 0600; see pvemcp http-token)")
	fl.StringVar(&f.tlsCert, "http-tls-cert", "", "serve HTTPS with this certificate (PEM; with --http-tls-key)")
	fl.StringVar(&f.tlsKey, "http-tls-key", "", "private key of --http-tls-cert (PEM)")
	fl.StringVar(&f.oauth.issuer, "oauth-issuer", "", "accept JWT access tokens from this OAuth 2.1 issuer (https URL); clients discover it at /.well-known/oauth-protected-resource")
	fl.StringVar(&f.oauth.audience, "oauth-audience", "", "audience the access tokens must name: this server's URL, e.g. https://mcp.example.com/mcp (with --oauth-issuer)")
	fl.StringVar(&f.oauth.jwksURL, "oauth-jwks-url", "", "the issuer's JWKS URL (default: from its /.well-known/openid-configuration or oauth-authorization-server metadata)")
	fl.StringSliceVar(&f.allowOrigins, "http-allow-origin", nil, "extra browser Origin allowed over HTTP (e.g. https://app.example.com)")
	fl.BoolVar(&f.readOnly, "read-only", false, "register no write tool")
	fl.StringSliceVar(&f.toolsets, "toolsets", nil, "toolsets served from the start: default, all, or names from the list below (default $PVEMCP_TOOLSETS or the config file's toolsets)")
	fl.BoolVar(&f.dynamic, "dynamic-toolsets", true, "serve list_toolsets and enable_toolset so a client can turn on the other toolsets at run time")
	cmd.Long += "\n\nToolsets (--toolsets; default: " + strings.Join(toolkit.DefaultToolsets, ",") + "; the others on request):\n" + toolsetHelp()
	return cmd
}

// toolsetHelp lists the toolsets with their descriptions, one a line.
func toolsetHelp() string {
	var b strings.Builder
	for _, ts := range toolkit.ToolsetCatalog() {
		fmt.Fprintf(&b, "  %-12s %s\n", ts.Name, ts.Description)
	}
	return b.String()
}

// servedTools resolves --toolsets: the tools a server holds (with dynamic
// toolsets every tool the configuration allows, else only those of the named
// toolsets) and the toolsets served from the start. Serving nothing is
// refused with the reason.
func servedTools(label string, names []string, readOnly, dynamic bool) ([]*toolkit.Tool, []string, error) {
	start, err := toolkit.ResolveToolsets(names)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", label, err)
	}
	var universe []*toolkit.Tool
	if dynamic {
		universe = toolkit.Select(readOnly, nil)
	} else {
		universe = toolkit.Visible(toolkit.Select(readOnly, nil), start)
		var kept []*toolkit.Tool
		for _, t := range universe {
			if t.Toolset != toolkit.ToolsetDiscovery || slices.Contains(start, toolkit.ToolsetDiscovery) {
				kept = append(kept, t)
			}
		}
		universe = kept
	}
	served := 0
	for _, t := range toolkit.Visible(universe, start) {
		if t.Toolset != toolkit.ToolsetDiscovery {
			served++
		}
	}
	if served == 0 {
		why := "they have no tools"
		if readOnly {
			why = "--read-only removes their write tools"
		}
		return nil, nil, fmt.Errorf("%s %s serves no tool: %s (known toolsets: %s)", label, strings.Join(names, ","), why, strings.Join(toolkit.ToolsetNames(), ", "))
	}
	return universe, start, nil
}

func serve(ctx context.Context, a *app, f *serveFlags) error {
	if _, err := toolkit.ResolveToolsets(f.toolsets); err != nil {
		return fmt.Errorf("--toolsets: %w", err)
	}
	rt, err := newRuntime(a.configOptions(), f.demo, true, a.log)
	if err != nil {
		return err
	}
	defer rt.cleanup()
	wireGate(rt, a.log, planStoreMemory)
	names, label := f.toolsets, "--toolsets"
	if len(names) == 0 && len(rt.cfg.Toolsets) > 0 {
		names, label = rt.cfg.Toolsets, "toolsets (PVEMCP_TOOLSETS or config file)"
	}
	ts, start, err := servedTools(label, names, f.readOnly || rt.cfg.ReadOnly, f.dynamic)
	if err != nil {
		return err
	}
	rt.env.Limit = toolkit.NewCallLimit(toolkit.DefaultCallLimit, toolkit.DefaultCallWait)
	srv := toolkit.NewServer(rt.env, ts)
	if f.dynamic {
		srv.StartWith(start)
	}
	ms := mcpserver.New(srv, buildVersion())
	if f.httpAddr != "" {
		tok, err := httpToken(f, rt.cfg.HTTPToken, a)
		if err != nil {
			return err
		}
		o := httpOptions{addr: f.httpAddr, token: tok, tokensFile: f.tokensFile, allowOrigins: f.allowOrigins,
			tlsCert: f.tlsCert, tlsKey: f.tlsKey, plans: rt.env.Gate.Store}
		if f.oauth.issuer != "" || f.oauth.audience != "" || f.oauth.jwksURL != "" {
			o.oauth = &f.oauth
		}
		return serveHTTP(ctx, ms, o, a.log)
	}
	a.log.Debug().Int("tools", len(srv.StartTools())).Strs("toolsets", start).Bool("read_only", f.readOnly).Msg("serving MCP over stdio")
	return ms.ServeStdio(ctx, a.stdin, a.stdout, log.New(a.stderr, "mcp: ", log.LstdFlags))
}

// httpToken is the shared bearer token: from --http-token-file, the
// environment (PVEMCP_HTTP_TOKEN or PVEMCP_HTTP_TOKEN_FILE), or, with a
// warning, the --http-token flag, whose value any local user can read in
// the process list.
func httpToken(f *serveFlags, fromEnv string, a *app) (string, error) {
	n := 0
	for _, v := range []string{f.httpToken, f.httpTokenFile, fromEnv} {
		if v != "" {
			n++
		}
	}
	if n > 1 {
		return "", errors.New("set the HTTP token once: --http-token-file, PVEMCP_HTTP_TOKEN(_FILE) or --http-token")
	}
	switch {
	case f.httpTokenFile != "":
		b, err := os.ReadFile(f.httpTokenFile)
		if err != nil {
			return "", fmt.Errorf("--http-token-file: %w", err)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", errors.New("--http-token-file: the file is empty")
		}
		return tok, nil
	case f.httpToken != "":
		a.log.Warn().Msg("--http-token puts the token in the process list where any local user can read it; use PVEMCP_HTTP_TOKEN, PVEMCP_HTTP_TOKEN_FILE or --http-token-file")
		return f.httpToken, nil
	}
	return fromEnv, nil
}
