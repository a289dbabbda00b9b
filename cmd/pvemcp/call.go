package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/pvemcp/pvemcp/config"
	"github.com/pvemcp/pvemcp/toolkit"
)

func newCallCmd(a *app) *cobra.Command {
	var demo, readOnly bool
	var format string
	cmd := &cobra.Command{
		Use:   "call TOOL [ARGS_JSON]",
		Short: "Call one tool and print its structured result as JSON",
		Long: "Call one tool the way an MCP client would and print the structured result as indented JSON.\n" +
			"A tool error is printed to stderr and exits with status 1. Example:\n" +
			"  pvemcp call --demo list_guests '{\"node\":\"pve-node01\",\"status\":\"running\"}'",
		Args: cobra.RangeArgs(0, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			// Its stdout is the result: only warnings and errors are logged
			// unless --log-level says otherwise.
			if !cmd.Flags().Changed("log-level") {
				a.log = a.log.Level(zerolog.WarnLevel)
			}
			if len(args) == 0 {
				return listCallable(a, readOnly)
			}
			rt, err := newRuntime(a.configOptions(), demo, true, a.log)
			if err != nil {
				return err
			}
			defer rt.cleanup()
			wireGate(rt, a.log, planStoreFile)
			ro := readOnly || rt.cfg.ReadOnly
			srv := toolkit.NewServer(rt.env, toolkit.Select(ro, nil))
			if t := findTool(args[0]); ro && t != nil && t.Write() {
				return &exitError{code: 1, msg: fmt.Sprintf("%s changes the cluster, and pvemcp is read-only here (%s)", t.Name, readOnlySource(readOnly, rt))}
			}
			var raw json.RawMessage
			if len(args) == 2 {
				raw = json.RawMessage(args[1])
			}
			res, err := srv.Call(cmd.Context(), args[0], raw)
			if errors.Is(err, toolkit.ErrUnknownTool) {
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
			switch format {
			case "text":
				if err := renderText(&out, res.Structured, defaultTextLimits); err != nil {
					return err
				}
				_, err = a.stdout.Write(out.Bytes())
				return err
			case "json":
			default:
				return &exitError{code: 2, msg: fmt.Sprintf("--format must be json or text, got %q", format)}
			}
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
	cmd.Flags().StringVar(&format, "format", "json", "json (the structured result) or text (tables and key: value lines for a person; long lists cut short)")
	return cmd
}

// listCallable prints the tools `pvemcp call` can run, one per line.
func listCallable(a *app, readOnly bool) error {
	var b bytes.Buffer
	b.WriteString("Usage: pvemcp call TOOL [ARGS_JSON]   (add --demo to try the built-in demo cluster)\n\nTools:\n")
	for _, t := range toolkit.Select(readOnly, nil) {
		kind := ""
		if t.Write() {
			kind = "  (write: plans a change, confirm_plan applies it)"
		}
		fmt.Fprintf(&b, "  %-24s %s%s\n", t.Name, t.Title, kind)
	}
	_, err := a.stdout.Write(b.Bytes())
	return err
}

func findTool(name string) *toolkit.Tool {
	for _, t := range toolkit.All() {
		if t.Name == name {
			return t
		}
	}
	return nil
}

func readOnlySource(flag bool, rt *runtime) string {
	if flag {
		return "--read-only"
	}
	return "read_only in the configuration or " + config.EnvReadOnly
}
