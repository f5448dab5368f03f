//go:build linux && (amd64 || arm64)

package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The test binary doubles as the sandboxed target ("the probe"): sealed
// with exeseal and run through the helper, it reports what it can and
// cannot do as JSON on stdout. TestMain dispatches to it.
const probeArg = "__sandbox_probe"

type probeReport struct {
	Pid, Ppid int
	Uid       int
	ProcPids  []int             // numeric entries of /proc
	Status    map[string]string // selected /proc/self/status lines
	Syscalls  map[string]int    // errno of each probe call, 0 = succeeded
	Ops       map[string]int    // errno of each requested operation
	Args      []string
	Cwd       string
}

func errnoOf(err error) int {
	if err == nil {
		return 0
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		return int(e)
	}
	return -1
}

// runProbe executes ops given as "w:PATH" (create/write), "r:PATH"
// (read), "ls:PATH" (list; errno, or -100-N for N entries), "connect:ADDR"
// (TCP), after the fixed syscall checks.
func runProbe(ops []string) int {
	r := probeReport{
		Pid: os.Getpid(), Ppid: os.Getppid(), Uid: os.Getuid(),
		Status: map[string]string{}, Syscalls: probeSyscalls(), Ops: map[string]int{},
		Args: os.Args,
	}
	r.Cwd, _ = os.Getwd()
	if entries, err := os.ReadDir("/proc"); err == nil {
		for _, e := range entries {
			if n, err := strconv.Atoi(e.Name()); err == nil {
				r.ProcPids = append(r.ProcPids, n)
			}
		}
	}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			switch k {
			case "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp":
				if ok {
					r.Status[k] = strings.TrimSpace(v)
				}
			}
		}
	}
	for _, op := range ops {
		kind, arg, _ := strings.Cut(op, ":")
		var err error
		switch kind {
		case "w":
			err = os.WriteFile(arg, []byte("probe"), 0o600)
		case "r":
			_, err = os.ReadFile(arg)
		case "ls":
			var entries []os.DirEntry
			if entries, err = os.ReadDir(arg); err == nil {
				r.Ops[op] = -100 - len(entries)
				continue
			}
		case "connect":
			var c net.Conn
			if c, err = net.DialTimeout("tcp", arg, 2*time.Second); err == nil {
				c.Close()
			}
		default:
			err = fmt.Errorf("unknown op %q", op)
		}
		r.Ops[op] = errnoOf(err)
	}
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		return 3
	}
	return 0
}

// probeSyscalls tries each call the seccomp filter denies in a way that
// gives a different errno without the filter, so EPERM proves the filter.
func probeSyscalls() map[string]int {
	out := map[string]int{}
	// PTRACE_ATTACH to a pid that cannot exist: ESRCH unfiltered.
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_ATTACH, 0x3ffffff0, 0, 0, 0, 0)
	out["ptrace"] = int(e)
	// Reading our own memory: succeeds unfiltered.
	buf, src := make([]byte, 8), []byte("abcdefgh")
	_, err := unix.ProcessVMReadv(os.Getpid(),
		[]unix.Iovec{{Base: &buf[0], Len: 8}}, []unix.RemoteIovec{{Base: uintptr(unsafe.Pointer(&src[0])), Len: 8}}, 0)
	out["process_vm_readv"] = errnoOf(err)
	// Terminal ioctls on /dev/null: ENOTTY unfiltered.
	if f, err := os.OpenFile("/dev/null", os.O_RDWR, 0); err == nil {
		c := byte('x')
		for name, req := range map[string]uint64{
			"tiocsti":      unix.TIOCSTI,
			"tiocsti_high": 0xffffffff00000000 | unix.TIOCSTI, // the kernel truncates to 32 bits
			"tioclinux":    unix.TIOCLINUX,
			"tcgets":       unix.TCGETS,
		} {
			_, _, e := unix.Syscall(unix.SYS_IOCTL, f.Fd(), uintptr(req), uintptr(unsafe.Pointer(&c)))
			out[name] = int(e)
		}
		f.Close()
	}
	// KEYCTL_GET_KEYRING_ID of the session keyring: succeeds unfiltered.
	_, err = unix.KeyctlGetKeyringID(unix.KEY_SPEC_SESSION_KEYRING, false)
	out["keyctl"] = errnoOf(err)
	// unshare(CLONE_NEWUSER) in a threaded process: EINVAL unfiltered.
	out["unshare"] = errnoOf(unix.Unshare(unix.CLONE_NEWUSER))
	// clone(CLONE_NEWUSER) then exec "/": EACCES unfiltered.
	_, err = syscall.ForkExec("/", []string{"x"}, &syscall.ProcAttr{Sys: &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUSER}})
	out["clone_newuser"] = errnoOf(err)
	// A plain fork+exec must still work: EACCES from exec'ing "/".
	_, err = syscall.ForkExec("/", []string{"x"}, &syscall.ProcAttr{})
	out["fork"] = errnoOf(err)
	return out
}
