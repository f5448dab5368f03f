package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/detect"
	"github.com/envseal/envseal/internal/moving"
	"github.com/envseal/envseal/internal/term"
	"github.com/envseal/envseal/internal/vault"
)

type scanFlags struct {
	pf       passphraseFlag
	history  bool
	asJSON   bool
	doImport bool
	yes      bool
	prefix   string
}

func (a *app) scanCmd() *cobra.Command {
	var f scanFlags
	c := &cobra.Command{
		Use:  "scan [PATHS...]",
		RunE: func(c *cobra.Command, args []string) error { return a.scan(&f, args) },
	}
	fl := c.Flags()
	fl.BoolVar(&f.history, "history", false, "also scan the bash, zsh and fish history files")
	fl.BoolVar(&f.asJSON, "json", false, "print the findings as JSON (never with values)")
	fl.BoolVar(&f.doImport, "import", false, "move each value into the vault and remove it from its file")
	fl.BoolVar(&f.yes, "yes", false, "with --import: take the suggested secret names without asking")
	fl.StringVar(&f.prefix, "prefix", "", "with --import: prepend `P` to every suggested secret name")
	fl.IntVar(&f.pf.fd, "passphrase-fd", -1, "read the vault passphrase from file descriptor `N`")
	return c
}

func (a *app) scan(f *scanFlags, paths []string) error {
	res, err := scanFindings(paths, f.history)
	if err != nil {
		return err
	}
	defer res.Wipe()
	for _, s := range res.Skipped {
		if s.Notice {
			a.warnf("%s: skipped: %s", s.Path, s.Reason)
		}
	}
	if f.asJSON {
		if err := res.WriteJSON(a.stdout); err != nil {
			return err
		}
	} else {
		for _, fd := range res.Findings {
			fmt.Fprintln(a.stdout, fd.String())
		}
	}
	if len(res.Findings) == 0 {
		a.infof("no likely secrets found")
		return nil
	}
	left := len(res.Findings)
	if f.doImport {
		moved, err := a.scanImport(res.Findings, f)
		if err != nil {
			return err
		}
		if left -= moved; left == 0 {
			return nil
		}
	}
	if !f.asJSON {
		hint := "move them into the vault with 'envseal scan --import' (or 'envseal import FILE' for a .env file)"
		if f.doImport {
			hint = "the findings not moved are still in place"
		}
		a.infof("%d %s still in plain text; %s", left, plural(left, "likely secret is", "likely secrets are"), hint)
	}
	return &exitErr{err: errors.New("likely secrets found"), code: exitError, silent: true}
}

// scanFindings is detect.Scan of paths (and the history), skipping the
// vault directory.
func scanFindings(paths []string, history bool) (*detect.Result, error) {
	var skipDirs []string
	if home, err := vault.Home(); err == nil {
		skipDirs = append(skipDirs, home)
	}
	res, err := detect.Scan(paths, history, detect.WalkOptions{SkipDirs: skipDirs})
	if err != nil {
		return nil, withHint(err, "name files or directories that exist")
	}
	return res, nil
}

// scanImport names the findings' values (asking on the terminal unless
// --yes), then moves them into the vault and out of their files, file by
// file (moving.Batch.Move). It returns how many findings it moved.
func (a *app) scanImport(findings []detect.Finding, f *scanFlags) (int, error) {
	b := moving.NewBatch(findings)
	for _, p := range b.Dotenv {
		a.warnf("%s is a dotenv file: not rewritten; move its values with 'envseal import %s' (it also writes .envseal)", p, p)
	}
	if len(b.Paths) == 0 {
		return 0, nil
	}
	if err := a.nameFindings(b, f); err != nil {
		return 0, err
	}
	v, k, err := f.pf.unlock()
	if err != nil {
		return 0, err
	}
	defer k.Wipe()
	log := a.auditLog(v.Dir())
	moved, err := b.Move(v, k, func(name string, gen uint64) {
		log.Event(k, audit.SecretStored, map[string]any{"secret": name, "generation": gen, "source": "scan"})
	}, func(name string) {
		log.Event(k, audit.SecretRevoked, map[string]any{"secret": name, "reason": "scan import rolled back"})
	}, func(m moving.Moved) {
		if r := m.Refused; r != nil {
			a.warnf("%s: not rewritten, nothing stored for it: %s; %s", r.Path, r.Why, r.Hint)
			return
		}
		if m.Plan.Mapping != "" {
			a.infof("%s: the values are now read from the environment; added %s to %s", m.Path, strings.Join(m.Plan.Vars, ", "), m.Plan.Mapping)
		}
		a.infof("%s: moved %d values to the vault (%s)", m.Path, m.Finds, strings.Join(m.Names, ", "))
	})
	if err != nil && moved > 0 {
		a.infof("moved %d values before this failure; those files are already rewritten", moved)
	}
	return moved, err
}

// nameFindings gives every distinct value a secret name before anything
// changes: the suggested one with --yes, else the one typed.
func (a *app) nameFindings(b *moving.Batch, f *scanFlags) error {
	v, err := openVault()
	if err != nil {
		return err
	}
	taken, err := v.Names()
	if err != nil {
		return err
	}
	var tty *term.TTY
	if !f.yes {
		if tty, err = term.Open(); err != nil {
			return withHint(err, "run from a terminal to choose names, or pass --yes to take the suggested ones")
		}
		defer tty.Close()
	}
	return b.Name(func(fd *detect.Finding) (string, error) {
		name, err := chooseName(tty, fd, moving.FreeName(fd, detect.SuggestName(fd, f.prefix), taken), taken)
		taken[name] = true
		return name, err
	})
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
