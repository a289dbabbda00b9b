package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/pvemcp/pvemcp/tools"
)

func newToolsCmd(a *app) *cobra.Command {
	var demo, markdown, asJSON, readOnly bool
	cmd := &cobra.Command{
		Use:   "tools",
		Short: "List the MCP tools (names, titles, read or write)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Listing needs no cluster; --demo is accepted for symmetry.
			_ = demo
			ts := tools.Select(readOnly, nil)
			switch {
			case markdown:
				_, err := fmt.Fprint(a.stdout, tools.Markdown(ts))
				return err
			case asJSON:
				list := make([]any, len(ts))
				for i, t := range ts {
					list[i] = tools.MCPTool(t)
				}
				b, err := json.MarshalIndent(map[string]any{"tools": list}, "", "  ")
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(a.stdout, string(b))
				return err
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TOOL\tTOOLSET\tKIND\tTITLE")
			for _, t := range ts {
				kind := "read"
				if t.Write() {
					kind = "write (plan + confirm)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, t.Toolset, kind, t.Title)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&demo, "demo", false, "accepted for symmetry with serve and call (listing needs no cluster)")
	cmd.Flags().BoolVar(&markdown, "markdown", false, "print the README tool list (Markdown)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the tools/list descriptions as JSON")
	cmd.Flags().BoolVar(&readOnly, "read-only", false, "list only the tools served with --read-only")
	return cmd
}
