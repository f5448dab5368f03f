//go:build linux || darwin

package approve

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/envseal/envseal/internal/sys"
	"golang.org/x/sys/unix"
)

// ttyConn is a terminal opened for one prompt: non-blocking, so that every
// read and write honours the deadline through poll(2).
type ttyConn struct {
	fd    int
	path  string
	saved *unix.Termios
}

func openTTY(path string) (*ttyConn, error) {
	// O_NOCTTY: asking on a terminal must never make it ours.
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, noTTY(path, err)
	}
	saved, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil {
		unix.Close(fd)
		return nil, noTTY(path, fmt.Errorf("not a terminal: %w", err))
	}
	// Line mode with echo, whatever the agent's TUI left the terminal in
	// (raw mode would hide what the human types and send \r for Enter).
	cooked := *saved
	cooked.Lflag |= unix.ICANON | unix.ECHO | unix.ECHOE | unix.ECHOK
	cooked.Iflag |= unix.ICRNL
	cooked.Iflag &^= unix.INLCR | unix.IGNCR
	cooked.Oflag |= unix.OPOST | unix.ONLCR
	if err := unix.IoctlSetTermios(fd, ioctlSetTermios, &cooked); err != nil {
		unix.Close(fd)
		return nil, noTTY(path, fmt.Errorf("set terminal mode: %w", err))
	}
	return &ttyConn{fd: fd, path: path, saved: saved}, nil
}

func (t *ttyConn) close() {
	_ = unix.IoctlSetTermios(t.fd, ioctlSetTermios, t.saved)
	unix.Close(t.fd)
}

// wait polls for events until the deadline or the context ends. It polls
// in short slices so a cancelled context is noticed without a wake-up pipe.
func (t *ttyConn) wait(ctx context.Context, events int16, deadline time.Time) error {
	for {
		if err := ctx.Err(); err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("%w: %w", ErrTimeout, err)
			}
			return fmt.Errorf("%w: %w", ErrCancelled, context.Cause(ctx))
		}
		left := time.Until(deadline)
		if left <= 0 {
			return ErrTimeout
		}
		slice := min(left, 50*time.Millisecond)
		fds := []unix.PollFd{{Fd: int32(t.fd), Events: events}}
		n, err := sys.Retry(func() (int, error) { return unix.Poll(fds, int((slice+time.Millisecond-1)/time.Millisecond)) })
		switch {
		case err != nil:
			return fmt.Errorf("poll %s: %w", t.path, err)
		case n > 0 && fds[0].Revents&unix.POLLNVAL != 0:
			return fmt.Errorf("poll %s: invalid descriptor", t.path)
		case n > 0:
			return nil // ready, or hung up/error: the next read or write says which
		}
	}
}

func (t *ttyConn) writeAll(ctx context.Context, b []byte, deadline time.Time) error {
	for len(b) > 0 {
		n, err := sys.Retry(func() (int, error) { return unix.Write(t.fd, b) })
		switch {
		case errors.Is(err, unix.EAGAIN):
			if err := t.wait(ctx, unix.POLLOUT, deadline); err != nil {
				return err
			}
		case err != nil:
			return fmt.Errorf("write %s: %w", t.path, err)
		default:
			b = b[n:]
		}
	}
	return nil
}

// readLine returns one line without its terminator. EOF (^D on an empty
// line) and hangup (EIO once the terminal's other side is gone) are
// ErrNoAnswer.
func (t *ttyConn) readLine(ctx context.Context, deadline time.Time) (string, error) {
	var line []byte
	buf := make([]byte, 256)
	for {
		if err := t.wait(ctx, unix.POLLIN, deadline); err != nil {
			return "", err
		}
		n, err := sys.Retry(func() (int, error) { return unix.Read(t.fd, buf) })
		switch {
		case errors.Is(err, unix.EAGAIN):
			continue
		case errors.Is(err, unix.EIO):
			return "", fmt.Errorf("%w: %s hung up", ErrNoAnswer, t.path)
		case err != nil:
			return "", fmt.Errorf("read %s: %w", t.path, err)
		case n == 0:
			return "", fmt.Errorf("%w: end of input on %s", ErrNoAnswer, t.path)
		}
		for _, c := range buf[:n] {
			if c == '\n' || c == '\r' || len(line) > maxAnswer {
				return string(line), nil
			}
			line = append(line, c)
		}
	}
}
