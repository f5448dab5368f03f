package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/vault"
)

func (a *app) initCmd() *cobra.Command {
	var pf passphraseFlag
	c := &cobra.Command{
		Use:  "init",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			dir, err := vault.Home()
			if err != nil {
				return err
			}
			if _, err := vault.Open(dir); err == nil {
				return withHint(fmt.Errorf("a vault already exists in %s", dir), "use it as it is, or set ENVSEAL_HOME to another directory")
			}
			pass, err := pf.read("New vault passphrase: ", true)
			if err != nil {
				return err
			}
			defer clear(pass)
			_, k, err := vault.Create(dir, pass, kdfParams, policy.InitEmpty)
			if err != nil {
				if errors.Is(err, vault.ErrExists) {
					return withHint(fmt.Errorf("a vault already exists in %s", dir), "use it as it is, or set ENVSEAL_HOME to another directory")
				}
				return fmt.Errorf("create vault: %w", err)
			}
			a.auditLog(dir).Event(k, audit.VaultInit, map[string]any{"kdf": kdfParams.String()})
			k.Wipe()
			a.infof("created vault in %s (%s)", dir, kdfParams)
			if vault.PassphraseWeakness(pass) != "" {
				a.warnWeakPassphrase(pass) // its hint replaces the "next" line: one hint per command
				return nil
			}
			a.infof("next: 'envseal store NAME' to add a secret")
			return nil
		},
	}
	c.Flags().IntVar(&pf.fd, "passphrase-fd", -1, "read the passphrase from file descriptor `N` instead of the terminal")
	return c
}
