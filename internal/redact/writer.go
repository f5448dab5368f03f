package redact

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
)

const (
	// outSize is the output buffer, which gathers markers, held-back bytes
	// and short spans into one write(2); spans of directSize or more are
	// written from the caller's buffer.
	outSize    = 16 << 10
	directSize = 8 << 10
	// maxBlock bounds how much scanClean covers at once; after a miss the
	// block is rescanned exactly, so smaller blocks waste less on output
	// that leaks often, larger ones amortise the lane set-up.
	maxBlock = 16 << 10
	minBlock = 1 << 10
	// skipBlock is how much skipClean covers at once: its fixed cost is
	// walking maxLen-1 bytes at the end, so it wants long stretches.
	skipBlock = 64 << 10
	minSkip   = 2 << 10
)

// Writer scrubs one output stream into dst. Create one per stream with
// Matcher.NewWriter. A Writer is not safe for concurrent use.
//
// Write consumes all of p and reports len(p) on success, but may hold back
// up to Matcher.MaxDelay bytes that could be the start of a secret; they
// are released as soon as the following bytes rule a match out, or by
// Flush or Close.
type Writer struct {
	m   *Matcher
	d   *dfa // m's main automaton, or for the second stage its dump automaton
	dst io.Writer
	// next is the second stage (the dump text columns), which this stage
	// writes into; nil when there is none or this is it.
	next *Writer
	// pre, when there are large values, is the piece stage every Write
	// goes through first; it writes into inner, the automaton stages.
	pre   *pieceWriter
	inner *Writer

	// abs is the stream offset of held[0]; onMatch, for Find, is told of
	// every replacement in those offsets.
	abs     int
	onMatch func(secret int32, start, end int)
	// gate: this stage only looks at text from an occurrence of gate on,
	// for reach bytes and as long as a pattern may still be under way
	// (see gatedForms); gateUntil is the stream position up to which it
	// scans whatever the text.
	gate      []byte
	reach     int
	gateUntil int
	prevLast  byte // the last byte of the previous write, which may begin a gate
	// soft: the gate is a soft line break ("=\n", "=\r\n") inside the
	// occurrence rather than before it (see softGate).
	soft bool

	// held is the tail of the stream not yet written to dst; it has been
	// scanned. During a call, positions are offsets into held ++ p.
	held []byte
	p    []byte

	state uint32
	pos   int // next byte to scan
	done  int // bytes before this are written (or replaced)

	// The best match found and not yet replaced: a pattern beginning
	// earlier, or a longer one beginning at the same byte, may still end.
	cand       bool
	candStart  int
	candEnd    int
	candSecret int32
	candNS     int32 // bytes other than line breaks in [candStart, pos)

	block     int
	cooldown  int // bytes to scan before trying the filter again
	skipFails int
	// replaced: a match was replaced since the filter last ran.
	replaced bool
	out      []byte
	err      error
	closed   bool
}

// NewWriter returns a Writer that writes the scrubbed stream to dst. Close
// flushes the held-back tail; it does not close dst.
func (m *Matcher) NewWriter(dst io.Writer) *Writer {
	// Build the chain from its end: main → gated… → dst.
	var next *Writer
	for i := len(m.gated) - 1; i >= 0; i-- {
		g := m.gated[i]
		st := newStage(m, g.d, dst)
		st.gate, st.reach, st.soft, st.next = g.gate, g.reach, g.soft, next
		st.prevLast = '\n' // the stream's start is a line start
		next, dst = st, st
	}
	w := newStage(m, &m.dfa, dst)
	w.next = next
	if m.pieces == nil {
		return w
	}
	return &Writer{m: m, pre: &pieceWriter{m: m, p: m.pieces, dst: w}, inner: w}
}

func newStage(m *Matcher, d *dfa, dst io.Writer) *Writer {
	return &Writer{
		m:     m,
		d:     d,
		dst:   dst,
		held:  make([]byte, 0, d.maxLen),
		state: d.root,
		block: maxBlock,
		out:   make([]byte, 0, outSize),
	}
}

