//go:build linux && (amd64 || arm64)

package sandbox

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// The seccomp deny-list shared by hardened and lockdown. It is a
// deny-list, not an allow-list: approved programs are arbitrary tools
// (compilers, deploy CLIs, interpreters), and what we take away is exactly
// the set of calls a same-uid attacker — or a compromised child — would use
// to reach other processes, the kernel's keyrings or the terminal:
//
//   - ptrace, process_vm_readv/writev: read or write another process's
//     memory (the secret of a sibling, the broker, the approval prompt);
//   - ioctl TIOCSTI and TIOCLINUX: push keystrokes into the controlling
//     terminal, which the human's shell would run after we exit
//     (dev.tty.legacy_tiocsti is 1 on this machine kind);
//   - kexec_*, *_module, bpf, perf_event_open, userfaultfd: kernel attack
//     surface no approved tool needs;
//   - keyctl, add_key, request_key: the session keyring is shared with the
//     user's other processes;
//   - the mount API, unshare, setns, and clone with namespace flags: the
//     sandbox set up its namespaces and mounts before this filter was
//     loaded; a child must not build new ones (a fresh user namespace
//     would hand it capabilities again).
//
// Every denied call fails with EPERM, so programs see an ordinary
// "operation not permitted". clone3 fails with ENOSYS instead: its flags
// sit in a struct seccomp cannot read, and ENOSYS makes glibc fall back to
// clone(2), whose flags the filter does check. A syscall made with another
// ABI (i386 int 0x80, x32 numbers) kills the process: its numbers are not
// the ones listed here, so it would bypass the list.
type deniedCall struct {
	name string
	nr   uint32
}

var deniedCalls = []deniedCall{
	{"ptrace", unix.SYS_PTRACE},
	{"process_vm_readv", unix.SYS_PROCESS_VM_READV},
	{"process_vm_writev", unix.SYS_PROCESS_VM_WRITEV},
	{"kexec_load", unix.SYS_KEXEC_LOAD},
	{"kexec_file_load", unix.SYS_KEXEC_FILE_LOAD},
	{"bpf", unix.SYS_BPF},
	{"perf_event_open", unix.SYS_PERF_EVENT_OPEN},
	{"keyctl", unix.SYS_KEYCTL},
	{"add_key", unix.SYS_ADD_KEY},
	{"request_key", unix.SYS_REQUEST_KEY},
	{"userfaultfd", unix.SYS_USERFAULTFD},
	{"init_module", unix.SYS_INIT_MODULE},
	{"finit_module", unix.SYS_FINIT_MODULE},
	{"delete_module", unix.SYS_DELETE_MODULE},
	{"mount", unix.SYS_MOUNT},
	{"umount2", unix.SYS_UMOUNT2},
	{"pivot_root", unix.SYS_PIVOT_ROOT},
	{"move_mount", unix.SYS_MOVE_MOUNT},
	{"open_tree", unix.SYS_OPEN_TREE},
	{"open_tree_attr", unix.SYS_OPEN_TREE_ATTR},
	{"fsopen", unix.SYS_FSOPEN},
	{"fsconfig", unix.SYS_FSCONFIG},
	{"fsmount", unix.SYS_FSMOUNT},
	{"fspick", unix.SYS_FSPICK},
	{"mount_setattr", unix.SYS_MOUNT_SETATTR},
	{"unshare", unix.SYS_UNSHARE},
	{"setns", unix.SYS_SETNS},
}

// deniedIoctls are matched on the low 32 bits of ioctl's request
// argument only: the kernel truncates it to unsigned int, so a filter
// comparing all 64 bits lets 0xffffffff00005412 through as TIOCSTI.
var deniedIoctls = []deniedCall{
	{"TIOCSTI", unix.TIOCSTI},
	{"TIOCLINUX", unix.TIOCLINUX},
}

// cloneNamespaceFlags: clone(2) with any of these creates a namespace,
// which is what unshare does after the fact. CLONE_NEWTIME is absent on
// purpose: in clone(2) its bit is part of the exit-signal byte.
const cloneNamespaceFlags = unix.CLONE_NEWNS | unix.CLONE_NEWUSER | unix.CLONE_NEWPID |
	unix.CLONE_NEWNET | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS | unix.CLONE_NEWCGROUP

