package cli

import (
	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/listing"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/vault"
)

func (a *app) rotationCmd() *cobra.Command {
	var pf passphraseFlag
	c := &cobra.Command{
		Use:  "rotation NAME PERIOD",
		Args: cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			name := args[0]
			if err := vault.ValidName(name); err != nil {
				return err
			}
			period, err := parseRotation(args[1])
			if err != nil {
				return err
			}
			v, err := openVault()
			if err != nil {
				return err
			}
			if _, err := v.Stat(name); err != nil {
				return err
			}
			return pf.withKey(func(v *vault.Vault, k seal.Key) error {
				meta, err := v.SetRotation(k, name, period)
				if err != nil {
					return err
				}
				a.auditLog(v.Dir()).Event(k, audit.SecretRotationSet, map[string]any{"secret": name, "rotate_days": meta.RotationDays()})
				if p := meta.RotationPeriod(); p > 0 {
					a.infof("%s: rotate every %s; due %s", name, listing.Days(p), meta.RotationDue().Local().Format("2006-01-02"))
				} else {
					a.infof("%s: no rotation reminder", name)
				}
				return nil
			})
		},
	}
	c.Flags().IntVar(&pf.fd, "passphrase-fd", -1, "read the vault passphrase from file descriptor `N`")
	return c
}
