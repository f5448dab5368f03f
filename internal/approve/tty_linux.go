package approve

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

const (
	ioctlGetTermios = unix.TCGETS
	ioctlSetTermios = unix.TCSETS
)

// flushInput is tcflush(fd, TCIFLUSH).
func (t *ttyConn) flushInput() error {
	return unix.IoctlSetInt(t.fd, unix.TCFLSH, unix.TCIFLUSH)
}

// controllingTTYName is the path of this process's controlling terminal
// (e.g. /dev/pts/3), or "" without one. pinentry-curses is pointed there and
// not at $GPG_TTY, which the agent sets: a dialog on the agent's own pty is
// one the agent can read and answer.
func controllingTTYName() string {
	fd, err := unix.Open("/dev/tty", unix.O_RDONLY|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return ""
	}
	defer unix.Close(fd)
	name, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		return ""
	}
	return name
}
