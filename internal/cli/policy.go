package cli

import (
	"errors"
	"time"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/term"
	"github.com/envseal/envseal/internal/vault"
)

func (a *app) policyListCmd() *cobra.Command {
	var asJSON bool
	c := keyed("list", cobra.NoArgs, func(_ []string, v *vault.Vault, k seal.Key) error {
		p, err := a.loadPolicy(v, k)
		if err != nil {
			return err
		}
		if asJSON {
			return policy.WriteJSON(a.stdout, p.Rules)
		}
		if len(p.Rules) == 0 {
			a.infof("no rules yet; 'envseal run' asks you the first time and saves a rule when you allow always")
			return nil
		}
		return policy.WriteTable(a.stdout, p.Rules, time.Now())
	})
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func (a *app) policyRevokeCmd() *cobra.Command {
	return keyed("revoke ID", cobra.ExactArgs(1), func(args []string, v *vault.Vault, k seal.Key) error {
		var err error
		_, err = policy.NewStore(v.Dir(), k).Update(func(p *policy.Policy) error { return p.Remove(args[0]) })
		if errors.Is(err, policy.ErrNoSuchRule) {
			return withHint(err, "see the rule ids with 'envseal policy list'")
		}
		if errors.Is(err, policy.ErrTampered) {
			a.auditLog(v.Dir()).Event(k, audit.PolicyTampered, map[string]any{"error": err.Error()})
		}
		if err != nil {
			return err
		}
		a.auditLog(v.Dir()).Event(k, audit.PolicyChanged, map[string]any{"action": "revoke", "rule": args[0]})
		a.infof("revoked rule %s", args[0])
		return nil
	})
}

func (a *app) policyResetCmd() *cobra.Command {
	return keyed("reset", cobra.NoArgs, func(_ []string, v *vault.Vault, k seal.Key) error {
		if err := confirmReset("Type RESET to replace the policy with an empty one: ", "policy not reset"); err != nil {
			return err
		}
		if err := policy.NewStore(v.Dir(), k).Reset(); err != nil {
			return err
		}
		a.auditLog(v.Dir()).Event(k, audit.PolicyChanged, map[string]any{"action": "reset"})
		a.infof("the policy is now empty")
		return nil
	})
}

// confirmReset asks the human to type RESET on the terminal (never stdin,
// so an agent piping input cannot confirm); anything else is refusal.
func confirmReset(prompt, refused string) error {
	t, err := term.Open()
	if err != nil {
		return err
	}
	defer t.Close()
	ans, err := t.ReadHidden(prompt)
	if err != nil {
		return err
	}
	if string(ans) != "RESET" {
		return withHint(errors.New(refused), "type RESET exactly to confirm")
	}
	return nil
}

// loadPolicy loads the sealed policy; a tampered one is recorded in the
// audit log and answered with how to recover.
func (a *app) loadPolicy(v *vault.Vault, k seal.Key) (*policy.Policy, error) {
	p, err := policy.NewStore(v.Dir(), k).Load()
	if errors.Is(err, policy.ErrTampered) {
		a.auditLog(v.Dir()).Event(k, audit.PolicyTampered, map[string]any{"error": err.Error()})
	}
	if err != nil {
		return nil, withHint(err, "restore policy.seal from a backup, or 'envseal policy reset' to start with no rules")
	}
	return p, nil
}
