package cli

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/envseal/envseal/internal/broker/client"
	"github.com/envseal/envseal/internal/broker/wire"
	"github.com/envseal/envseal/internal/sandbox"
	"github.com/envseal/envseal/internal/vault"
)

func (a *app) jailCmd() *cobra.Command {
	var o sandbox.JailOptions
	c := &cobra.Command{
		Use: "jail [--rw DIR]... [--allow-display] [--allow-ssh-agent] [--best-effort] -- CMD [ARGS...]",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return withCode(errors.New("no command to run"), exitInternal, "put the agent after --, e.g. 'envseal jail -- claude'")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error { return a.jail(o, args) },
	}
	f := c.Flags()
	f.SetInterspersed(false)
	f.StringArrayVar(&o.RW, "rw", nil, "allow writes only beneath `DIR` (repeatable)")
	f.BoolVar(&o.AllowDisplay, "allow-display", false, "bind in exactly the X11 socket of $DISPLAY, the Wayland socket and $XAUTHORITY (keeps those variables)")
	f.BoolVar(&o.AllowSSHAgent, "allow-ssh-agent", false, "bind in exactly the $SSH_AUTH_SOCK socket (keeps SSH_AUTH_SOCK)")
	f.BoolVar(&o.BestEffort, "best-effort", false, "run even if a layer cannot be set up (each missing one is named)")
	return c
}

func (a *app) jail(o sandbox.JailOptions, argv []string) error {
	home, err := vault.Home()
	if err != nil {
		return withCode(err, exitInternal, "set ENVSEAL_HOME")
	}
	if o.VaultDir, err = sandbox.VaultCover(home); err != nil {
		if !o.BestEffort {
			return withCode(err, exitInternal, "run 'envseal init' first: a vault created after the jail started would be visible inside it")
		}
		a.warnf("jail layer missing: hide vault: %v", err)
	}
	o.BrokerDir, o.SocketName = filepath.Dir(wire.SocketPath()), filepath.Base(wire.SocketPath())
	// The broker holds every served run's pinned files in this jail
	// (sandbox/holder_linux.go); the jail registers before the agent starts.
	o.Register = func(ns string, channel func() (*os.File, error), stop <-chan struct{}) {
		client.RegisterJail(wire.SocketPath(), ns, channel, stop)
	}
	if c, err := client.Dial(wire.SocketPath()); err == nil {
		c.Close()
	} else {
		a.warnf("no broker answers on %s: 'envseal run' will not work inside the jail (start 'envseal broker' first, then the jail)", wire.SocketPath())
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return withCode(fmt.Errorf("%s: not found: %w", argv[0], err), exitNotFound, "")
	}

	code, err := a.startJail(path, argv, o)
	var ce *sandbox.JailCloneError
	if err != nil && o.BestEffort && !o.NoNamespaces && errors.As(err, &ce) {
		a.warnf("jail layer missing: namespaces: %v", ce.Cause)
		o.NoNamespaces = true
		code, err = a.startJail(path, argv, o)
	}
	if err != nil {
		return err
	}
	if code != 0 {
		return &exitErr{err: fmt.Errorf("exit status %d", code), code: code, silent: true}
	}
	return nil
}

// startJail runs the agent in the jail and returns its exit status; the
// supervision is sandbox.RunJail's, the hints are the CLI's.
func (a *app) startJail(path string, argv []string, o sandbox.JailOptions) (int, error) {
	code, err := sandbox.RunJail("/proc/self/exe", path, argv, os.Environ(), o, os.Stdin, os.Stdout, os.Stderr)
	var le *sandbox.JailLayerError
	switch {
	case err == nil:
		return code, nil
	case errors.Is(err, sandbox.ErrJailClone):
		return 0, withCode(err, exitInternal,
			"the jail needs unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, kernel.apparmor_restrict_unprivileged_userns=0), or pass --best-effort")
	case errors.As(err, &le):
		return 0, withCode(err, exitInternal, "nothing was run; pass --best-effort to run the agent without the missing layer")
	}
	return 0, withCode(err, exitInternal, "")
}
