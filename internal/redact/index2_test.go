package redact

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestIndex2 compares index2 (SSE2 on amd64) and index2Words with
// bytes.Index, and index2Or with a plain loop: every length up to 100, the needle at every position
// (block edges included: 15, 16, 31, 32, the last byte), half needles
// (c0 at the end, c1 at the start), and random text.
func TestIndex2(t *testing.T) { testIndex2(t) }

func testIndex2(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	check := func(b []byte) {
		want := bytes.Index(b, []byte("\n0"))
		if got := index2(b, '\n', '0'); got != want {
			t.Fatalf("index2 over %q = %d, want %d", b, got, want)
		}
		if got := index2Words(b, '\n', '0'); got != want {
			t.Fatalf("index2Words over %q = %d, want %d", b, got, want)
		}
		// '\n' followed by '0' or 'a'.
		want = -1
		for i := 0; i+1 < len(b); i++ {
			if b[i] == '\n' && (b[i+1] == '0' || b[i+1] == 'a') {
				want = i
				break
			}
		}
		if got := index2Or(b, '\n', '0', 'a'); got != want {
			t.Fatalf("index2Or over %q = %d, want %d", b, got, want)
		}
	}
	for n := range 100 {
		b := bytes.Repeat([]byte("a"), n)
		check(b)
		for i := range n {
			c := bytes.Clone(b)
			c[i] = '\n'
			check(c) // c0 alone, at the end too
			c[i] = '0'
			check(c)
			if i+1 < n {
				c[i], c[i+1] = '\n', '0'
				check(c)
				d := bytes.Clone(c)
				d[0] = '0' // a c1 without c0 before it
				check(d)
			}
		}
	}
	for range 2000 {
		b := make([]byte, r.IntN(300))
		for i := range b {
			b[i] = "\n0a"[r.IntN(3)]
			if r.IntN(4) > 0 && b[i] != 'a' && i > 0 && b[i-1] == '\n' {
				b[i] = 'a' // fewer matches, so later positions are reached
			}
		}
		check(b)
		check(b[min(len(b), 1+r.IntN(15)):]) // an unaligned start
	}
}
