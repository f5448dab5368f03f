//go:build !linux

package exeseal

import (
	"fmt"
	"os"
	"os/exec"
)

// Open is not implemented on this OS: it needs O_NOFOLLOW pinning plus
// sealed memfds to keep the hash-then-exec race closed.
func Open(path string, opts ...Option) (*Pinned, error) {
	return nil, fmt.Errorf("open %s: %w", path, ErrUnsupported)
}

// Seal is not implemented on this OS.
func (p *Pinned) Seal() (*Sealed, error) {
	return nil, fmt.Errorf("seal %s: %w", p.Path, ErrUnsupported)
}

// Prepare is not implemented on this OS.
func (s *Sealed) Prepare(cmd *exec.Cmd) error {
	return fmt.Errorf("prepare %s: %w", s.Path, ErrUnsupported)
}

// Command is not implemented on this OS.
func (s *Sealed) Command(argv0 string, args ...string) (*exec.Cmd, error) {
	return nil, fmt.Errorf("command %s: %w", s.Path, ErrUnsupported)
}

// Close releases nothing on this OS.
func (s *Sealed) Close() error { return nil }

// Cache is not supported on this OS.
type Cache struct{}

// NewCache returns a cache that is not supported on this OS.
func NewCache(max int) *Cache { return &Cache{} }

// Open is not supported on this OS.
func (c *Cache) Open(path string, opts ...Option) (*Pinned, error) { return Open(path, opts...) }

// Len is always 0 on this OS.
func (c *Cache) Len() int { return 0 }

// PrepareServed is unsupported outside Linux.
func (s *Sealed) PrepareServed(cmd *exec.Cmd, scriptPath string) error { return ErrUnsupported }

// IsScript is false outside Linux.
func (s *Sealed) IsScript() bool { return false }

// OpenScript is unsupported outside Linux.
func (s *Sealed) OpenScript() (*os.File, error) { return nil, ErrUnsupported }

// SealBytes is unsupported outside Linux.
func SealBytes(path string, b []byte) (*os.File, error) { return nil, ErrUnsupported }

// OpenImage is unsupported outside Linux.
func (s *Sealed) OpenImage() (*os.File, error) { return nil, ErrUnsupported }
