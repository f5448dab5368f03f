//go:build linux && (amd64 || arm64)

package sandbox

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/envseal/envseal/internal/sys"
	"golang.org/x/sys/unix"
)

// Why the helper forks instead of exec'ing the target in place: the helper
// is PID 1 of the new PID namespace, and exec keeps the PID. The kernel
// drops every signal sent to a namespace's PID 1 from outside unless it
// has a handler (only SIGKILL and SIGSTOP are forced). A target without a
// SIGTERM handler — most command-line tools, `sh -c …` — would then
// ignore the SIGTERM and SIGINT that envseal forwards. So the helper stays
// PID 1: it catches those signals and passes them on to the target (PID
// 2, an ordinary process that gets default signal behaviour), reaps
// orphans, and exits with the target's status. When it exits the kernel
// kills everything left in the namespace, so no sandboxed process outlives
// the run; a SIGKILL sent to the helper by the launcher does the same.
//
// The helper holds the same environment the target does, for the same
// time, in the same namespaces, non-dumpable, under the same seccomp
// filter: it widens nothing an attacker could reach.

// forwardedSignals are the ones a user or launcher sends to stop, reload
// or resize a program. Job-control stops (SIGTSTP, SIGTTIN, SIGTTOU) are
// left alone: the terminal sends them to the whole foreground process
// group, target included, and PID 1 ignores them itself.
var forwardedSignals = []os.Signal{
	syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGALRM, syscall.SIGCONT,
}

type forwarder struct{ ch chan os.Signal }

// startForwarding starts catching forwardedSignals; they queue until to
// names the target.
func startForwarding() *forwarder {
	f := &forwarder{ch: make(chan os.Signal, 32)}
	signal.Notify(f.ch, forwardedSignals...)
	return f
}

func (f *forwarder) to(pid int) {
	go func() {
		for s := range f.ch {
			unix.Kill(pid, s.(syscall.Signal))
		}
	}()
}

// forkExec starts path with the given descriptors (files[i] becomes fd i,
// ^uintptr(0) closes it) from the calling thread.
func forkExec(path string, argv, env []string, files []uintptr) (int, error) {
	return syscall.ForkExec(path, argv, &syscall.ProcAttr{Env: env, Files: files})
}

// endRun ends what is left of the run once the target has exited: every
// other process of this PID namespace is killed and reaped (as PID 1,
// kill(-1) reaches all of them; ECHILD then means none is left, since
// every orphan is ours), and the run's descriptors this helper still
// holds — stdio and the inherited ones but keep — are closed, so the
// launcher's pipes see EOF now and not at our exit.
func endRun(inherited map[int]bool, keep int) {
	for {
		unix.Kill(-1, unix.SIGKILL)
		_, err := sys.Retry(func() (int, error) { return unix.Wait4(-1, nil, 0, nil) })
		if err != nil { // ECHILD: nobody left
			break
		}
	}
	for fd := range inherited {
		if fd != keep {
			unix.Close(fd)
		}
	}
	for fd := 0; fd <= 2; fd++ {
		unix.Close(fd)
	}
}

// reap waits for the target, reaping any orphan the namespace hands us on
// the way, and returns the target's status in the shell's convention.
func reap(pid int) (int, error) {
	for {
		var ws unix.WaitStatus
		got, err := sys.Retry(func() (int, error) { return unix.Wait4(-1, &ws, 0, nil) })
		if err != nil {
			return 0, fmt.Errorf("wait for the target: %w", os.NewSyscallError("wait4", err))
		}
		if got != pid {
			continue
		}
		if ws.Exited() || ws.Signaled() {
			return sys.ExitStatus(syscall.WaitStatus(ws)), nil
		}
	}
}