// Write scrubs p into the stream. It returns len(p) and nil unless writing
// to dst failed; after a failure every later call fails with the same
// error.
func (w *Writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, ErrClosed
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.pre != nil {
		n, err := w.pre.Write(p)
		w.err = err
		return n, err
	}
	if w.d.maxLen == 0 {
		w.put(p)
		w.flushOut()
		if w.err != nil {
			return 0, w.err
		}
		return len(p), nil
	}
	w.p = p
	end := len(w.held) + len(p)
	w.scanTo(end)
	if w.soft {
		w.softTail(end)
	}
	// Everything before the deepest extendable suffix can no longer be
	// part of a match: release it now rather than at the next newline.
	// Line breaks inside that suffix are held with it, up to holdCap in
	// all, so a stream of newlines after a prefix cannot stall output.
	keep := w.back(end, int(w.d.ext[w.state/w.d.stride]))
	keep = max(keep, end-w.d.holdCap())
	if w.cand {
		keep = min(keep, w.candStart)
	}
	if keep > w.done {
		w.emit(w.done, keep)
		w.done = keep
	}
	if len(p) > 0 {
		w.prevLast = p[len(p)-1]
	}
	w.rebase(end)
	w.p = nil
	w.flushOut()
	if w.err != nil {
		return 0, w.err
	}
	return len(p), nil
}

// Flush replaces any pending match and writes every held-back byte to dst.
// The stream then starts afresh: a secret straddling the flush point is
// not caught, so flush only where the output is known to be at a boundary
// (the child exited).
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if w.pre != nil {
		if w.err = w.pre.Flush(); w.err == nil {
			w.err = w.inner.Flush()
		}
		return w.err
	}
	w.p = nil
	end := len(w.held)
	for {
		w.scanTo(end)
		if !w.cand {
			break
		}
		w.commit()
	}
	w.emit(w.done, end)
	w.abs += end
	w.held = w.held[:0]
	w.pos, w.done, w.state, w.gateUntil, w.prevLast = 0, 0, w.d.root, 0, '\n'
	w.flushOut()
	if w.err == nil && w.next != nil {
		if err := w.next.Flush(); err != nil {
			w.err = err
		}
	}
	return w.err
}

// Close flushes the stream and wipes the held-back bytes, which may be the
// beginning of a secret. It does not close dst.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	err := w.Flush()
	w.closed = true
	if w.pre != nil {
		clear(w.pre.buf[:cap(w.pre.buf)])
		w.inner.Close()
		return err
	}
	clear(w.held[:cap(w.held)])
	if w.next != nil {
		w.next.Close()
	}
	return err
}

// Buffered returns how many bytes written so far are still held back.
func (w *Writer) Buffered() int {
	if w.pre != nil {
		return w.pre.buffered() + w.inner.Buffered()
	}
	n := len(w.held) - w.done
	if w.next != nil {
		n += w.next.Buffered()
	}
	return n
}

// String describes the writer without the held bytes, which may be part of
// a secret.
// It has a value receiver so that a dereferenced Writer is covered too.
func (w Writer) String() string {
	return fmt.Sprintf("redact.Writer{buffered: %d}", len(w.held)-w.done)
}

// Format keeps %v and friends from printing the held bytes.
func (w Writer) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, w.String()) }

// scanTo scans up to stream position end, replacing matches as they
// become final.
func (w *Writer) scanTo(end int) {
	hl := len(w.held)
	for w.pos < end {
		switch {
		case w.pos < hl:
			// Rescanning held bytes after a replacement.
			w.exact(hl)
		case w.cand:
			w.exact(end)
		default:
			w.scanOn(w.pos - hl)
		}
	}
}

// scanOn takes one step of the scan from w.p[i], where no match is
// pending: past the stretch the filter clears, or that a gated stage
// skips, or over a block.
func (w *Writer) scanOn(i int) {
	hl := len(w.held)
	limit := w.block
	// Where a pattern is likely (the filter's maybe, a gate) the bytes are
	// walked exactly at once: a clean walk there mostly fails on the match
	// and the bytes are walked twice, the first time through table rows
	// not yet in cache.
	direct := w.gate != nil
	if w.gate != nil {
		if !w.soft && w.pos >= w.gateUntil && w.state != w.d.root &&
			w.back(w.pos, int(w.d.ext[w.state/w.d.stride])) >= w.gateUntil {
			// What is under way began past the gate's reach: by the gate's
			// rule it is not an occurrence, so forget it. (A soft stage's
			// occurrence may begin after one soft break and end after the
			// next: it walks on.)
			w.state = w.d.root
		}
		if w.pos >= w.gateUntil && w.state == w.d.root {
			w.pos = hl + i + w.skipToGate(i)
			return
		}
	} else if w.cooldown <= 0 && w.d.filter != nil && len(w.p)-i >= max(minSkip, 4*w.d.maxLen) {
		var cleared bool
		if i, limit, direct, cleared = w.filterStep(i); cleared {
			return
		}
	}
	j := min(i+limit, len(w.p))
	if w.gate != nil {
		j = w.gateStep(i, j)
	}
	w.cooldown -= j - i
	if direct {
		w.exact(hl + j)
		return
	}
	if s, ok := w.d.scanClean(w.state, w.p[i:j]); ok {
		w.state, w.pos = s, hl+j
		w.block = min(2*w.block, maxBlock)
		return
	}
	w.block = max(w.block/4, minBlock)
	w.exact(hl + j)
}

