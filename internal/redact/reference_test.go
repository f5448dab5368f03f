package redact

import (
	"bytes"
	"testing"
)

// refScrub is the obviously-correct scrubber the streaming one is checked
// against: at each position try every pattern, replace the longest one that
// matches there, and move past it.
func refScrub(secrets []Secret, in []byte) ([]byte, map[string]int) {
	pats := patternsFor(secrets, encodings)
	hits := make(map[string]int)
	var out []byte
	for i := 0; i < len(in); {
		best, span := -1, 0
		for k, p := range pats {
			if n := matchAt(in[i:], p.text); n > 0 && (best < 0 || len(p.text) > len(pats[best].text)) {
				best, span = k, n
			}
		}
		if best < 0 {
			out = append(out, in[i])
			i++
			continue
		}
		name := secrets[pats[best].secret].Name
		out = append(out, "[envseal:"+name+"]"...)
		hits[name]++
		i += span
	}
	return out, hits
}

// matchAt returns how many bytes of in the pattern p spans from in[0] when
// line breaks in in are ignored (patterns hold none), or 0 if p does not
// match there. A match starts and ends on a byte of p.
func matchAt(in, p []byte) int {
	if len(in) == 0 || isSkip(in[0]) {
		return 0
	}
	j := 0
	for i, c := range in {
		if isSkip(c) {
			continue
		}
		if c != p[j] {
			return 0
		}
		if j++; j == len(p) {
			return i + 1
		}
	}
	return 0
}

// scrubSplit writes in to a fresh Writer in pieces of the given sizes
// (cycled), closes it and returns what reached dst.
func scrubSplit(t testing.TB, m *Matcher, in []byte, sizes []int) []byte {
	t.Helper()
	var dst bytes.Buffer
	w := m.NewWriter(&dst)
	for i, k := 0, 0; i < len(in); k++ {
		n := len(in) - i
		if len(sizes) > 0 {
			n = min(n, max(1, sizes[k%len(sizes)]))
		}
		got, err := w.Write(in[i : i+n])
		if err != nil || got != n {
			t.Fatalf("Write(%d bytes) = %d, %v", n, got, err)
		}
		if w.Buffered() > m.MaxDelay() {
			t.Fatalf("after writing %d bytes, %d held back; MaxDelay is %d", i+n, w.Buffered(), m.MaxDelay())
		}
		i += n
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return dst.Bytes()
}

// survivors returns the names of the secrets one of whose patterns still
// occurs in out between markers.
func survivors(secrets []Secret, out []byte) []string {
	var names []string
	segs := markerRE.Split(string(out), -1)
	for _, p := range patternsFor(secrets, encodings) {
		for _, s := range segs {
			if bytes.Contains(squeeze([]byte(s)), p.text) {
				names = append(names, secrets[p.secret].Name)
				break
			}
		}
	}
	return names
}
