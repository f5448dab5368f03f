package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/broker/client"
	"github.com/envseal/envseal/internal/githook"
	"github.com/envseal/envseal/internal/launch"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/term"
	"github.com/envseal/envseal/internal/vault"
)

// hooksDir is githook.HooksDir, with the hint for a directory that is not
// a git work tree.
func hooksDir() (string, error) {
	dir, err := githook.HooksDir()
	if errors.Is(err, githook.ErrNotWorkTree) {
		return "", withHint(err, "run this inside a git work tree")
	}
	return dir, err
}

func (a *app) gitHookInstallCmd() *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:  "install",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			dir, err := hooksDir()
			if err != nil {
				return err
			}
			exe, err := githook.Executable()
			if err != nil {
				return err
			}
			path, backup, err := githook.Install(dir, exe, force)
			if backup != "" {
				a.infof("kept the previous hook as %s", backup)
			}
			if errors.Is(err, githook.ErrForeign) {
				return withHint(err, "call 'envseal git-hook run' from your hook yourself, or replace it with 'envseal git-hook install --force' (the old one is kept as pre-commit.before-envseal)")
			}
			if err != nil {
				return err
			}
			a.infof("installed %s (runs %s)", path, exe)
			return nil
		},
	}
	c.Flags().BoolVar(&force, "force", false, "replace a pre-commit hook envseal did not write (kept as pre-commit.before-envseal)")
	return c
}

func (a *app) gitHookUninstallCmd() *cobra.Command {
	return &cobra.Command{
		Use:  "uninstall",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			dir, err := hooksDir()
			if err != nil {
				return err
			}
			path, removed, err := githook.Uninstall(dir)
			switch {
			case errors.Is(err, githook.ErrForeign):
				return withHint(err, "remove it yourself if you mean to; it was left alone")
			case err != nil:
				return err
			case !removed:
				a.infof("no pre-commit hook in %s; nothing to do", dir)
			default:
				a.infof("removed %s", path)
			}
			return nil
		},
	}
}

func (a *app) gitHookRunCmd() *cobra.Command {
	var pf passphraseFlag
	c := &cobra.Command{
		Use:    "run",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			problems, err := githook.Check(&githook.Checker{Local: a.hookLocal(&pf), Warnf: a.warnf})
			if errors.Is(err, githook.ErrNotWorkTree) {
				return withHint(err, "run this inside a git work tree (the pre-commit hook does)")
			}
			if err != nil || len(problems) == 0 {
				return err
			}
			for _, p := range problems {
				fmt.Fprintf(a.stderr, "envseal: %s\n", p)
			}
			return withHint(fmt.Errorf("commit blocked: %d %s in the staged changes", len(problems), plural(len(problems), "secret", "secrets")),
				"take them out of the commit (move a value into the vault with 'envseal scan --import FILE' or 'envseal store'); to commit anyway, 'git commit --no-verify'")
		},
	}
	c.Flags().IntVar(&pf.fd, "passphrase-fd", -1, "read the vault passphrase from file descriptor `N`")
	return c
}

// hookLocal is the hook's direct path: the vault passphrase from the
// terminal (or --passphrase-fd); with neither, term.ErrNoTTY before
// anything is asked.
func (a *app) hookLocal(pf *passphraseFlag) *client.Local {
	return &client.Local{
		OpenVault: openVault,
		Checkpoint: func(v *vault.Vault) (launch.Config, error) {
			return launch.Config{Vault: v, Unlock: func() (seal.Key, error) {
				if pf.fd < 0 {
					t, err := term.Open()
					if err != nil {
						return seal.Key{}, err
					}
					t.Close()
				}
				_, k, err := pf.unlock()
				return k, err
			}}, nil
		},
	}
}
