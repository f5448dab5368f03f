package cli

import (
	"errors"
	"fmt"

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
				a.stdout.Write(r.Text())
			}
			if r.OK {
				return nil
			}
			if asJSON {
				return &exitErr{err: errors.New("high or critical findings"), code: exitError, silent: true}
			}
			return withHint(fmt.Errorf("%d high or critical finding(s)", r.Serious()), "apply the fixes shown above, then run 'envseal doctor' again")
		},
	}
	fl := c.Flags()
	fl.BoolVar(&asJSON, "json", false, "print the findings as JSON (stable schema, version 1)")
	fl.BoolVar(&rules, "rules", false, "also check the rules (asks for the passphrase)")
	fl.IntVar(&pf.fd, "passphrase-fd", -1, "check the rules too, reading the vault passphrase from file descriptor `N`")
	return c
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
