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

type importFlags struct {
	pf          passphraseFlag
	prefix      string
	envsealFile string
	keep        bool
	sel         moving.Select
	dryRun      bool
}

func (a *app) importCmd() *cobra.Command {
	var f importFlags
	c := &cobra.Command{
		Use:  "import FILE",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error { return a.importFile(&f, args[0]) },
	}
	fl := c.Flags()
	fl.StringVar(&f.prefix, "prefix", "", "prepend `P` to every secret name (e.g. myapp.)")
	fl.StringVar(&f.envsealFile, "envseal-file", "", "write the mapping to `PATH` (default: .envseal next to FILE)")
	fl.BoolVar(&f.keep, "keep", false, "leave FILE untouched (its values stay in plaintext)")
	fl.BoolVar(&f.sel.All, "all", false, "move every non-empty value, not only those that look secret")
	fl.StringSliceVar(&f.sel.Only, "only", nil, "move only the variable `NAME` (repeat, or comma-separate)")
	fl.StringSliceVar(&f.sel.Except, "except", nil, "keep the variable `NAME` in FILE (repeat, or comma-separate)")
	fl.BoolVar(&f.dryRun, "dry-run", false, "print what would move and what would stay; change nothing")
	fl.IntVar(&f.pf.fd, "passphrase-fd", -1, "read the vault passphrase from file descriptor `N`")
	return c
}

func (a *app) importFile(f *importFlags, path string) error {
	if f.envsealFile == "" {
		f.envsealFile = filepath.Join(filepath.Dir(path), envfile.FileName)
	}
	if err := f.sel.Check(); err != nil {
		return err
	}
	p, err := moving.PlanDotenv(path, f.prefix, f.envsealFile, f.sel)
	if err != nil {
		return err
	}
	defer p.Wipe()
	p.WriteTable(a.stdout)
	if len(p.Items) == 0 {
		if f.sel.All || len(f.sel.Only) > 0 {
			return withHint(fmt.Errorf("%s has no values to import", path), "nothing was changed")
		}
		return withHint(fmt.Errorf("nothing in %s looks secret", path),
			"nothing was changed; move chosen variables with --only NAME, or every value with --all")
	}
	if f.dryRun {
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
	return f.pf.withKey(func(v *vault.Vault, k seal.Key) error {
		log := a.auditLog(v.Dir())
		err = p.Apply(v, k, f.keep, func(name string, gen uint64) {
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
		a.infof("wrote %s", f.envsealFile)
		if f.keep {
			a.warnf("%s still holds the values (--keep); delete it once 'envseal run' works", path)
		} else {
			a.infof("removed the values from %s", path)
		}
		return nil
	})
}
