package exeseal

// The only file in the package that calls golang.org/x/sys/unix directly:
// EINTR retry (internal/sys's, the same everywhere) and os.SyscallError wrapping, so the rest reads as
// plain Go and errors name the failing syscall.

import (
	"errors"
	"os"
	"strconv"

	"github.com/envseal/envseal/internal/sys"
	"golang.org/x/sys/unix"
)

func retry[T any](fn func() (T, error)) (T, error) { return sys.Retry(fn) }

// openNoFollow opens path read-only without following symlinks anywhere
// in it (openat2 RESOLVE_NO_SYMLINKS; a final-component-only O_NOFOLLOW on
// kernels before 5.6). O_NONBLOCK stops an attacker-placed FIFO from
// hanging the launcher in open; fstat then refuses it.
func openNoFollow(path string) (int, error) {
	const flags = unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_NONBLOCK
	how := &unix.OpenHow{
		Flags:   flags,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	}
	fd, err := retry(func() (int, error) { return unix.Openat2(unix.AT_FDCWD, path, how) })
	if errors.Is(err, unix.ENOSYS) {
		fd, err = retry(func() (int, error) { return unix.Open(path, flags, 0) })
		return fd, os.NewSyscallError("open", err)
	}
	return fd, os.NewSyscallError("openat2", err)
}

func fstat(fd int) (unix.Stat_t, error) {
	var st unix.Stat_t
	_, err := retry(func() (struct{}, error) { return struct{}{}, unix.Fstat(fd, &st) })
	return st, os.NewSyscallError("fstat", err)
}

// memfdCreate makes an anonymous sealable file. An exec memfd asks for
// MFD_EXEC, needed when vm.memfd_noexec=1 makes memfds non-executable by
// default; any other asks for MFD_NOEXEC_SEAL, so it can never be made
// executable. Kernels before 6.3 know neither flag (EINVAL) and create
// executable memfds by default, which the caller's fchmod then narrows.
func memfdCreate(name string, exec bool) (int, error) {
	flags := unix.MFD_CLOEXEC | unix.MFD_ALLOW_SEALING
	extra := unix.MFD_NOEXEC_SEAL
	if exec {
		extra = unix.MFD_EXEC
	}
	fd, err := retry(func() (int, error) { return unix.MemfdCreate(name, flags|extra) })
	if errors.Is(err, unix.EINVAL) {
		fd, err = retry(func() (int, error) { return unix.MemfdCreate(name, flags) })
	}
	return fd, os.NewSyscallError("memfd_create", err)
}

// addSeals adds seals; optional seals the kernel does not know (EINVAL,
// e.g. F_SEAL_EXEC before 6.3) are dropped and the rest retried.
func addSeals(fd, seals, optional int) error {
	_, err := retry(func() (int, error) { return unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals|optional) })
	if errors.Is(err, unix.EINVAL) && optional != 0 {
		_, err = retry(func() (int, error) { return unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals) })
	}
	return os.NewSyscallError("fcntl(F_ADD_SEALS)", err)
}

func getSeals(fd int) (int, error) {
	s, err := retry(func() (int, error) { return unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0) })
	return s, os.NewSyscallError("fcntl(F_GET_SEALS)", err)
}

func fchmod(fd int, mode uint32) error {
	_, err := retry(func() (struct{}, error) { return struct{}{}, unix.Fchmod(fd, mode) })
	return os.NewSyscallError("fchmod", err)
}

// fchown works on O_PATH descriptors too (AT_EMPTY_PATH).
func fchown(fd, uid, gid int) error {
	_, err := retry(func() (struct{}, error) {
		return struct{}{}, unix.Fchownat(fd, "", uid, gid, unix.AT_EMPTY_PATH)
	})
	return os.NewSyscallError("fchownat", err)
}

// openPathFd returns an O_PATH descriptor for the file behind fd. An O_PATH
// descriptor can be exec'd through /proc/self/fd and re-opened (with a
// fresh permission check), but cannot be read, written, chmod'ed or have
// seals added: the safest thing to hand to a child.
func openPathFd(fd int) (int, error) {
	p := "/proc/self/fd/" + strconv.Itoa(fd)
	nfd, err := retry(func() (int, error) { return unix.Open(p, unix.O_PATH|unix.O_CLOEXEC, 0) })
	return nfd, os.NewSyscallError("open", err)
}

func geteuid() int { return unix.Geteuid() }

func isELOOP(err error) bool { return errors.Is(err, unix.ELOOP) }
