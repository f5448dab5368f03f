package sys

import (
	"os"
	"syscall"
)

// ExitStatus is a wait status in the shell's convention, the one envseal
// reports for every program it runs (the sandbox helper, the jail, a
// checkpoint run): the exit code, or 128+N when signal N killed the
// process. A status that is neither (stopped, continued) is -1.
func ExitStatus(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// ProcessStatus is ExitStatus for a process os/exec waited for.
func ProcessStatus(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok {
		return ExitStatus(ws)
	}
	return ps.ExitCode()
}
