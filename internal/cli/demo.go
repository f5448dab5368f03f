package cli

import (
	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/demo"
)

func (a *app) demoCmd() *cobra.Command {
	var keep bool
	c := &cobra.Command{
		Use:   "demo",
		Short: "Walk through envseal on a throwaway vault (no typing, nothing kept)",
		Long: `Build a throwaway vault in a temporary directory, store a generated secret,
and show what protects it, explaining each step. Your own vault is not
touched; the temporary directory is removed at the end.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return demo.Run(a.stdout, kdfParams, keep)
		},
	}
	c.Flags().BoolVar(&keep, "keep", false, "keep the throwaway vault and print its directory")
	return c
}
