package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/detect"
	"github.com/envseal/envseal/internal/moving"
)

// maxHookLine bounds what --check reads: a command line is short; a
// pasted blob is not worth scanning past this.
const maxHookLine = 64 << 10

func (a *app) shellHookCmd() *cobra.Command {
	var check bool
	c := &cobra.Command{
		Use:   "shell-hook bash|zsh|fish",
		Short: "Print a shell hook that warns when a command line holds a likely secret",
		Long: `Print a hook for your shell that runs before each command line and warns,
on the terminal, when the line holds something that looks like a key or
token (the shapes 'envseal scan' knows: GitHub, AWS, Slack, Stripe, …,
NAME=value with a secret-looking name, --token VALUE, Authorization
headers). The warning names the kind and the variable and the 'envseal
store' command to use instead; it never shows the value, never stores
anything and never stops the command.

Install it from your shell's start-up file:

  bash  ~/.bashrc                   eval "$(envseal shell-hook bash)"
  zsh   ~/.zshrc                    eval "$(envseal shell-hook zsh)"
  fish  ~/.config/fish/config.fish  envseal shell-hook fish | source

bash: the hook is a DEBUG trap (it replaces one you set before) and checks
each simple command that has a run of 16 or more key-like characters, so
ordinary commands start no process. zsh and fish: a preexec hook, given the
whole line. The hook hands the line to 'envseal shell-hook --check' on
stdin, never on a command line other processes could read.`,
		Args:      cobra.MaximumNArgs(1),
		ValidArgs: []string{"bash", "zsh", "fish"},
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
			script, err := shellHookScript(args[0], self)
			if err != nil {
				return err
			}
			_, err = io.WriteString(a.stdout, script)
			return err
		},
	}
	c.Flags().BoolVar(&check, "check", false, "read one command line on stdin and warn about likely secrets in it (what the hook runs)")
	return c
}

// shellHookScript is the hook for shell, calling envseal at self.
func shellHookScript(shell, self string) (string, error) {
	q := shellQuote(self)
	switch shell {
	case "bash":
		// BASH_COMMAND is the simple command about to run. The regex keeps
		// ordinary commands from starting a process; __envseal_last stops
		// a loop body from warning on every turn.
		return `# envseal shell hook for bash: warns when a command holds a likely secret.
__envseal_preexec() {
  local c=$BASH_COMMAND
  [[ -n ${COMP_LINE-} || $c == __envseal_* ]] && return 0
  [[ $c =~ [A-Za-z0-9_+/=.-]{16,} ]] || return 0
  [[ $c == "${__envseal_last-}" ]] && return 0
  __envseal_last=$c
  printf '%s\n' "$c" | ` + q + ` shell-hook --check
  return 0
}
trap '__envseal_preexec' DEBUG
`, nil
	case "zsh":
		return `# envseal shell hook for zsh: warns when a command line holds a likely secret.
__envseal_preexec() {
  [[ $1 =~ '[A-Za-z0-9_+/=.-]{16,}' ]] || return 0
  print -r -- "$1" | ` + q + ` shell-hook --check
}
autoload -Uz add-zsh-hook
add-zsh-hook preexec __envseal_preexec
`, nil
	case "fish":
		return `# envseal shell hook for fish: warns when a command line holds a likely secret.
function __envseal_preexec --on-event fish_preexec
    string match -qr '[A-Za-z0-9_+/=.-]{16,}' -- $argv[1]; or return 0
    printf '%s\n' $argv[1] | ` + q + ` shell-hook --check
end
`, nil
	}
	return "", withHint(fmt.Errorf("unknown shell %q", shell), "envseal shell-hook bash, zsh or fish")
}

// shellQuote quotes s for bash, zsh and fish alike: single quotes, with
// each ' written as '\” (fish accepts that too).
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// hookCheck reads a command line on stdin and warns on stderr about each
// likely secret in it: kind, variable, the store command. It always
// succeeds: a hook must never stop the human's command.
func (a *app) hookCheck() error {
	line, _ := io.ReadAll(io.LimitReader(a.stdin, maxHookLine))
	defer clear(line)
	fs := detect.ScanText("command line", bytes.TrimRight(line, "\n"))
	defer func() {
		for i := range fs {
			fs[i].Wipe()
		}
	}()
	seen := map[string]bool{}
	for i := range fs {
		f := &fs[i]
		name := moving.SuggestName(f, "")
		if seen[name] {
			continue
		}
		seen[name] = true
		what := "a key-like value"
		if d := detect.ProviderDescription(f.Kind); d != "" {
			what = "a " + d
		}
		if f.Name != "" {
			what += " in " + f.Name
		}
		a.warnf("this command line holds what looks like a secret (%s); it may now be in your shell history", what)
		fmt.Fprintf(a.stderr, "envseal: hint: keep it in the vault instead: 'envseal store %s' (you type the value), then 'envseal run --secret %s -- …'; 'envseal scan --history --import' moves the copy in your history\n", name, name)
	}
	return nil
}
