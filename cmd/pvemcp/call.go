package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pvemcp/pvemcp/tools"
)

func newCallCmd(a *app) *cobra.Command {
	var demo, readOnly bool
	cmd := &cobra.Command{
		Use:   "call TOOL [ARGS_JSON]",
		Short: "Call one tool and print its structured result as JSON",
		Long: "Call one tool the way an MCP client would and print the structured result as indented JSON.\n" +
			"A tool error is printed to stderr and exits with status 1. Example:\n" +
			"  pvemcp call --demo list_guests '{\"node\":\"pve-node01\",\"status\":\"running\"}'",
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := newRuntime(a.configOptions(), demo, true, a.log)
			if err != nil {
				return err
			}
			defer rt.cleanup()
			wireGate(rt, a.log)
			srv := tools.NewServer(rt.env, tools.Select(readOnly, nil))
			var raw json.RawMessage
			if len(args) == 2 {
				raw = json.RawMessage(args[1])
			}
			res, err := srv.Call(cmd.Context(), args[0], raw)
			if errors.Is(err, tools.ErrUnknownTool) {
				names := ""
				for i, t := range srv.Tools() {
					if i > 0 {
						names += ", "
					}
					names += t.Name
				}
				return &exitError{code: 1, msg: fmt.Sprintf("%v; tools: %s", err, names)}
			}
			if err != nil {
				return err
			}
			if res.IsError {
				return &exitError{code: 1, msg: res.Text}
			}
			var out bytes.Buffer
			if err := json.Indent(&out, res.Structured, "", "  "); err != nil {
				return err
			}
			out.WriteByte('\n')
			_, err = a.stdout.Write(out.Bytes())
			return err
		},
	}
	cmd.Flags().BoolVar(&demo, "demo", false, "call against the embedded simulator's demo cluster")
	cmd.Flags().BoolVar(&readOnly, "read-only", false, "offer no write tool")
	return cmd
}
