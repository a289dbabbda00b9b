package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

// newHTTPTokenCmd makes a token for one named HTTP client: the token for
// the client (printed once) and the line for the server's tokens file.
func newHTTPTokenCmd(a *app) *cobra.Command {
	var name, role string
	cmd := &cobra.Command{
		Use:   "http-token",
		Short: "Make a bearer token for a named HTTP client and print its tokens-file entry",
		Long: "Prints a new random token for one HTTP client, and the entry to add to the file given to\n" +
			"serve --http-tokens-file (it holds only the token's SHA-256). Give the token to the client only.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !principalNameRE.MatchString(name) {
				return errors.New("--name must be 1-64 letters, digits, '.', '_', '@' or '-'")
			}
			if role != "read-only" && role != "read-write" {
				return errors.New("--role must be read-only or read-write")
			}
			b := make([]byte, 32)
			_, _ = rand.Read(b)
			tok := "pvemcp_" + hex.EncodeToString(b)
			sum := sha256.Sum256([]byte(tok))
			_, err := fmt.Fprintf(a.stdout, "token for %s (give it to the client only; it is not stored):\n  %s\n"+
				"entry for the tokens file (mode 0600):\n  - {name: %s, role: %s, sha256: %s}\n",
				name, tok, name, role, hex.EncodeToString(sum[:]))
			return err
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "the client's name (shown in plans and the audit log)")
	cmd.Flags().StringVar(&role, "role", "read-only", "read-only or read-write")
	return cmd
}
