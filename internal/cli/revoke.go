package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/vault"
)

func (a *app) revokeCmd() *cobra.Command {
	var pf passphraseFlag
	c := &cobra.Command{
		Use:  "revoke NAME",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			name := args[0]
			if err := vault.ValidName(name); err != nil {
				return err
			}
			return pf.withKey(func(v *vault.Vault, k seal.Key) error {
				if err := v.Revoke(k, name); err != nil {
					if errors.Is(err, vault.ErrNotFound) {
						return withHint(err, "see the stored names with 'envseal list'")
					}
					return err
				}
				a.auditLog(v.Dir()).Event(k, audit.SecretRevoked, map[string]any{"secret": name})
				a.infof("revoked %s", name)
				return nil
			})
		},
	}
	c.Flags().IntVar(&pf.fd, "passphrase-fd", -1, "read the vault passphrase from file descriptor `N`")
	return c
}
