package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/broker/server"
	"github.com/envseal/envseal/internal/broker/wire"
	"github.com/envseal/envseal/internal/launch"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/term"
)

type brokerFlags struct {
	pf       passphraseFlag
	idle     time.Duration
	approver string
	timeout  time.Duration
}

func (a *app) brokerCmd() *cobra.Command {
	var f brokerFlags
	c := &cobra.Command{
		Use:  "broker [flags]",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error { return a.runBroker(&f) },
	}
	fl := c.Flags()
	fl.IntVar(&f.pf.fd, "passphrase-fd", -1, "read the vault passphrase from file descriptor `N` (at start only)")
	fl.DurationVar(&f.idle, "idle-lock", server.DefaultIdleLock, "wipe the key after `DUR` without a request")
	fl.StringVar(&f.approver, "approver", approve.KindTTY, "how to ask you: tty, pinentry, zenity or kdialog")
	fl.DurationVar(&f.timeout, "approval-timeout", approve.DefaultTimeout, "deny if nobody answers within `DUR` (max 10m)")
	return c
}

func (a *app) runBroker(f *brokerFlags) error {
	if f.idle <= 0 {
		return withHint(fmt.Errorf("--idle-lock %v is not positive", f.idle), "use a duration such as 15m")
	}
	if err := approve.CheckTimeout(f.timeout); err != nil {
		return withHint(err, approve.TimeoutHint)
	}
	ap, err := approve.New(f.approver, approve.WithTimeout(f.timeout))
	if err != nil {
		return withHint(err, "use --approver tty (the default)")
	}
	// With --approver pinentry (the broker as a service, no terminal) the
	// passphrase is asked in the same trusted pinentry, at start and after
	// every lock; otherwise on the broker's terminal or --passphrase-fd.
	askPass := func(first bool) ([]byte, error) {
		if first && f.pf.fd >= 0 {
			return f.pf.read("", false)
		}
		if pa, ok := ap.(approve.PassphraseAsker); ok {
			return pa.AskPassphrase(context.Background(), "Unlock the envseal vault for the broker (approvals are asked here too).")
		}
		return (&passphraseFlag{fd: -1}).read("Vault passphrase: ", false)
	}
	v, err := openVault()
	if err != nil {
		return withHint(err, hintFor(err))
	}
	key, err := unlockVault(v, a.stderr, func() ([]byte, error) { return askPass(true) })
	if err != nil {
		return withHint(err, hintFor(err))
	}
	ln, err := server.Listen("")
	if err != nil {
		key.Wipe()
		hint := "fix the directory named above (it must be yours, mode 0700)"
		if errors.Is(err, wire.ErrRunning) {
			hint = "use the broker that is running, or stop it first"
		}
		return withHint(err, hint)
	}
	srv := server.New(server.Config{
		Vault: v, Key: key, ApproverName: f.approver, IdleLock: f.idle,
		Approver: ap,
		Audit:    a.runAuditor(v.Dir(), f.approver),
		// Store requests: the human types the value here, on the
		// broker's own terminal, after accepting with the code.
		ReadValue: term.ReadHidden,
		Unlock: func() (seal.Key, error) {
			a.infof("a run needs the key: unlock the broker")
			return unlockVault(v, a.stderr, func() ([]byte, error) { return askPass(false) })
		},
		Logf: func(format string, args ...any) { a.infof(format, args...) },
	})
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	go func() { <-sigs; srv.Close() }()
	a.infof("broker ready on %s (pid %d); approvals are asked here; idle lock after %v", ln.Addr(), os.Getpid(), f.idle)
	err = srv.Serve(ln)
	a.infof("broker stopped; key wiped")
	return err
}

// runOutcome turns a run's result into the CLI's exit contract, the same
// for the broker path as for the direct one.
func (a *app) runOutcome(res *launch.Result, err error) error {
	if res != nil {
		for name, n := range res.Leaks {
			if n > 0 {
				a.warnf("the program printed %s %d time(s); it was replaced by [envseal:%s]", name, n, name)
			}
		}
	}
	if err != nil {
		var le *launch.Error
		if errors.As(err, &le) {
			hint := le.Hint
			if hint == "" {
				hint = hintFor(le.Err)
			}
			return withCode(le.Err, le.Code, hint)
		}
		return withCode(err, exitInternal, hintFor(err))
	}
	if res.ExitCode != 0 {
		return &exitErr{err: fmt.Errorf("exit status %d", res.ExitCode), code: res.ExitCode, silent: true}
	}
	return nil
}
