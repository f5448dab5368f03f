package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/bits"
)

// Large values (keys, certificates, service-account files) are not put in
// the automaton: its table grows with pattern bytes × distinct bytes, and
// one 64 KiB key in a dozen encodings would need gigabytes. They are found
// by their pieces instead, seed and extend:
//
//   - Index: every fragMin-byte fragment of an encoding of the value
//     contains pg consecutive positions, one of which is a multiple of pg.
//     The table holds the q-grams at those offsets; a Bloom filter holds
//     every q-gram, to rule most stream positions out with one probe.
//   - Stream: a sample every pstep bytes. A fragment of fragMin bytes has
//     one among its first fragMin-q+1 bytes (pstep is that many), i.e. a
//     whole q-gram of the fragment starts there. The fragment's grams at
//     the pg-1 positions before it or the pg-1 after it (as many of them
//     as lie in the fragment: at least pg consecutive positions in all) are
//     looked up in the table, and one of them is there. The window's
//     backward half lets the stride be fragMin-q+1 rather than
//     fragMin-q-pg+2: 25 bytes instead of 18, a third fewer probes.
//   - Extend: from a table hit, compare the stream with the encoding
//     backwards and forwards (line breaks in the stream skipped). A run of
//     fragMin bytes or more is replaced, and one that reaches the end of a
//     write goes on being replaced in the next.
//
// So the whole value, any fragment of at least fragMin bytes of it, in any
// of its piece encodings and wrapped at any column, is replaced; the delay
// is bounded by pstep bytes, and the memory is a few bytes per encoded
// byte (see pieceBytes).
// LargeValue is the length from which a value is scrubbed by its pieces:
// whole, and every fragment of FragmentMin bytes or more of it (raw, JSON
// string, base64, hex), rather than in every encoding the automaton knows.
// FragmentMin is the shortest such fragment.
const (
	LargeValue  = pieceMin
	FragmentMin = fragMin
)

const (
	fragMin = 32
	pq      = 8
	pg      = 8
	pstep   = fragMin - pq + 1
	// pieceMin: values this long or longer are scrubbed by pieces.
	pieceMin = 512
	// pieceHold bounds what a piece stage holds back when a write ends in
	// a long run of line breaks.
	pieceHold = 4096
)

// pieceTexts returns what the piece stage looks for of a large value v:
// the value itself; its JSON string form (a program embedding the file in
// JSON); base64 in both alphabets at the three alignments (a fragment's
// base64 depends on its offset mod 3); hex in both cases.
//
// Every comparison in the stage is of folded bytes: ASCII letters in
// lower case, '-' as '+' and '_' as '/'. One text then stands for both
// base64 alphabets and both hex cases, which halves the index; the price
// is that a value's case variants are replaced too. A PEM value adds
// its DER bytes, in hex (the base64 is the PEM body, already covered), and
// a JSON object its long string fields decoded (a private key printed
// after json.load), so the obvious fragments are caught as well.
func pieceTexts(v []byte) [][]byte {
	var subs [][]byte
	for rest := v; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		subs = append(subs, blk.Bytes)
	}
	var obj map[string]any
	if json.Unmarshal(v, &obj) == nil {
		for _, f := range obj {
			if s, ok := f.(string); ok && len(s) >= fragMin {
				subs = append(subs, []byte(s))
			}
		}
	}
	out := [][]byte{v, jsonEscape(v, false)}
	// The URL alphabet and upper-case hex need no texts of their own:
	// the piece stage compares folded bytes (see fold).
	for k := range 3 {
		buf := make([]byte, k+len(v))
		copy(buf[k:], v)
		enc := base64.RawStdEncoding.EncodeToString(buf)
		out = append(out, []byte(enc[(8*k+5)/6:]))
	}
	out = append(out, []byte(hex.EncodeToString(v)))
	for _, s := range subs {
		out = append(out, s, []byte(hex.EncodeToString(s)))
	}
	return out
}

// pieces is the index of every large value's texts.
type pieces struct {
	texts [][]byte // squeezed, at least fragMin long
	sec   []int32  // secret of each text

	bloom  []uint64
	bshift uint
	table  []uint64 // text<<32 | offset, +1; 0 is empty
	tshift uint
}

