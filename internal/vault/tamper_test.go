package vault

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Flip every bit position class (xor 0x01 and 0x80) of every byte of the
// master key file in turn: each flip must be a clean error from Unlock,
// never a panic and never a usable key.
func TestTamperEveryByteOfMasterKey(t *testing.T) {
	v, k := newVault(t)
	v.Store(k, "A", []byte("value-a-123"), StoreOptions{})
	p := filepath.Join(v.Dir(), MasterKeyFile)
	orig, _ := os.ReadFile(p)
	for i := range orig {
		for _, x := range []byte{0x01, 0x80} {
			b := bytes.Clone(orig)
			b[i] ^= x
			os.WriteFile(p, b, 0o600)
			// The whole header is the AEAD's associated data, so even a
			// flipped KDF parameter that Argon2id accepts cannot unlock.
			if _, err := v.Unlock(testPass); err == nil {
				t.Fatalf("byte %d ^%#x: Unlock succeeded", i, x)
			}
			_, err := v.Unlock(testPass)
			var ce *CorruptError
			if !errors.As(err, &ce) && !errors.Is(err, ErrWrongPassphrase) {
				t.Errorf("byte %d ^%#x: unexpected error kind %v", i, x, err)
			}
		}
	}
	for n := 0; n < len(orig); n++ {
		os.WriteFile(p, orig[:n], 0o600)
		if _, err := v.Unlock(testPass); err == nil {
			t.Fatalf("truncated to %d bytes: Unlock succeeded", n)
		}
	}
	os.WriteFile(p, orig, 0o600)
	if _, err := v.Unlock(testPass); err != nil {
		t.Fatalf("restored master key does not unlock: %v", err)
	}
}

// Flip every byte of a secret file: each flip is an error from Get (never a
// different value, never a panic), and List never panics on it.
func TestTamperEveryByteOfSecret(t *testing.T) {
	v, k := newVault(t)
	val := []byte("value-under-test-xyz")
	v.Store(k, "TOKEN", val, StoreOptions{})
	p := filepath.Join(v.Dir(), SecretsDir, "TOKEN.seal")
	orig, _ := os.ReadFile(p)
	for i := range orig {
		for _, x := range []byte{0x01, 0x80, 0xff} {
			b := bytes.Clone(orig)
			b[i] ^= x
			os.WriteFile(p, b, 0o600)
			got, _, err := v.Get(k, "TOKEN")
			if err == nil {
				t.Fatalf("byte %d ^%#x: Get succeeded (value equal to original: %v)", i, x, bytes.Equal(got, val))
			}
			if got != nil {
				t.Fatalf("byte %d ^%#x: Get returned bytes with an error", i, x)
			}
			if _, err := v.List(); err != nil {
				t.Fatalf("byte %d: List failed as a whole: %v", i, err)
			}
		}
	}
	for n := 0; n < len(orig); n++ {
		os.WriteFile(p, orig[:n], 0o600)
		if _, _, err := v.Get(k, "TOKEN"); err == nil {
			t.Fatalf("truncated to %d bytes: Get succeeded", n)
		}
	}
	os.WriteFile(p, append(bytes.Clone(orig), 0), 0o600)
	if _, _, err := v.Get(k, "TOKEN"); err == nil {
		t.Fatal("one byte appended: Get succeeded")
	}
}
