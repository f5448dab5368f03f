package seal

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/argon2"
)

// KDFParams are the Argon2id cost parameters (RFC 9106 §3.1). They are
// stored in the master key file header so they can be raised later without
// a format change.
type KDFParams struct {
	Time      uint32 // passes over memory (t)
	MemoryKiB uint32 // memory in KiB (m)
	Threads   uint8  // lanes (p)
}

// DefaultKDF is what a new vault uses: RFC 9106 §4's second recommended
// option (t=3, m=64 MiB) with p=4.
var DefaultKDF = KDFParams{Time: 3, MemoryKiB: 64 * 1024, Threads: 4}

// Caps on parameters read from a file. The header is not authenticated
// until the derived key has opened the wrapped key, so a hostile header
// could otherwise ask for minutes of CPU or gigabytes of memory before the
// passphrase is even checked. At the caps one unlock costs about 16x the
// default; anything above them is refused.
const (
	MaxTime      = 12
	MaxMemoryKiB = 512 * 1024
	MaxThreads   = 16
	SaltSize     = 16
)

// ErrKDFParams means the Argon2id parameters are outside the accepted range.
var ErrKDFParams = errors.New("argon2id parameters out of range")

// Check reports whether p is inside the accepted range.
func (p KDFParams) Check() error {
	switch {
	case p.Time < 1 || p.Time > MaxTime:
		return fmt.Errorf("%w: t=%d (want 1..%d)", ErrKDFParams, p.Time, MaxTime)
	case p.Threads < 1 || p.Threads > MaxThreads:
		return fmt.Errorf("%w: p=%d (want 1..%d)", ErrKDFParams, p.Threads, MaxThreads)
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > MaxMemoryKiB:
		// 8*p KiB is Argon2's own minimum (RFC 9106 §3.1).
		return fmt.Errorf("%w: m=%d KiB (want %d..%d)", ErrKDFParams, p.MemoryKiB, 8*uint32(p.Threads), MaxMemoryKiB)
	}
	return nil
}

// String describes the parameters (never secret).
func (p KDFParams) String() string {
	return fmt.Sprintf("argon2id t=%d m=%dKiB p=%d", p.Time, p.MemoryKiB, p.Threads)
}

// PassphraseKey derives the key-encryption key from a passphrase and salt.
// It refuses out-of-range parameters before doing any work.
func PassphraseKey(passphrase, salt []byte, p KDFParams) (Key, error) {
	if err := p.Check(); err != nil {
		return Key{}, err
	}
	if len(salt) != SaltSize {
		return Key{}, fmt.Errorf("salt is %d bytes, want %d", len(salt), SaltSize)
	}
	out := argon2.IDKey(passphrase, salt, p.Time, p.MemoryKiB, p.Threads, KeySize)
	k, _ := KeyFromBytes(out)
	clear(out)
	return k, nil
}