// filterStep runs the sampling filter from w.p[i]. When it clears the
// whole stretch it moves on and reports cleared; otherwise it returns
// where to scan from and how far, and whether exactly (direct).
func (w *Writer) filterStep(i int) (from, limit int, direct, cleared bool) {
	hl := len(w.held)
	limit = w.block
	j := min(i+skipBlock, len(w.p))
	s, n, ok := w.d.skipPrefix(w.state, w.p[i:j])
	if ok {
		w.state, w.pos = s, hl+i+n
		if n == j-i {
			w.skipFails = 0
			return i, 0, false, true
		}
		// The filter's first maybe: scan a pattern's length from there
		// exactly, then try the filter again.
		i += n
		limit, direct = max(2*w.d.maxLen, 64), true
	}
	near := !ok || n < max(4*w.d.maxLen, 256)
	if near && ok && w.replaced {
		// A maybe soon after a replaced occurrence is most likely the
		// next one (a program printing a value in several forms in a
		// row): the short exact scan below, not a cooldown.
		near = false
	}
	w.replaced = false
	if near {
		// Output that keeps looking like a secret (or is one): stop paying
		// for the filter for a while, longer each time in a row. A maybe a
		// few patterns' length on costs only the short exact scan above:
		// output that leaks every few KiB still runs at the filter's
		// speed.
		w.skipFails = min(w.skipFails+1, 6)
		w.cooldown = minSkip << w.skipFails
		return i, w.block, false, false
	}
	w.skipFails = 0
	return i, limit, direct, false
}

// gateStep bounds a gated stage's step from w.p[i] (to j at most) to
// short stretches: within a gate's reach, then a few bytes at a time
// until the state is back at the root and the next gate can be looked
// for. Scanning on past the reach (a pattern may be under way) passes
// gates too: their reach counts.
func (w *Writer) gateStep(i, j int) int {
	hl := len(w.held)
	if w.gateUntil-hl > i {
		j = min(j, w.gateUntil-hl)
	} else {
		j = min(j, i+64)
	}
	if k := lastIndexGate(w.p[i:j], w.gate); k >= 0 {
		w.gateUntil = max(w.gateUntil, hl+i+k+len(w.gate)+w.reach)
	} else if w.gateEndsAt(i) {
		w.gateUntil = max(w.gateUntil, hl+i-1+len(w.gate)+w.reach)
	}
	return j
}

// A soft stage (quoted-printable broken by a soft line break) has its
// gate inside the occurrence: the occurrence starts on the line that ends
// in "=\n" (or "=\r\n"), at most qpLine bytes before it. So it skips to
// the start of the line a soft break ends (softSkip), and at the end of
// each write walks the last line's tail (softTail): if the tail could
// begin an occurrence it is held back, like any pattern under way, until
// the next write decides it.

// softSkip is skipToGate for a soft stage: how many bytes of w.p from i
// to pass over, up to the start of the line the next soft break ends, or
// all of them.
func (w *Writer) softSkip(i int) int {
	b := w.p[i:]
	for off := 0; ; {
		g := index2Or(b[off:], '=', '\n', '\r')
		if g < 0 {
			return len(b)
		}
		g += off
		if !w.softMay(i + g) {
			off = g + 1 // no pattern has these bytes around a '='
			continue
		}
		// Patterns beginning after the break are not this stage's.
		w.gateUntil = len(w.held) + i + g + 1
		return tailStart(b[:g], qpLine)
	}
}

// softMay reports whether the soft break whose '=' is at w.p[k] can be
// inside an occurrence: the bytes before the '=' and after the break are
// next to a '=' in some pattern (softPairs). Bytes not in this write
// count as possible.
func (w *Writer) softMay(k int) bool {
	n := k + 1
	for n < len(w.p) && isSkip(w.p[n]) {
		n++
	}
	if k == 0 || n == len(w.p) {
		return true
	}
	return w.d.pairs.may(w.p[k-1], w.p[n])
}

