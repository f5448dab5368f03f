package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/shellhook"
)

func (a *app) shellHookCmd() *cobra.Command {
	var check bool
	c := &cobra.Command{
		Use:       "shell-hook bash|zsh|fish",
		Args:      cobra.MaximumNArgs(1),
		ValidArgs: shellhook.Shells,
		RunE: func(c *cobra.Command, args []string) error {
			if check {
				return a.hookCheck()
			}
			if len(args) != 1 {
				return withHint(fmt.Errorf("name a shell"), "envseal shell-hook bash (or zsh, fish)")
			}
			self, err := os.Executable()
			if err != nil {
				self = "envseal"
			}
			script, err := shellhook.Script(args[0], self)
			if err != nil {
				return withHint(err, "envseal shell-hook bash, zsh or fish")
			}
			_, err = io.WriteString(a.stdout, script)
			return err
		},
	}
	c.Flags().BoolVar(&check, "check", false, "read one command line on stdin and warn about likely secrets in it (what the hook runs)")
	return c
}

// hookCheck reads a command line on stdin and warns on stderr about each
// likely secret in it: kind, variable, the store command. It always
// succeeds: a hook must never stop the human's command.
func (a *app) hookCheck() error {
	for _, w := range shellhook.Check(a.stdin) {
		a.warnf("this command line holds what looks like a secret (%s); it may now be in your shell history", w.What)
		fmt.Fprintf(a.stderr, "envseal: hint: keep it in the vault instead: 'envseal store %s' (you type the value), then 'envseal run --secret %s -- …'; 'envseal scan --history --import' moves the copy in your history\n", w.Name, w.Name)
	}
	return nil
}
