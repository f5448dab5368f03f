//go:build !linux

package broker

import (
	"context"
	"net"
	"os"
	"path/filepath"

	"github.com/envseal/envseal/internal/launch"
	"github.com/envseal/envseal/internal/policy"
)

// SocketPath is where the broker would listen.
func SocketPath() string { return filepath.Join(os.TempDir(), "envseal", "broker.sock") }

// Listen always fails on this OS.
func Listen(path string) (*net.UnixListener, error) { return nil, ErrUnsupported }

// Server is the broker daemon (not available on this OS).
type Server struct{}

// New returns a server that cannot serve on this OS.
func New(cfg Config) *Server { return &Server{} }

// Serve always fails on this OS.
func (s *Server) Serve(*net.UnixListener) error { return ErrUnsupported }

// Close does nothing on this OS.
func (s *Server) Close() error { return nil }

// Conn is a broker connection (never established on this OS).
type Conn struct{ Path string }

// Dial always fails on this OS.
func Dial(path string) (*Conn, error) { return nil, ErrUnsupported }

func (c *Conn) Close() error                   { return nil }
func (c *Conn) Status() (*StatusMsg, error)    { return nil, ErrUnsupported }
func (c *Conn) Lock() error                    { return ErrUnsupported }
func (c *Conn) List() ([]ListEntry, error)     { return nil, ErrUnsupported }
func (c *Conn) Policy() ([]policy.Rule, error) { return nil, ErrUnsupported }
func (c *Conn) Store(name, purpose string) (*StoreResultMsg, error) {
	return nil, ErrUnsupported
}
func (c *Conn) Run(context.Context, *launch.Request) (*launch.Result, error) {
	return nil, &launch.Error{Code: launch.ExitFailed, Err: ErrUnsupported}
}