// softTail walks, at the end of a write, the last qpLine bytes of the
// stream when nothing is under way, so that a tail that could begin an
// occurrence is held back with the state it leaves.
func (w *Writer) softTail(end int) {
	if w.cand || w.state != w.d.root {
		return
	}
	hl := len(w.held)
	w.pos, w.gateUntil = w.back(end, qpLine), end+1
	for w.pos < end {
		if w.pos < hl {
			w.exact(hl)
		} else {
			w.exact(end)
		}
	}
}

// spanHasGate reports whether stream bytes [from, to) hold a soft break
// ('=' and a line break): a soft stage's match must (see exact).
func (w *Writer) spanHasGate(from, to int) bool {
	hl := len(w.held)
	at := func(k int) byte {
		if k < hl {
			return w.held[k]
		}
		return w.p[k-hl]
	}
	for k := from; k+1 < to; k++ {
		if at(k) == '=' && isSkip(at(k+1)) {
			return true
		}
	}
	return false
}

// gateEndsAt reports whether a two-byte gate begins just before w.p[i]:
// with the byte before it, or the last byte of the previous write.
func (w *Writer) gateEndsAt(i int) bool {
	if len(w.gate) != 2 || i >= len(w.p) || w.p[i] != w.gate[1] {
		return false
	}
	prev := w.prevLast
	if i > 0 {
		prev = w.p[i-1]
	}
	return prev == w.gate[0]
}

// skipToGate returns how many bytes of w.p from i a gated stage can pass
// over unscanned (its state stays the root): those before the next
// occurrence of its gate. It sets gateUntil to the reach of that
// occurrence, or of one that began with the byte before i (or the last
// byte of the previous write).
func (w *Writer) skipToGate(i int) int {
	hl := len(w.held)
	span := len(w.gate) + w.reach
	if w.soft {
		return w.softSkip(i)
	}
	if w.gateEndsAt(i) {
		w.gateUntil = hl + i + span - 1
		return 0
	}
	var k int
	switch {
	case len(w.gate) == 1:
		k = bytes.IndexByte(w.p[i:], w.gate[0])
	default:
		k = index2(w.p[i:], w.gate[0], w.gate[1])
	}
	if k < 0 {
		k = len(w.p) - i
		return k
	}
	w.gateUntil = hl + i + k + span
	return k
}

// exact scans from w.pos to limit (both in held or both in p) tracking
// matches. It returns early, with w.pos moved back to the end of the
// replaced match, after each replacement: scanning restarts from the root
// there so that the bytes after a match can form the next one.
func (w *Writer) exact(limit int) {
	m := w.d
	hl := len(w.held)
	base := w.pos
	var buf []byte
	if base < hl {
		buf = w.held[base:limit]
	} else {
		buf = w.p[base-hl : limit-hl]
	}
	lim := m.matchLim
	s := w.state
	for i, c := range buf {
		if isSkip(c) {
			// Every state loops on a line break: nothing starts, ends
			// or is decided on one.
			continue
		}
		s = m.next(s, c)
		if s >= lim && !w.cand {
			continue
		}
		pos := base + i + 1
		id := s / m.stride
		if w.cand {
			w.candNS++
		}
		if s < lim {
			start := w.back(pos, int(m.outLen[id]))
			if w.soft && !w.spanHasGate(start, pos) {
				// A soft stage's form without a soft break in it is not
				// broken: not this stage's (and what it caught would then
				// depend on where the writes end, see softTail).
				if !w.cand {
					continue
				}
			} else if !w.cand || start <= w.candStart {
				w.cand, w.candStart, w.candEnd, w.candSecret = true, start, pos, m.outSec[id]
				w.candNS = m.outLen[id]
			}
		}
		// No pattern can begin before the deepest extendable suffix any
		// more, so nothing can beat the candidate.
		if w.candNS > m.ext[id] {
			w.commit()
			return
		}
	}
	w.state, w.pos = s, limit
}

// back returns the stream position from which [pos-?, pos) holds n bytes
// other than line breaks: the start of a match of n pattern bytes ending
// at pos. It never goes below w.done (see holdCap).
func (w *Writer) back(pos, n int) int {
	hl := len(w.held)
	for n > 0 && pos > w.done {
		pos--
		var c byte
		if pos < hl {
			c = w.held[pos]
		} else {
			c = w.p[pos-hl]
		}
		if !isSkip(c) {
			n--
		}
	}
	return pos
}

// commit replaces the pending match.
func (w *Writer) commit() {
	// A start before done is only possible when a run of line breaks
	// longer than holdCap forced bytes out; what is left is replaced.
	w.candStart = max(w.candStart, w.done)
	w.emit(w.done, w.candStart)
	w.put(w.m.markers[w.candSecret])
	if w.onMatch != nil {
		w.onMatch(w.candSecret, w.abs+w.candStart, w.abs+w.candEnd)
	} else {
		w.m.hit(int(w.candSecret))
	}
	w.done, w.pos, w.state, w.cand = w.candEnd, w.candEnd, w.d.root, false
	w.replaced = true
}

