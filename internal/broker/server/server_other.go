//go:build !linux

package server

import (
	"net"

	"github.com/envseal/envseal/internal/broker/wire"
)

// Listen always fails on this OS.
func Listen(path string) (*net.UnixListener, error) { return nil, wire.ErrUnsupported }

// Server is the broker daemon (not available on this OS).
type Server struct{}

// New returns a server that cannot serve on this OS.
func New(cfg Config) *Server { return &Server{} }

// Serve always fails on this OS.
func (s *Server) Serve(*net.UnixListener) error { return wire.ErrUnsupported }

// Close does nothing on this OS.
func (s *Server) Close() error { return nil }