// Return values (SECCOMP_RET_*).
const (
	retAllow  = unix.SECCOMP_RET_ALLOW
	retEPERM  = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
	retENOSYS = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	retKill   = unix.SECCOMP_RET_KILL_PROCESS
)

// Offsets into struct seccomp_data { int nr; __u32 arch; __u64 ip;
// __u64 args[6]; }. The kernel loads 32-bit words in native byte order.
const (
	offNr   = 0
	offArch = 4
	offArgs = 16
)

// argLow is the offset of the low 32 bits of args[i].
func argLow(i int) uint32 {
	off := uint32(offArgs + 8*i)
	if bigEndian {
		off += 4
	}
	return off
}

// filterInstructions assembles the deny-list program. Each check is a
// pair "if nr != X skip 1; return deny", so there are no long jumps to
// get wrong and the program reads top to bottom.
func filterInstructions() []bpf.Instruction {
	p := []bpf.Instruction{
		bpf.LoadAbsolute{Off: offArch, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: auditArch, SkipTrue: 1},
		bpf.RetConstant{Val: retKill},
		bpf.LoadAbsolute{Off: offNr, Size: 4},
	}
	if x32Bit != 0 {
		p = append(p,
			bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: x32Bit, SkipFalse: 1},
			bpf.RetConstant{Val: retKill})
	}
	for _, c := range deniedCalls {
		p = append(p,
			bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: c.nr, SkipTrue: 1},
			bpf.RetConstant{Val: retEPERM})
	}
	// ioctl: deny the listed requests, allow every other one.
	p = append(p,
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: unix.SYS_IOCTL, SkipTrue: uint8(2*len(deniedIoctls) + 2)},
		bpf.LoadAbsolute{Off: argLow(1), Size: 4})
	for _, c := range deniedIoctls {
		p = append(p,
			bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: c.nr, SkipTrue: 1},
			bpf.RetConstant{Val: retEPERM})
	}
	p = append(p, bpf.RetConstant{Val: retAllow})
	// clone: deny namespace flags (arg 0 on the supported architectures).
	p = append(p,
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: unix.SYS_CLONE, SkipTrue: 4},
		bpf.LoadAbsolute{Off: argLow(0), Size: 4},
		bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: cloneNamespaceFlags, SkipFalse: 1},
		bpf.RetConstant{Val: retEPERM},
		bpf.RetConstant{Val: retAllow},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: unix.SYS_CLONE3, SkipTrue: 1},
		bpf.RetConstant{Val: retENOSYS},
		bpf.RetConstant{Val: retAllow},
	)
	return p
}

// filterProgram is the assembled program, exactly as it is loaded.
func filterProgram() ([]unix.SockFilter, error) {
	raw, err := bpf.Assemble(filterInstructions())
	if err != nil {
		return nil, fmt.Errorf("assemble seccomp filter: %w", err)
	}
	out := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		out[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	return out, nil
}

// installSeccomp loads the filter into every thread of this process
// (SECCOMP_FILTER_FLAG_TSYNC): Go runs goroutines on several threads and
// the target is started from one of them; a filter on the calling thread
// alone would leave the others unfiltered. no_new_privs must already be
// set (the kernel refuses the filter otherwise, so a setuid binary cannot
// be fooled by one).
func installSeccomp() error {
	prog, err := filterProgram()
	if err != nil {
		return err
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
	if errno != 0 {
		return os.NewSyscallError("seccomp", errno)
	}
	if r != 0 {
		// TSYNC reports the thread it could not synchronise.
		return fmt.Errorf("seccomp: thread %d could not take the filter", r)
	}
	return nil
}

// seccompAvailable reports whether the kernel accepts seccomp filters
// returning errno values, without loading one.
func seccompAvailable() error {
	action := uint32(unix.SECCOMP_RET_ERRNO)
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_GET_ACTION_AVAIL, 0, uintptr(unsafe.Pointer(&action)))
	if errno != 0 {
		return os.NewSyscallError("seccomp", errno)
	}
	return nil
}