func newPieces(texts [][]byte, sec []int32) *pieces {
	p := &pieces{}
	grams := 0
	for i, t := range texts {
		t = squeeze(t)
		if len(t) < fragMin {
			continue
		}
		t = bytes.Clone(t)
		for j, c := range t {
			t[j] = foldTab[c]
		}
		if len(t) < fragMin {
			continue
		}
		p.texts = append(p.texts, t)
		p.sec = append(p.sec, sec[i])
		grams += len(t) - pq + 1
	}
	if len(p.texts) == 0 {
		return nil
	}
	// 8 bits a gram (three set in one word): about one probe in forty is
	// a false "maybe" (one in twenty with two bits: each costs a
	// mispredicted branch on a cache miss and a second probe, and with
	// three the 64 KiB key's stream ran ~18% faster), and the second
	// probe clears nearly all of those; a bigger filter falls out of
	// cache and costs more (16 bits a gram measured slower).
	lg := max(bits.Len(uint(grams*8)), 12)
	p.bloom = make([]uint64, 1<<(lg-6))
	p.bshift = uint(64 - lg)
	entries := grams/pg + len(p.texts)
	tl := max(bits.Len(uint(2*entries)), 4)
	p.table = make([]uint64, 1<<tl)
	p.tshift = uint(64 - tl)
	for ti, t := range p.texts {
		for o := 0; o+pq <= len(t); o++ {
			g := binary.LittleEndian.Uint64(t[o:])
			p.bloomAddVariants(g)
			if o%pg == 0 {
				h := (g * hashMul1) >> p.tshift
				for p.table[h] != 0 {
					h = (h + 1) & (uint64(len(p.table)) - 1)
				}
				p.table[h] = uint64(ti)<<32 | uint64(o) + 1
			}
		}
	}
	return p
}

// The Bloom filter's three bits for a gram lie in one word: one cache
// miss a probe. The word is chosen by the hash's top bits, the bits by
// its low 18 (lg-6 <= 46 keeps them apart).
func (p *pieces) bloomBits(g uint64) (uint64, uint64) {
	h := g * hashMul2
	return h >> p.bshift >> 6, 1<<(h&63) | 1<<(h>>6&63) | 1<<(h>>12&63)
}

// bloomKey is what the Bloom filter is keyed by: a stream gram with 0x20
// set in every byte, one OR instead of foldWord's dozen steps. It maps
// upper-case letters as fold does; '-' and '_', which fold maps to '+'
// and '/', keep keys of their own, so bloomAddVariants adds a text
// gram's every spelling with them. Bytes it maps together that fold does
// not ('@' and '`', …) only add false maybes, which the table's exact
// comparison of folded grams rules out.
func bloomKey(v uint64) uint64 { return v | ones*0x20 }

// bloomAddVariants adds the folded text gram g under the key of every
// stream gram that folds to it: each '+' may be printed as '-', each '/'
// as '_' (at most 256 spellings, for a gram of eight of them).
func (p *pieces) bloomAddVariants(g uint64) {
	var pos [8]uint
	n := 0
	for k := range uint(8) {
		if c := byte(g >> (8 * k)); c == '+' || c == '/' {
			pos[n] = k
			n++
		}
	}
	for sub := 0; sub < 1<<n; sub++ {
		v := g
		for i := range n {
			if sub>>i&1 == 0 {
				continue
			}
			sh := 8 * pos[i]
			alt := uint64('-')
			if byte(g>>sh) == '/' {
				alt = '_'
			}
			v = v&^(0xff<<sh) | alt<<sh
		}
		p.bloomAdd(bloomKey(v))
	}
}

func (p *pieces) bloomAdd(g uint64) {
	w, m := p.bloomBits(g)
	p.bloom[w] |= m
}

func (p *pieces) bloomHas(g uint64) bool {
	w, m := p.bloomBits(g)
	return p.bloom[w]&m == m
}

// pieceBytes is the memory the index takes, for the docs and benchmarks.
func (p *pieces) pieceBytes() int {
	if p == nil {
		return 0
	}
	n := 8*len(p.bloom) + 8*len(p.table)
	for _, t := range p.texts {
		n += len(t)
	}
	return n
}

// gramAt returns the q-gram of b starting at i with line breaks skipped,
// unfolded (bloomKey and foldWord take it from there).
func gramAt(b []byte, i int) (uint64, bool) {
	if i+8 <= len(b) {
		v := binary.LittleEndian.Uint64(b[i:])
		if !hasBreak(v, ^uint64(0)) {
			return v, true
		}
	}
	return gather(b[i:], pq)
}

