//go:build unix

package safefile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/envseal/envseal/internal/sys"
	"golang.org/x/sys/unix"
)

// CheckDir refuses a directory that is a symlink, not a directory, owned by
// another user, or writable by group or others. Any of those would let
// someone else swap files under us.
func CheckDir(dir string) error {
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return &fs.PathError{Op: "lstat", Path: dir, Err: err}
	}
	switch {
	case st.Mode&unix.S_IFMT == unix.S_IFLNK:
		return &UnsafeError{dir, "it is a symlink (point $ENVSEAL_HOME at the real directory)"}
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return &UnsafeError{dir, "it is not a directory"}
	case int(st.Uid) != os.Geteuid():
		return &UnsafeError{dir, fmt.Sprintf("it is owned by uid %d, not by you (uid %d)", st.Uid, os.Geteuid())}
	case st.Mode&0o022 != 0:
		return &UnsafeError{dir, fmt.Sprintf("it is writable by group or others (mode %04o; run chmod 700)", st.Mode&0o7777)}
	}
	return nil
}

// MkdirPrivate creates dir (and missing parents) with mode 0700 and checks
// the result.
func MkdirPrivate(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return CheckDir(dir)
}

// ReadFile reads a file written by WriteAtomic. It refuses a symlink (never
// followed: O_NOFOLLOW), a non-regular file, a file with more than one link
// (a hard link could make a vault file alias something the attacker
// controls), a file owned by another user, a file readable or writable by
// group or others, and a file larger than max bytes.
func ReadFile(path string, max int64) ([]byte, error) {
	f, err := OpenFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: %w (over %d bytes)", path, ErrTooLarge, max)
	}
	return data, nil
}

// errUnlinked marks a file unlinked while we held it open.
var errUnlinked = fmt.Errorf("%w (unlinked while being opened)", fs.ErrNotExist)

// OpenFile opens path for reading with the checks of ReadFile. Readers take
// no lock, so a file replaced (renamed over) or removed between open and
// check is opened again; a file that stays gone is fs.ErrNotExist.
func OpenFile(path string) (*os.File, error) {
	for attempt := 0; ; attempt++ {
		f, err := openChecked(path)
		if errors.Is(err, errUnlinked) && attempt < 3 {
			continue
		}
		return f, err
	}
}

func openChecked(path string) (*os.File, error) {
	return openFlags(path, unix.O_RDONLY, 0)
}

// OpenAppend opens path for appending, created with mode 0600 if it is
// missing, with the checks of ReadFile (no symlink, a regular file with
// one link, owned by us, closed to group and others).
func OpenAppend(path string) (*os.File, error) {
	return openFlags(path, unix.O_RDWR|unix.O_APPEND|unix.O_CREAT, 0o600)
}

// openFlags opens path with flags (and never through a symlink), checks
// the open file with CheckFD, and returns it in blocking mode.
func openFlags(path string, flags int, perm uint32) (*os.File, error) {
	fd, err := unix.Open(path, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, perm)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return nil, &UnsafeError{path, "it is a symlink"}
		}
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	if err := CheckFD(fd, path); err != nil {
		f.Close()
		return nil, err
	}
	// Back to blocking mode (O_NONBLOCK only kept a planted FIFO from hanging open).
	if err := unix.SetNonblock(fd, false); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// CheckFD refuses an open file that is not a regular file, has more than
// one link (a hard link could alias a vault file to something the attacker
// controls), is owned by another user, or is accessible by group or others.
func CheckFD(fd int, path string) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &fs.PathError{Op: "fstat", Path: path, Err: err}
	}
	if st.Nlink == 0 {
		// Unlinked between our open and this check: a concurrent revoke
		// (gone) or a replace renamed over it (OpenFile opens again).
		return &fs.PathError{Op: "open", Path: path, Err: errUnlinked}
	}
	var reason string
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		reason = "it is not a regular file"
	case st.Nlink != 1:
		reason = fmt.Sprintf("it has %d hard links", st.Nlink)
	case int(st.Uid) != os.Geteuid():
		reason = fmt.Sprintf("it is owned by uid %d, not by you", st.Uid)
	case st.Mode&0o077 != 0:
		reason = fmt.Sprintf("it is accessible by group or others (mode %04o; run chmod 600)", st.Mode&0o7777)
	}
	if reason != "" {
		return &UnsafeError{path, reason}
	}
	return nil
}

// WriteAtomic replaces dir/name with data: O_EXCL temp file (0600) in the
// same directory, write, fsync, rename over the target, fsync the
// directory. A crash at any point leaves the old content or the new one.
// The caller holds the directory's Lock.
func WriteAtomic(dir, name string, data []byte) error {
	return writeAtomic(dir, name, data, 0o600)
}

// WriteFileAtomic replaces path, a file of the user's own (a .env file, a
// program, an agent client's configuration), with data and mode, by the
// steps of WriteAtomic: a reader or a crash sees the old file or the new
// one, never a mix. No lock is taken: such a file has no envseal lock.
func WriteFileAtomic(path string, data []byte, mode fs.FileMode) error {
	dir, name := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if err := writeAtomic(dir, name, data, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func writeAtomic(dir, name string, data []byte, mode fs.FileMode) error {
	tmp, f, err := createTemp(dir)
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if mode != 0o600 {
		if err := f.Chmod(mode); err != nil {
			return fmt.Errorf("chmod %s: %w", tmp, err)
		}
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	ok = true
	return SyncDir(dir)
}

// CreateExclusive writes dir/name only if it does not exist yet, with the
// same crash safety as WriteAtomic (link(2) fails if the target exists).
func CreateExclusive(dir, name string, data []byte) error {
	tmp, f, err := createTemp(dir)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("fsync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp, filepath.Join(dir, name)); err != nil {
		return err // fs.ErrExist when the target is there
	}
	if err := os.Remove(tmp); err != nil {
		return err
	}
	return SyncDir(dir)
}

// Remove deletes dir/name and syncs the directory so the deletion is
// durable once Remove returns.
func Remove(dir, name string) error {
	if err := os.Remove(filepath.Join(dir, name)); err != nil {
		return err
	}
	return SyncDir(dir)
}

func createTemp(dir string) (string, *os.File, error) {
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(dir, TempPrefix+hex.EncodeToString(rnd[:]))
	// O_EXCL: never reuse or follow something planted at the temp name.
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return "", nil, err
	}
	return tmp, f, nil
}

// SyncDir fsyncs a directory so a rename or unlink in it is durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}

// Lock is an exclusive cross-process lock on a directory's lock file.
type Lock struct{ f *os.File }

// LockDir takes the exclusive flock on dir/.lock, waiting for other
// holders. While it holds the lock the caller is the only writer, so any
// temp file it finds is debris from a crashed writer and is removed.
func LockDir(dir string) (*Lock, error) {
	path := filepath.Join(dir, ".lock")
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	err = sys.RetryErr(func() error { return unix.Flock(fd, unix.LOCK_EX) })
	if err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "flock", Path: path, Err: err}
	}
	RemoveStaleTemps(dir)
	return &Lock{f: os.NewFile(uintptr(fd), path)}, nil
}

// Unlock releases the lock.
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the fd drops the flock
	l.f = nil
	return err
}

// RemoveStaleTemps deletes temp files left in dir by a crashed writer. Call
// it only while holding the lock that covers dir's writers.
func RemoveStaleTemps(dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), TempPrefix) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