// emit writes stream bytes [from, to).
func (w *Writer) emit(from, to int) {
	hl := len(w.held)
	if from < hl {
		w.put(w.held[from:min(to, hl)])
	}
	if to > hl {
		w.put(w.p[max(from, hl)-hl : to-hl])
	}
}

// rebase keeps the unwritten tail [done, end) in held, at most MaxDelay
// bytes, and shifts positions so that it starts at 0.
func (w *Writer) rebase(end int) {
	hl := len(w.held)
	d := w.done
	if d < hl {
		n := copy(w.held, w.held[d:])
		w.held = append(w.held[:n], w.p...)
	} else {
		w.held = append(w.held[:0], w.p[d-hl:]...)
	}
	w.pos = end - d
	w.abs += d
	w.gateUntil -= d
	w.candStart -= d
	w.candEnd -= d
	w.done = 0
}

// put queues b for dst. Large spans go straight through rather than being
// copied: at the speeds involved the copy costs as much as a write(2).
func (w *Writer) put(b []byte) {
	if len(b) >= directSize {
		w.flushOut()
		if w.err == nil {
			w.write(b)
		}
		return
	}
	for len(b) > 0 && w.err == nil {
		n := copy(w.out[len(w.out):cap(w.out)], b)
		w.out = w.out[:len(w.out)+n]
		b = b[n:]
		if len(w.out) == cap(w.out) {
			w.flushOut()
		}
	}
}

func (w *Writer) flushOut() {
	if len(w.out) > 0 && w.err == nil {
		w.write(w.out)
	}
	w.out = w.out[:0]
}

func (w *Writer) write(b []byte) {
	n, err := w.dst.Write(b)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		w.err = fmt.Errorf("write scrubbed output: %w", err)
	}
}

// index2Words is bytes.Index for a two-byte needle, eight positions at a
// time. The dump gate "\n0" starts with a byte every line of output has,
// which makes bytes.Index call IndexByte once a line: this is several
// times faster on log-like output. On amd64 index2 uses SSE2 instead.
func index2Words(b []byte, c0, c1 byte) int {
	x0, x1 := ones*uint64(c0), ones*uint64(c1)
	i := 0
	if len(b) >= 40 {
		w0 := binary.LittleEndian.Uint64(b)
		for ; i+40 <= len(b); i += 32 {
			// Word k holds b[i+8k:], and with the next word's first byte
			// shifted in, b[i+8k+1:].
			w1 := binary.LittleEndian.Uint64(b[i+8:])
			w2 := binary.LittleEndian.Uint64(b[i+16:])
			w3 := binary.LittleEndian.Uint64(b[i+24:])
			w4 := binary.LittleEndian.Uint64(b[i+32:])
			t0 := (w0 ^ x0) | ((w0>>8 | w1<<56) ^ x1)
			t1 := (w1 ^ x0) | ((w1>>8 | w2<<56) ^ x1)
			t2 := (w2 ^ x0) | ((w2>>8 | w3<<56) ^ x1)
			t3 := (w3 ^ x0) | ((w3>>8 | w4<<56) ^ x1)
			// (t-ones)&^t&highs has its lowest bit in t's first zero byte.
			z0, z1 := (t0-ones)&^t0&highs, (t1-ones)&^t1&highs
			z2, z3 := (t2-ones)&^t2&highs, (t3-ones)&^t3&highs
			if z0|z1|z2|z3 != 0 {
				for k, z := range [4]uint64{z0, z1, z2, z3} {
					if z != 0 {
						return i + 8*k + bits.TrailingZeros64(z)/8
					}
				}
			}
			w0 = w4
		}
	}
	for ; i+1 < len(b); i++ {
		if b[i] == c0 && b[i+1] == c1 {
			return i
		}
	}
	return -1
}

// lastIndexGate is bytes.LastIndex for the short spans a gated stage
// steps through, without its Rabin-Karp set-up.
func lastIndexGate(b, gate []byte) int {
	if len(gate) == 1 {
		return bytes.LastIndexByte(b, gate[0])
	}
	for i := len(b) - len(gate); i >= 0; i-- {
		if b[i] == gate[0] && bytes.Equal(b[i:i+len(gate)], gate) {
			return i
		}
	}
	return -1
}
