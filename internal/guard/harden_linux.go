package guard

import "golang.org/x/sys/unix"

func harden() {
	// PR_SET_DUMPABLE=0: /proc/<pid>/{mem,environ,fd} become root-only and
	// ptrace attach by the same uid fails. RLIMIT_CORE=0: a crash writes no
	// core file holding the key.
	unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: 0})
}
