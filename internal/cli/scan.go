package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/detect"
	"github.com/envseal/envseal/internal/moving"
	"github.com/envseal/envseal/internal/term"
	"github.com/envseal/envseal/internal/vault"
)

func (a *app) scanCmd() *cobra.Command {
	var (
		pf       passphraseFlag
		history  bool
		asJSON   bool
		doImport bool
		yes      bool
		prefix   string
	)
	c := &cobra.Command{
		Use: "scan [PATHS...]",
		RunE: func(c *cobra.Command, args []string) error {
			paths := args
			if len(paths) == 0 && !history {
				paths = []string{"."}
			}
			var skipDirs []string
			if home, err := vault.Home(); err == nil {
				skipDirs = append(skipDirs, home)
			}
			res := &detect.Result{}
			if len(paths) > 0 {
				r, err := detect.ScanPaths(paths, detect.WalkOptions{SkipDirs: skipDirs})
				if err != nil {
					return withHint(err, "name files or directories that exist")
				}
				res = r
			}
			if history {
				home, _ := os.UserHomeDir()
				res.ScanHistoryFiles(home, os.Getenv)
			}
			defer func() {
				for i := range res.Findings {
					res.Findings[i].Wipe()
				}
			}()
			for _, s := range res.Skipped {
				if s.Notice {
					a.warnf("%s: skipped: %s", s.Path, s.Reason)
				}
			}
			if asJSON {
				if err := res.WriteJSON(a.stdout); err != nil {
					return err
				}
			} else {
				for _, f := range res.Findings {
					fmt.Fprintln(a.stdout, f.String())
				}
			}
			if len(res.Findings) == 0 {
				a.infof("no likely secrets found")
				return nil
			}
			left := len(res.Findings)
			if doImport {
				moved, err := a.scanImport(res.Findings, prefix, yes, &pf)
				if err != nil {
					return err
				}
				left -= moved
				if left == 0 {
					return nil
				}
			}
			if !asJSON {
				hint := "move them into the vault with 'envseal scan --import' (or 'envseal import FILE' for a .env file)"
				if doImport {
					hint = "the findings not moved are still in place"
				}
				what := "likely secrets are"
				if left == 1 {
					what = "likely secret is"
				}
				a.infof("%d %s still in plain text; %s", left, what, hint)
			}
			return &exitErr{err: errors.New("likely secrets found"), code: exitError, silent: true}
		},
	}
	f := c.Flags()
	f.BoolVar(&history, "history", false, "also scan the bash, zsh and fish history files")
	f.BoolVar(&asJSON, "json", false, "print the findings as JSON (never with values)")
	f.BoolVar(&doImport, "import", false, "move each value into the vault and remove it from its file")
	f.BoolVar(&yes, "yes", false, "with --import: take the suggested secret names without asking")
	f.StringVar(&prefix, "prefix", "", "with --import: prepend `P` to every suggested secret name")
	f.IntVar(&pf.fd, "passphrase-fd", -1, "read the vault passphrase from file descriptor `N`")
	return c
}

// scanImport moves the findings' values into the vault and out of their
// files, file by file. It returns how many findings it moved.
func (a *app) scanImport(findings []detect.Finding, prefix string, yes bool, pf *passphraseFlag) (int, error) {
	b := moving.NewBatch(findings)
	for _, p := range b.Dotenv {
		a.warnf("%s is a dotenv file: not rewritten; move its values with 'envseal import %s' (it also writes .envseal)", p, p)
	}
	if len(b.Paths) == 0 {
		return 0, nil
	}
	v, err := openVault()
	if err != nil {
		return 0, err
	}
	taken, err := v.Names()
	if err != nil {
		return 0, err
	}

	// Name every distinct value before anything changes.
	var tty *term.TTY
	if !yes {
		if tty, err = term.Open(); err != nil {
			return 0, withHint(err, "run from a terminal to choose names, or pass --yes to take the suggested ones")
		}
		defer tty.Close()
	}
	err = b.Name(func(f *detect.Finding) (string, error) {
		name, err := chooseName(tty, f, moving.FreeName(f, detect.SuggestName(f, prefix), taken), taken)
		taken[name] = true
		return name, err
	})
	if err != nil {
		return 0, err
	}

	v, k, err := pf.unlock()
	if err != nil {
		return 0, err
	}
	defer k.Wipe()
	log := a.auditLog(v.Dir())
	moved := 0
	for _, p := range b.Paths {
		plan, err := b.PlanFile(p)
		if err == nil {
			err = plan.Apply(v, k, func(name string, gen uint64) {
				log.Event(k, audit.SecretStored, map[string]any{"secret": name, "generation": gen, "source": "scan"})
			}, func(name string) {
				log.Event(k, audit.SecretRevoked, map[string]any{"secret": name, "reason": "scan import rolled back"})
			})
		}
		var ref *moving.RefusedError
		if errors.As(err, &ref) {
			a.warnf("%s: not rewritten, nothing stored for it: %s; %s", ref.Path, ref.Why, ref.Hint)
			continue
		}
		if err != nil {
			if moved > 0 {
				a.infof("moved %d values before this failure; those files are already rewritten", moved)
			}
			return moved, err
		}
		if plan.Mapping != "" {
			a.infof("%s: the values are now read from the environment; added %s to %s", p, strings.Join(plan.Vars, ", "), plan.Mapping)
		}
		n := len(b.Finds(p))
		moved += n
		a.infof("%s: moved %d values to the vault (%s)", p, n, strings.Join(b.Names(p), ", "))
	}
	return moved, nil
}

// chooseName asks for a secret name on the terminal (tty nil: take def),
// refusing names that exist: import never replaces a secret.
func chooseName(tty *term.TTY, f *detect.Finding, def string, taken map[string]bool) (string, error) {
	if tty == nil {
		return def, nil
	}
	for tries := 0; tries < 5; tries++ {
		b, err := tty.ReadHidden(fmt.Sprintf("Secret name for %s [%s]: ", f.String(), def))
		if err != nil {
			return "", err
		}
		name := strings.TrimSpace(string(b))
		if name == "" {
			name = def
		}
		if err := vault.ValidName(name); err != nil {
			tty.Printf("  %v\n", err)
			continue
		}
		if taken[name] {
			tty.Printf("  a secret named %s exists already; choose another name\n", name)
			continue
		}
		tty.Printf("  → %s\n", name)
		return name, nil
	}
	return "", withHint(errors.New("no usable secret name given"), "nothing was changed; pass --yes to take the suggested names")
}
