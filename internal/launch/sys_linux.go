package launch

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// secretFile returns a sealed, read-only memfd holding value, for fd
// delivery. Sealing means the child (or anything it runs) cannot change
// what later readers see.
func secretFile(name string, value []byte) (*os.File, error) {
	fd, err := unix.MemfdCreate("envseal-secret", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd for %s: %w", name, os.NewSyscallError("memfd_create", err))
	}
	f := os.NewFile(uintptr(fd), "envseal-secret")
	if _, err := f.Write(value); err != nil {
		f.Close()
		return nil, fmt.Errorf("memfd for %s: %w", name, err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("seal memfd for %s: %w", name, os.NewSyscallError("fcntl", err))
	}
	if _, err := f.Seek(0, 0); err != nil {
		f.Close()
		return nil, err
	}
	if err := unix.Fchmod(fd, 0o400); err != nil {
		f.Close()
		return nil, err
	}
	// Reopen read-only through /proc so the child's descriptor cannot even
	// attempt a write.
	ro, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", fd), os.O_RDONLY, 0)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("reopen memfd for %s: %w", name, err)
	}
	return ro, nil
}
