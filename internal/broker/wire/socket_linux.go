package wire

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// SocketName is the socket's file name inside SocketDir.
const SocketName = "broker.sock"

// SocketDir is $XDG_RUNTIME_DIR/envseal. Without XDG_RUNTIME_DIR it is
// /run/user/<uid>/envseal when that runtime dir exists and is ours, else
// $TMPDIR/envseal-<uid> — a predictable name in a world-writable
// directory, which is why every user of it checks that it is a real
// directory, owned by us, mode 0700 (an attacker who creates it first
// makes the broker refuse to start, never listen in their directory).
func SocketDir() string {
	uid := os.Getuid()
	d := os.Getenv("XDG_RUNTIME_DIR")
	if testing.Testing() && (d == "" || strings.HasPrefix(filepath.Clean(d), "/run/user/")) {
		// A test binary (or envseal re-executed from one) that did not
		// point XDG_RUNTIME_DIR at a directory of its own — unset, or
		// the session's real one inherited from the developer's shell —
		// must not reach the developer's running broker in /run/user/UID
		// or $TMPDIR/envseal-UID: this name is nobody's.
		return filepath.Join(os.TempDir(), "envseal-test-no-XDG_RUNTIME_DIR-"+strconv.Itoa(uid))
	}
	if d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "envseal")
	}
	run := filepath.Join("/run/user", strconv.Itoa(uid))
	if CheckDir(run) == nil {
		return filepath.Join(run, "envseal")
	}
	return filepath.Join(os.TempDir(), "envseal-"+strconv.Itoa(uid))
}

// SocketPath is the broker's socket.
func SocketPath() string { return filepath.Join(SocketDir(), SocketName) }

// CheckDir refuses anything but a real directory owned by us with no
// group or other permissions.
func CheckDir(dir string) error {
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrUnsafeDir, dir, err)
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return fmt.Errorf("%w: %s is not a directory (a symlink?)", ErrUnsafeDir, dir)
	case int(st.Uid) != os.Getuid():
		return fmt.Errorf("%w: %s is owned by uid %d, not %d", ErrUnsafeDir, dir, st.Uid, os.Getuid())
	case st.Mode&0o077 != 0:
		return fmt.Errorf("%w: %s has mode %#o (want 0700)", ErrUnsafeDir, dir, st.Mode&0o777)
	}
	return nil
}

// PeerCred returns the SO_PEERCRED credentials of the other end.
func PeerCred(c *net.UnixConn) (*unix.Ucred, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	var cred *unix.Ucred
	var serr error
	if err := raw.Control(func(fd uintptr) {
		cred, serr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return nil, err
	}
	if serr != nil {
		return nil, os.NewSyscallError("getsockopt(SO_PEERCRED)", serr)
	}
	return cred, nil
}