// foldTab folds one byte (see pieceTexts).
var foldTab = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = byte(c + 'a' - 'A')
	}
	t['-'], t['_'] = '+', '/'
	return t
}()

// foldWord is foldTab applied to the eight bytes of v at once: upper-case
// letters get 0x20 added, '-' loses 2 and '_' 0x30.
func foldWord(v uint64) uint64 {
	const low7 = 0x7f7f7f7f7f7f7f7f
	h := v & low7
	ge := h + ones*(0x80-'A')                                           // bit 7 set where h >= 'A'
	gt := h + ones*(0x7f-'Z')                                           // bit 7 set where h > 'Z'
	up := (ge &^ gt) &^ v & highs                                       // ASCII upper-case letters
	z := func(t uint64) uint64 { return ^((t&low7 + low7) | t | low7) } // 0x80 where t's byte is 0
	dash := z(v^ones*'-') >> 7
	und := z(v^ones*'_') >> 7
	return v + up>>2 - 2*dash - 0x30*und
}

// seed checks the sample at x: the Bloom filter first (the gram at x, and
// one four bytes on or back), then the table for the grams from pg-1
// positions before x (not below lo) to pg-1 after. It
// returns the best fragment found: its stream span [start, end) (start
// not below lo), the text and the offset in it where end falls.
//
// Unless final, a sample too close to the end of b to be decided (fewer
// than fragMin+pg bytes after it) sets wait: the caller holds it for the
// next write.
func (p *pieces) seed(b []byte, x, lo int, final bool) (start, end, text, toff int, ok, wait bool) {
	g, ok1 := gramAt(b, x)
	if !ok1 {
		return 0, 0, 0, 0, false, !final
	}
	if !p.bloomHas(bloomKey(g)) {
		return
	}
	// The second probe: the gram four bytes on, or four bytes back. A
	// fragment with its sample among its first pstep bytes has one of
	// the two whole inside it (the sample's gram starts k bytes into
	// the fragment: k+4+pq <= fragMin, or k >= 4).
	y := next(b, x, 4)
	g2, ok2 := gramAt(b, y)
	if !ok2 || !p.bloomHas(bloomKey(g2)) {
		yb, nb := back(b, skipBreaks(b, x), 4, lo)
		if nb < 4 {
			return 0, 0, 0, 0, false, !ok2 && !final
		}
		if g3, ok3 := gramAt(b, yb); !ok3 || !p.bloomHas(bloomKey(g3)) {
			return 0, 0, 0, 0, false, !ok2 && !final
		}
	}
	if !final && next(b, x, fragMin+pg) >= len(b) {
		return 0, 0, 0, 0, false, true
	}
	best := 0
	y0, nb := back(b, skipBreaks(b, x), pg-1, lo)
	for t, y := 0, y0; t < nb+pg && y < len(b); t, y = t+1, next(b, y, 1) {
		g, full := gramAt(b, y)
		if !full {
			break
		}
		if !p.bloomHas(bloomKey(g)) {
			continue
		}
		g = foldWord(g)
		for h := (g * hashMul1) >> p.tshift; p.table[h] != 0; h = (h + 1) & (uint64(len(p.table)) - 1) {
			e := p.table[h] - 1
			ti, o := int(e>>32), int(uint32(e))
			tx := p.texts[ti]
			if binary.LittleEndian.Uint64(tx[o:]) != g {
				continue
			}
			s, j0 := extendBack(b, y, lo, tx, o)
			e2, j1, _ := extendFwd(b, y, tx, o) // an undecided tail is taken up as a match that may go on
			if n := j1 - j0; n >= fragMin && n > best {
				best = n
				start, end, text, toff, ok = s, e2, ti, j1, true
			}
		}
	}
	return
}

// clearSamples returns the first sample from x on (x, x+pstep, …) that
// seed must look at: one whose gram the Bloom filter holds, or too close
// to the end of b to gather a gram here. Every sample before it is ruled
// out as seed would rule it out: this is the common case inlined, a sample
// with a line break (one in a dozen in log text) gathered in place.
func (p *pieces) clearSamples(b []byte, x int) int {
	for ; x+8 <= len(b); x += pstep {
		v := binary.LittleEndian.Uint64(b[x:])
		if hasBreak(v, ^uint64(0)) {
			var ok bool
			if v, ok = gatherFast(b, x, v, pq, ^uint64(0)); !ok {
				return x
			}
		}
		if p.bloomHas(bloomKey(v)) {
			return x
		}
	}
	return x
}

