package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/broker/client"
	"github.com/envseal/envseal/internal/childenv"
	"github.com/envseal/envseal/internal/envfile"
	"github.com/envseal/envseal/internal/launch"
	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/sandbox"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/vault"
)

type runFlags struct {
	pf          passphraseFlag
	secrets     []string
	stdinSecret string
	fileSecrets []string
	tmplFiles   []string
	envsealFile string
	inheritEnv  bool
	sandbox     string
	network     bool
	rw          []string
	pins        []string
	onLeak      string
	approver    string
	timeout     time.Duration
	direct      bool
}

func (a *app) runCmd() *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "run [flags] -- CMD [ARGS...]",
		Short: "Run a program you approved, with secrets it never has to print",
		Long: `Run CMD with secrets from the vault. CMD gets them only if you approved exactly
this program (path and SHA-256) with exactly these arguments (the exact argv,
unless you widened one argument on the approval screen): the first time,
envseal shows you what will run on your terminal with a random code; type the
code and Enter to allow once, the code and +8h to allow for a while, or the
code and ! to allow always. CODE!*N also lets argument [N] be any value
(never a flag, '=', ':', '+', '..' or spaces; not offered for shells,
interpreters, launchers or task runners).

Secrets are named with --secret ENV=NAME (or --secret NAME for ENV=NAME
upper-cased), --stdin-secret NAME, --file-secret ENV=NAME (ENV holds
/dev/fd/N of a read-only sealed file), --template-file ENV=TEMPLATE (a
config file with {{ secret "NAME" }} placeholders, rendered into a
read-only sealed file for the program only; ENV holds its /dev/fd/N; the
rule pins the template by hash, so an edited template asks again), or,
without any of those, by the nearest .envseal file (ENV_VAR=secret-name
lines) from the current directory up. The program runs from a sealed copy of the approved bytes, with a clean
environment, and its output is scrubbed of every secret value and its common
encodings.

Exit status: the program's; 125 envseal failed, 126 denied, 127 not found,
128+N the program was killed by signal N.`,
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
	fl.StringArrayVar(&f.secrets, "secret", nil, "deliver secret NAME in variable ENV (`ENV=NAME` or NAME); repeatable")
	fl.StringVar(&f.stdinSecret, "stdin-secret", "", "write secret `NAME` to the program's stdin once, then close it")
	fl.StringArrayVar(&f.fileSecrets, "file-secret", nil, "pass secret NAME as a read-only file; ENV holds its /dev/fd path (`ENV=NAME`); repeatable")
	fl.StringArrayVar(&f.tmplFiles, "template-file", nil, "render `ENV=TEMPLATE` ({{ secret \"NAME\" }} placeholders) into a read-only file for the program only; ENV holds its /dev/fd path; repeatable")
	fl.StringVar(&f.envsealFile, "envseal-file", "", "read ENV=secret mappings from `PATH` instead of the nearest .envseal")
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
	if f.timeout <= 0 || f.timeout > 10*time.Minute {
		return fail(fmt.Errorf("--approval-timeout %v is out of range", f.timeout), "use a duration from 1s to 10m")
	}
	cwd, err := os.Getwd()
	if err != nil {
		return fail(err, "")
	}
	grants, err := f.grants(cwd)
	if err != nil {
		return err
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
	onLeak := f.onLeak
	if onLeak == string(launch.LeakScrub) {
		onLeak = ""
	}
	req := &launch.Request{
		Argv: argv, Cwd: cwd, Env: os.Environ(), PATH: os.Getenv("PATH"),
		InheritEnv: f.inheritEnv, Grants: grants, Sandbox: sandbox.Tier(f.sandbox), OnLeak: launch.OnLeak(onLeak),
		Network: f.network, RW: absDirs(cwd, f.rw), Pins: absPaths(cwd, f.pins),
		Templates: f.templates(cwd),
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
					pass, err := pf.read("Vault passphrase: ", false)
					if err != nil {
						return seal.Key{}, err
					}
					defer clear(pass)
					k, err := v.Unlock(pass)
					auditUnlockFailed(a.auditLog(v.Dir()), err)
					return k, err
				},
				Approver: ap,
				Audit:    a.runAuditor(v.Dir(), approver),
			}, nil
		},
	}
}

