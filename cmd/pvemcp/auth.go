package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/pvemcp/pvemcp/config"
)

// maxSecretLen bounds what auth set reads from stdin.
const maxSecretLen = 4096

func newAuthCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "auth",
		Short: "Store, check or delete cluster API tokens in the OS keyring",
		Long: "Manage API token secrets in the OS keyring (Secret Service, macOS Keychain, Windows Credential Manager),\n" +
			"one per cluster (service \"pvemcp\", account = cluster name). The secret is never a command-line argument:\n" +
			"auth set reads it from the terminal without echo, or from stdin. Store either the whole token\n" +
			"(user@realm!tokenid=secret) or only the secret when the cluster's token_id is in the config file.",
	}
	cmd.AddCommand(
		&cobra.Command{
			Use:   "set",
			Short: "Store a cluster's API token (read from the terminal without echo, or from stdin)",
			Args:  cobra.NoArgs,
			RunE:  func(cmd *cobra.Command, _ []string) error { return authSet(a) },
		},
		&cobra.Command{
			Use:   "status",
			Short: "Show where each cluster's token comes from and whether it is there (never the secret)",
			Args:  cobra.NoArgs,
			RunE:  func(cmd *cobra.Command, _ []string) error { return authStatus(a) },
		},
		&cobra.Command{
			Use:   "delete",
			Short: "Delete a cluster's API token from the OS keyring",
			Args:  cobra.NoArgs,
			RunE:  func(cmd *cobra.Command, _ []string) error { return authDelete(a) },
		},
	)
	return cmd
}

// authConfig reads the configuration without selecting a cluster, so a
// token can be stored before the cluster is in the file.
func authConfig(a *app) (*config.Config, string, error) {
	opts := a.configOptions()
	name := opts.Overrides.Cluster
	opts.Overrides.Cluster = ""
	cfg, err := config.Read(opts)
	if err != nil {
		return nil, "", err
	}
	if name == "" {
		if cfg.Cluster == nil {
			return nil, "", errors.New("say which cluster: --cluster NAME")
		}
		name = cfg.Cluster.Name
	}
	if !config.ValidClusterName(name) {
		return nil, "", fmt.Errorf("cluster name %q must be letters, digits, '.', '_' or '-'", name)
	}
	return cfg, name, nil
}

func authSet(a *app) error {
	cfg, name, err := authConfig(a)
	if err != nil {
		return err
	}
	secret, err := readSecret(a, name)
	if err != nil {
		return err
	}
	var cl *config.Cluster
	tokenID := ""
	if c, err := cfg.ClusterByName(name); err == nil {
		cl, tokenID = c, c.TokenID
	}
	tok, err := config.CombineToken(tokenID, secret)
	if err != nil {
		return fmt.Errorf("not stored: %w", err)
	}
	if err := (config.OSKeyring{}).Set(config.KeyringService, name, secret); err != nil {
		return fmt.Errorf("storing in the OS keyring failed: %w", err)
	}
	id := tok[:strings.LastIndex(tok, "=")]
	fmt.Fprintf(a.stdout, "stored the API token %s for cluster %s in the OS keyring (service %s, account %s)\n", id, name, config.KeyringService, name)
	switch {
	case cl == nil:
		fmt.Fprintf(a.stdout, "note: cluster %s is not in the configuration yet; add it to the config file (see examples/config.yaml)\n", name)
	case cl.Secret.Kind != config.SecretKeyring:
		fmt.Fprintf(a.stdout, "note: cluster %s currently reads its token from %s, which wins over the keyring\n", name, cl.Secret)
	}
	return nil
}

// readSecret reads the secret from the terminal without echo, or from a
// pipe. It never comes from the command line.
func readSecret(a *app, name string) (string, error) {
	if f, ok := a.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(a.stderr, "API token for cluster %s (user@realm!tokenid=secret, or the secret alone; input hidden): ", name)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(a.stderr)
		if err != nil {
			return "", fmt.Errorf("reading the secret: %w", err)
		}
		return checkSecretInput(string(b))
	}
	b, err := io.ReadAll(io.LimitReader(bufio.NewReader(a.stdin), maxSecretLen+1))
	if err != nil {
		return "", fmt.Errorf("reading the secret from stdin: %w", err)
	}
	if len(b) > maxSecretLen {
		return "", errors.New("the input on stdin is too long for an API token")
	}
	return checkSecretInput(string(b))
}

func checkSecretInput(s string) (string, error) {
	s = strings.TrimRight(s, "\r\n")
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("no secret given (type it, or pipe it on stdin)")
	}
	if strings.ContainsAny(s, "\r\n") {
		return "", errors.New("the secret must be one line")
	}
	return s, nil
}

func authStatus(a *app) error {
	opts := a.configOptions()
	only := opts.Overrides.Cluster
	opts.Overrides.Cluster = ""
	cfg, err := config.Read(opts)
	if err != nil {
		return err
	}
	kr := config.OSKeyring{}
	shown := false
	missing := 0
	for _, cl := range cfg.Clusters {
		if only != "" && cl.Name != only {
			continue
		}
		shown = true
		state := "present"
		if err := cl.Resolve(kr, nil); err != nil {
			state = "MISSING: " + strings.TrimPrefix(err.Error(), "cluster "+cl.Name+": ")
			missing++
		} else {
			state += ", token " + cl.TokenID
		}
		fmt.Fprintf(a.stdout, "%s: %s: %s\n", cl.Name, cl.Secret, state)
	}
	if !shown && only != "" {
		// Not configured: still say whether the keyring holds something.
		ref := config.SecretRef{Kind: config.SecretKeyring, Name: only}
		state := "present"
		if _, err := config.ReadSecret(ref, kr, os.LookupEnv); err != nil {
			state = "MISSING: " + err.Error()
			missing++
		}
		fmt.Fprintf(a.stdout, "%s (not in the configuration): %s: %s\n", only, ref, state)
		shown = true
	}
	if !shown {
		fmt.Fprintln(a.stdout, "no cluster configured; "+config.HowToConfigure)
		return &exitError{code: 1}
	}
	if missing > 0 {
		return &exitError{code: 1, msg: fmt.Sprintf("%d cluster(s) without a usable secret", missing)}
	}
	return nil
}

func authDelete(a *app) error {
	_, name, err := authConfig(a)
	if err != nil {
		return err
	}
	err = (config.OSKeyring{}).Delete(config.KeyringService, name)
	if errors.Is(err, config.ErrSecretNotFound) {
		return &exitError{code: 1, msg: fmt.Sprintf("the OS keyring holds no token for cluster %s", name)}
	}
	if err != nil {
		return fmt.Errorf("deleting from the OS keyring failed: %w", err)
	}
	fmt.Fprintf(a.stdout, "deleted the API token of cluster %s from the OS keyring\n", name)
	return nil
}
