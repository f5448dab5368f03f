//go:build !linux

package launch

import (
	"fmt"
	"os"
)

func secretFile(name string, value []byte) (*os.File, error) {
	return nil, fmt.Errorf("%w: fd delivery of %s needs Linux", ErrUnsupported, name)
}
