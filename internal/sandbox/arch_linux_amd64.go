package sandbox

import "golang.org/x/sys/unix"

const (
	// auditArch is seccomp_data.arch for this process's own ABI.
	auditArch = unix.AUDIT_ARCH_X86_64
	// x32Bit marks x32 syscall numbers, which share AUDIT_ARCH_X86_64
	// but not its numbering.
	x32Bit    = 0x40000000
	bigEndian = false
)
