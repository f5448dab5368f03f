package vault

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/envseal/envseal/internal/seal"
)

// bigVault makes a vault with n secrets, written directly (no fsync per
// file) so that setting up 10,000 takes a second, not minutes.
func bigVault(b *testing.B, n int) (*Vault, seal.Key) {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "vault")
	v, k, err := Create(dir, testPass, testKDF)
	if err != nil {
		b.Fatal(err)
	}
	sk := k.Subkey(seal.DomainSecret)
	defer sk.Wipe()
	t := time.Now().UTC()
	val := []byte("bench-value-Zq8xW2pL0vN4tR6y-0123")
	for i := range n {
		m := Meta{Name: fmt.Sprintf("S%05d", i), Created: t, Updated: t, Generation: 1, Format: secretV2}
		hdr := secretHeader(m)
		nonce, ct := seal.Seal(sk, val, hdr)
		if err := os.WriteFile(v.secretPath(m.Name), encodeSecret(hdr, nonce, ct), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	return v, k
}

// BenchmarkList10k: listing 10,000 secrets with a current list.cache, and
// without one (the first list after a change reads every header and
// writes the cache).
func BenchmarkList10k(b *testing.B) {
	v, _ := bigVault(b, 10000)
	defer func(f func() time.Time) { listNow = f }(listNow)
	listNow = func() time.Time { return time.Now().Add(time.Minute) }
	b.Run("cached", func(b *testing.B) {
		if _, err := v.List(); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if ents, err := v.List(); err != nil || len(ents) != 10000 {
				b.Fatal(err, len(ents))
			}
		}
	})
	b.Run("uncached", func(b *testing.B) {
		for b.Loop() {
			os.Remove(filepath.Join(v.Dir(), ListCacheFile))
			if ents, err := v.List(); err != nil || len(ents) != 10000 {
				b.Fatal(err, len(ents))
			}
		}
	})
}

// BenchmarkStoreInto10k: one more secret into a vault of 10,000 (what the
// broker's store request does once the human has typed the value: the
// vault is already unlocked), fsyncs included.
func BenchmarkStoreInto10k(b *testing.B) {
	v, k := bigVault(b, 10000)
	i := 0
	for b.Loop() {
		i++
		if _, err := v.Store(k, fmt.Sprintf("MORE%d", i), []byte("bench-value-Zq8xW2pL0vN4tR6y"), StoreOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
