//go:build linux && (amd64 || arm64)

package sandbox

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Landlock, applied by the lockdown helper after its mounts: writes only
// beneath the writable places. The read-only remount already stops writes
// elsewhere; Landlock is the second lock on the same door, and the one a
// future bug in the mount setup (a missed submount, a writable bind the
// host added later) would not open. It also scopes signals and abstract
// unix sockets to the sandbox (ABI 6+), so with --network the child still
// cannot reach the host's X11 or D-Bus abstract sockets.
//
// Best effort for the kernel's ABI: rights the kernel does not know are
// left out, and a kernel without Landlock gets none (LandlockABI reports
// it for doctor). Reads are not handled: what must not be read is hidden
// by mounts.

// writeAccess returns the write-type rights known at the given ABI.
func writeAccess(abi int) uint64 {
	if abi < 1 {
		return 0
	}
	a := uint64(unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_REMOVE_DIR |
		unix.LANDLOCK_ACCESS_FS_REMOVE_FILE | unix.LANDLOCK_ACCESS_FS_MAKE_CHAR |
		unix.LANDLOCK_ACCESS_FS_MAKE_DIR | unix.LANDLOCK_ACCESS_FS_MAKE_REG |
		unix.LANDLOCK_ACCESS_FS_MAKE_SOCK | unix.LANDLOCK_ACCESS_FS_MAKE_FIFO |
		unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK | unix.LANDLOCK_ACCESS_FS_MAKE_SYM)
	if abi >= 2 {
		a |= unix.LANDLOCK_ACCESS_FS_REFER
	}
	if abi >= 3 {
		a |= unix.LANDLOCK_ACCESS_FS_TRUNCATE
	}
	return a
}

// fileWriteAccess is what may be granted on a non-directory (a device).
const fileWriteAccess = unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_TRUNCATE

// writableDevices stay writable for every program: the bit bucket, the
// terminal, pseudo-terminals.
var writableDevices = []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/ptmx", "/dev/pts"}

// LandlockABI returns the kernel's Landlock ABI version, 0 if it has none
// (not built in, or not in the boot-time LSM list).
func LandlockABI() int {
	r, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		return 0
	}
	return int(r)
}

// restrictWrites puts the calling thread into a Landlock domain where
// writes are allowed only beneath dirs (and on writableDevices). It
// returns the ABI used, 0 if the kernel has no Landlock. no_new_privs must
// already be set on this thread.
func restrictWrites(dirs []string) (int, error) {
	abi := LandlockABI()
	if abi < 1 {
		return 0, nil
	}
	handled := writeAccess(abi)
	attr := unix.LandlockRulesetAttr{Handled_access_fs: handled}
	if abi >= 6 {
		attr.Scoped = unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | unix.LANDLOCK_SCOPE_SIGNAL
	}
	// Only the fields this ABI knows (an older kernel takes a longer
	// struct only if the bytes it does not know are zero).
	size := unsafe.Sizeof(attr.Handled_access_fs)
	switch {
	case abi >= 6:
		size = unsafe.Offsetof(attr.Scoped) + unsafe.Sizeof(attr.Scoped)
	case abi >= 4:
		size = unsafe.Offsetof(attr.Handled_access_net) + unsafe.Sizeof(attr.Handled_access_net)
	}
	r, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), size, 0)
	if errno != 0 {
		return abi, os.NewSyscallError("landlock_create_ruleset", errno)
	}
	ruleset := int(r)
	defer unix.Close(ruleset)

	for _, d := range dirs {
		if err := addPathRule(ruleset, d, handled, true); err != nil {
			return abi, err
		}
	}
	for _, d := range writableDevices {
		if err := addPathRule(ruleset, d, handled&fileWriteAccess, false); err != nil {
			return abi, err
		}
	}
	if _, _, errno := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(ruleset), 0, 0); errno != 0 {
		return abi, os.NewSyscallError("landlock_restrict_self", errno)
	}
	return abi, nil
}

// addPathRule allows access beneath path. A missing optional path (a
// device this system lacks) is skipped; a missing writable dir is not.
func addPathRule(ruleset int, path string, access uint64, required bool) error {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		if !required && errors.Is(err, unix.ENOENT) {
			return nil
		}
		return fmt.Errorf("landlock rule for %s: %w", path, os.NewSyscallError("open", err))
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("landlock rule for %s: %w", path, os.NewSyscallError("fstat", err))
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		access &= fileWriteAccess // the kernel refuses directory rights on a file
	}
	rule := unix.LandlockPathBeneathAttr{Allowed_access: access, Parent_fd: int32(fd)}
	_, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(ruleset), unix.LANDLOCK_RULE_PATH_BENEATH,
		uintptr(unsafe.Pointer(&rule)), 0, 0, 0)
	if errno != 0 {
		return fmt.Errorf("landlock rule for %s: %w", path, os.NewSyscallError("landlock_add_rule", errno))
	}
	return nil
}
