package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/broker/client"
	"github.com/envseal/envseal/internal/broker/wire"
)

func (a *app) statusCmd() *cobra.Command {
	return &cobra.Command{
		Use:  "status",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			path := wire.SocketPath()
			bc, err := client.Dial(path)
			if err != nil {
				if errors.Is(err, wire.ErrNoBroker) || errors.Is(err, wire.ErrUnsupported) {
					fmt.Fprintf(a.stdout, "mode: direct (no broker answers on %s)\n", path)
					return nil
				}
				return withHint(err, "the broker socket directory must be yours, mode 0700")
			}
			st, err := bc.Status()
			if err != nil {
				return withHint(err, "")
			}
			state := "unlocked"
			if st.Locked {
				state = "locked (the next run asks for the passphrase on the broker's terminal)"
			}
			fmt.Fprintf(a.stdout, "mode: broker on %s\n", path)
			fmt.Fprintf(a.stdout, "broker: pid %d, %s, idle lock %v, approver %s, %d active, %d served\n",
				st.PID, state, time.Duration(st.IdleLock)*time.Second, st.Approver, st.Active, st.Served)
			return nil
		},
	}
}
