package sys

import "golang.org/x/sys/unix"

// Recvmsg is unix.Recvmsg retried on EINTR, for the callers that read a
// socket themselves (the warm helper's hand-over): it returns the data
// and control-message lengths and the message flags.
func Recvmsg(fd int, p, oob []byte, flags int) (n, oobn, recvflags int, err error) {
	for {
		n, oobn, recvflags, _, err = unix.Recvmsg(fd, p, oob, flags)
		if err != unix.EINTR {
			return n, oobn, recvflags, err
		}
	}
}

// Sendmsg is unix.Sendmsg (no address) retried on EINTR.
func Sendmsg(fd int, p, oob []byte, flags int) error {
	return RetryErr(func() error { return unix.Sendmsg(fd, p, oob, nil, flags) })
}
