//go:build !unix

package safefile

import (
	"io/fs"
	"os"
)

// CheckDir is not implemented on this OS.
func CheckDir(dir string) error { return ErrUnsupported }

// MkdirPrivate is not implemented on this OS.
func MkdirPrivate(dir string) error { return ErrUnsupported }

// ReadFile is not implemented on this OS.
func ReadFile(path string, max int64) ([]byte, error) { return nil, ErrUnsupported }

// OpenFile is not implemented on this OS.
func OpenFile(path string) (*os.File, error) { return nil, ErrUnsupported }

// OpenAppend is not implemented on this OS.
func OpenAppend(path string) (*os.File, error) { return nil, ErrUnsupported }

// WriteAtomic is not implemented on this OS.
func WriteAtomic(dir, name string, data []byte) error { return ErrUnsupported }

// WriteFileAtomic is not implemented on this OS.
func WriteFileAtomic(path string, data []byte, mode fs.FileMode) error { return ErrUnsupported }

// CreateExclusive is not implemented on this OS.
func CreateExclusive(dir, name string, data []byte) error { return ErrUnsupported }

// Remove is not implemented on this OS.
func Remove(dir, name string) error { return ErrUnsupported }

// SyncDir is not implemented on this OS.
func SyncDir(dir string) error { return ErrUnsupported }

// Lock is an exclusive cross-process lock.
type Lock struct{}

// LockDir is not implemented on this OS.
func LockDir(dir string) (*Lock, error) { return nil, ErrUnsupported }

// Unlock releases the lock.
func (l *Lock) Unlock() error { return nil }

// RemoveStaleTemps is not implemented on this OS.
func RemoveStaleTemps(dir string) {}
