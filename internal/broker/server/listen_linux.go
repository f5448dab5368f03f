package server

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"

	"github.com/envseal/envseal/internal/broker/wire"
)

// ensureDir creates dir 0700 if missing and checks it.
func ensureDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	return wire.CheckDir(dir)
}

// Listen creates the socket directory if needed, checks it, and listens
// on path (wire.SocketPath() when empty). A stale socket (nobody answers) is
// replaced; a live one is left alone.
func Listen(path string) (*net.UnixListener, error) {
	if path == "" {
		path = wire.SocketPath()
	}
	if err := ensureDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return nil, fmt.Errorf("%w on %s", wire.ErrRunning, path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale socket: %w", err)
	}
	// The directory is 0700 already; the umask makes the socket itself
	// 0600 too, in case the directory's mode is ever loosened.
	old := syscall.Umask(0o177)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(true)
	return ln, nil
}
