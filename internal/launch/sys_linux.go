package launch

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync"

	"github.com/envseal/envseal/internal/sandbox"
	"github.com/envseal/envseal/internal/sys"
	"golang.org/x/sys/unix"
)

// secretFile returns a sealed, read-only memfd holding value, for fd
// delivery. Sealing means the child (or anything it runs) cannot change
// what later readers see.
func secretFile(name string, value []byte) (*os.File, error) {
	fd, err := unix.MemfdCreate("envseal-secret", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd for %s: %w", name, os.NewSyscallError("memfd_create", err))
	}
	f := os.NewFile(uintptr(fd), "envseal-secret")
	if _, err := f.Write(value); err != nil {
		f.Close()
		return nil, fmt.Errorf("memfd for %s: %w", name, err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("seal memfd for %s: %w", name, os.NewSyscallError("fcntl", err))
	}
	if _, err := f.Seek(0, 0); err != nil {
		f.Close()
		return nil, err
	}
	if err := unix.Fchmod(fd, 0o400); err != nil {
		f.Close()
		return nil, err
	}
	// Reopen read-only through /proc so the child's descriptor cannot even
	// attempt a write.
	ro, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", fd), os.O_RDONLY, 0)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("reopen memfd for %s: %w", name, err)
	}
	return ro, nil
}

// startNoNewPrivs starts cmd with no_new_privs set, so the approved program
// (and everything it runs) can never gain privileges through a setuid or
// file-capability binary. Go cannot run code between fork and exec, but
// no_new_privs is a per-thread attribute inherited by clone(2), and
// os/exec forks from the calling thread: set it on a locked thread, start
// the child from that thread, and let the thread die with the goroutine
// (never unlocked, so no other goroutine inherits the flag).
func startNoNewPrivs(cmd *exec.Cmd) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			errc <- os.NewSyscallError("prctl(PR_SET_NO_NEW_PRIVS)", err)
			return
		}
		errc <- cmd.Start()
	}()
	return <-errc
}

// growPipe raises a pipe's capacity to 1 MiB (best effort; the default is
// 64 KiB), so a fast writer and the scrubber trade fewer, larger chunks.
func growPipe(f *os.File) {
	// Not f.Fd(): that would switch the pipe to blocking mode, and a
	// blocked Read could then no longer be interrupted by Close.
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { unix.FcntlInt(fd, unix.F_SETPIPE_SZ, 1<<20) })
	}
}

// startDumpable runs start (a cmd.Start that creates a user namespace)
// with envseal briefly dumpable again. An unprivileged parent writes the
// child's /proc/<pid>/uid_map, and a non-dumpable child's /proc files
// belong to root, so without this no sandboxed tier works for a normal
// user. For those few milliseconds a same-uid process could read
// envseal's memory; docs/THREAT_MODEL.md lists the window (hardened and
// lockdown are already ptrace-able by the same uid in direct mode, and
// the jail keeps an agent from reaching outside processes at all).
//
// If envseal cannot make itself non-dumpable again, the run fails closed:
// the error is returned even though start succeeded, and the caller kills
// the child before anything of the run's secrets is relayed.
//
// Dumpability is per process, so concurrent starts (a broker serving many
// runs) take turns: otherwise one start's "non-dumpable again" lands
// while another child's uid_map is still unwritten, and that run fails
// with "fork/exec /proc/self/exe: permission denied" (TestLoad64Clients as
// an ordinary user).
func startDumpable(start func() error) error {
	dumpableMu.Lock()
	defer dumpableMu.Unlock()
	if err := sys.SetDumpable(true); err != nil {
		return err
	}
	err := start()
	if rearm := sys.Harden(); rearm != nil {
		return errors.Join(err, fmt.Errorf("make envseal non-dumpable again: %w", rearm))
	}
	return err
}

var dumpableMu sync.Mutex

// PrestartContained starts the helper stage of a contained run ahead of
// the run (see Checkpoint.Warm), the way spawn starts a cold one.
func PrestartContained() (*sandbox.Warm, error) {
	return sandbox.StartWarm("/proc/self/exe", os.Args[0], sandbox.Options{Tier: sandbox.Lockdown, NoTTY: true}, func(cmd *exec.Cmd) error {
		if os.Geteuid() != 0 {
			return startDumpable(func() error { return startNoNewPrivs(cmd) })
		}
		return startNoNewPrivs(cmd)
	})
}

// harden is sys.Harden in turn with startDumpable: a run that starts
// while another run's child is being started must not make the process
// non-dumpable under it.
func harden() error {
	dumpableMu.Lock()
	defer dumpableMu.Unlock()
	return sys.Harden()
}

// StartDumpable is startDumpable for code outside launch that starts a
// child in a new user namespace from a process envseal made non-dumpable
// (sys.Harden): the broker's tests start jailed clients from the
// process the broker runs in. It takes the same turns as the checkpoint.
func StartDumpable(start func() error) error {
	if os.Geteuid() == 0 {
		return start() // root writes any uid_map
	}
	return startDumpable(start)
}

// userWritable: what the user may write, a same-uid agent may write.
func userWritable(p string) bool { return unix.Access(p, unix.W_OK) == nil }
