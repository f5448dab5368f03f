package cli

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/broker/wire"
	"github.com/envseal/envseal/internal/guard"
	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/safefile"
	"github.com/envseal/envseal/internal/sandbox"
	"github.com/envseal/envseal/internal/totp"
	"github.com/envseal/envseal/internal/vault"
)

func (a *app) doctorCmd() *cobra.Command {
	var (
		pf     passphraseFlag
		asJSON bool
		rules  bool
	)
	c := &cobra.Command{
		Use:   "doctor",
		Short: "Check how safe this machine and vault are, and say how to fix what is not",
		Long: `List findings about this machine, session and vault, each with a stable id,
a severity (info, low, medium, high, critical), what was found and the exact
fix. Exit status 1 when a finding is high or critical.

Needs no passphrase. The rules are sealed with the vault key, so they are
checked only with --rules (the passphrase is asked on the terminal) or
--passphrase-fd N. The audit log's hash chain is checked; its MACs need the
key: 'envseal audit verify'.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			f := a.doctorFacts()
			if rules || pf.fd >= 0 {
				v, k, err := pf.unlock()
				if err != nil {
					return err
				}
				p, err := policy.NewStore(v.Dir(), k).Load()
				k.Wipe()
				if err != nil {
					return err
				}
				f.Rules, f.RulesChecked, f.TOTPFlag = p.Rules, true, p.TOTP
			}
			r := guard.NewReport(guard.Check(f))
			if asJSON {
				a.stdout.Write(r.JSON())
			} else {
				writeSignals(a.stdout, r.Signals)
			}
			if r.OK {
				return nil
			}
			if asJSON {
				return &exitErr{err: errors.New("high or critical findings"), code: exitError, silent: true}
			}
			n := 0
			for _, s := range r.Signals {
				if s.Severity.Rank() >= guard.High.Rank() {
					n++
				}
			}
			return withHint(fmt.Errorf("%d high or critical finding(s)", n), "apply the fixes shown above, then run 'envseal doctor' again")
		},
	}
	fl := c.Flags()
	fl.BoolVar(&asJSON, "json", false, "print the findings as JSON (stable schema, version 1)")
	fl.BoolVar(&rules, "rules", false, "also check the rules (asks for the passphrase)")
	fl.IntVar(&pf.fd, "passphrase-fd", -1, "check the rules too, reading the vault passphrase from file descriptor `N`")
	return c
}

func writeSignals(w io.Writer, sigs []guard.Signal) {
	for _, s := range sigs {
		fmt.Fprintf(w, "%-8s %s: %s\n", strings.ToUpper(string(s.Severity)), s.ID, oneLine(s.Found))
		if s.Fix != "" {
			fmt.Fprintf(w, "         fix: %s\n", oneLine(s.Fix))
		}
	}
}

// doctorFacts gathers the facts guard cannot reach itself (it sits below
// the sandbox, vault and audit packages).
func (a *app) doctorFacts() guard.Facts {
	f := guard.SystemFacts()
	if dir, err := vault.Home(); err == nil {
		f.VaultDir = dir
		f.CheckVaultDir = func(dir string) error {
			if _, err := os.Stat(dir); err != nil {
				return err
			}
			return safefile.CheckDir(dir)
		}
		f.Audit = func() (int, error) { return audit.CheckChain(dir) }
		if inJail(dir) {
			// The vault here is the jail's empty read-only cover: no
			// audit log to open (EROFS on its lock is not damage) and no
			// vault dir to judge. jail.inside says where this runs.
			f.CheckVaultDir, f.Audit = nil, nil
		}
		if v, err := vault.Open(dir); err == nil {
			f.TOTP = func() (bool, error) { return totp.Present(dir) }
			if ents, err := v.List(); err == nil {
				f.Secrets = []guard.SecretHealth{}
				for _, e := range ents {
					if e.Err == nil {
						f.Secrets = append(f.Secrets, guard.SecretHealth{Name: e.Name, Due: e.RotationDue(), Weak: e.Weak})
					}
				}
			}
		}
	}
	if runtime.GOOS == "linux" {
		f.Tiers = sandbox.Supported()
		f.TierOrder = sandbox.Tiers()
		f.TierHint = func(err error) string {
			var ue *sandbox.UnsupportedError
			if errors.As(err, &ue) {
				return ue.Hint
			}
			return ""
		}
		f.LandlockABI = sandbox.LandlockABI()
		f.Broker = func() (string, error) {
			p := wire.SocketPath()
			c, err := net.DialTimeout("unix", p, 500*time.Millisecond)
			if err != nil {
				return p, err
			}
			c.Close()
			return p, nil
		}
	}
	return f
}
