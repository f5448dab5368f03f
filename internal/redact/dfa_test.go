package redact

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// walk is the plain one-lane walk with true transitions: the state after b
// and whether a pattern ends anywhere in b.
func walk(d *dfa, s uint32, b []byte) (uint32, bool) {
	clean := true
	for _, c := range b {
		s = d.next(s, c)
		if s < d.matchLim {
			clean = false
		}
	}
	return s, clean
}

// fastCase returns a matcher and a buffer of filler in which encodings of
// its secrets (or parts of them) are planted at random offsets, so that
// some straddle lane and block edges and some start before the buffer.
func fastCase(r *rand.Rand, n int, plants int) (*Matcher, []Secret, []byte) {
	secrets, _ := randomCase(r, "abcdefgh", 1+r.IntN(4))
	m, err := NewMatcher(secrets, mainOnly)
	if err != nil {
		panic(err)
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = "xyz abcd\n"[r.IntN(9)]
	}
	for range plants {
		encs := encodings(secrets[r.IntN(len(secrets))].Value)
		e := encs[r.IntN(len(encs))]
		if r.IntN(3) == 0 {
			e = e[r.IntN(len(e)):]
		}
		copy(b[r.IntN(n):], e)
	}
	if r.IntN(2) == 0 {
		// End on the longest proper prefix there can be, which the exit
		// walk of skipClean must still see whole.
		var longest []byte
		for _, p := range patternsFor(secrets, encodings) {
			if len(p.text) > len(longest) {
				longest = p.text
			}
		}
		if len(longest) > 0 && len(longest)-1 <= n {
			copy(b[n-len(longest)+1:], longest)
		}
	}
	return m, secrets, b
}

// TestFastScansAgreeWithWalk: whenever scanClean or skipClean reports a
// buffer clean, the walk agrees and they return the walk's state; when the
// walk finds a match they must not report clean.
func TestFastScansAgreeWithWalk(t *testing.T) {
	r := rand.New(rand.NewPCG(testSeed(t, 51), 5))
	for iter := range scaled(3000) {
		m, _, b := fastCase(r, 1+r.IntN(6000), r.IntN(3))
		// Start from the state after a random prefix, as the Writer does.
		pre := b[:r.IntN(min(len(b), 40))]
		s0, ok := walk(&m.dfa, m.root, pre)
		if !ok {
			continue
		}
		b = b[len(pre):]
		want, clean := walk(&m.dfa, s0, b)
		for name, scan := range map[string]func(uint32, []byte) (uint32, bool){
			"scanClean": m.scanClean, "skipClean": m.skipClean,
		} {
			got, ok := scan(s0, b)
			if ok && !clean {
				t.Fatalf("iteration %d: %s reports %d bytes clean, but a pattern ends in them", iter, name, len(b))
			}
			if ok && got != want {
				t.Fatalf("iteration %d: %s ends in state %d, walk in %d", iter, name, got, want)
			}
			if name == "scanClean" && clean && !ok {
				t.Fatalf("iteration %d: scanClean rejects a clean buffer", iter)
			}
		}
	}
}

// TestFilterHasNoFalseNegatives plants every pattern at every offset
// modulo the sampling step.
func TestFilterHasNoFalseNegatives(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for range scaled(200) {
		secrets, _ := randomCase(r, "", 1+r.IntN(3))
		pats := patternsFor(secrets, encodings)
		f := newQFilter(pats)
		if f == nil {
			continue
		}
		for _, p := range pats {
			for off := range f.step + 8 {
				b := make([]byte, off+len(p.text)+r.IntN(9))
				copy(b[off:], p.text)
				if !f.maybe(b) {
					t.Fatalf("pattern of %d bytes at offset %d not flagged (q %d, step %d)", len(p.text), off, f.q, f.step)
				}
			}
		}
	}
}

// TestSkipPathMatchesReference drives long clean stretches through the
// Writer, where the filter is used, with occasional secrets straddling
// write and block edges.
func TestSkipPathMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(testSeed(t, 61), 6))
	for iter := range scaled(20) {
		m, secrets, in := fastCase(r, 300<<10, 1+r.IntN(8))
		want, _ := refScrubFast(secrets, in)
		for _, sizes := range [][]int{nil, {64 << 10}, {65537, 3, 100000}, {skipBlock - 5}} {
			if got := scrubSplit(t, m, in, sizes); string(got) != string(want) {
				t.Fatalf("iteration %d, writes %v: output differs from reference", iter, sizes)
			}
		}
	}
}

// TestSkipCleanExitState ends a clean buffer on the longest prefix of a
// pattern that the filter cannot see (m-1 bytes, placed so that no sampled
// q-gram lies inside it): the exit walk alone must recover the state.
func TestSkipCleanExitState(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	tested := 0
	for range scaled(500) {
		secrets, _ := randomCase(r, "abcdefgh", 1+r.IntN(3))
		m, err := NewMatcher(secrets, mainOnly)
		if err != nil {
			t.Fatal(err)
		}
		f := m.filter
		if f == nil {
			continue
		}
		pats := patternsFor(secrets, encodings)
		p := pats[r.IntN(len(pats))].text
		k := f.step + f.q - 2 // m-1
		// Tail start ≡ 1 (mod step) keeps every sampled q-gram out of it.
		n := 5*f.step + 1 + k
		b := make([]byte, n)
		for i := range b {
			b[i] = '~'
		}
		copy(b[n-k:], p[:k])
		want, clean := walk(&m.dfa, m.root, b)
		got, ok := m.skipClean(m.root, b)
		if !clean || !ok {
			continue // the prefix happens to contain a whole pattern, or a Bloom false positive
		}
		tested++
		if got != want {
			t.Fatalf("skipClean ends in state %d, walk in %d (tail of %d bytes)", got, want, k)
		}
	}
	if tested < scaled(500)/2 {
		t.Fatalf("only %d cases exercised the exit walk", tested)
	}
}

// TestIndex2MatchesBytesIndex: the two-byte gate search finds the first
// occurrence bytes.Index finds, at every length and alignment.
func TestIndex2MatchesBytesIndex(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	for range scaled(20000) {
		b := make([]byte, r.IntN(80))
		for i := range b {
			b[i] = "\n0a:*\x1a\x00 "[r.IntN(8)] // and bytes that fool a wrong mix of ^ and |
		}
		if got, want := index2(b, '\n', '0'), bytes.Index(b, []byte("\n0")); got != want {
			t.Fatalf("index2(%q) = %d, want %d", b, got, want)
		}
		if got, want := lastIndexGate(b, []byte("\n0")), bytes.LastIndex(b, []byte("\n0")); got != want {
			t.Fatalf("lastIndexGate(%q) = %d, want %d", b, got, want)
		}
	}
}

// TestSkipPrefixStopsAtMaybe: whatever prefix skipPrefix clears is free of
// matches and ends in the walk's state.
func TestSkipPrefixStopsAtMaybe(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for iter := range scaled(3000) {
		m, _, b := fastCase(r, 1+r.IntN(6000), r.IntN(4))
		if m.filter == nil {
			continue
		}
		s, n, ok := m.skipPrefix(m.root, b)
		if !ok {
			continue
		}
		want, clean := walk(&m.dfa, m.root, b[:n])
		if !clean {
			t.Fatalf("iteration %d: skipPrefix cleared %d bytes in which a pattern ends", iter, n)
		}
		if s != want {
			t.Fatalf("iteration %d: skipPrefix ends in state %d after %d bytes, walk in %d", iter, s, n, want)
		}
	}
}
