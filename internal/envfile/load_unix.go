//go:build unix

package envfile

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// openNoFollow opens path read-only without following a final symlink.
// O_NONBLOCK keeps a FIFO planted as .envseal from blocking the open until
// a writer appears; Load then refuses it as not regular. os.OpenFile adds
// O_CLOEXEC itself, so a child forked meanwhile does not inherit the fd; it
// is spelled out here anyway.
func openNoFollow(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err == nil {
		return f, nil
	}
	// Linux says ELOOP, FreeBSD EMLINK; ask the file system instead of
	// trusting either errno.
	if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("%s %w", path, ErrSymlink)
	}
	return nil, err
}

// checkOwner refuses a file another user could have written.
func checkOwner(path string, fi fs.FileInfo) error {
	if fi.Mode().Perm()&0o002 != 0 {
		return fmt.Errorf("%s %w: it is writable by every user (chmod o-w %s)", path, ErrUnsafeFile, path)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("stat %s: no owner information", path)
	}
	if uid := int(st.Uid); uid != os.Geteuid() && uid != 0 {
		return fmt.Errorf("%s %w: it is owned by uid %d, not by you (uid %d) or root", path, ErrUnsafeFile, uid, os.Geteuid())
	}
	return nil
}
