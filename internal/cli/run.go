package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/broker/client"
	"github.com/envseal/envseal/internal/childenv"
	"github.com/envseal/envseal/internal/launch"
	"github.com/envseal/envseal/internal/runspec"
	"github.com/envseal/envseal/internal/sandbox"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/vault"
)

type runFlags struct {
	pf         passphraseFlag
	spec       runspec.Flags
	inheritEnv bool
	sandbox    string
	network    bool
	rw         []string
	pins       []string
	onLeak     string
	approver   string
	timeout    time.Duration
	direct     bool
}

func (a *app) runCmd() *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use: "run [flags] -- CMD [ARGS...]",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return withCode(errors.New("no command to run"), exitInternal, "put the command after --, e.g. 'envseal run --secret API_TOKEN -- curl …'")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			return a.runRun(&f, args)
		},
	}
	fl := c.Flags()
	fl.SetInterspersed(false) // flags after CMD belong to CMD
	fl.StringArrayVar(&f.spec.Secrets, "secret", nil, "deliver secret NAME in variable ENV (`ENV=NAME` or NAME); repeatable")
	fl.StringVar(&f.spec.StdinSecret, "stdin-secret", "", "write secret `NAME` to the program's stdin once, then close it")
	fl.StringArrayVar(&f.spec.FileSecrets, "file-secret", nil, "pass secret NAME as a read-only file; ENV holds its /dev/fd path (`ENV=NAME`); repeatable")
	fl.StringArrayVar(&f.spec.Templates, "template-file", nil, "render `ENV=TEMPLATE` ({{ secret \"NAME\" }} placeholders) into a read-only file for the program only; ENV holds its /dev/fd path; repeatable")
	fl.StringVar(&f.spec.EnvsealFile, "envseal-file", "", "read ENV=secret mappings from `PATH` instead of the nearest .envseal")
	fl.BoolVar(&f.inheritEnv, "inherit-env", false, "keep your environment (loader and interpreter hooks are still removed)")
	fl.StringVar(&f.sandbox, "sandbox", string(sandbox.Standard), "sandbox `TIER`: standard, hardened or lockdown")
	fl.BoolVar(&f.network, "network", false, "lockdown: keep the host network (the rule must allow it)")
	fl.StringArrayVar(&f.rw, "rw", nil, "lockdown: let the program write beneath `DIR` too (besides the cwd); repeatable")
	fl.StringArrayVar(&f.pins, "pin", nil, "pin `PATH` too (a file, or a directory's tree): the rule records its hash and the program reads exactly those bytes; repeatable")
	fl.StringVar(&f.onLeak, "on-leak", string(launch.LeakScrub), "when the program prints a secret: scrub, or kill it (exit 126)")
	fl.StringVar(&f.approver, "approver", approve.KindTTY, "how to ask you: tty, pinentry, zenity or kdialog")
	fl.DurationVar(&f.timeout, "approval-timeout", approve.DefaultTimeout, "deny if nobody answers within `DUR` (max 10m)")
	fl.IntVar(&f.pf.fd, "passphrase-fd", -1, "read the vault passphrase from file descriptor `N`")
	fl.BoolVar(&f.direct, "direct", false, "never use the broker: unlock and ask approval here")
	return c
}

func (a *app) runRun(f *runFlags, argv []string) error {
	fail := func(err error, hint string) error { return withCode(err, exitInternal, hint) }
	if err := approve.CheckTimeout(f.timeout); err != nil {
		return fail(err, approve.TimeoutHint)
	}
	cwd, err := os.Getwd()
	if err != nil {
		return fail(err, "")
	}
	grants, err := f.spec.Grants(cwd)
	if err != nil {
		return fail(err, grantsHint(err))
	}
	if !f.direct {
		// The direct path checks this inside the checkpoint (and audits
		// it); the broker client refuses the same way, so the rule is one.
		if err := childenv.Guard(os.Environ()); err != nil {
			hint := "unset the variable and run envseal again"
			var re *childenv.RefusedError
			if errors.As(err, &re) {
				hint = re.Hint()
			}
			return withCode(fmt.Errorf("%w: %v", launch.ErrRefusedEnv, err), exitInternal, hint)
		}
	}
	svc, err := client.Connect(client.Options{Direct: f.direct, Local: a.localPath(&f.pf, f.approver, f.timeout)})
	if err != nil {
		// A socket directory that is not ours, a broker of another uid:
		// do not silently fall back, someone is interfering.
		return withCode(err, exitInternal, "check $XDG_RUNTIME_DIR/envseal, or use --direct")
	}
	// The default travels as the empty value: the broker's run message
	// omits on_leak then, as it did before the word "scrub" existed.
	onLeak := f.onLeak
	if onLeak == string(launch.LeakScrub) {
		onLeak = ""
	}
	req := &launch.Request{
		Argv: argv, Cwd: cwd, Env: os.Environ(), PATH: os.Getenv("PATH"),
		InheritEnv: f.inheritEnv, Grants: grants, Sandbox: sandbox.Tier(f.sandbox), OnLeak: launch.OnLeak(onLeak),
		Network: f.network, RW: runspec.Canonical(cwd, f.rw), Pins: runspec.Canonical(cwd, f.pins),
		Templates: f.spec.TemplateList(cwd),
		Stdin:     a.stdin, Stdout: a.stdout, Stderr: a.stderr,
		RequesterPID: os.Getppid(),
	}
	res, err := svc.Run(context.Background(), req)
	return a.runOutcome(res, err)
}

// localPath is the direct path of 'envseal run': the passphrase (the
// terminal, or --passphrase-fd) and the approval are asked here.
func (a *app) localPath(pf *passphraseFlag, approver string, timeout time.Duration) *client.Local {
	return &client.Local{
		OpenVault: openVault,
		Checkpoint: func(v *vault.Vault) (launch.Config, error) {
			ap, err := approve.New(approver, approve.WithTimeout(timeout))
			if err != nil {
				return launch.Config{}, &launch.Error{Code: exitInternal, Err: err, Hint: "use --approver tty (the default)"}
			}
			return launch.Config{
				Vault:          v,
				Direct:         true,
				ForwardSignals: true,
				Unlock: func() (seal.Key, error) {
					return unlockVault(v, a.stderr, pf.ask("Vault passphrase: "))
				},
				Approver: ap,
				Audit:    a.runAuditor(v.Dir(), approver),
			}, nil
		},
	}
}

// grantsHint says what to do about a run's secrets that cannot be read.
func grantsHint(err error) string {
	var se *runspec.SpecError
	var fe *runspec.FindError
	switch {
	case errors.As(err, &se):
		return "see 'envseal run --help'"
	case errors.Is(err, runspec.ErrNothingRequested):
		return "name secrets with --secret ENV=NAME, or create a .envseal file of ENV_VAR=secret-name lines"
	case errors.As(err, &fe):
		return "a .envseal file must be a regular file, not a symlink"
	case errors.Is(err, runspec.ErrNoGrants):
		return "add ENV_VAR=secret-name lines"
	}
	return "fix the line named above; each line is ENV_VAR=secret-name"
}
