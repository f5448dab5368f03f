package seal

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"hash"
)

// KeySize is the size in bytes of every symmetric key envseal uses.
const KeySize = 32

// incomparable makes a struct that embeds it fail to compile under ==, so
// keys are only ever compared with Equal, in constant time.
type incomparable [0]func()

// Key is a 256-bit symmetric key: the master key or a subkey derived from
// it. The zero Key is invalid; use it only as "no key".
type Key struct {
	_ incomparable
	b *[KeySize]byte
}

// NewKey returns a fresh random key from crypto/rand.
func NewKey() Key {
	var b [KeySize]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand.Read never fails on supported platforms (Go 1.24+).
		panic("seal: crypto/rand failed: " + err.Error())
	}
	return Key{b: &b}
}

// KeyFromBytes copies b into a new Key. It exists for the format layer
// (unwrapped master key) and tests with known-answer vectors.
func KeyFromBytes(b []byte) (Key, error) {
	if len(b) != KeySize {
		return Key{}, fmt.Errorf("key is %d bytes, want %d", len(b), KeySize)
	}
	var k [KeySize]byte
	copy(k[:], b)
	return Key{b: &k}, nil
}

// Valid reports whether k holds key material.
func (k Key) Valid() bool { return k.b != nil }

// Equal reports whether two keys are equal, in constant time.
func (k Key) Equal(o Key) bool {
	if k.b == nil || o.b == nil {
		return k.b == nil && o.b == nil
	}
	return subtle.ConstantTimeCompare(k.b[:], o.b[:]) == 1
}

// Clone returns an independent copy of k with its own backing array, so a
// holder that wipes its copy (launch.Checkpoint.Run wipes the key it is
// handed) cannot destroy the original — the broker keeps one cached master
// key and hands each run a clone.
func (k Key) Clone() Key {
	if k.b == nil {
		return Key{}
	}
	var b [KeySize]byte
	copy(b[:], k.b[:])
	return Key{b: &b}
}

// Wipe overwrites the key material. Copies of the Key value share the same
// backing array, so every copy is wiped.
func (k Key) Wipe() {
	if k.b != nil {
		clear(k.b[:])
	}
}

// Format implements fmt.Formatter so that no verb (%v, %x, %#v, %s) can print
// key bytes.
func (k Key) Format(f fmt.State, verb rune) {
	_, _ = f.Write([]byte("seal.Key(redacted)"))
}

// GoString keeps %#v from printing the key too.
func (k Key) GoString() string { return "seal.Key(redacted)" }

// bytes exposes the raw key to this package only.
func (k Key) bytes() []byte {
	if k.b == nil {
		panic("seal: use of zero Key")
	}
	return k.b[:]
}

// Domain names what a subkey is for. Every domain string is distinct and
// versioned, so keys for different purposes are independent (RFC 5869 §3.2,
// the info parameter).
type Domain string

// The subkey domains. Add new ones here; never reuse or rename one, since
// the string is part of the on-disk format.
const (
	DomainSecret Domain = "envseal v1 secret"
	DomainPolicy Domain = "envseal v1 policy"
	DomainAudit  Domain = "envseal v1 audit"
	DomainTOTP   Domain = "envseal v1 totp"
	DomainBroker Domain = "envseal v1 broker"
	DomainBackup Domain = "envseal v1 backup"
)

// Subkey derives the key for domain d from the master key with HKDF-SHA256
// (no salt: the master key is uniformly random).
func (k Key) Subkey(d Domain) Key {
	out, err := hkdf.Key(sha256.New, k.bytes(), nil, string(d), KeySize)
	if err != nil {
		panic("seal: hkdf: " + err.Error()) // only fails for absurd lengths
	}
	sk, _ := KeyFromBytes(out)
	clear(out)
	return sk
}

// NewMAC returns an HMAC-SHA256 (RFC 2104) keyed with k, for the audit
// log's record MACs. Use a subkey (DomainAudit), never the master key.
func NewMAC(k Key) hash.Hash { return hmac.New(sha256.New, k.bytes()) }
