package sys

import (
	"os"

	"golang.org/x/sys/unix"
)

// Harden makes the calling process non-dumpable and turns core dumps off.
// PR_SET_DUMPABLE=0 makes /proc/<pid>/{mem,environ,fd} root-only and
// refuses ptrace attach by the same uid; RLIMIT_CORE=0 keeps a crash from
// writing a core file that holds the key. It is idempotent. An error means
// the process is not protected: the caller must stop before it touches a
// key.
func Harden() error {
	if err := SetDumpable(false); err != nil {
		return err
	}
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: 0}); err != nil {
		return os.NewSyscallError("setrlimit(RLIMIT_CORE)", err)
	}
	return nil
}

// SetDumpable sets or clears the process's dumpable flag.
func SetDumpable(on bool) error {
	v := 0
	if on {
		v = 1
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, uintptr(v), 0, 0, 0); err != nil {
		return os.NewSyscallError("prctl(PR_SET_DUMPABLE)", err)
	}
	return nil
}

// Dumpable reports the process's dumpable flag.
func Dumpable() (bool, error) {
	v, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	if err != nil {
		return false, os.NewSyscallError("prctl(PR_GET_DUMPABLE)", err)
	}
	return v == 1, nil
}
