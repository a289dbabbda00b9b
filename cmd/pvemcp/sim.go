package main

import (
	"fmt"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pvemcp/pvemcp/proxmox/pvesim"
)

// newSimCmd is `pvemcp sim`: the Proxmox VE API simulator, serving until
// SIGINT/SIGTERM. It prints the environment a client needs on stdout.
func newSimCmd() *cobra.Command {
	var (
		scenario, generate, listen, token string
		pveVersion                        int
		perNode                           bool
		authDelay                         time.Duration
		seed                              int64
		taskSpeed                         float64
		startAt, control                  string
	)
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run the Proxmox VE API simulator (a faithful PVE 9/8 API over HTTPS)",
		Long: "Run pvesim, the embedded Proxmox VE API simulator. It prints PROXMOX_VE_ENDPOINT, PROXMOX_VE_API_TOKEN and\n" +
			"PROXMOX_VE_FINGERPRINT (one per line, on stdout), then serves until interrupted. In a shell:\n" +
			"  pvemcp sim > sim.env &  until grep -qs FINGERPRINT sim.env; do sleep 0.2; done;  set -a; . ./sim.env; set +a\n" +
			"(the values are single-quoted, so the lines can also be pasted into an interactive shell).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var now func() time.Time
			if startAt != "" {
				t0, err := time.Parse(time.RFC3339, startAt)
				if err != nil {
					return fmt.Errorf("--now: want RFC 3339 like 2026-02-23T14:30:00Z: %w", err)
				}
				// The simulated clock starts there and runs at normal speed.
				real0 := time.Now()
				now = func() time.Time { return t0.Add(time.Since(real0)) }
			}
			log := zerolog.New(cmd.ErrOrStderr()).With().Timestamp().Str("app", "pvesim").Logger().Level(zerolog.InfoLevel)
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			sim, err := pvesim.Start(ctx, pvesim.Options{
				Scenario: scenario, Generate: generate, Listen: listen, PerNodePorts: perNode, PVEVersion: pveVersion,
				AuthFailDelay: authDelay, Seed: seed, Logger: log, TaskSpeed: taskSpeed, Now: now, Token: token,
			})
			if err != nil {
				return err
			}
			defer sim.Close()
			tok := sim.DefaultToken()
			if token != "" {
				tok = sim.Token(token) // present: Start checked it
			}
			// Quoted, so that the lines can be pasted into an interactive
			// shell (the "!" of a token id triggers history expansion) and
			// sourced: set -a; . ./sim.env; set +a
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "PROXMOX_VE_ENDPOINT=%s\n", shellQuote(sim.URL()))
			fmt.Fprintf(out, "PROXMOX_VE_API_TOKEN=%s\n", shellQuote(tok))
			fmt.Fprintf(out, "PROXMOX_VE_FINGERPRINT=%s\n", shellQuote(sim.Fingerprint()))
			if control != "" {
				u, secret, err := sim.StartControl(control)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "PVESIM_CONTROL_URL=%s\n", shellQuote(u))
				fmt.Fprintf(out, "PVESIM_CONTROL_SECRET=%s\n", shellQuote(secret))
			}
			if perNode {
				for _, n := range sim.Nodes() {
					log.Info().Str("node", n).Str("url", sim.NodeURL(n)).Msg("node listener")
				}
			}
			<-ctx.Done()
			log.Info().Msg("shutting down")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&scenario, "scenario", "demo", "scenario: demo (embedded) or a YAML file (see examples/scenarios)")
	f.StringVar(&generate, "generate", "", "generate a synthetic cluster instead, e.g. nodes=64,guests=10000[,seed=N]")
	f.StringVar(&listen, "listen", "127.0.0.1:8006", "address of the main HTTPS listener")
	f.IntVar(&pveVersion, "pve-version", 9, "Proxmox VE major version to simulate: 9 or 8")
	f.StringVar(&token, "token", "", "scenario token printed in PROXMOX_VE_API_TOKEN, by name (auditor, operator) or id (default: operator, else the scenario's first token)")
	f.BoolVar(&perNode, "per-node-ports", false, "also give every node its own listener (URLs are logged on stderr)")
	f.DurationVar(&authDelay, "auth-fail-delay", 3*time.Second, "delay of 401 answers (real Proxmox: 3s)")
	f.Int64Var(&seed, "seed", 0, "dynamics seed (0: the scenario's)")
	f.Float64Var(&taskSpeed, "task-speed", 1, "task duration factor: 1 realistic, 0 instant, 0.1 ten times faster")
	f.StringVar(&control, "control", "", "also serve the harness control plane (journal, state, reset, faults, clock) on this address, e.g. 127.0.0.1:0; its URL and secret are printed")
	f.StringVar(&startAt, "now", "", "start the simulated clock at this RFC 3339 time (default: the real time)")
	// The global flags (cluster configuration, approval, audit log) do not
	// apply to the simulator: its help shows only its own.
	defaultHelp := cmd.HelpFunc()
	cmd.SetHelpFunc(func(c *cobra.Command, args []string) {
		c.InheritedFlags().VisitAll(func(f *pflag.Flag) { f.Hidden = true })
		defaultHelp(c, args)
	})
	addSimControlCmds(cmd)
	return cmd
}

// shellQuote quotes a value for a POSIX shell: single quotes, in which
// nothing is special (a ' inside becomes '\”).
func shellQuote(v string) string { return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'" }
