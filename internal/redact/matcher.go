package redact

import (
	"errors"
	"fmt"
	"github.com/envseal/envseal/internal/secretname"
	"io"
	"slices"
	"sync/atomic"
)

// Errors returned by NewMatcher. A caller refusing to run the child on any
// of them fails closed: output that cannot be scrubbed is never produced.
var (
	// ErrBadName: the marker "[envseal:NAME]" is printed into the child's
	// output, so a name must not carry terminal escapes, newlines or a ']'
	// that would let output forge or break a marker.
	// The rule is the vault's (internal/secretname).
	ErrBadName = secretname.ErrBadName
	// ErrDuplicateName: hit counts are keyed by name; two secrets with one
	// name would make the audit record ambiguous.
	ErrDuplicateName = errors.New("duplicate secret name")
	// ErrTooLarge: the automaton for these values would exceed maxEntries.
	ErrTooLarge = errors.New("secrets too large to scrub")
	// ErrClosed is returned by Write after Close.
	ErrClosed = errors.New("redact: write after close")
)

// Matcher is the automaton for one run's secrets. It is immutable once
// built except for its hit counters, and is safe for concurrent use by any
// number of Writers (typically the child's stdout and stderr).
type Matcher struct {
	dfa
	// pieces finds the large values (see pieces.go), in a first stage.
	pieces *pieces
	// gated are the stages after the main automaton: the main
	// automaton's further parts when its values are too many for one
	// table (no gate), then for each gated form, forms that
	// only occur right after a gate string (see gatedForms): their
	// patterns are many, long or short, and would slow the main
	// automaton's sampling filter for all output.
	gated   []gatedStage
	names   []string
	markers [][]byte
	hits    []atomic.Int64
	onHit   func(name string)
	npat    int
	noDump  bool // tests that compare with the one-stage reference
}

// Option configures a Matcher.
type Option func(*Matcher)

// OnHit registers fn to be called once per replaced occurrence with the
// name of the secret, synchronously in the goroutine calling Write, before
// that Write returns. `envseal run --on-leak kill` uses it to kill the child
// on the first leak. Writers for different streams may call fn
// concurrently; fn must not call back into the Writer.
func OnHit(fn func(name string)) Option { return func(m *Matcher) { m.onHit = fn } }

// NewMatcher compiles the automaton for secrets. Values shorter than MinLen
// are ignored (see TooShort). When two secrets share a pattern (equal
// values, say) the occurrence is attributed to the one listed first.
func NewMatcher(secrets []Secret, opts ...Option) (*Matcher, error) {
	seen := make(map[string]bool, len(secrets))
	m := &Matcher{
		names:   make([]string, len(secrets)),
		markers: make([][]byte, len(secrets)),
		hits:    make([]atomic.Int64, len(secrets)),
	}
	for i, s := range secrets {
		if err := secretname.Valid(s.Name); err != nil {
			return nil, err
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("%w: %q", ErrDuplicateName, s.Name)
		}
		seen[s.Name] = true
		m.names[i] = s.Name
		m.markers[i] = []byte("[envseal:" + s.Name + "]")
	}
	for _, o := range opts {
		o(m)
	}
	small, pats := route(secrets)
	plans, err := m.plan(small, pats)
	if err != nil {
		return nil, err
	}
	for _, p := range plans[1:] {
		st := gatedStage{d: new(dfa), gate: p.gate, reach: p.reach, soft: p.soft}
		if err := st.d.build(p.pats); err != nil {
			return nil, err
		}
		if p.soft {
			st.d.pairs = newSoftPairs(p.pats)
		}
		m.gated = append(m.gated, st)
		m.npat += len(p.pats)
	}
	var texts [][]byte
	var tsec []int32
	for i, s := range secrets {
		if len(small[i].Value) == 0 && len(s.Value) >= MinLen {
			for _, t := range pieceTexts(s.Value) {
				texts = append(texts, t)
				tsec = append(tsec, int32(i))
			}
		}
	}
	m.pieces = newPieces(texts, tsec)
	m.npat += len(plans[0].pats) + len(texts)
	if err := m.dfa.build(plans[0].pats); err != nil {
		return nil, err
	}
	return m, nil
}

// stagePlan is one automaton to build: the main one (plans[0]), or a
// stage after it, with its gate (nil: none).
type stagePlan struct {
	pats  []pattern
	gate  []byte
	reach int
	soft  bool
}

// maxTotal caps the table entries of all of a matcher's automata (4 bytes
// each, so 512 MiB, what four automata at maxEntries took before a table
// could be split): a run with hundreds of short secrets fails at once,
// saying so, rather than taking the machine's memory.
const maxTotal = 1 << 27

// plan lists the automata for the values left in small: the main one
// (mainPats) and one per gated form, each split by secrets into several
// (see split) when its table would exceed dfaBudget.
func (m *Matcher) plan(small []Secret, mainPats []pattern) ([]stagePlan, error) {
	var plans []stagePlan
	for _, pats := range split(small, encodings, mainPats) {
		plans = append(plans, stagePlan{pats: pats})
	}
	if !m.noDump {
		for _, g := range gatedForms {
			var gate []byte
			if g.gate != "" {
				gate = []byte(g.gate)
			}
			for _, pats := range split(small, g.forms, nil) {
				if len(pats) > 0 {
					plans = append(plans, stagePlan{pats: pats, gate: gate, reach: g.reach, soft: g.soft})
				}
			}
		}
	}
	total, live := 0, 0
	for _, p := range plans {
		total += tableSize(p.pats)
	}
	for _, s := range small {
		if len(s.Value) >= MinLen {
			live++
		}
	}
	if total > maxTotal {
		return nil, fmt.Errorf("%w: %d values under %d bytes need %d MiB of tables in all (limit %d MiB)",
			ErrTooLarge, live, LargeValue, total>>18, maxTotal>>18)
	}
	return plans, nil
}

