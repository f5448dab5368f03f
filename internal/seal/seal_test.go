package seal

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func TestKeyNeverFormatsBytes(t *testing.T) {
	k := NewKey()
	raw := fmt.Sprintf("%x", k.bytes())
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
		got := fmt.Sprintf(verb, k)
		if got != "seal.Key(redacted)" {
			t.Errorf("fmt %s of a Key = %q, want the redacted form", verb, got)
		}
		if bytes.Contains([]byte(got), []byte(raw[:8])) {
			t.Errorf("fmt %s printed key material", verb)
		}
	}
	type holder struct{ K Key }
	if got := fmt.Sprintf("%+v", holder{k}); got != "{K:seal.Key(redacted)}" {
		t.Errorf("key inside a struct printed as %q", got)
	}
}

func TestKeyEqualAndWipe(t *testing.T) {
	a := NewKey()
	b, _ := KeyFromBytes(a.bytes())
	if !a.Equal(b) {
		t.Error("copy of a key is not Equal")
	}
	if a.Equal(NewKey()) {
		t.Error("two fresh keys are Equal")
	}
	if a.Equal(Key{}) || !(Key{}).Equal(Key{}) {
		t.Error("zero key comparison wrong")
	}
	c := b
	b.Wipe()
	if !bytes.Equal(c.bytes(), make([]byte, KeySize)) {
		t.Error("Wipe did not clear the shared key material")
	}
	if _, err := KeyFromBytes(make([]byte, 31)); err == nil {
		t.Error("31-byte key accepted")
	}
}

func TestSubkeysAreIndependent(t *testing.T) {
	m := NewKey()
	seen := map[string]Domain{}
	for _, d := range []Domain{DomainSecret, DomainPolicy, DomainAudit, DomainTOTP, DomainBroker, DomainBackup} {
		s := string(m.Subkey(d).bytes())
		if prev, ok := seen[s]; ok {
			t.Errorf("domains %q and %q derive the same key", prev, d)
		}
		seen[s] = d
		if !m.Subkey(d).Equal(m.Subkey(d)) {
			t.Errorf("Subkey(%q) is not deterministic", d)
		}
	}
}

func TestSealOpenRoundTripAndFailures(t *testing.T) {
	k := NewKey()
	pt := []byte("value-under-test")
	ad := []byte("ad")
	nonce, ct := Seal(k, pt, ad)
	got, err := Open(k, nonce, ct, ad)
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("round trip failed: %v", err)
	}
	cases := map[string]func() ([]byte, error){
		"wrong key":    func() ([]byte, error) { return Open(NewKey(), nonce, ct, ad) },
		"wrong ad":     func() ([]byte, error) { return Open(k, nonce, ct, []byte("other")) },
		"short nonce":  func() ([]byte, error) { return Open(k, nonce[:5], ct, ad) },
		"short ct":     func() ([]byte, error) { return Open(k, nonce, ct[:3], ad) },
		"flipped tag":  func() ([]byte, error) { c := bytes.Clone(ct); c[len(c)-1] ^= 1; return Open(k, nonce, c, ad) },
		"flipped body": func() ([]byte, error) { c := bytes.Clone(ct); c[0] ^= 0x80; return Open(k, nonce, c, ad) },
	}
	for name, f := range cases {
		got, err := f()
		if !errors.Is(err, ErrDecrypt) || got != nil {
			t.Errorf("%s: got err %v and %d plaintext bytes, want ErrDecrypt and none", name, err, len(got))
		}
	}
}

func TestNoncesNeverRepeat(t *testing.T) {
	k := NewKey()
	seen := make(map[string]bool, 20000)
	for i := 0; i < 20000; i++ {
		n, _ := Seal(k, []byte("x"), nil)
		if seen[string(n)] {
			t.Fatalf("nonce repeated after %d seals", i)
		}
		seen[string(n)] = true
	}
}

func TestKeyWrapRoundTrip(t *testing.T) {
	kek, k := NewKey(), NewKey()
	n, ct := WrapKey(kek, k, []byte("hdr"))
	got, err := UnwrapKey(kek, n, ct, []byte("hdr"))
	if err != nil || !got.Equal(k) {
		t.Fatalf("unwrap: %v", err)
	}
	if _, err := UnwrapKey(NewKey(), n, ct, []byte("hdr")); !errors.Is(err, ErrDecrypt) {
		t.Errorf("unwrap with the wrong kek: %v", err)
	}
}

func TestKDFParamCaps(t *testing.T) {
	salt := make([]byte, SaltSize)
	bad := []KDFParams{
		{Time: 0, MemoryKiB: 1024, Threads: 1},
		{Time: MaxTime + 1, MemoryKiB: 1024, Threads: 1},
		{Time: 1 << 31, MemoryKiB: 1024, Threads: 1},
		{Time: 1, MemoryKiB: MaxMemoryKiB + 1, Threads: 1},
		{Time: 1, MemoryKiB: 1 << 31, Threads: 4},
		{Time: 1, MemoryKiB: 1024, Threads: 0},
		{Time: 1, MemoryKiB: 1024, Threads: MaxThreads + 1},
		{Time: 1, MemoryKiB: 7, Threads: 1},
	}
	for _, p := range bad {
		// Check runs before any hashing, so a hostile header costs nothing
		// (with 1<<31 KiB the test would otherwise run out of memory).
		if _, err := PassphraseKey([]byte("pw"), salt, p); !errors.Is(err, ErrKDFParams) {
			t.Errorf("%v accepted (err %v)", p, err)
		}
	}
	if err := DefaultKDF.Check(); err != nil {
		t.Errorf("default parameters refused: %v", err)
	}
	if DefaultKDF.Time < 3 || DefaultKDF.MemoryKiB < 64*1024 || DefaultKDF.Threads < 4 {
		t.Errorf("default %v is below t=3 m=64MiB p=4", DefaultKDF)
	}
	if _, err := PassphraseKey([]byte("pw"), salt[:8], KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}); err == nil {
		t.Error("short salt accepted")
	}
}

func BenchmarkUnlockDefault(b *testing.B) {
	salt := make([]byte, SaltSize)
	for i := 0; i < b.N; i++ {
		if _, err := PassphraseKey([]byte("correct horse battery staple"), salt, DefaultKDF); err != nil {
			b.Fatal(err)
		}
	}
}
