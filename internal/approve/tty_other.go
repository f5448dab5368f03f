//go:build !linux && !darwin

package approve

import (
	"context"
	"fmt"
	"time"
)

type ttyConn struct{}

func openTTY(path string) (*ttyConn, error) {
	return nil, noTTY(path, fmt.Errorf("terminal approval: %w", ErrUnsupported))
}

func (t *ttyConn) close()            {}
func (t *ttyConn) flushInput() error { return ErrUnsupported }
func (t *ttyConn) writeAll(context.Context, []byte, time.Time) error {
	return ErrUnsupported
}
func (t *ttyConn) readLine(context.Context, time.Time) (string, error) {
	return "", ErrUnsupported
}

func controllingTTYName() string { return "" }
