package redact

import (
	"encoding/binary"
	"math/bits"
)

// qfilter answers "can any pattern occur entirely inside this buffer?"
// faster than walking the automaton, by sampling: every occurrence of a
// pattern of length >= m contains one of its q-grams starting at a multiple
// of step = m-q+1 (the first sampled offset at or after the occurrence's
// start is less than step bytes in, and step+q-1 = m). So if none of the
// q-grams at offsets 0, step, 2*step, … is a q-gram of some pattern, no
// pattern occurs. The set of pattern q-grams is a two-probe Bloom filter,
// so a "maybe" is sometimes wrong, and then the caller walks the buffer.
//
// With typical values (20+ bytes) a sample is taken every 10-25 bytes and
// the samples are independent loads, so this runs far faster than the one
// dependent lookup per byte of the automaton. Short values shrink the step
// and raise the hit rate; the Writer backs off when the filter keeps
// failing.
type qfilter struct {
	set   []uint64
	shift uint // 64 - log2(len(set)*64)
	q     int
	step  int
	mask  uint64 // keeps the low q bytes of a little-endian load
}

const (
	hashMul1 = 0x9e3779b97f4a7c15
	hashMul2 = 0xc2b2ae3d27d4eb4f
	// Bloom filter size: about 128 bits per q-gram keeps false "maybe"s
	// rare enough (under 1e-4 a sample) that most blocks pass, capped at
	// 1 MiB so it stays in cache.
	bitsPerGram = 128
	minSetBits  = 12
	maxSetBits  = 23
)

func newQFilter(pats []pattern) *qfilter {
	if len(pats) == 0 {
		return nil
	}
	m, grams := len(pats[0].text), 0
	for _, p := range pats {
		m = min(m, len(p.text))
		grams += len(p.text)
	}
	q := min(8, (m+1)/2)
	f := &qfilter{q: q, step: m - q + 1, mask: ^uint64(0) >> (64 - 8*q)}
	lg := min(max(bits.Len(uint(grams*bitsPerGram)), minSetBits), maxSetBits)
	f.set = make([]uint64, 1<<(lg-6))
	f.shift = uint(64 - lg)
	for _, p := range pats {
		for x := 0; x+q <= len(p.text); x++ {
			wi, bm := f.hash(gram(p.text[x : x+q]))
			f.set[wi] |= bm
		}
	}
	return f
}

