//go:build !linux

package launch

import (
	"fmt"
)

// readPinned needs Linux (runs are Linux-only).
func readPinned(p string) ([]byte, uint32, string, error) {
	return nil, 0, "", fmt.Errorf("%w: pinning %s needs Linux", ErrUnsupported, p)
}
