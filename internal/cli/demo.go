package cli

import (
	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/demo"
)

func (a *app) demoCmd() *cobra.Command {
	var keep bool
	c := &cobra.Command{
		Use:  "demo",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return demo.Run(a.stdout, kdfParams, keep)
		},
	}
	c.Flags().BoolVar(&keep, "keep", false, "keep the throwaway vault and print its directory")
	return c
}
