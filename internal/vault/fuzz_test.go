package vault

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseMaster: any bytes either fail to parse or parse to a file whose
// re-encoding is identical (one meaning per encoding) and whose KDF
// parameters are within the caps. Never a panic.
func FuzzParseMaster(f *testing.F) {
	// Seed: the checked-in known-answer file.
	if b, err := os.ReadFile(filepath.Join("testdata", "vectors", MasterKeyFile)); err == nil {
		f.Add(b)
	}
	// Seed: right magic, unknown version.
	f.Add([]byte("envsealK\x02\x01"))
	// Seed: right length, hostile parameters (t and m all ones).
	f.Add(append([]byte("envsealK\x01\x01\xff\xff\xff\xff\xff\xff\xff\xff\x10"), make([]byte, 88)...))
	// Seed: empty.
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseMaster(b)
		if err != nil {
			return
		}
		if err := m.params.Check(); err != nil {
			t.Fatalf("parsed parameters out of range: %v", err)
		}
		if re := encodeMaster(m.params, m.salt, m.nonce, m.wrapped); !bytes.Equal(re, b) {
			t.Fatalf("re-encoding differs")
		}
	})
}

// FuzzParseSecret: any bytes either fail to parse or parse to a valid name
// and re-encode to themselves. Never a panic.
func FuzzParseSecret(f *testing.F) {
	// Seed: the checked-in known-answer file.
	if b, err := os.ReadFile(filepath.Join("testdata", "vectors", SecretsDir, "KAT.seal")); err == nil {
		f.Add(b)
	}
	// Seed: name length byte larger than the file.
	f.Add([]byte("envsealS\x01\xff"))
	// Seed: name "../x" (invalid) with enough bytes after it.
	f.Add(append([]byte("envsealS\x01\x04../x"), make([]byte, 80)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseSecret(b)
		if err != nil {
			return
		}
		if err := ValidName(s.meta.Name); err != nil {
			t.Fatalf("parsed an invalid name: %v", err)
		}
		if re := encodeSecret(secretHeader(s.meta), s.nonce, s.ciphertext); !bytes.Equal(re, b) {
			t.Fatalf("re-encoding differs")
		}
	})
}

// FuzzValidName: an accepted name is a safe single path element.
func FuzzValidName(f *testing.F) {
	for _, s := range []string{"API_KEY", "..", "a/b", "a\x00", ".x", "x.y-z_1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ValidName(name) != nil {
			return
		}
		if filepath.Base(name) != name || name == "." || name == ".." || name[0] == '.' || len(name) > MaxNameLen {
			t.Fatalf("accepted unsafe name %q", name)
		}
	})
}
