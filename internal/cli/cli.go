// Package cli is envseal's command line. It owns the one output contract:
// prompts only on /dev/tty; results on stdout; everything else on stderr as
// "envseal: error: …", "envseal: warning: …" and at most one
// "envseal: hint: …", lower-case, no trailing period. One file per
// subcommand, holding its flags, prompts and messages only: what a command
// does lives in the domain packages it calls (docs/ARCHITECTURE.md), and
// what its help says in help/COMMAND.txt (help.go).
//
// Cobra is used for the command tree, help text and flag parsing (including
// the "--" that separates envseal's flags from a child's argv in `run`);
// writing and testing that by hand would be more code than everything it
// saves, and docs/ARCHITECTURE.md lists it among the accepted dependencies.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/launch"
	"github.com/envseal/envseal/internal/moving"
	"github.com/envseal/envseal/internal/safefile"
	"github.com/envseal/envseal/internal/sandbox"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/secretname"
	"github.com/envseal/envseal/internal/sys"
	"github.com/envseal/envseal/internal/term"
	"github.com/envseal/envseal/internal/vault"
)

// Exit codes. 1 is a usage or local error; run uses env(1)'s 125/126/127.
const (
	exitOK       = 0
	exitError    = 1
	exitInternal = launch.ExitFailed
	exitDenied   = launch.ExitDenied
	exitNotFound = launch.ExitNotFound
)

// kdfParams is what `envseal init` wraps a new master key with. It is
// lowered only by the test wrapper (cli_test.go); no flag or environment
// variable reaches it.
var kdfParams = seal.DefaultKDF

// exitErr carries an error, its hint and the exit code to use.
type exitErr struct {
	err    error
	hint   string
	code   int
	silent bool // the child's own exit status: nothing to print
}

func (e *exitErr) Error() string { return e.err.Error() }
func (e *exitErr) Unwrap() error { return e.err }

// withHint attaches a hint to err.
func withHint(err error, hint string) error {
	return &exitErr{err: err, hint: hint, code: exitError}
}

func withCode(err error, code int, hint string) error {
	return &exitErr{err: err, hint: hint, code: code}
}

type app struct {
	stdout io.Writer
	stderr io.Writer
	stdin  io.Reader
}

func (a *app) warnf(format string, args ...any) {
	fmt.Fprintf(a.stderr, "envseal: warning: "+format+"\n", args...)
}

func (a *app) infof(format string, args ...any) {
	fmt.Fprintf(a.stderr, "envseal: "+format+"\n", args...)
}

// Main runs the CLI with os.Args and returns the process exit code.
func Main() int {
	if err := sys.Harden(); err != nil {
		// Not protected from a same-uid reader: touch no key.
		fmt.Fprintf(os.Stderr, "envseal: error: cannot protect envseal's memory: %v\nenvseal: hint: envseal needs prctl(PR_SET_DUMPABLE) and setrlimit(RLIMIT_CORE); run it outside a sandbox that forbids them\n", err)
		return exitInternal
	}
	// The sandbox helper stage re-executes envseal; it is not a command
	// for humans and must not go through flag parsing.
	if len(os.Args) > 1 && os.Args[1] == sandbox.HelperArg {
		return sandbox.HelperMain(os.Args[2:])
	}
	a := &app{stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin}
	return a.run(os.Args[1:])
}

func (a *app) run(args []string) int {
	root := a.rootCmd()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	err = jailError(err) // injail.go: "you are inside envseal jail", not "envseal init"
	code, hint := exitError, hintFor(err)
	var ee *exitErr
	if errors.As(err, &ee) {
		if ee.silent {
			return ee.code
		}
		code = ee.code
		if ee.hint != "" {
			hint = ee.hint
		}
	}
	msg := err.Error()
	if m, h, ok := unknownRootCommand(msg); ok {
		msg, hint = m, h
	}
	fmt.Fprintf(a.stderr, "envseal: error: %s\n", oneLine(msg))
	if hint != "" {
		fmt.Fprintf(a.stderr, "envseal: hint: %s\n", hint)
	}
	return code
}