// gram packs up to 8 bytes little-endian, as a masked 8-byte load would.
func gram(b []byte) uint64 {
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// hash returns the word of the set a gram's two bits are in, and the
// bits: one load a sample, where two independent bits would cost two.
func (f *qfilter) hash(v uint64) (uint64, uint64) {
	h := v * hashMul1
	return h >> f.shift >> 6, 1<<(h>>32&63) | 1<<(h>>38&63)
}

// maybe reports whether a pattern might occur entirely inside b.
func (f *qfilter) maybe(b []byte) bool { return f.firstMaybe(b) >= 0 }

// firstMaybe returns the first sampled offset (a multiple of step) whose
// q-gram is in the set, or -1: before it, every sample is clean, so no
// occurrence lying inside b begins before firstMaybe-step+1.
//
// An occurrence in the stream may be broken by line breaks (patterns are
// matched with '\r' and '\n' ignored), so a sample whose q bytes include
// one is replaced by the first q bytes from x that are not line breaks.
// The sampling argument still holds: fewer than step pattern bytes of the
// occurrence lie before its first sample x, so at least m-step+1 = q lie
// after it, and the gathered gram is one of the pattern's.
func (f *qfilter) firstMaybe(b []byte) int {
	set, q, step, mask := f.set, f.q, f.step, f.mask
	x := 0
	for ; x+8 <= len(b); x += step {
		v := binary.LittleEndian.Uint64(b[x:]) & mask
		if hasBreak(v, mask) {
			var ok bool
			if v, ok = gatherFast(b, x, v, q, mask); !ok {
				return -1
			}
		}
		if wi, bm := f.hash(v); set[wi]&bm == bm {
			return x
		}
	}
	for ; x < len(b); x += step {
		v, ok := gather(b[x:], q)
		if !ok {
			return -1
		}
		if wi, bm := f.hash(v); set[wi]&bm == bm {
			return x
		}
	}
	return -1
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// hasBreak reports whether one of the low q bytes of v (those set in
// mask) is '\n' or '\r', without a loop: a byte of v^c is zero exactly
// where v has c, and (x-ones)&^x&highs is non-zero iff x has a zero byte.
// The bytes above q are forced non-zero so they never count.
func hasBreak(v, mask uint64) bool {
	a := v ^ (ones * '\n') | ^mask
	b := v ^ (ones * '\r') | ^mask
	return ((a-ones)&^a|(b-ones)&^b)&highs != 0
}

// gatherFast is gather for the usual case of one "\n" (or "\r\n")
// among the q bytes at x, whose first q bytes are v: the bytes before the
// break, then a second load after it.
func gatherFast(b []byte, x int, v uint64, q int, mask uint64) (uint64, bool) {
	k := firstBreak(v, mask)
	skip := 1
	if b[x+k] == '\r' && x+k+1 < len(b) && b[x+k+1] == '\n' {
		skip = 2
	}
	y := x + k + skip
	if k == 0 || y+8 > len(b) {
		return gather(b[x:], q)
	}
	w := binary.LittleEndian.Uint64(b[y:])
	g := (v&(1<<(8*k)-1) | w<<(8*k)) & mask
	if hasBreak(g, mask) {
		return gather(b[x:], q)
	}
	return g, true
}

// firstBreak is the index of the first line-break byte among the low q
// bytes of v (one must be there). Exact, unlike hasBreak's test, which
// may also flag the bytes above a match.
func firstBreak(v, mask uint64) int {
	const low7 = 0x7f7f7f7f7f7f7f7f
	z := func(t uint64) uint64 { return ^((t&low7 + low7) | t | low7) }
	m := (z(v^ones*'\n') | z(v^ones*'\r')) & mask
	return bits.TrailingZeros64(m) / 8
}

// gather packs the first q bytes of b that are not line breaks, as gram
// would; ok is false when b has fewer than q of them.
func gather(b []byte, q int) (v uint64, ok bool) {
	n := 0
	for _, c := range b {
		if isSkip(c) {
			continue
		}
		v |= uint64(c) << (8 * n)
		if n++; n == q {
			return v, true
		}
	}
	return 0, false
}

// skipClean is scanClean for a buffer the filter clears: it returns the
// state after b and true when no pattern ends in b, walking only the bytes
// near b's edges. On false the caller falls back to scanClean.
func (d *dfa) skipClean(s uint32, b []byte) (uint32, bool) {
	if d.filter == nil {
		return d.scanClean(s, b)
	}
	s, n, ok := d.skipPrefix(s, b)
	return s, ok && n == len(b)
}

// skipPrefix is skipClean for as much of b as the filter clears: it
// returns n and the state after b[:n], and true when no pattern ends in
// b[:n]; n stops at the filter's first "maybe", from which the caller
// scans exactly. A false "maybe" (the Bloom filter errs about once in ten
// thousand samples) then costs a short exact scan instead of the whole
// block. On false the caller falls back to scanClean.
//
//   - Entry: a pattern may begin before b and end inside it. Walk from the
//     true state s alongside a walk from the root until the two agree;
//     after that the true walk only knows bytes of b, so any later match
//     lies entirely inside b.
//   - Middle: the filter rules out patterns lying inside b whose first
//     sample comes before n, which is every pattern ending at or before n.
//   - Exit: with no match in b[:n], the state after b[:n] is the longest
//     suffix of b[:n] that is a proper prefix of a pattern. That suffix is
//     shorter than m (the shortest pattern length) in bytes other than line
//     breaks: one of m or more would contain a sampled q-gram of that
//     pattern before n, and the filter would have said maybe there. So a
//     walk from the root over the shortest tail of b[:n] holding m-1 such
//     bytes ends in it.
func (d *dfa) skipPrefix(s uint32, b []byte) (uint32, int, bool) {
	t, cls := d.trans, &d.cls
	r := d.root
	i := 0
	for ; i < len(b) && s != r; i++ {
		s = t[s+cls[b[i]]]
		r = t[r+cls[b[i]]]
		if s < d.matchLim {
			return s, 0, false
		}
	}
	if i == len(b) && s != r {
		return s, i, true // b was all entry walk, exactly scanned
	}
	n := d.filter.firstMaybe(b)
	switch {
	case n < 0:
		n = len(b)
	case n <= i:
		// The maybe is inside the entry walk, whose state is exact.
		return s, i, true
	}
	s = d.root
	for _, c := range b[tailStart(b[:n], d.filter.step+d.filter.q-2):n] {
		s = t[s+cls[c]]
	}
	return s, n, s >= d.matchLim
}

// tailStart returns the index from which b holds n bytes that are not
// line breaks (0 if it holds fewer).
func tailStart(b []byte, n int) int {
	i := len(b)
	for ; i > 0 && n > 0; i-- {
		if !isSkip(b[i-1]) {
			n--
		}
	}
	return i
}
