package approve

import "golang.org/x/sys/unix"

const (
	ioctlGetTermios = unix.TIOCGETA
	ioctlSetTermios = unix.TIOCSETA
)

// flushInput is tcflush(fd, TCIFLUSH): TIOCFLUSH with FREAD (1).
func (t *ttyConn) flushInput() error {
	return unix.IoctlSetPointerInt(t.fd, unix.TIOCFLUSH, 1)
}

// controllingTTYName is not implemented here yet; pinentry then gets no
// ttyname option.
func controllingTTYName() string { return "" }
