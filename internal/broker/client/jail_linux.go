package client

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/envseal/envseal/internal/broker/wire"
)

// RegisterJail keeps a jail known to the broker at path (wire.TypeJail),
// for sandbox.JailOptions.Register: it registers once before it returns
// (when a broker answers), then, in a goroutine, again whenever the
// broker goes away and comes back, until stop closes. channel makes the
// descriptor each registration hands over.
func RegisterJail(path, userNS string, channel func() (*os.File, error), stop <-chan struct{}) {
	c, err := registerOnce(path, userNS, channel)
	go func() {
		for {
			if err == nil {
				// Registered: wait for the broker to go (EOF) or the jail to end.
				gone := make(chan struct{})
				go func() { c.c.Read(make([]byte, 1)); close(gone) }()
				select {
				case <-stop:
					c.Close()
					return
				case <-gone:
					c.Close()
				}
			}
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			c, err = registerOnce(path, userNS, channel)
		}
	}()
}

// registerOnce sends one registration and waits for the broker's OK (it
// comes once the broker held the pinned files of its runs in progress
// in the jail).
func registerOnce(path, userNS string, channel func() (*os.File, error)) (*Conn, error) {
	c, err := Dial(path)
	if err != nil {
		return nil, err
	}
	ch, err := channel()
	if err != nil {
		c.Close()
		return nil, err
	}
	defer ch.Close()
	b, err := wire.EncodeFrame(wire.TypeJail, &wire.JailMsg{UserNS: userNS})
	if err == nil {
		err = c.write(b, unix.UnixRights(int(ch.Fd())))
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	f, err := wire.ReadFrame(c.c)
	c.c.SetReadDeadline(time.Time{})
	switch {
	case err != nil:
		c.Close()
		return nil, err
	case f.Type != wire.TypeOK:
		c.Close()
		return nil, errors.New("broker refused the jail's registration: " + wire.DecodeError(f.Payload))
	}
	return c, nil
}
