package redact

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestEveryStageSplitIndependent: with every stage on (the soft-break and
// gated stages included), output that mixes soft-broken and escaped forms
// of two values with look-alike text ("=" at line ends, backslashes,
// percent signs) is scrubbed the same whatever the write boundaries:
// random splits, and every single cut, give the output of one write. (It
// failed with the soft-break stage catching an unbroken form only when a
// write ended near it.)
func TestEveryStageSplitIndependent(t *testing.T) {
	secrets := toolValues
	m, err := NewMatcher(secrets)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(17, 3))
	pieces := func(v []byte) [][]byte {
		var out [][]byte
		out = append(out, qpSoftForms(v)...)
		out = append(out, denseEscapes(v)...)
		out = append(out, percentForms(v)...)
		out = append(out, encodings(v)...)
		return out
	}
	forms := append(pieces(secrets[0].Value), pieces(secrets[1].Value)...)
	// No dump-like line start ("\n0"): the dump stage's reach makes its
	// output depend on the write boundaries (a pattern that begins past
	// the reach is forgotten only when a step ends in it), a known
	// limit not of this test's subject.
	filler := []string{"x", "=", "\n", "\r\n", "=\n", "=\r\n", "\\", "%", "id=", " ", "ghp_"}
	for round := range 1000 {
		var in []byte
		for range 1 + r.IntN(12) {
			if r.IntN(3) == 0 {
				f := forms[r.IntN(len(forms))]
				if k := r.IntN(len(f)); r.IntN(4) == 0 {
					// A soft break at a random place, as an encoder of a
					// longer text would put it.
					f = append(append(append([]byte{}, f[:k]...), "=\n"...), f[k:]...)
				}
				in = append(in, f...)
			} else {
				for range r.IntN(40) {
					in = append(in, filler[r.IntN(len(filler))]...)
				}
			}
		}
		// A soft break before a '0' is a dump-like line start too.
		in = bytes.ReplaceAll(in, []byte("\n0"), []byte("\n1"))
		want := scrubSplit(t, m, in, nil)
		sizes := []int{1 + r.IntN(9), 1 + r.IntN(200), 1 + r.IntN(3)}
		if got := scrubSplit(t, m, in, sizes); !bytes.Equal(got, want) {
			t.Fatalf("round %d, writes of %v: output differs from one write (%d vs %d bytes)", round, sizes, len(got), len(want))
		}
		if round%20 == 0 {
			for c := 1; c < len(in); c++ {
				if got := scrubSplit(t, m, in, []int{c, len(in)}); !bytes.Equal(got, want) {
					t.Fatalf("round %d, cut at %d: output differs from one write", round, c)
				}
			}
		}
	}
}
