package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/pvemcp/pvemcp/proxmox/pvesim"
	"github.com/pvemcp/pvemcp/proxmox/pvesim/harness"
)

// The control-plane commands talk to a simulator started with
// `pvemcp sim --control ADDR`, which printed these variables.
const (
	envControlURL    = "PVESIM_CONTROL_URL"
	envControlSecret = "PVESIM_CONTROL_SECRET"
	envFingerprint   = "PROXMOX_VE_FINGERPRINT"
)

func controlClient() (*pvesim.ControlClient, error) {
	u, sec, fp := os.Getenv(envControlURL), os.Getenv(envControlSecret), os.Getenv(envFingerprint)
	var missing []string
	for k, v := range map[string]string{envControlURL: u, envControlSecret: sec, envFingerprint: fp} {
		if v == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s not set: start the simulator with `pvemcp sim --control 127.0.0.1:0 > sim.env` and load sim.env (set -a; . ./sim.env; set +a)", strings.Join(slices.Sorted(slices.Values(missing)), ", "))
	}
	return pvesim.NewControlClient(u, sec, fp)
}

// withControl runs fn with a client of the simulator's control plane.
func withControl(fn func(cmd *cobra.Command, c *pvesim.ControlClient, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, err := controlClient()
		if err != nil {
			return err
		}
		return fn(cmd, c, args)
	}
}