// grants turns the flags (or the .envseal file) into policy grants.
func (f *runFlags) grants(cwd string) ([]policy.Grant, error) {
	bad := func(format string, args ...any) error {
		return withCode(fmt.Errorf(format, args...), exitInternal, "see 'envseal run --help'")
	}
	var gs []policy.Grant
	for _, s := range f.secrets {
		env, name, ok := strings.Cut(s, "=")
		if !ok {
			name, env = s, defaultEnvName(s)
		}
		if env == "" || name == "" {
			return nil, bad("--secret %q: want ENV=NAME or NAME", s)
		}
		gs = append(gs, policy.Grant{Secret: name, Delivery: policy.DeliverEnv, Env: env})
	}
	for _, s := range f.fileSecrets {
		env, name, ok := strings.Cut(s, "=")
		if !ok || env == "" || name == "" {
			return nil, bad("--file-secret %q: want ENV=NAME", s)
		}
		gs = append(gs, policy.Grant{Secret: name, Delivery: policy.DeliverFD, Env: env})
	}
	if f.stdinSecret != "" {
		gs = append(gs, policy.Grant{Secret: f.stdinSecret, Delivery: policy.DeliverStdin})
	}
	for _, s := range f.tmplFiles {
		env, path, ok := strings.Cut(s, "=")
		if !ok || env == "" || path == "" {
			return nil, bad("--template-file %q: want ENV=TEMPLATE", s)
		}
	}
	if (len(gs) > 0 || len(f.tmplFiles) > 0) && f.envsealFile == "" {
		return gs, nil
	}
	path := f.envsealFile
	if path == "" {
		p, err := envfile.Find(cwd)
		if errors.Is(err, envfile.ErrNotFound) {
			return nil, withCode(errors.New("no secrets requested and no .envseal file found"), exitInternal,
				"name secrets with --secret ENV=NAME, or create a .envseal file of ENV_VAR=secret-name lines")
		}
		if err != nil {
			return nil, withCode(err, exitInternal, "a .envseal file must be a regular file, not a symlink")
		}
		path = p
	}
	ms, err := envfile.Load(path)
	if err != nil {
		return nil, withCode(err, exitInternal, "fix the line named above; each line is ENV_VAR=secret-name")
	}
	for _, m := range ms {
		gs = append(gs, policy.Grant{Secret: m.Secret, Delivery: policy.DeliverEnv, Env: m.Env})
	}
	if len(gs) == 0 {
		return nil, withCode(fmt.Errorf("%s maps no secrets", path), exitInternal, "add ENV_VAR=secret-name lines")
	}
	return gs, nil
}

// templates are the --template-file flags, paths made absolute (the
// checkpoint resolves symlinks, reads and pins them).
func (f *runFlags) templates(cwd string) []policy.Template {
	var out []policy.Template
	for _, s := range f.tmplFiles {
		env, path, _ := strings.Cut(s, "=")
		if !filepath.IsAbs(path) {
			path = filepath.Join(cwd, path)
		}
		out = append(out, policy.Template{Env: env, Path: filepath.Clean(path)})
	}
	return out
}

// defaultEnvName is NAME upper-cased with '-' and '.' turned into '_'.
func defaultEnvName(name string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '.' {
			return '_'
		}
		return r
	}, strings.ToUpper(name))
}

// absDirs makes --rw directories absolute (relative to cwd) and canonical,
// so the rule records the directory that is really writable.
func absDirs(cwd string, dirs []string) []string {
	var out []string
	for _, d := range dirs {
		if !filepath.IsAbs(d) {
			d = filepath.Join(cwd, d)
		}
		if r, err := filepath.EvalSymlinks(d); err == nil {
			d = r
		}
		out = append(out, filepath.Clean(d))
	}
	return out
}

// absPaths makes --pin paths absolute and canonical (the same as absDirs:
// a path is a path).
func absPaths(cwd string, paths []string) []string { return absDirs(cwd, paths) }
