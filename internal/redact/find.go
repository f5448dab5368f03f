package redact

import (
	"io"
	"slices"
)

// Match is one occurrence Find reports: the secret's name and the byte
// span of data it covers. Never the value.
type Match struct {
	Name       string
	Start, End int
}

// Find returns where the Writer would replace a secret in data, in order:
// what the pre-commit hook blocks is then exactly what `envseal run`
// scrubs. Each stage runs over data itself (so every offset is data's),
// and an occurrence found by two stages (a value and its dump line, say)
// is reported once, as the earlier, longer one. It does not count hits
// or call OnHit: Find is a question, not output that leaked.
func (m *Matcher) Find(data []byte) []Match {
	var found []Match
	rec := func(sec int32, start, end int) {
		found = append(found, Match{Name: m.names[sec], Start: start, End: end})
	}
	feed := func(w io.Writer, flush func() error) {
		for i := 0; i < len(data); i += 64 << 10 {
			w.Write(data[i:min(i+64<<10, len(data))])
		}
		flush()
	}
	if m.maxLen > 0 {
		w := newStage(m, &m.dfa, io.Discard)
		w.onMatch = rec
		feed(w, w.Flush)
	}
	for _, g := range m.gated {
		w := newStage(m, g.d, io.Discard)
		w.gate, w.reach, w.soft, w.onMatch, w.prevLast = g.gate, g.reach, g.soft, rec, '\n'
		feed(w, w.Flush)
	}
	if m.pieces != nil {
		w := &pieceWriter{m: m, p: m.pieces, dst: io.Discard, onMatch: rec}
		feed(w, w.Flush)
	}
	slices.SortFunc(found, func(a, b Match) int {
		if a.Start != b.Start {
			return a.Start - b.Start
		}
		return b.End - a.End
	})
	out := found[:0]
	end := -1
	for _, f := range found {
		if f.Start < end {
			continue // inside one already reported
		}
		out = append(out, f)
		end = f.End
	}
	return out
}