func printOut(w io.Writer, v any, asYAML bool) error {
	if asYAML {
		b, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// addSimControlCmds adds the control-plane commands below `pvemcp sim`.
func addSimControlCmds(sim *cobra.Command) {
	var asYAML bool
	var since int
	journal := &cobra.Command{
		Use:   "journal",
		Short: "Print the change requests and tasks the simulator saw since the start or last reset",
		Args:  cobra.NoArgs,
		RunE: withControl(func(cmd *cobra.Command, c *pvesim.ControlClient, _ []string) error {
			j, err := c.Journal(cmd.Context(), since)
			if err != nil {
				return err
			}
			return printOut(cmd.OutOrStdout(), j, asYAML)
		}),
	}
	journal.Flags().IntVar(&since, "since", 0, "only calls after this sequence number")
	journal.Flags().BoolVar(&asYAML, "yaml", false, "YAML instead of JSON")

	var stateYAML bool
	state := &cobra.Command{
		Use:   "state",
		Short: "Print the cluster state (nodes, guests, pools, HA, faults) in the scenario format's terms",
		Args:  cobra.NoArgs,
		RunE: withControl(func(cmd *cobra.Command, c *pvesim.ControlClient, _ []string) error {
			st, err := c.State(cmd.Context())
			if err != nil {
				return err
			}
			return printOut(cmd.OutOrStdout(), st, stateYAML)
		}),
	}
	state.Flags().BoolVar(&stateYAML, "yaml", false, "YAML instead of JSON")

	reset := &cobra.Command{
		Use:   "reset [SNAPSHOT]",
		Short: "Reset the cluster to the scenario's start, or to a saved snapshot (state, faults, clock; the journal empties)",
		Args:  cobra.MaximumNArgs(1),
		RunE: withControl(func(cmd *cobra.Command, c *pvesim.ControlClient, args []string) error {
			snap := ""
			if len(args) == 1 {
				snap = args[0]
			}
			return c.Reset(cmd.Context(), snap)
		}),
	}
	snapshot := &cobra.Command{
		Use:   "snapshot NAME",
		Short: "Save the cluster state, faults and clock under NAME (for `pvemcp sim reset NAME`)",
		Args:  cobra.ExactArgs(1),
		RunE: withControl(func(cmd *cobra.Command, c *pvesim.ControlClient, args []string) error {
			return c.SaveSnapshot(cmd.Context(), args[0])
		}),
	}

	fault := &cobra.Command{Use: "fault", Short: "List, set or clear injected faults"}
	var fs pvesim.FaultState
	var latency time.Duration
	set := &cobra.Command{
		Use:   "set TARGET",
		Short: "Set the fault of a node (pve-node02), of every node (*), or of an endpoint (pve-node02/nodes/pve-node02/qemu, */cluster/resources)",
		Args:  cobra.ExactArgs(1),
		RunE: withControl(func(cmd *cobra.Command, c *pvesim.ControlClient, args []string) error {
			fs.Target = args[0]
			if latency > 0 {
				fs.Latency = latency.String()
			}
			if fs == (pvesim.FaultState{Target: fs.Target}) {
				return errors.New("no fault given: use --offline, --latency, --error-rate, --hang, --malformed-json, --html-page, --changed-cert or --revoked-token (`fault clear` removes one)")
			}
			return c.SetFault(cmd.Context(), fs)
		}),
	}
	f := set.Flags()
	f.BoolVar(&fs.Offline, "offline", false, "the node is down (595 through other nodes)")
	f.DurationVar(&latency, "latency", 0, "added before every answer")
	f.Float64Var(&fs.ErrorRate, "error-rate", 0, "share of answers that are 500 errors, 0..1")
	f.BoolVar(&fs.Hang, "hang", false, "accept and never answer")
	f.BoolVar(&fs.MalformedJSON, "malformed-json", false, "truncated JSON bodies")
	f.BoolVar(&fs.HTMLPage, "html-page", false, "a reverse proxy's 502 HTML page")
	f.BoolVar(&fs.ChangedCert, "changed-cert", false, "a different certificate on the node's own listener")
	f.StringVar(&fs.RevokedToken, "revoked-token", "", "this token id now gets 401")
	f.IntVar(&fs.AfterCalls, "after-calls", 0, "arm the fault: it starts after this many more change requests")
	clear := &cobra.Command{
		Use:   "clear [TARGET]",
		Short: "Clear one target's fault, or every fault",
		Args:  cobra.MaximumNArgs(1),
		RunE: withControl(func(cmd *cobra.Command, c *pvesim.ControlClient, args []string) error {
			t := ""
			if len(args) == 1 {
				t = args[0]
			}
			return c.ClearFaults(cmd.Context(), t)
		}),
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the faults in effect",
		Args:  cobra.NoArgs,
		RunE: withControl(func(cmd *cobra.Command, c *pvesim.ControlClient, _ []string) error {
			var out []pvesim.FaultState
			if err := c.Do(cmd.Context(), "GET", "/faults", nil, &out); err != nil {
				return err
			}
			return printOut(cmd.OutOrStdout(), out, false)
		}),
	}
	fault.AddCommand(set, clear, list)

	clock := &cobra.Command{
		Use:   "clock [advance DURATION]",
		Short: "Print the simulated time, or move it forward (e.g. `clock advance 72h` to age backups)",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 || (len(args) == 2 && args[0] == "advance") {
				return nil
			}
			return errors.New("usage: pvemcp sim clock [advance DURATION]")
		},
		RunE: withControl(func(cmd *cobra.Command, c *pvesim.ControlClient, args []string) error {
			if len(args) == 0 {
				var out struct{ Now time.Time }
				if err := c.Do(cmd.Context(), "GET", "/clock", nil, &out); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), out.Now.Format(time.RFC3339))
				return nil
			}
			d, err := time.ParseDuration(args[1])
			if err != nil {
				return fmt.Errorf("duration %q: want e.g. 72h or 90m", args[1])
			}
			now, err := c.AdvanceClock(cmd.Context(), d)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), now.Format(time.RFC3339))
			return nil
		}),
	}

	scene := &cobra.Command{Use: "scene", Short: "Set up or verify an eval task's scene file (evals/tasks/*/scene.yaml)"}
	setup := &cobra.Command{
		Use:   "setup FILE",
		Short: "Reset the simulator and apply the scene's clock and faults",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, err := harness.LoadScene(args[0])
			if err != nil {
				return err
			}
			c, err := controlClient()
			if err != nil {
				return err
			}
			return sc.Apply(cmd.Context(), c)
		},
	}
	var answerFile, auditFile string
	verify := &cobra.Command{
		Use:   "verify FILE",
		Short: "Check the final state and the journal against the scene; exit 1 listing what failed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, err := harness.LoadScene(args[0])
			if err != nil {
				return err
			}
			c, err := controlClient()
			if err != nil {
				return err
			}
			answer := ""
			if answerFile != "" {
				b, err := os.ReadFile(answerFile)
				if err != nil {
					return err
				}
				answer = string(b)
			} else if len(sc.Verify.Answer) > 0 {
				return errors.New("this scene checks the agent's answer: pass it with --answer FILE")
			}
			run := harness.Run{Answer: answer}
			if auditFile != "" {
				if run.Audit, err = harness.ReadAuditLog(auditFile); err != nil {
					return err
				}
				run.HaveAudit = true
			} else if sc.Verify.WritesConfirmed {
				return errors.New("this scene checks that every write went through a confirmed plan: pass pvemcp's audit log with --audit FILE")
			}
			fails, err := sc.Check(cmd.Context(), c, run)
			if err != nil {
				return err
			}
			if len(fails) > 0 {
				return fmt.Errorf("verify failed:\n  %s", strings.Join(fails, "\n  "))
			}
			fmt.Fprintln(cmd.OutOrStdout(), "verify passed")
			return nil
		},
	}
	verify.Flags().StringVar(&answerFile, "answer", "", "file holding the agent's final answer (for scenes with answer facts)")
	verify.Flags().StringVar(&auditFile, "audit", "", "pvemcp's audit log of the run (PVEMCP_AUDIT_LOG; for scenes with writes_confirmed)")
	scene.AddCommand(setup, verify)

	sim.AddCommand(journal, state, reset, snapshot, fault, clock, scene)
}
