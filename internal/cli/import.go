package cli

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

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
		Use:   "import FILE",
		Short: "Move the secret values of a .env file into the vault and write .envseal",
		Long: `Read the dotenv file FILE (quotes, escapes, 'export', multi-line values,
comments) and move the values that look secret into the vault: each is
stored as a secret named after its key (with --prefix P prepended), gets a
KEY=secret line in the .envseal next to FILE (or --envseal-file PATH), and
is removed from FILE ("KEY= # moved to envseal: secret NAME"); --keep
leaves FILE as it was.

What looks secret: a known token shape, a PEM block, a password inside a
URL, a name like *_KEY, *_TOKEN, *SECRET*, *PASSWORD*, or a high-entropy
value. Everything else (NODE_ENV=production, PORT=3000, API_URL=…) stays in
FILE as plain config: moved to the vault it would be scrubbed from every
output. A table on stdout shows what moves, what stays and why (never a
value). --all moves every non-empty value, --only NAME moves just the
variables named, --except NAME keeps those in FILE; --dry-run prints the
table and changes nothing. Keys with an empty value always stay.

Nothing is half done: every value is stored first; if one store fails, the
secrets this import stored are revoked and no file is touched. Existing
secrets are never replaced. Values are never printed.`,
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
			printImportTable(a.stdout, p)
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
				names := make([]string, len(p.Items))
				for i, it := range p.Items {
					names[i] = it.Secret
				}
				a.infof("stored %d secrets: %s", len(names), strings.Join(names, ", "))
				var weak []string
				for _, n := range names {
					if m, err := v.Stat(n); err == nil && m.Weak {
						weak = append(weak, n)
					}
				}
				if len(weak) > 0 {
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

// printImportTable shows what moves and what stays, with why: the human
// checks the guess before (with --dry-run) or after the fact. Names only.
func printImportTable(w io.Writer, p *moving.DotenvPlan) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIABLE\tLINE\tACTION\tWHY")
	for _, r := range p.Rows {
		action := "stays in " + filepath.Base(p.Path)
		if r.Move {
			action = "moves to secret " + r.Secret
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", r.Key, r.Line, action, r.Why)
	}
	tw.Flush()
}
