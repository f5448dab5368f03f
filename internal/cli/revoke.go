package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/vault"
)

func (a *app) revokeCmd() *cobra.Command {
	c := keyed("revoke NAME", cobra.ExactArgs(1), func(args []string, v *vault.Vault, k seal.Key) error {
		name := args[0]
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
	c.PreRunE = func(_ *cobra.Command, args []string) error { return vault.ValidName(args[0]) }
	return c
}
