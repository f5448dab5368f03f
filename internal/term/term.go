// Package term reads hidden input (a passphrase, a value to store) from
// the controlling terminal, or the same from a descriptor a script passes
// (ReadFD). It goes to /dev/tty and never to stdin or
// stdout: those belong to whatever invoked envseal (often an AI agent),
// and the human's answers must not pass through it. Approval prompts,
// which need deadlines and cancellation, have their own terminal code in
// internal/approve (tty_unix.go); this package is the blocking, simple
// case.
package term

import (
	"errors"
	"fmt"
	"io"
	"os"

	xterm "golang.org/x/term"
)

// ErrNoTTY means there is no controlling terminal to ask the human on. It is
// the one definition: approve.ErrNoTTY is the same error.
var ErrNoTTY = errors.New("no terminal to ask")

// Path is the controlling terminal device.
const Path = "/dev/tty"

// TTY is an open controlling terminal.
type TTY struct{ f *os.File }

// Open opens the controlling terminal for reading and writing.
func Open() (*TTY, error) {
	f, err := os.OpenFile(Path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("%w on (/dev/tty is not available): %v", ErrNoTTY, err)
	}
	if !xterm.IsTerminal(int(f.Fd())) {
		f.Close()
		return nil, ErrNoTTY
	}
	return &TTY{f: f}, nil
}

// Close closes the terminal.
func (t *TTY) Close() error { return t.f.Close() }

// Printf writes a message to the terminal.
func (t *TTY) Printf(format string, args ...any) {
	fmt.Fprintf(t.f, format, args...)
}

// ReadHidden shows prompt and reads one line with echo off. The line
// ending is not included. EOF before any input is an error.
func (t *TTY) ReadHidden(prompt string) ([]byte, error) {
	fmt.Fprint(t.f, prompt)
	b, err := xterm.ReadPassword(int(t.f.Fd()))
	fmt.Fprint(t.f, "\n")
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("no input on %s", Path)
		}
		return nil, fmt.Errorf("read from %s: %w", Path, err)
	}
	return b, nil
}

// ReadHidden opens the terminal, reads one hidden line and closes it.
func ReadHidden(prompt string) ([]byte, error) {
	t, err := Open()
	if err != nil {
		return nil, err
	}
	defer t.Close()
	return t.ReadHidden(prompt)
}

// ErrBadFD means a descriptor given to ReadFD is not open.
var ErrBadFD = errors.New("not an open file descriptor")

// ReadFD reads a small secret (a passphrase, a one-time code) that a
// script passes on descriptor fd instead of the terminal: once, to EOF or
// limit bytes, whichever comes first; fd is closed afterwards.
func ReadFD(fd int, limit int64) ([]byte, error) {
	f := os.NewFile(uintptr(fd), fmt.Sprintf("fd %d", fd))
	if f == nil {
		return nil, ErrBadFD
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit))
}
