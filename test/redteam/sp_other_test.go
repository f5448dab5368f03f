//go:build redteam && linux && !amd64 && !arm64

package redteam

import "errors"

// stackPointer is only written for amd64 and arm64.
func stackPointer(int) (uintptr, error) {
	return 0, errors.New("stack pointer: unsupported architecture")
}
