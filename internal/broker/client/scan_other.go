//go:build !linux

package client

import "github.com/envseal/envseal/internal/broker/wire"

// ScanValues is not available on this OS.
func (c *Conn) ScanValues(content []byte) (*wire.ScanResultMsg, error) {
	return nil, wire.ErrUnsupported
}
