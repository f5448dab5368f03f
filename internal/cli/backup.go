package cli

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/backup"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/vault"
)

func (a *app) backupCmd() *cobra.Command {
	var (
		force bool
		out   string
	)
	c := keyed("backup FILE", cobra.ExactArgs(1), func(args []string, v *vault.Vault, k seal.Key) error {
		info, err := backup.Write(v, k, out, force)
		if err != nil {
			return err
		}
		id := hex.EncodeToString(info.ID[:8])
		a.auditLog(v.Dir()).Event(k, audit.VaultBackup, map[string]any{"backup": id, "file": out, "secrets": info.Secrets})
		a.infof("wrote %s: %d secrets and %d other files, encrypted (backup %s)", out, info.Secrets, len(info.Files), id)
		a.infof("restore with 'envseal restore %s' and the current passphrase", args[0])
		return nil
	})
	// An existing FILE is refused before the passphrase is asked.
	c.PreRunE = func(_ *cobra.Command, args []string) error {
		var err error
		if out, err = filepath.Abs(args[0]); err != nil {
			return err
		}
		if _, err := os.Lstat(out); err == nil && !force {
			return withHint(fmt.Errorf("%s already exists", out), "choose another file name, or add --force to replace it")
		}
		return nil
	}
	c.Flags().BoolVar(&force, "force", false, "replace FILE if it exists")
	return c
}

func (a *app) restoreCmd() *cobra.Command {
	var (
		pf    passphraseFlag
		force bool
	)
	c := &cobra.Command{
		Use:  "restore FILE",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			dir, err := vault.Home()
			if err != nil {
				return err
			}
			if _, err := vault.Open(dir); err == nil && !force {
				return withHint(fmt.Errorf("a vault already exists in %s", dir), "add --force to replace it (it is kept aside), or set ENVSEAL_HOME to another directory")
			}
			f, err := os.Open(args[0])
			if err != nil {
				return withHint(err, "give the file written by 'envseal backup'")
			}
			defer f.Close()
			pass, err := pf.read("Passphrase of the backup: ", false)
			if err != nil {
				return err
			}
			defer clear(pass)
			info, aside, v, k, err := backup.Restore(dir, f, pass, force)
			var oe *backup.OpenError
			switch {
			case errors.Is(err, vault.ErrWrongPassphrase):
				return withHint(err, "type the passphrase the vault had when the backup was written")
			case errors.As(err, &oe), errors.Is(err, vault.ErrBackupCorrupt):
				return withHint(err, "nothing was changed; use another copy of the backup")
			case errors.Is(err, vault.ErrExists):
				return withHint(err, "add --force to replace it (it is kept aside), or set ENVSEAL_HOME to another directory")
			case err != nil:
				return err
			}
			defer k.Wipe()
			id := hex.EncodeToString(info.ID[:8])
			a.auditLog(v.Dir()).Event(k, audit.VaultRestored, map[string]any{"backup": id, "written": info.Created, "secrets": info.Secrets})
			a.infof("restored %d secrets and %d other files into %s (backup %s of %s)", info.Secrets, len(info.Files), dir, id, info.Created.Local().Format("2006-01-02 15:04:05"))
			if aside != "" {
				a.infof("the vault that was there is kept in %s; delete it when you no longer need it", aside)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&force, "force", false, "replace an existing vault (kept aside, not deleted)")
	c.Flags().IntVar(&pf.fd, "passphrase-fd", -1, "read the passphrase from file descriptor `N`")
	return c
}