// next returns the position n bytes (not line breaks) after i.
func next(b []byte, i, n int) int {
	for i < len(b) {
		if !isSkip(b[i]) {
			if n == 0 {
				return i
			}
			n--
		}
		i++
	}
	return i
}

func skipBreaks(b []byte, i int) int { return next(b, i, 0) }

// back returns the position n bytes (not line breaks) before i, not
// below lo, and how many it went back (fewer than n at lo).
func back(b []byte, i, n, lo int) (int, int) {
	moved := 0
	for k := i - 1; k >= lo && moved < n; k-- {
		if !isSkip(b[k]) {
			i, moved = k, moved+1
		}
	}
	return i, moved
}

// extendBack walks back from stream position y (matching text offset o)
// while the stream agrees with the text, not below lo. It returns the
// stream position and text offset where the agreement starts.
//
// A run of fewer than tailMin agreeing bytes before the first line break
// it crosses is not taken unless the stream plainly starts there (the
// text's start, the stream's, or a byte no value form holds): such a run
// is as likely the end of whatever was printed on the line before (another
// secret), and taking it would hide that secret from the later stages.
func extendBack(b []byte, y, lo int, tx []byte, o int) (int, int) {
	i, j := y, o
	brk, bj, run := -1, 0, 0
	k := y - 1
	for ; k >= lo && j > 0; k-- {
		if isSkip(b[k]) {
			if brk < 0 || run > 0 {
				brk, bj, run = k+1, j, 0
			}
			continue
		}
		if foldTab[b[k]] != tx[j-1] {
			break
		}
		i, j = k, j-1
		if brk >= 0 {
			run++
		}
	}
	if brk >= 0 && run > 0 && run < tailMin && j > 0 && (k < lo || k >= 0 && mayContinue(b[k])) {
		return skipBreaks(b, brk), bj
	}
	return i, j
}

// extendAll is extendFwd taking every agreeing byte (the stream ended).
func extendAll(b []byte, y int, tx []byte, o int) (int, int) {
	end, j := y, o
	for k := y; k < len(b) && j < len(tx); k++ {
		if isSkip(b[k]) {
			continue
		}
		if foldTab[b[k]] != tx[j] {
			break
		}
		j++
		end = k + 1
	}
	return end, j
}

// tailMin is the shortest run past a line break that a match extends by
// when the stream goes on with bytes a value could hold (extendFwd,
// extendBack).
const tailMin = 4

// mayContinue reports whether c could be a byte of one of a value's forms
// (raw text, base64, hex, PEM): a match that stops at such a byte after a
// short run past a line break does not take the run.
func mayContinue(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '+' || c == '/' || c == '=' || c == '-' || c == '_' || c == '.'
}

// extendFwd walks forward from stream position y (text offset o) while
// the stream agrees with the text, and returns the position after the last
// agreeing byte and the text offset reached.
//
// A run of fewer than tailMin agreeing bytes after the last line break it
// crosses is not taken when the stream goes on with a byte a value could
// hold (mayContinue): it is as likely the start of what is printed on the
// next line (another secret). When the run reaches the end of b instead,
// more reports that the next write decides; the caller that knows the
// stream ended (final) takes the run.
func extendFwd(b []byte, y int, tx []byte, o int) (end, j int, more bool) {
	end, j = y, o
	brk, bj, run := -1, 0, 0
	k := y
	for ; k < len(b) && j < len(tx); k++ {
		if isSkip(b[k]) {
			if brk < 0 || run > 0 {
				brk, bj, run = k, j, 0
			}
			continue
		}
		if foldTab[b[k]] != tx[j] {
			break
		}
		j++
		end = k + 1
		if brk >= 0 {
			run++
		}
	}
	if brk >= 0 && run > 0 && run < tailMin && j < len(tx) {
		if k == len(b) {
			return brk, bj, true
		}
		if mayContinue(b[k]) {
			return brk, bj, false
		}
	}
	return end, j, false
}

