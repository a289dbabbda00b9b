package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/pvemcp/pvemcp/mcpserver"
	"github.com/pvemcp/pvemcp/toolkit"
)

func newToolsCmd(a *app) *cobra.Command {
	var demo, markdown, asJSON, readOnly bool
	var toolsets []string
	cmd := &cobra.Command{
		Use:   "tools",
		Short: "List the MCP tools by toolset (names, titles, read or write)",
		Long: "List every tool, grouped by toolset, or with --toolsets only the tools `serve --toolsets` serves\n" +
			"from the start (names, default or all; the discovery tools always come along).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Listing needs no cluster; --demo is accepted for symmetry.
			_ = demo
			ts := toolkit.Select(readOnly, nil)
			if cmd.Flags().Changed("toolsets") {
				var err error
				if ts, _, err = servedTools("--toolsets", toolsets, readOnly, true); err != nil {
					return err
				}
				start, _ := toolkit.ResolveToolsets(toolsets)
				ts = toolkit.Visible(ts, start)
			}
			switch {
			case markdown:
				_, err := fmt.Fprint(a.stdout, toolkit.Markdown(ts))
				return err
			case asJSON:
				list := make([]any, len(ts))
				for i, t := range ts {
					list[i] = mcpserver.Tool(t)
				}
				b, err := json.MarshalIndent(map[string]any{"tools": list}, "", "  ")
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(a.stdout, string(b))
				return err
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			for _, set := range toolkit.ToolsetCatalog() {
				var in []*toolkit.Tool
				for _, t := range ts {
					if t.Toolset == set.Name {
						in = append(in, t)
					}
				}
				if len(in) == 0 {
					continue
				}
				when := "on request"
				switch {
				case set.Name == toolkit.ToolsetDiscovery:
					when = "always"
				case slices.Contains(toolkit.DefaultToolsets, set.Name):
					when = "default"
				}
				fmt.Fprintf(tw, "%s (%s): %s\n", set.Name, when, set.Description)
				for _, t := range in {
					kind := "read"
					if t.Write() {
						kind = "write (plan + confirm)"
					}
					fmt.Fprintf(tw, "  %s\t%s\t%s\n", t.Name, kind, t.Title)
				}
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&demo, "demo", false, "accepted for symmetry with serve and call (listing needs no cluster)")
	cmd.Flags().BoolVar(&markdown, "markdown", false, "print the README tool list (Markdown)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the tools/list descriptions as JSON")
	cmd.Flags().BoolVar(&readOnly, "read-only", false, "list only the tools served with --read-only")
	cmd.Flags().StringSliceVar(&toolsets, "toolsets", nil, "list only the tools served from the start with these toolsets (default, all, or names)")
	return cmd
}
