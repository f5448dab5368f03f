package vault

import (
	"bytes"
	"strings"
	"testing"
)

func TestGenerate(t *testing.T) {
	seen := map[byte]bool{}
	var prev []byte
	for i := 0; i < 64; i++ {
		b := Generate(GeneratedLen)
		if len(b) != GeneratedLen {
			t.Fatalf("length %d, want %d", len(b), GeneratedLen)
		}
		for _, c := range b {
			if !strings.ContainsRune(urlSafe, rune(c)) {
				t.Fatalf("byte %q is not URL-safe", c)
			}
			seen[c] = true
		}
		if bytes.Equal(b, prev) {
			t.Fatal("two generated values are the same")
		}
		prev = b
	}
	// 2,048 draws from 64 symbols: all of them appear unless the draw is biased.
	if len(seen) != 64 {
		t.Errorf("%d of 64 symbols drawn", len(seen))
	}
}
