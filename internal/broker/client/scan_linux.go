package client

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/envseal/envseal/internal/broker/wire"
)

// scanSeals are set on the content memfd (the server checks them all).
const scanSeals = unix.F_SEAL_WRITE | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW

// ScanValues asks the broker where stored secrets' values occur in
// content (at most MaxScanSize bytes). The answer has names and offsets,
// never values.
func (c *Conn) ScanValues(content []byte) (*wire.ScanResultMsg, error) {
	defer c.c.Close()
	if len(content) > wire.MaxScanSize {
		return nil, fmt.Errorf("scan of %d bytes is over the %d-byte limit", len(content), wire.MaxScanSize)
	}
	fd, err := unix.MemfdCreate("envseal-scan", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	defer unix.Close(fd)
	for off := 0; off < len(content); {
		n, err := unix.Write(fd, content[off:])
		if err != nil {
			return nil, fmt.Errorf("write scan content: %w", err)
		}
		off += n
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, scanSeals|unix.F_SEAL_SEAL); err != nil {
		return nil, fmt.Errorf("seal scan content: %w", err)
	}
	b, err := wire.EncodeFrame(wire.TypeScan, &wire.ScanMsg{Size: int64(len(content))})
	if err != nil {
		return nil, err
	}
	if err := c.write(b, unix.UnixRights(fd)); err != nil {
		return nil, fmt.Errorf("send to broker: %w", err)
	}
	c.c.SetReadDeadline(time.Now().Add(60 * time.Second))
	f, err := wire.ReadFrame(c.c)
	if err != nil {
		return nil, fmt.Errorf("read broker reply: %w", err)
	}
	if f.Type == wire.TypeError {
		return nil, &wire.ErrRefused{Msg: wire.DecodeError(f.Payload)}
	}
	if f.Type != wire.TypeScanOK {
		return nil, wire.Errorf("unexpected reply %q to scan", f.Type)
	}
	return wire.DecodeScanResult(f.Payload)
}
