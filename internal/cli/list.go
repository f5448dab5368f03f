package cli

import (
	"errors"
	"time"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/broker/client"
	"github.com/envseal/envseal/internal/listing"
	"github.com/envseal/envseal/internal/vault"
)

func (a *app) listCmd() *cobra.Command {
	var asJSON, due bool
	c := &cobra.Command{
		Use:  "list",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ents, err := listEntries()
			if err != nil {
				return err
			}
			for _, e := range ents {
				if e.Err != nil {
					a.warnf("%v", e.Err)
				}
			}
			now := time.Now()
			out := listing.Rows(ents, now, due)
			if asJSON {
				if err := listing.WriteJSON(a.stdout, out); err != nil {
					return err
				}
			} else if err := a.printList(out, len(ents), due, now); err != nil {
				return err
			}
			if due && len(out) > 0 {
				return &exitErr{err: errors.New("secrets are due for rotation"), code: exitError, silent: true}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.Flags().BoolVar(&due, "due", false, "only secrets due for rotation (exit 1 if any)")
	return c
}

func (a *app) printList(out []listing.Entry, total int, due bool, now time.Time) error {
	if total == 0 {
		a.infof("the vault is empty; add a secret with 'envseal store NAME'")
		return nil
	}
	if due && len(out) == 0 {
		a.infof("no secret is due for rotation")
		return nil
	}
	return listing.WriteTable(a.stdout, out, now)
}

// listEntries asks the broker when its socket answers (inside envseal jail
// the vault directory is hidden, the broker can still read it), else reads
// the vault and its audit log directly.
func listEntries() ([]listing.Secret, error) {
	svc, err := client.Connect(client.Options{Local: &client.Local{OpenVault: openVault}})
	if err != nil {
		return nil, err
	}
	les, err := svc.List()
	if err != nil {
		return nil, err
	}
	out := make([]listing.Secret, 0, len(les))
	for _, le := range les {
		out = append(out, listing.Secret{Entry: le.Entry(), LastUsed: le.LastUsed, UseUnknown: le.UseUnknown})
	}
	return out, nil
}

// parseRotation is vault.ParseRotation, with the hint for a period it
// does not understand.
func parseRotation(s string) (uint32, error) {
	days, err := vault.ParseRotation(s)
	var re *vault.RotationError
	switch {
	case errors.As(err, &re) && re.Number:
		return 0, withHint(err, "use a whole number of days or weeks from 1d to 36500d, e.g. 30d or 12w, or 'never'")
	case err != nil:
		return 0, withHint(err, "use days or weeks, e.g. 30d or 12w, or 'never'")
	}
	return days, nil
}
