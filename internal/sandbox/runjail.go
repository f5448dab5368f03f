package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/envseal/envseal/internal/sys"
)

// ErrJailClone is wrapped by RunJail's error when the helper could not be
// started in its new namespaces (unprivileged user namespaces are off).
// Nothing ran; with BestEffort the caller may retry with NoNamespaces.
var ErrJailClone = errors.New("cannot create the jail's namespaces")

// JailCloneError is that error with its cause (errors.Is matches
// ErrJailClone; Cause is what the kernel said).
type JailCloneError struct{ Cause error }

func (e *JailCloneError) Error() string   { return ErrJailClone.Error() + ": " + e.Cause.Error() }
func (e *JailCloneError) Unwrap() []error { return []error{ErrJailClone, e.Cause} }

// JailLayerError is RunJail's error when the helper started but a layer
// could not be set up (and BestEffort was not given): nothing was run.
type JailLayerError struct{ Err error }

func (e *JailLayerError) Error() string { return e.Err.Error() }
func (e *JailLayerError) Unwrap() error { return e.Err }

// RunJail runs the agent path (argv as typed, env its environment) in the
// jail o describes, with stdin, stdout and stderr as its terminal, and
// returns its exit status (128+N when signal N killed it). self is the
// envseal binary the helper is started from.
//
// RunJail supervises only: the terminal sends ^C and ^\ to the agent
// directly (same process group) and RunJail waits; SIGTERM and SIGHUP sent
// to this process are passed on to the agent.
func RunJail(self, path string, argv, env []string, o JailOptions, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	cmd, h, err := JailCommand(self, path, argv, env, o)
	if err != nil {
		return 0, err
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		h.Close()
		return 0, &JailCloneError{Cause: err}
	}
	done := make(chan struct{})
	defer h.Close()
	h.openGate(func() {
		if o.Register == nil {
			return
		}
		if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/user", cmd.Process.Pid)); err == nil {
			o.Register(ns, h.holderChannel, done)
		}
	})
	if err := h.AfterStart(); err != nil {
		cmd.Wait()
		var he *HelperError
		if errors.As(err, &he) {
			err = errors.New("jail: " + he.Msg)
		}
		return 0, &JailLayerError{Err: err}
	}
	go func() {
		for {
			select {
			case s := <-sigs:
				if s == syscall.SIGTERM || s == syscall.SIGHUP {
					cmd.Process.Signal(s)
				}
			case <-done:
				return
			}
		}
	}()
	err = cmd.Wait()
	close(done)
	return exitStatus(err)
}

// exitStatus turns cmd.Wait's error into the agent's exit status: its
// code, or 128+N when signal N killed it. Only a failure to wait is an
// error.
func exitStatus(err error) (int, error) {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return sys.ProcessStatus(ee.ProcessState), nil
	}
	if err != nil {
		return 0, fmt.Errorf("wait for the agent: %w", err)
	}
	return 0, nil
}
