package cli

import (
	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/listing"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/vault"
)

func (a *app) rotationCmd() *cobra.Command {
	var period uint32
	c := keyed("rotation NAME PERIOD", cobra.ExactArgs(2), func(args []string, v *vault.Vault, k seal.Key) error {
		name := args[0]
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
	// The name, the period and the secret are checked before the
	// passphrase is asked.
	c.PreRunE = func(_ *cobra.Command, args []string) error {
		if err := vault.ValidName(args[0]); err != nil {
			return err
		}
		var err error
		if period, err = parseRotation(args[1]); err != nil {
			return err
		}
		v, err := openVault()
		if err != nil {
			return err
		}
		_, err = v.Stat(args[0])
		return err
	}
	return c
}
