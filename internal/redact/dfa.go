package redact

import (
	"bytes"
	"errors"
	"fmt"
)

// maxEntries caps the transition table (4 bytes an entry, so 128 MiB): the
// table grows with total pattern bytes × distinct bytes, and a multi-megabyte
// "secret" must fail loudly rather than exhaust memory mid-run.
const maxEntries = 1 << 25

// dfa is an Aho–Corasick automaton with its failure links folded into a
// dense transition table, so the scanner does exactly one lookup per byte
// whatever the number of patterns.
//
// Bytes are first mapped to classes (every byte that occurs in no pattern
// shares class 0), which keeps a row to ~70 entries for typical values
// instead of 256. State ids are premultiplied by the row length, so the hot
// loop is s = trans[s+cls[b]] with no multiplication. States in which some
// pattern ends ("match states") are numbered first, so "did we just
// complete a match?" is the single comparison s < matchLim.
//
// In trans every match state only leads to itself. A scan that only needs
// to know whether the buffer is free of matches (almost always the answer)
// then checks once at the end of the buffer instead of after every byte;
// the real rows of the match states, needed to keep going after a match,
// are in matchTrans.
type dfa struct {
	trans      []uint32
	matchTrans []uint32
	cls        [256]uint32
	stride     uint32
	skip       uint32 // the class of '\r' and '\n', which every state ignores
	root       uint32
	matchLim   uint32
	states     int
	maxLen     int
	filter     *qfilter
	pairs      *softPairs // a soft stage's (see Writer.softMay)

	// Per state, indexed by id/stride.
	// ext is how many trailing bytes must be held back in this state: the
	// depth of the deepest suffix state that can still be extended. Bytes
	// before that cannot begin any pattern, so they may be emitted.
	ext []int32
	// outLen and outSec describe the longest pattern ending in this state
	// (found through the failure chain): it has the earliest start of all
	// patterns ending here, which is all leftmost-longest needs.
	outLen []int32
	outSec []int32
}

func (d *dfa) build(pats []pattern) error {
	total := d.classes(pats)
	if uint64(total)*uint64(d.stride) > maxEntries {
		return fmt.Errorf("%w: %d patterns, %d bytes in all (limit %d table entries)", ErrTooLarge, len(pats), total-1, maxEntries)
	}
	t := d.trie(pats, total)
	t.link(pats)
	d.place(t)
	d.filter = newQFilter(pats)
	d.absorb()
	return d.verify()
}

// classes maps the bytes of pats to classes, sets stride (the row
// length) and maxLen, and returns the trie's size bound: one state per
// pattern byte, and the root.
func (d *dfa) classes(pats []pattern) int {
	used := [256]bool{}
	total := 1
	for _, p := range pats {
		total += len(p.text)
		d.maxLen = max(d.maxLen, len(p.text))
		for _, b := range p.text {
			used[b] = true
		}
	}
	// Class 1 is '\r' and '\n': patterns never contain them (patternsFor
	// squeezes them out) and every state loops on them, so an encoding
	// wrapped at any column, with \n or \r\n, is the same walk as the
	// unwrapped one.
	d.skip = 1
	d.cls['\r'], d.cls['\n'] = d.skip, d.skip
	stride := uint32(2)
	for b := range 256 {
		if used[b] && !isSkip(byte(b)) {
			d.cls[b] = stride
			stride++
		}
	}
	d.stride = stride
	return total
}

// trieRows is the automaton under construction: the trie as dense goto
// rows (0 means "no edge": no edge leads to the root), then, after link,
// with the failure links folded in and each state's output and hold-back.
type trieRows struct {
	g        []uint32
	stride   uint32
	depth    []int32
	term     []int32 // pattern index ending exactly here
	hasChild []bool

	// Set by link.
	order  []uint32 // breadth-first
	ext    []int32
	outLen []int32
	outSec []int32
}

// trie builds the goto rows of pats.
func (d *dfa) trie(pats []pattern, total int) *trieRows {
	stride := d.stride
	t := &trieRows{
		g:        make([]uint32, stride, uint64(total)*uint64(stride)),
		stride:   stride,
		depth:    []int32{0},
		term:     []int32{-1},
		hasChild: []bool{false},
	}
	for pi, p := range pats {
		n := uint32(0)
		for _, b := range p.text {
			e := n*stride + d.cls[b]
			if t.g[e] == 0 {
				t.g[e] = uint32(len(t.depth))
				t.g = append(t.g, make([]uint32, stride)...)
				t.hasChild[n] = true
				t.depth = append(t.depth, t.depth[n]+1)
				t.term = append(t.term, -1)
				t.hasChild = append(t.hasChild, false)
			}
			n = t.g[e]
		}
		t.term[n] = int32(pi)
	}
	d.states = len(t.depth)
	return t
}

// link goes breadth-first: it folds the failure links into the rows, and
// derives each state's output and hold-back from its failure state, which
// is shallower and therefore already final.
func (t *trieRows) link(pats []pattern) {
	states, stride, g := len(t.depth), t.stride, t.g
	fail := make([]uint32, states)
	t.ext = make([]int32, states)
	t.outLen = make([]int32, states)
	t.outSec = make([]int32, states)
	t.order = append(make([]uint32, 0, states), 0)
	for qi := 0; qi < len(t.order); qi++ {
		s := t.order[qi]
		f := fail[s]
		row := g[s*stride : (s+1)*stride]
		frow := g[f*stride : (f+1)*stride]
		for c := range row {
			child := row[c]
			switch {
			case child != 0:
				if s != 0 {
					fail[child] = frow[c]
				}
				t.order = append(t.order, child)
			case s != 0:
				row[c] = frow[c]
			}
		}
		switch {
		case t.term[s] >= 0:
			t.outLen[s] = t.depth[s]
			t.outSec[s] = int32(pats[t.term[s]].secret)
		case s != 0:
			t.outLen[s], t.outSec[s] = t.outLen[f], t.outSec[f]
		}
		switch {
		case t.hasChild[s]:
			t.ext[s] = t.depth[s]
		case s != 0:
			t.ext[s] = t.ext[f]
		}
	}
}

