package cli

import (
	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/broker"
)

func (a *app) lockCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "lock",
		Short: "Make the broker wipe its key now",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			bc, err := broker.Dial("")
			if err != nil {
				return withHint(err, "nothing to lock: start a broker with 'envseal broker'")
			}
			if err := bc.Lock(); err != nil {
				return withHint(err, "")
			}
			a.infof("the broker wiped its key; the next run asks for the passphrase on the broker's terminal")
			return nil
		},
	}
}
