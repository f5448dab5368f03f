//go:build unix

package audit

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/envseal/envseal/internal/safefile"
	"github.com/envseal/envseal/internal/sys"
)

// lockAudit takes flock(2) on dir/audit.lock: exclusive for appenders,
// shared for readers taking a snapshot. It is not the vault's .lock:
// vault writers append records while holding that one, so the order is
// always vault lock, then audit lock.
func lockAudit(dir string, exclusive bool) (release func(), err error) {
	path := filepath.Join(dir, LockFile)
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return nil, &safefile.UnsafeError{Path: path, Reason: "it is a symlink"}
		}
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	err = sys.RetryErr(func() error { return unix.Flock(fd, how) })
	if err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "flock", Path: path, Err: err}
	}
	return func() { unix.Close(fd) }, nil // closing drops the lock
}

// openLog opens the log for appending (created 0600 if missing) or for
// reading. Like every vault file it is refused if it is a symlink, not a
// regular file, hard-linked, owned by someone else or open to group or
// others: any of those would let another party write records we then
// sign, or read them.
func openLog(path string, forAppend bool) (*os.File, error) {
	if !forAppend {
		return safefile.OpenFile(path)
	}
	return safefile.OpenAppend(path)
}

// writeHeadFile rewrites the anchor in place. It is not fsynced on
// purpose: it is written only after the record it names is durable, so
// whichever version survives a crash names a record that exists.
func writeHeadFile(path string, b []byte) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0o600)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return &safefile.UnsafeError{Path: path, Reason: "it is a symlink"}
		}
		return &fs.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	if err := safefile.CheckFD(fd, path); err != nil {
		return err
	}
	if _, err := f.WriteAt(b, 0); err != nil {
		return err
	}
	return f.Truncate(int64(len(b)))
}
