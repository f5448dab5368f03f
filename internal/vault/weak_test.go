package vault

import (
	"testing"

	"github.com/envseal/envseal/internal/seal"
)

func TestPassphraseWeakness(t *testing.T) {
	for _, c := range []struct {
		name string
		pass string
		weak bool
	}{
		{"short", "abc", true},
		{"common", "password1", true},
		{"repeated", "aaaaaaaa", true},
		{"four random words", "correct horse battery staple lantern", false},
	} {
		if got := PassphraseWeakness([]byte(c.pass)); (got != "") != c.weak {
			t.Errorf("%s: PassphraseWeakness = %q, want weak=%v", c.name, got, c.weak) // names, never the passphrase
		}
	}
}

// TestRewrapParams: a passphrase change never lowers any part of the cost.
func TestRewrapParams(t *testing.T) {
	def := seal.KDFParams{Time: 3, MemoryKiB: 64 << 10, Threads: 4}
	old := seal.KDFParams{Time: 5, MemoryKiB: 32 << 10, Threads: 8}
	got := RewrapParams(def, old)
	want := seal.KDFParams{Time: 5, MemoryKiB: 64 << 10, Threads: 8}
	if got != want {
		t.Errorf("RewrapParams = %v, want %v", got, want)
	}
	if got := RewrapParams(def, seal.KDFParams{Time: 1, MemoryKiB: 1, Threads: 1}); got != def {
		t.Errorf("RewrapParams below the default = %v, want the default %v", got, def)
	}
}