// split returns the patterns of forms for the values in small (pats, if
// given, are those already), as one group, or when their table would
// exceed dfaBudget, as groups of fewer secrets each: each group is an
// automaton of its own, one more stage, so that no number of values fails
// on one table's size (maxTotal still caps them all). Secret indices stay
// those of small. A single value's patterns are never split.
func split(small []Secret, forms func([]byte) [][]byte, pats []pattern) [][]pattern {
	if pats == nil {
		pats = patternsFor(small, forms)
	}
	var live []int
	for i, s := range small {
		if len(s.Value) >= MinLen {
			live = append(live, i)
		}
	}
	if tableSize(pats) <= dfaBudget || len(live) <= 1 {
		return [][]pattern{pats}
	}
	h := live[len(live)/2]
	a, b := slices.Clone(small), slices.Clone(small)
	for i := range small {
		if i < h {
			b[i].Value = nil
		} else {
			a[i].Value = nil
		}
	}
	return append(split(a, forms, nil), split(b, forms, nil)...)
}

// Fresh returns a matcher that shares m's automaton but counts its own
// hits and takes its own options (OnHit): the automaton for a set of
// values is built once and kept by the caller (the broker, between runs),
// and each run scrubs with a fresh copy. m's own counters are untouched.
func (m *Matcher) Fresh(opts ...Option) *Matcher {
	c := &Matcher{
		dfa: m.dfa, pieces: m.pieces, gated: m.gated, names: m.names, markers: m.markers,
		hits: make([]atomic.Int64, len(m.names)), npat: m.npat, noDump: m.noDump,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

type gatedStage struct {
	d     *dfa
	gate  []byte
	reach int
	soft  bool
}

// gatedForms are the encodings matched by the stages after the main
// automaton. In a gated stage every occurrence starts at most reach bytes
// after the start of gate; a stage without a gate scans everything, with
// a sampling filter of its own, like the main automaton.
var gatedForms = []struct {
	forms func([]byte) [][]byte
	gate  string
	reach int
	soft  bool // the gate is inside the occurrence (see softSkip)
}{
	// Quoted-printable broken by a soft line break: a value's length of
	// patterns each, too many for the main automaton's table, and
	// (unlike the others) with no byte every occurrence starts near.
	{qpSoftForms, "=\n", 0, true},
	{denseEscapes, `\`, 0, false},
	{percentForms, "%", 0, false},
	// xxd, hexdump -C and od -c start each line with its offset (eight
	// or seven digits, the first a 0 below 256 MiB) and show its text
	// column within 128 bytes of the line start (xxd -c 32 is the widest
	// common layout). The stream's start counts as a line start.
	{dumpForms, "\n0", 128, false},
}

// dfaBudget is the table size (entries) above which the largest values
// leave the automaton for the piece stage.
const dfaBudget = 1 << 23

// route decides which secrets the automaton matches: all values shorter
// than pieceMin, unless their table would exceed dfaBudget, in which case
// the longest of them (down to fragMin bytes) go to the piece stage too.
// It returns secrets with the others' values left out, and the patterns.
func route(secrets []Secret) ([]Secret, []pattern) {
	small := slices.Clone(secrets)
	for i := range small {
		if len(small[i].Value) >= pieceMin {
			small[i].Value = nil
		}
	}
	for {
		pats := patternsFor(small, encodings)
		if tableSize(pats) <= dfaBudget {
			return small, pats
		}
		big := -1
		for i, s := range small {
			if len(s.Value) >= fragMin && (big < 0 || len(s.Value) > len(small[big].Value)) {
				big = i
			}
		}
		if big < 0 {
			return small, pats // build reports ErrTooLarge if it must
		}
		small[big].Value = nil
	}
}

// tableSize is what dfa.build will allocate for pats, in entries.
func tableSize(pats []pattern) int {
	var used [256]bool
	total, classes := 1, 2
	for _, p := range pats {
		total += len(p.text)
		for _, b := range p.text {
			if !used[b] {
				used[b] = true
				classes++
			}
		}
	}
	return total * classes
}

// MaxDelay is the most bytes a Writer holds back between two Writes, or 0
// when nothing is scrubbed: the longest pattern minus one, with room for a
// "\r\n" after each of its bytes (patterns are matched across line
// breaks, see package doc).
func (m *Matcher) MaxDelay() int {
	n := m.holdCap()
	if m.pieces != nil {
		n += pieceHold
	}
	for _, g := range m.gated {
		n += g.d.holdCap()
	}
	return n
}

func (d *dfa) holdCap() int {
	if d.maxLen == 0 {
		return 0
	}
	return 3 * (d.maxLen - 1)
}

// Hits returns, for each secret replaced at least once by any Writer of m,
// the number of occurrences replaced so far. It is safe to call while
// Writers are running; the map is a fresh snapshot.
func (m *Matcher) Hits() map[string]int {
	h := make(map[string]int)
	for i := range m.hits {
		if n := m.hits[i].Load(); n > 0 {
			h[m.names[i]] = int(n)
		}
	}
	return h
}

func (m *Matcher) hit(secret int) {
	m.hits[secret].Add(1)
	if m.onHit != nil {
		m.onHit(m.names[secret])
	}
}

// String describes the matcher by its size; the automaton encodes the
// values, so it is never printed. Value receivers cover a dereferenced
// Matcher too.
func (m Matcher) String() string {
	return fmt.Sprintf("redact.Matcher{secrets: %d, patterns: %d, states: %d}", len(m.names), m.npat, m.states)
}

// Format keeps %v, %+v, %#v and friends from dumping the transition table.
func (m Matcher) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, m.String()) }
