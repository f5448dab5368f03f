package cli

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/moving"

	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/envfile"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/vault"
)

func (a *app) importCmd() *cobra.Command {
	var (
		pf          passphraseFlag
		prefix      string
		envsealFile string
		keep        bool
		sel         moving.Select
		dryRun      bool
	)
	c := &cobra.Command{
		Use:  "import FILE",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			path := args[0]
			if envsealFile == "" {
				envsealFile = filepath.Join(filepath.Dir(path), envfile.FileName)
			}
			if err := sel.Check(); err != nil {
				return err
			}
			p, err := moving.PlanDotenv(path, prefix, envsealFile, sel)
			if err != nil {
				return err
			}
			defer p.Wipe()
			p.WriteTable(a.stdout)
			if len(p.Items) == 0 {
				if sel.All || len(sel.Only) > 0 {
					return withHint(fmt.Errorf("%s has no values to import", path), "nothing was changed")
				}
				return withHint(fmt.Errorf("nothing in %s looks secret", path),
					"nothing was changed; move chosen variables with --only NAME, or every value with --all")
			}
			if dryRun {
				a.infof("dry run: nothing was changed")
				return nil
			}
			v, err := openVault()
			if err != nil {
				return err
			}
			if err := p.CheckVault(v); err != nil {
				return err
			}
			return pf.withKey(func(v *vault.Vault, k seal.Key) error {
				log := a.auditLog(v.Dir())
				err = p.Apply(v, k, keep, func(name string, gen uint64) {
					log.Event(k, audit.SecretStored, map[string]any{"secret": name, "generation": gen, "source": "import"})
				}, func(name string) {
					log.Event(k, audit.SecretRevoked, map[string]any{"secret": name, "reason": "import rolled back"})
				})
				if err != nil {
					return err
				}
				names := p.Secrets()
				a.infof("stored %d secrets: %s", len(names), strings.Join(names, ", "))
				if weak := moving.Weak(v, names); len(weak) > 0 {
					a.warnf("values that look like placeholders or have under 64 bits of entropy: %s ('envseal list' marks them weak)", strings.Join(weak, ", "))
				}
				a.infof("wrote %s", envsealFile)
				if keep {
					a.warnf("%s still holds the values (--keep); delete it once 'envseal run' works", path)
				} else {
					a.infof("removed the values from %s", path)
				}
				return nil
			})
		},
	}
	f := c.Flags()
	f.StringVar(&prefix, "prefix", "", "prepend `P` to every secret name (e.g. myapp.)")
	f.StringVar(&envsealFile, "envseal-file", "", "write the mapping to `PATH` (default: .envseal next to FILE)")
	f.BoolVar(&keep, "keep", false, "leave FILE untouched (its values stay in plaintext)")
	f.BoolVar(&sel.All, "all", false, "move every non-empty value, not only those that look secret")
	f.StringSliceVar(&sel.Only, "only", nil, "move only the variable `NAME` (repeat, or comma-separate)")
	f.StringSliceVar(&sel.Except, "except", nil, "keep the variable `NAME` in FILE (repeat, or comma-separate)")
	f.BoolVar(&dryRun, "dry-run", false, "print what would move and what would stay; change nothing")
	f.IntVar(&pf.fd, "passphrase-fd", -1, "read the vault passphrase from file descriptor `N`")
	return c
}
