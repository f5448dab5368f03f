package server

import (
	"errors"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/envseal/envseal/internal/seal"
)

// keyLayout mirrors seal.Key (a zero-size marker and a pointer to the
// key bytes). seal exposes no bytes by design; the broker needs only the
// address, to mlock the page the cached master key lives on so it is
// never written to swap. The size check below refuses to guess if the
// layout ever changes.
type keyLayout struct {
	_ [0]func()
	b *[seal.KeySize]byte
}

// mlockKey pins the page holding k's bytes in RAM. The Go heap does not
// move objects, so the lock stays on the key for its lifetime.
func mlockKey(k seal.Key) error {
	if unsafe.Sizeof(k) != unsafe.Sizeof(keyLayout{}) {
		return errors.New("unexpected seal.Key layout: key not mlocked")
	}
	p := (*keyLayout)(unsafe.Pointer(&k)).b
	if p == nil {
		return nil
	}
	return unix.Mlock(p[:])
}
