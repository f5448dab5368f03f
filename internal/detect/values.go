package detect

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"

	"github.com/envseal/envseal/internal/redact"
)

// ValueHit is an occurrence of a known secret's value (raw or in one of
// redact's encodings) in a blob: the secret's name and the byte offset the
// occurrence starts at. Never the value.
type ValueHit struct {
	Name   string `json:"name"`
	Offset int    `json:"offset"`
}

// MaxValueHits bounds the hits FindValues reports; the rest are counted
// only (a blob made of one value repeated a million times is not worth a
// million lines).
const MaxValueHits = 1000

// valueChunk is how much FindValues hands the scrubber per Write; a chunk
// with one hit yields its exact offset at no extra cost.
const valueChunk = 16 << 10

// FindValues reports where the values of secrets occur in data, using the
// same automaton and encodings as the output scrubber (internal/redact), so
// the pre-commit hook blocks exactly what `envseal run` would redact. It
// returns at most MaxValueHits hits, in order, and the total count.
//
// redact only replaces; offsets are recovered from its output: each secret
// is given a random marker name for this call, which data cannot contain,
// so every marker in the output is a replacement, and the bytes around it
// are data's own. Where one Write yields two or more markers, each match's
// length is the longest its secret's patterns allow at that offset, found
// by replaying candidates through the same matcher.
func FindValues(secrets []redact.Secret, data []byte) ([]ValueHit, int, error) {
	if len(secrets) == 0 || len(data) == 0 {
		return nil, 0, nil
	}
	var tag []byte
	for {
		var b [12]byte
		rand.Read(b[:])
		tag = []byte("[envseal:x" + hex.EncodeToString(b[:]) + "-")
		if !bytes.Contains(data, tag) {
			break
		}
	}
	renamed := make([]redact.Secret, len(secrets))
	for i, s := range secrets {
		renamed[i] = redact.Secret{Name: string(tag[len("[envseal:"):]) + strconv.Itoa(i), Value: s.Value}
	}
	m, err := redact.NewMatcher(renamed)
	if err != nil {
		return nil, 0, err
	}
	f := &finder{m: m, data: data, tag: tag, secrets: secrets, maxPat: m.MaxDelay() + 1}
	if err := f.run(); err != nil {
		return nil, 0, err
	}
	return f.hits, f.total, nil
}

type finder struct {
	m       *redact.Matcher
	data    []byte
	tag     []byte
	secrets []redact.Secret
	maxPat  int

	out   bytes.Buffer
	hits  []ValueHit
	total int
	probe *redact.Writer
	pbuf  bytes.Buffer
}

func (f *finder) run() error {
	w := f.m.NewWriter(&f.out)
	defer w.Close()
	c0 := 0 // data offset of the first byte not yet written out
	for fed := 0; fed < len(f.data); {
		n := min(valueChunk, len(f.data)-fed)
		if _, err := w.Write(f.data[fed : fed+n]); err != nil {
			return err
		}
		fed += n
		c1 := fed - w.Buffered()
		if err := f.step(c0, c1); err != nil {
			return err
		}
		c0 = c1
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.step(c0, len(f.data))
}

// step accounts for the output produced while data[c0:c1] was consumed.
func (f *finder) step(c0, c1 int) error {
	out := f.out.Bytes()
	defer f.out.Reset()
	if !bytes.Contains(out, f.tag) {
		return nil
	}
	// Split into literal pieces and markers: out = A0 M0 A1 M1 … An.
	var pieces [][]byte
	var ids []int
	for {
		i := bytes.Index(out, f.tag)
		if i < 0 {
			pieces = append(pieces, out)
			break
		}
		j := bytes.IndexByte(out[i:], ']')
		id, err := strconv.Atoi(string(out[i+len(f.tag) : i+j]))
		if j < 0 || err != nil || id < 0 || id >= len(f.secrets) {
			return errors.New("value scan: malformed marker")
		}
		pieces = append(pieces, out[:i])
		ids = append(ids, id)
		out = out[i+j+1:]
	}
	pos := c0 + len(pieces[0])
	for k, id := range ids {
		f.record(id, pos)
		if k == len(ids)-1 {
			break
		}
		l := f.matchLen(id, pos, pieces[k+1], k+1 == len(ids)-1, c1-len(pieces[len(pieces)-1]))
		if l < 0 {
			return errors.New("value scan: could not place a match")
		}
		pos += l + len(pieces[k+1])
	}
	return nil
}

func (f *finder) record(id, pos int) {
	f.total++
	if len(f.hits) < MaxValueHits {
		f.hits = append(f.hits, ValueHit{Name: f.secrets[id].Name, Offset: pos})
	}
}

// matchLen is the length of the match of secret id at pos, followed in
// data by the literal piece next: the longest L for which data[pos:pos+L]
// alone is replaced by exactly that secret's marker.
func (f *finder) matchLen(id, pos int, next []byte, nextIsLast bool, lastEnd int) int {
	if f.probe == nil {
		f.probe = f.m.NewWriter(&f.pbuf)
	}
	marker := string(f.tag) + strconv.Itoa(id) + "]"
	for l := min(f.maxPat, len(f.data)-pos); l >= redact.MinLen; l-- {
		e := pos + l
		if !bytes.HasPrefix(f.data[e:], next) {
			continue
		}
		if nextIsLast && e+len(next) > lastEnd {
			continue
		}
		f.pbuf.Reset()
		f.probe.Write(f.data[pos:e])
		f.probe.Flush()
		if f.pbuf.String() == marker {
			return l
		}
	}
	return -1
}