// unknownRootCommand rewrites cobra's multi-line "unknown command" error
// (with its "Did you mean this?" list) into one error and one hint.
func unknownRootCommand(msg string) (string, string, bool) {
	first, rest, _ := strings.Cut(msg, "\n")
	if !strings.HasPrefix(first, "unknown command ") || !strings.HasSuffix(first, `for "envseal"`) {
		return "", "", false
	}
	first = strings.Replace(first, `for "envseal"`, "for 'envseal'", 1)
	if _, sugg, ok := strings.Cut(rest, "Did you mean this?\n"); ok {
		if f := strings.Fields(sugg); len(f) > 0 {
			return first, fmt.Sprintf("did you mean 'envseal %s'? (see 'envseal --help')", f[0]), true
		}
	}
	return first, "see 'envseal --help'", true
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

// plural is one when n is 1, else many.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "envseal",
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetIn(a.stdin)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		code := exitError
		if c.Name() == "run" {
			code = exitInternal // env(1): 125 means envseal itself failed
		}
		return withCode(err, code, fmt.Sprintf("see '%s --help'", c.CommandPath()))
	})
	// Our own `completion` command replaces cobra's default one, so its
	// help and errors follow the output contract.
	root.CompletionOptions.DisableDefaultCmd = true
	setVersion(root)
	root.AddCommand(
		a.initCmd(),
		a.storeCmd(),
		a.listCmd(),
		a.revokeCmd(),
		a.demoCmd(),
		a.runCmd(),
		a.jailCmd(),
		group("policy", a.policyListCmd(), a.policyRevokeCmd(), a.policyResetCmd()),
		group("audit", a.auditShowCmd(), a.auditVerifyCmd()),
		a.brokerCmd(),
		a.statusCmd(),
		a.lockCmd(),
		a.doctorCmd(),
		a.requestCmd(),
		a.importCmd(),
		a.scanCmd(),
		a.shellHookCmd(),
		group("git-hook", a.gitHookInstallCmd(), a.gitHookUninstallCmd(), a.gitHookRunCmd()),
		a.rotationCmd(),
		a.mcpCmd(),
		group("totp", a.totpEnableCmd(), a.totpDisableCmd(), a.totpResetCmd(), a.totpStatusCmd()),
		a.passwdCmd(),
		a.backupCmd(),
		a.restoreCmd(),
		a.completionCmd(),
	)
	for _, c := range root.Commands() {
		switch c.Name() {
		case "revoke", "store":
			c.ValidArgsFunction = completeSecretNames
		}
	}
	setHelp(root)
	refuseUnknownSubcommands(root)
	return root
}

// group is a command that only holds others (policy, audit, …); its RunE
// is refuseUnknownSubcommands'.
func group(use string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{Use: use}
	c.AddCommand(subs...)
	return c
}

// refuseUnknownSubcommands makes every command that only groups others
// (policy, audit, mcp, …) fail on an unknown subcommand: cobra would print
// the help and exit 0, so a typo in a script would look like success.
func refuseUnknownSubcommands(c *cobra.Command) {
	for _, sub := range c.Commands() {
		refuseUnknownSubcommands(sub)
	}
	if c == c.Root() || !c.HasSubCommands() || c.Run != nil || c.RunE != nil {
		return
	}
	c.Args = cobra.ArbitraryArgs
	c.RunE = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return c.Help()
		}
		hint := fmt.Sprintf("see '%s --help'", c.CommandPath())
		c.SuggestionsMinimumDistance = 2
		if s := c.SuggestionsFor(args[0]); len(s) > 0 {
			hint = fmt.Sprintf("did you mean '%s %s'? (see '%s --help')", c.CommandPath(), s[0], c.CommandPath())
		}
		return withHint(fmt.Errorf("unknown command %q for '%s'", args[0], c.CommandPath()), hint)
	}
}

// hintFor maps the errors every command can meet to what to do next.
func hintFor(err error) string {
	var ce *vault.CorruptError
	var ue *safefile.UnsafeError
	var he *moving.HintError
	switch {
	case errors.As(err, &he):
		return he.Hint
	case errors.Is(err, vault.ErrNotInitialized):
		return "create a vault with 'envseal init' (or point ENVSEAL_HOME at an existing one)"
	case errors.Is(err, vault.ErrWrongPassphrase):
		return "type the passphrase you chose at 'envseal init'; nothing was changed"
	case errors.As(err, &ce):
		return "restore that file from a backup; if it is a secret, 'envseal revoke' it and store it again"
	case errors.As(err, &ue):
		return "fix the ownership or permissions named above; envseal will not use files others could have changed"
	case errors.Is(err, term.ErrNoTTY):
		return "run envseal from a terminal, or pass the passphrase with --passphrase-fd N"
	case errors.Is(err, vault.ErrBadName):
		return secretname.Rule
	case errors.Is(err, safefile.ErrUnsupported):
		return "envseal supports Linux (and macOS for the vault); this OS is not supported yet"
	}
	return ""
}

// openVault opens the vault in $ENVSEAL_HOME.
func openVault() (*vault.Vault, error) {
	dir, err := vault.Home()
	if err != nil {
		return nil, err
	}
	return vault.Open(dir)
}
