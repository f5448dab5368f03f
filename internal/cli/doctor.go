package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/broker/wire"
	"github.com/envseal/envseal/internal/guard"
	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/sandbox"
	"github.com/envseal/envseal/internal/vault"
)

func (a *app) doctorCmd() *cobra.Command {
	var (
		pf     passphraseFlag
		asJSON bool
		rules  bool
	)
	c := &cobra.Command{
		Use:  "doctor",
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

// doctorFacts gathers the facts `envseal doctor` checks without the key;
// the CLI names the vault, the jail and the broker's socket.
func (a *app) doctorFacts() guard.Facts {
	src := guard.Sources{BrokerSocket: wire.SocketPath()}
	if dir, err := vault.Home(); err == nil {
		src.VaultDir, src.Jailed = dir, sandbox.InJail(dir)
	}
	return guard.Gather(src)
}
