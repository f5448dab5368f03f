//go:build !linux

package broker

// ScanValues is not available on this OS.
func (c *Conn) ScanValues(content []byte) (*ScanResultMsg, error) { return nil, ErrUnsupported }
