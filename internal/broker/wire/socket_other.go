//go:build !linux

package wire

import (
	"os"
	"path/filepath"
)

// SocketName is the socket's file name inside SocketDir.
const SocketName = "broker.sock"

// SocketDir is where the broker would listen.
func SocketDir() string { return filepath.Join(os.TempDir(), "envseal") }

// SocketPath is where the broker would listen.
func SocketPath() string { return filepath.Join(SocketDir(), SocketName) }