// place renumbers the states, match states first, premultiplies the
// entries and moves the rows into place by swapping along the
// permutation's cycles, so the table is never held twice; it sets trans,
// root, matchLim and the per-state arrays.
//
// States are numbered in the trie's depth-first order: the rows a walk
// along one pattern visits (an occurrence being matched) then lie one
// after the other, where the breadth-first order put each a whole layer
// of the trie apart, a cache miss a byte.
func (d *dfa) place(t *trieRows) {
	states, stride := d.states, d.stride
	newID := make([]uint32, states)
	next := uint32(0)
	pre := t.preorder()
	if len(pre) != states {
		pre = t.order // cannot happen (see preorder); the old order is as correct
	}
	for _, want := range []bool{true, false} {
		for _, s := range pre {
			if (t.outLen[s] > 0) == want {
				newID[s] = next
				next++
			}
		}
	}
	g := t.g[:uint64(states)*uint64(stride)]
	for i, e := range g {
		g[i] = newID[e] * stride
	}
	d.ext = make([]int32, states)
	d.outLen = make([]int32, states)
	d.outSec = make([]int32, states)
	nMatch := uint32(0)
	for s := range states {
		n := newID[s]
		d.ext[n], d.outLen[n], d.outSec[n] = t.ext[s], t.outLen[s], t.outSec[s]
		if t.outLen[s] > 0 {
			nMatch++
		}
	}
	d.root = newID[0] * stride
	perm := newID
	for i := range uint32(states) {
		for perm[i] != i {
			j := perm[i]
			a, b := g[i*stride:(i+1)*stride], g[j*stride:(j+1)*stride]
			for c := range a {
				a[c], b[c] = b[c], a[c]
			}
			perm[i], perm[j] = perm[j], perm[i]
		}
	}
	for i := uint32(0); i < uint32(states); i++ {
		g[i*stride+d.skip] = i * stride
	}
	d.trans = g
	d.matchLim = nMatch * stride
}

// preorder lists the states depth first (a state, then each of its
// subtries), from the rows after link: a state's trie children are the
// entries one deeper than it, as a folded failure transition never leads
// deeper than the state it leaves.
func (t *trieRows) preorder() []uint32 {
	stride := t.stride
	out := make([]uint32, 0, len(t.depth))
	stack := []uint32{0}
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		out = append(out, s)
		row := t.g[s*stride : (s+1)*stride]
		for c := len(row) - 1; c >= 0; c-- {
			if child := row[c]; child != 0 && t.depth[child] == t.depth[s]+1 {
				stack = append(stack, child)
			}
		}
	}
	return out
}

// absorb keeps the match states' real rows in matchTrans and makes each
// of them lead only to itself in trans (see dfa).
func (d *dfa) absorb() {
	d.matchTrans = make([]uint32, d.matchLim)
	copy(d.matchTrans, d.trans)
	for i := range d.matchLim {
		d.trans[i] = i / d.stride * d.stride
	}
}

// isSkip reports whether b is one of the line-break bytes every pattern
// walks through as if it were not there.
func isSkip(b byte) bool { return b == '\n' || b == '\r' }

// squeeze returns b without its line-break bytes (b itself if it has none).
func squeeze(b []byte) []byte {
	if !bytes.ContainsAny(b, "\r\n") {
		return b
	}
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if !isSkip(c) {
			out = append(out, c)
		}
	}
	return out
}

// verify checks what walkLanes relies on to skip bounds checks: every
// entry plus any class stays inside trans. A failure is a bug here, and the
// run must not go ahead with an unchecked scanner.
func (d *dfa) verify() error {
	lastRow := uint32(len(d.trans)) - d.stride
	for _, tab := range [][]uint32{d.trans, d.matchTrans} {
		for _, e := range tab {
			if e > lastRow {
				return errors.New("redact: internal error: transition table self-check failed")
			}
		}
	}
	for _, c := range d.cls {
		if c >= d.stride {
			return errors.New("redact: internal error: byte class self-check failed")
		}
	}
	return nil
}

// next is the true transition, for scans that go on past a match.
func (d *dfa) next(s uint32, c byte) uint32 {
	if s < d.matchLim {
		return d.matchTrans[s+d.cls[c]]
	}
	return d.trans[s+d.cls[c]]
}

// softPairs are the bytes around each '=' inside a soft stage's patterns:
// a soft break "X=\nN" can be inside an occurrence only if "X=N" is in a
// pattern, or a pattern starts with "=N".
type softPairs struct {
	pair  [1 << 10]uint64 // bit X<<8 | N
	first [4]uint64       // bit N
}

func newSoftPairs(pats []pattern) *softPairs {
	sp := &softPairs{}
	for _, p := range pats {
		t := p.text
		for j := 0; j+1 < len(t); j++ {
			if t[j] != '=' {
				continue
			}
			n := uint(t[j+1])
			if j == 0 {
				sp.first[n>>6] |= 1 << (n & 63)
				continue
			}
			x := uint(t[j-1])<<8 | n
			sp.pair[x>>6] |= 1 << (x & 63)
		}
	}
	return sp
}

func (sp *softPairs) may(x, n byte) bool {
	k := uint(x)<<8 | uint(n)
	return sp.pair[k>>6]&(1<<(k&63)) != 0 || sp.first[n>>6]&(1<<(n&63)) != 0
}
