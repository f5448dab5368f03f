//go:build linux && (amd64 || arm64)

package sandbox

import (
	"encoding/binary"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// filterVM loads the program exactly as installSeccomp would load it —
// the raw instructions, disassembled back — into x/net/bpf's VM.
func filterVM(t *testing.T) *bpf.VM {
	t.Helper()
	prog, err := filterProgram()
	if err != nil {
		t.Fatal(err)
	}
	if len(prog) > 4096 { // BPF_MAXINSNS
		t.Fatalf("filter has %d instructions; the kernel takes at most 4096", len(prog))
	}
	insns := make([]bpf.Instruction, len(prog))
	for i, f := range prog {
		insns[i] = bpf.RawInstruction{Op: f.Code, Jt: f.Jt, Jf: f.Jf, K: f.K}.Disassemble()
	}
	vm, err := bpf.NewVM(insns)
	if err != nil {
		t.Fatal(err)
	}
	return vm
}

// seccompData packs a struct seccomp_data for the VM. The trap (runc's
// seccomp tests hit it too): the kernel loads each 32-bit word in native
// byte order, the VM in network (big-endian) order. So every word is
// written big-endian at the offset where the kernel would find it: nr at
// 0, arch at 4, and each 64-bit argument as two words, the low one first
// on a little-endian machine.
func seccompData(arch, nr uint32, args ...uint64) []byte {
	b := make([]byte, 64)
	binary.BigEndian.PutUint32(b[offNr:], nr)
	binary.BigEndian.PutUint32(b[offArch:], arch)
	for i, a := range args {
		lo, hi := argLow(i), argLow(i)+4
		if bigEndian {
			hi = argLow(i) - 4
		}
		binary.BigEndian.PutUint32(b[lo:], uint32(a))
		binary.BigEndian.PutUint32(b[hi:], uint32(a>>32))
	}
	return b
}

func runFilter(t *testing.T, vm *bpf.VM, arch, nr uint32, args ...uint64) uint32 {
	t.Helper()
	got, err := vm.Run(seccompData(arch, nr, args...))
	if err != nil {
		t.Fatal(err)
	}
	return uint32(got)
}

func TestFilterDeniesListedCalls(t *testing.T) {
	vm := filterVM(t)
	for _, c := range deniedCalls {
		if got := runFilter(t, vm, auditArch, c.nr); got != retEPERM {
			t.Errorf("%s (%d): %#x, want ERRNO(EPERM) %#x", c.name, c.nr, got, retEPERM)
		}
	}
	if len(deniedCalls) < 20 {
		t.Errorf("deny-list has only %d calls", len(deniedCalls))
	}
}

func TestFilterAllowsOrdinaryCalls(t *testing.T) {
	vm := filterVM(t)
	for name, nr := range map[string]uint32{
		"read": unix.SYS_READ, "write": unix.SYS_WRITE, "openat": unix.SYS_OPENAT, "execve": unix.SYS_EXECVE,
		"mmap": unix.SYS_MMAP, "futex": unix.SYS_FUTEX, "getpid": unix.SYS_GETPID, "exit_group": unix.SYS_EXIT_GROUP,
		"wait4": unix.SYS_WAIT4, "kill": unix.SYS_KILL, "socket": unix.SYS_SOCKET, "connect": unix.SYS_CONNECT,
		"seccomp": unix.SYS_SECCOMP, // a child may stack its own stricter filter
	} {
		if got := runFilter(t, vm, auditArch, nr, 1, 2, 3); got != retAllow {
			t.Errorf("%s: %#x, want ALLOW", name, got)
		}
	}
}

// TestFilterIoctl: TIOCSTI and TIOCLINUX are denied by the request
// argument (args[1]), including with garbage in its upper 32 bits, which
// the kernel ignores; other requests, and the same numbers in another
// argument, pass.
func TestFilterIoctl(t *testing.T) {
	vm := filterVM(t)
	cases := []struct {
		name string
		args []uint64
		want uint32
	}{
		{"TIOCSTI", []uint64{0, unix.TIOCSTI, 0}, retEPERM},
		{"TIOCSTI high bits", []uint64{0, 0xffffffff00000000 | unix.TIOCSTI, 0}, retEPERM},
		{"TIOCLINUX", []uint64{1, unix.TIOCLINUX, 0}, retEPERM},
		{"TCGETS", []uint64{0, unix.TCGETS, 0}, retAllow},
		{"TIOCGWINSZ", []uint64{1, unix.TIOCGWINSZ, 0}, retAllow},
		{"TIOCINQ", []uint64{3, unix.TIOCINQ, 0}, retAllow},
		{"TIOCSTI as fd", []uint64{unix.TIOCSTI, unix.TCGETS, 0}, retAllow},
		{"TIOCSTI as arg", []uint64{0, unix.TCGETS, unix.TIOCSTI}, retAllow},
		{"TIOCSTI in high word", []uint64{0, uint64(unix.TIOCSTI) << 32, 0}, retAllow},
	}
	for _, c := range cases {
		if got := runFilter(t, vm, auditArch, unix.SYS_IOCTL, c.args...); got != c.want {
			t.Errorf("ioctl %s: %#x, want %#x", c.name, got, c.want)
		}
	}
}

// TestFilterClone: clone with a namespace flag is denied (it is unshare
// by another name), clone for threads and fork passes, clone3 — whose
// flags seccomp cannot see — gets ENOSYS so libc falls back to clone.
func TestFilterClone(t *testing.T) {
	vm := filterVM(t)
	thread := uint64(unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND | unix.CLONE_THREAD | unix.CLONE_SYSVSEM)
	for name, c := range map[string]struct {
		nr    uint32
		flags uint64
		want  uint32
	}{
		"thread":        {unix.SYS_CLONE, thread, retAllow},
		"fork":          {unix.SYS_CLONE, uint64(unix.SIGCHLD), retAllow},
		"vfork":         {unix.SYS_CLONE, uint64(unix.CLONE_VM | unix.CLONE_VFORK | unix.SIGCHLD), retAllow},
		"newuser":       {unix.SYS_CLONE, uint64(unix.CLONE_NEWUSER | unix.SIGCHLD), retEPERM},
		"newns":         {unix.SYS_CLONE, uint64(unix.CLONE_NEWNS), retEPERM},
		"newnet thread": {unix.SYS_CLONE, thread | unix.CLONE_NEWNET, retEPERM},
		"clone3":        {unix.SYS_CLONE3, 0, retENOSYS},
	} {
		if got := runFilter(t, vm, auditArch, c.nr, c.flags); got != c.want {
			t.Errorf("%s: %#x, want %#x", name, got, c.want)
		}
	}
}

// TestFilterOtherABIs: a syscall made through another ABI carries other
// numbers (i386's ptrace is 26) and would slip past the list, so it kills
// the process.
func TestFilterOtherABIs(t *testing.T) {
	vm := filterVM(t)
	if got := runFilter(t, vm, unix.AUDIT_ARCH_I386, 26); got != retKill {
		t.Errorf("i386 syscall: %#x, want KILL_PROCESS", got)
	}
	other := uint32(unix.AUDIT_ARCH_AARCH64)
	if auditArch == unix.AUDIT_ARCH_AARCH64 {
		other = unix.AUDIT_ARCH_X86_64
	}
	if got := runFilter(t, vm, other, unix.SYS_GETPID); got != retKill {
		t.Errorf("foreign arch: %#x, want KILL_PROCESS", got)
	}
	if x32Bit != 0 {
		if got := runFilter(t, vm, auditArch, x32Bit|unix.SYS_GETPID); got != retKill {
			t.Errorf("x32 syscall: %#x, want KILL_PROCESS", got)
		}
	}
}
