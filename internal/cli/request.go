package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/broker/client"
	"github.com/envseal/envseal/internal/broker/wire"
	"github.com/envseal/envseal/internal/vault"
)

func (a *app) requestCmd() *cobra.Command {
	var purpose string
	c := &cobra.Command{
		Use:  "request NAME",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			name := args[0]
			if err := vault.ValidName(name); err != nil {
				return err
			}
			bc, err := client.Dial("")
			if err != nil {
				if errors.Is(err, wire.ErrNoBroker) {
					return withHint(err, "ask the human to start 'envseal broker' in their own terminal, or to run 'envseal store "+name+"' themselves")
				}
				return err
			}
			res, err := bc.Store(name, purpose)
			if err != nil {
				return err
			}
			if !res.Stored {
				return withHint(fmt.Errorf("secret %s was not stored: %s", name, res.Reason), "the human decides at the broker's terminal; ask them, or try again")
			}
			a.infof("stored %s (typed by the human at the broker)", name)
			return nil
		},
	}
	c.Flags().StringVar(&purpose, "purpose", "", "one sentence shown to the human: what the secret is for")
	return c
}
