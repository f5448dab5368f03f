package sandbox

import "golang.org/x/sys/unix"

const (
	// auditArch is seccomp_data.arch for this process's own ABI.
	auditArch = unix.AUDIT_ARCH_AARCH64
	// x32Bit: arm64 has no second numbering sharing its audit arch.
	x32Bit    = 0
	bigEndian = false
)
