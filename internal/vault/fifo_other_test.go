//go:build !unix

package vault

import "testing"

func mkfifo(t *testing.T, path string) {
	t.Skip("FIFOs need a Unix system")
}
