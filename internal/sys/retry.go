package sys

import (
	"errors"
	"syscall"
)

// Retry calls fn until it returns anything but EINTR. Every system call
// that can be interrupted by a signal (Go's runtime sends SIGURG for
// preemption) goes through it, so no caller writes its own loop.
func Retry[T any](fn func() (T, error)) (T, error) {
	for {
		v, err := fn()
		if !errors.Is(err, syscall.EINTR) {
			return v, err
		}
	}
}

// RetryErr is Retry for a call that returns only an error.
func RetryErr(fn func() error) error {
	for {
		if err := fn(); !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// Unsupported is the error of a feature this OS (or kernel) lacks. Every
// package's ErrUnsupported is one, so errors.Is(err, errors.ErrUnsupported)
// matches them all, and each keeps a message that says what is missing.
type Unsupported string

func (u Unsupported) Error() string { return string(u) }

// Is makes an Unsupported match errors.ErrUnsupported.
func (u Unsupported) Is(target error) bool { return target == errors.ErrUnsupported }
