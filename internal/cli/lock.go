package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/broker/client"
	"github.com/envseal/envseal/internal/broker/wire"
)

func (a *app) lockCmd() *cobra.Command {
	return &cobra.Command{
		Use:  "lock",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			bc, err := client.Dial("")
			if err != nil {
				return withHint(err, "nothing to lock: start a broker with 'envseal broker'")
			}
			if err := bc.Lock(); err != nil {
				if errors.Is(err, wire.ErrFromJail) {
					// The passphrase prompt a lock leads to is the human's to
					// ask for, not the agent's.
					return withHint(err, "lock the broker from a terminal outside the jail (it also locks itself when idle)")
				}
				return withHint(err, "")
			}
			a.infof("the broker wiped its key; the next run asks for the passphrase on the broker's terminal")
			return nil
		},
	}
}