// pieceWriter is the piece stage of a Writer: it scrubs large values out
// of the stream and writes the rest to dst (the automaton stages).
type pieceWriter struct {
	m   *Matcher
	p   *pieces
	dst io.Writer

	// buf holds the bytes not yet written: up to pstep-1 before the next
	// sample, plus line breaks after a match that may go on.
	buf  []byte
	scan int // next sample, in buf

	// A match that reached the end of the last write: text mt, next
	// expected offset mo; the stream bytes that agree are dropped.
	inMatch bool
	mt, mo  int

	out []byte
	err error

	abs     int // stream offset of buf[0]
	onMatch func(secret int32, start, end int)
}

func (w *pieceWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n := len(p)
	if len(w.buf) > 0 {
		// The held tail and the start of p, together: once what is left
		// of them lies inside p, the rest of p is scanned where it is,
		// without copying every byte into buf.
		j := min(len(p), junction)
		w.buf = append(w.buf, p[:j]...)
		k := w.process(w.buf, false)
		left := len(w.buf) - k
		if left > j || j == len(p) {
			w.buf = append(w.buf[:copy(w.buf, w.buf[k:])], p[j:]...)
			k = w.process(w.buf, false)
			w.buf = w.buf[:copy(w.buf, w.buf[k:])]
			return n, w.err
		}
		w.buf = w.buf[:0]
		p = p[j-left:]
	}
	k := w.process(p, false)
	w.buf = append(w.buf[:0], p[k:]...)
	if w.err != nil {
		return 0, w.err
	}
	return n, nil
}

// junction is how much of a write is joined to the held tail before the
// rest is scanned in place: more than a sample needs to be decided.
const junction = 4 * (fragMin + pg + pstep)

// process consumes b, the held tail and what followed; with final,
// everything is decided and written. It returns the offset in b of the
// bytes it holds back, for the caller to keep in buf.
func (w *pieceWriter) process(b []byte, final bool) int {
	done, x := 0, w.scan
	for {
		if w.inMatch {
			tx := w.p.texts[w.mt]
			end, j, more := extendFwd(b, x, tx, w.mo)
			if more && final {
				end, j = extendAll(b, x, tx, w.mo)
			}
			done, x = end, end
			if j < len(tx) && (more || skipBreaks(b, end) == len(b)) && !final {
				w.mo = j // agreed up to the end of the write: may go on
				break
			}
			w.inMatch = false
			continue
		}
		x = w.p.clearSamples(b, x)
		if x >= len(b) {
			break
		}
		s, e, t, o, ok, wait := w.p.seed(b, x, max(done, x-pstep+1), final)
		if wait {
			break
		}
		if !ok {
			x += pstep
			continue
		}
		w.put(b[done:s])
		w.put(w.m.markers[w.p.sec[t]])
		if w.onMatch != nil {
			w.onMatch(w.p.sec[t], w.abs+s, w.abs+e)
		} else {
			w.m.hit(int(w.p.sec[t]))
		}
		done, x = e, e
		if o < len(w.p.texts[t]) {
			w.inMatch, w.mt, w.mo = true, t, o
		}
	}
	keep := max(done, x-pstep+1)
	if final {
		keep = len(b)
		w.inMatch = false
	}
	keep = max(keep, len(b)-pieceHold)
	keep = min(keep, len(b))
	w.put(b[done:max(done, keep)])
	w.abs += keep
	w.scan = max(0, x-keep)
	w.flush()
	return keep
}

func (w *pieceWriter) put(b []byte) {
	if len(b) >= directSize {
		w.flush()
		w.write(b)
		return
	}
	w.out = append(w.out, b...)
	if len(w.out) >= outSize {
		w.flush()
	}
}

func (w *pieceWriter) flush() {
	if len(w.out) > 0 {
		w.write(w.out)
		w.out = w.out[:0]
	}
}

func (w *pieceWriter) write(b []byte) {
	if w.err != nil {
		return
	}
	n, err := w.dst.Write(b)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		w.err = fmt.Errorf("write scrubbed output: %w", err)
	}
}

// Flush decides and writes everything held.
func (w *pieceWriter) Flush() error {
	if w.err != nil {
		return w.err
	}
	w.process(w.buf, true)
	w.buf, w.scan = w.buf[:0], 0
	return w.err
}

func (w *pieceWriter) buffered() int { return len(w.buf) }
