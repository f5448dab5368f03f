package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
)

// MinLen is the shortest value, and the shortest encoded form of a value,
// that is scrubbed. Anything shorter would match ordinary output so often
// that the markers themselves would reveal it.
const MinLen = 6

// Secret is a value handed to the child, and the name its occurrences are
// replaced with.
//
// Secret formats as its name only: a Secret passed to a logger or a test
// failure message never prints its value.
type Secret struct {
	Name  string
	Value []byte
}

// String returns a description naming the secret, never its value.
func (s Secret) String() string { return "redact.Secret{" + s.Name + "}" }

// GoString is String, so %#v does not print the value either.
func (s Secret) GoString() string { return s.String() }

// Format implements fmt.Formatter so that every verb (%x and %d included,
// which would otherwise print the struct's fields) yields the name only.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// TooShort returns the names of the secrets whose values are shorter than
// MinLen and therefore will not be scrubbed from the child's output, so the
// approval text can warn about them.
func TooShort(secrets []Secret) []string {
	var names []string
	for _, s := range secrets {
		if len(s.Value) < MinLen {
			names = append(names, s.Name)
		}
	}
	return names
}

// pattern is one byte string to replace, and the index of the secret it
// encodes. It lives only while the automaton is built (and in tests).
type pattern struct {
	secret int
	text   []byte
}

// patternsFor expands every secret into its encodings, dropping encodings
// shorter than MinLen and duplicates. When two secrets produce the same
// pattern the one listed first owns it.
func patternsFor(secrets []Secret, encodings func([]byte) [][]byte) []pattern {
	var out []pattern
	seen := make(map[string]bool)
	for i, s := range secrets {
		if len(s.Value) < MinLen {
			continue
		}
		for _, enc := range encodings(s.Value) {
			enc = squeeze(enc)
			if len(enc) < MinLen || seen[string(enc)] {
				continue
			}
			seen[string(enc)] = true
			out = append(out, pattern{secret: i, text: enc})
		}
	}
	return out
}

// encodings returns every form of v the scrubber looks for. Duplicates are
// removed by the caller.
func encodings(v []byte) [][]byte {
	encs := [][]byte{v}
	for _, e := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		encs = append(encs,
			[]byte(e.EncodeToString(v)),
			[]byte(e.WithPadding(base64.NoPadding).EncodeToString(v)))
		encs = append(encs, base64Inner(e.WithPadding(base64.NoPadding), v)...)
	}
	h := hex.EncodeToString(v)
	encs = append(encs, []byte(h), []byte(strings.ToUpper(h)))
	encs = append(encs, []byte(url.QueryEscape(string(v))), []byte(url.PathEscape(string(v))),
		strictEscape(v, false), strictEscape(v, true))
	encs = append(encs, jsonEscape(v, true), jsonEscape(v, false))
	encs = append(encs, escapeForms(v)...)
	return slices.DeleteFunc(encs, func(e []byte) bool { return len(e) == 0 })
}

// base64Inner returns, for each of the three byte offsets (0, 1, 2 mod 3)
// at which v can sit inside a longer base64-encoded blob, the run of
// characters that depends on v's bytes alone. A program that base64-encodes
// a whole config file or an HTTP basic-auth header leaks the value this way,
// and the padded and unpadded encodings of v itself never appear there.
//
// With k bytes before v, v occupies bits [8k, 8k+8n) of the stream and
// character i encodes bits [6i, 6i+6), so the characters fully determined by
// v are those with 6i >= 8k and 6i+6 <= 8k+8n. The neighbours' bits are set
// to zero here; they do not reach the characters kept.
func base64Inner(e *base64.Encoding, v []byte) [][]byte {
	var out [][]byte
	for k := range 3 {
		buf := make([]byte, k+len(v))
		copy(buf[k:], v)
		enc := e.EncodeToString(buf)
		first := (8*k + 5) / 6
		last := (8*k + 8*len(v)) / 6
		if last > first {
			out = append(out, []byte(enc[first:last]))
		}
	}
	return out
}

const (
	upperHex = "0123456789ABCDEF"
	lowerHex = "0123456789abcdef"
)

// strictEscape is RFC 3986 percent-encoding with only the unreserved
// characters left as they are: Python's urllib.parse.quote(v, safe=""),
// JavaScript's encodeURIComponent (which also keeps !'()*, a form the
// scrubber does not know), and with plus, quote_plus (space as '+').
func strictEscape(v []byte, plus bool) []byte {
	var b []byte
	for _, c := range v {
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~':
			b = append(b, c)
		case c == ' ' && plus:
			b = append(b, '+')
		default:
			b = append(b, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return b
}

// percentAll escapes every byte as %XX.
func percentAll(v []byte, digits string) []byte {
	out := make([]byte, 0, 3*len(v))
	for _, b := range v {
		out = append(out, '%', digits[b>>4], digits[b&15])
	}
	return out
}

// jsonEscape returns v as encoding/json writes it inside a string literal,
// without the quotes, with and without its default HTML escaping (other
// JSON encoders leave <, > and & alone).
func jsonEscape(v []byte, escapeHTML bool) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(escapeHTML)
	// Encoding a string cannot fail.
	_ = enc.Encode(string(v))
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return b[1 : len(b)-1]
}
