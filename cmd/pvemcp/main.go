// Command pvemcp is an MCP server for Proxmox VE: it lets an AI assistant see
// and operate a cluster through the Proxmox REST API only.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/pvemcp/pvemcp/config"
)

// Set at build time (make build: -ldflags "-X main.version=... -X main.commit=... -X main.date=...").
var (
	version = ""
	commit  = ""
	date    = ""
)

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// exitError carries a process exit code through cobra.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// app holds what every command shares.
type app struct {
	logLevel string
	log      zerolog.Logger
	stdin    io.Reader
	stdout   io.Writer
	stderr   io.Writer
	// cfgFlags are --config, --cluster, --endpoint, ... (package config).
	cfgFlags *config.Flags
}

// configOptions says where the configuration is read from: the flags, then
// the environment, then the config file.
func (a *app) configOptions() config.Options { return a.cfgFlags.Options() }

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "pvemcp",
		Short: "MCP server for Proxmox VE (read and, with approval, operate a cluster through its API)",
		Long: "pvemcp is an MCP server that lets an AI assistant see and operate a Proxmox VE cluster through the\n" +
			"Proxmox REST API only. Try it without a cluster: pvemcp call --demo cluster_overview",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			lvl, err := zerolog.ParseLevel(a.logLevel)
			if err != nil || a.logLevel == "" {
				return fmt.Errorf("--log-level must be one of trace, debug, info, warn, error, disabled")
			}
			// Logs go to stderr only: stdout is the MCP channel in stdio mode.
			a.log = zerolog.New(a.stderr).Level(lvl).With().Timestamp().Str("app", "pvemcp").Logger()
			return nil
		},
	}
	root.Version = versionLine()
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.PersistentFlags().StringVar(&a.logLevel, "log-level", "info", "log level: trace, debug, info, warn, error, disabled (logs go to stderr)")
	a.cfgFlags = config.RegisterFlags(root.PersistentFlags())
	root.AddCommand(newServeCmd(a), newCallCmd(a), newToolsCmd(a), newVersionCmd(a), newSimCmd(),
		newDoctorCmd(a), newAuthCmd(a), newHTTPTokenCmd(a))
	return root
}

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(a.stdout, versionLine())
			return err
		},
	}
}

// versionLine is what `pvemcp version` and `pvemcp --version` print.
func versionLine() string {
	line := "pvemcp " + buildVersion()
	if commit != "" {
		line += " (" + commit
		if date != "" {
			line += ", " + date
		}
		line += ")"
	}
	return line
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, log: zerolog.New(stderr)}
	root := newRootCmd(a)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.msg != "" {
				fmt.Fprintln(stderr, "pvemcp:", ee.msg)
			}
			return ee.code
		}
		fmt.Fprintln(stderr, "pvemcp:", err)
		return 1
	}
	return 0
}
