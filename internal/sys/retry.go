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
