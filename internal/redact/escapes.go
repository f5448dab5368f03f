package redact

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The quoted forms programs print a string in. Each function returns the
// text between the quotes, as the named tool writes it; the quotes
// themselves are left out so the form also matches inside a longer quoted
// string. A value that needs no escaping yields the raw value, which the
// caller deduplicates.

// escapeForms returns every quoted form of v the scrubber looks for.
func escapeForms(v []byte) [][]byte {
	out := [][]byte{
		// Python repr of bytes.
		pyBytesRepr(v, '\''), pyBytesRepr(v, '"'),
		// bash printf %q, both of its styles.
		shellBackslash(v), shellDollar(v),
		// Quoted-printable (MIME mail bodies, Python quopri), and with
		// trailing white space escaped as it is at the end of a line.
		quotedPrintable(v, false), quotedPrintable(v, true),
	}
	if !utf8.Valid(v) {
		// The string forms below would stand U+FFFD for the invalid
		// bytes: a pattern shared by every binary value.
		return out
	}
	return append(out,
		// Python json.dumps (ensure_ascii), PHP json_encode ('/' escaped),
		// Java and .NET serializers (upper-case hex), node's
		// JSON.stringify (only what JSON requires).
		jsonForm(v, jsonOpts{ascii: true}),
		jsonForm(v, jsonOpts{ascii: true, upper: true}),
		jsonForm(v, jsonOpts{ascii: true, slash: true}),
		jsonForm(v, jsonOpts{ascii: true, slash: true, upper: true}),
		jsonForm(v, jsonOpts{slash: true}),
		jsonForm(v, jsonOpts{}),
		// Python repr of str (either quote), Go %q and %+q.
		pyStrRepr(v, '\''), pyStrRepr(v, '"'),
		goQuote(strconv.Quote(string(v))),
		goQuote(strconv.QuoteToASCII(string(v))),
	)
}

// denseEscapes are the forms in which every byte (or code point) is an
// escape starting with a backslash: C's \xNN and octal, JSON's \uXXXX
// for everything. They are matched by a stage that only looks at text
// from a backslash on (see Matcher.gated), which keeps their many long
// patterns out of the main automaton's filter.
func denseEscapes(v []byte) [][]byte {
	out := [][]byte{everyByte(v, `\x%02x`), everyByte(v, `\x%02X`), everyByte(v, `\%03o`)}
	if utf8.Valid(v) {
		out = append(out, jsonForm(v, jsonOpts{all: true}), jsonForm(v, jsonOpts{all: true, upper: true}))
	}
	return out
}

// percentForms is every byte as %XX, the form some URL builders and
// shell-quoting helpers produce, matched from a '%' on.
func percentForms(v []byte) [][]byte {
	return [][]byte{percentAll(v, upperHex), percentAll(v, lowerHex)}
}

type jsonOpts struct {
	ascii bool // escape every non-ASCII code point as \uXXXX (surrogate pairs above the BMP)
	upper bool // hex digits in upper case
	slash bool // escape '/' as '\/'
	all   bool // escape every code point
}

func jsonForm(v []byte, o jsonOpts) []byte {
	digits := lowerHex
	if o.upper {
		digits = upperHex
	}
	u := func(b []byte, r rune) []byte {
		return append(b, '\\', 'u', digits[r>>12&15], digits[r>>8&15], digits[r>>4&15], digits[r&15])
	}
	var b []byte
	for i := 0; i < len(v); {
		r, n := utf8.DecodeRune(v[i:]) // v is valid UTF-8
		i += n
		switch {
		case o.all && r > 0xffff:
			r1, r2 := utf16Pair(r)
			b = u(u(b, r1), r2)
		case o.all:
			b = u(b, r)
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '/' && o.slash:
			b = append(b, '\\', '/')
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r == '\t':
			b = append(b, '\\', 't')
		case r == '\b':
			b = append(b, '\\', 'b')
		case r == '\f':
			b = append(b, '\\', 'f')
		case r < 0x20 || (o.ascii && r == 0x7f):
			b = u(b, r)
		case o.ascii && r > 0xffff:
			r1, r2 := utf16Pair(r)
			b = u(u(b, r1), r2)
		case o.ascii && r > 0x7f:
			b = u(b, r)
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return b
}

func utf16Pair(r rune) (rune, rune) {
	r -= 0x10000
	return 0xd800 + (r>>10)&0x3ff, 0xdc00 + r&0x3ff
}

// pyStrRepr is Python's repr() of the str that v decodes to, for the given
// quote.
func pyStrRepr(v []byte, quote byte) []byte {
	var b []byte
	for i := 0; i < len(v); {
		r, n := utf8.DecodeRune(v[i:]) // v is valid UTF-8
		i += n
		switch {
		case r == '\\' || r == rune(quote):
			b = append(b, '\\', byte(r))
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r < 0x20 || r == 0x7f:
			b = fmt.Appendf(b, `\x%02x`, r)
		case r < 0x7f:
			b = append(b, byte(r))
		case unicode.IsPrint(r):
			b = utf8.AppendRune(b, r)
		case r <= 0xff:
			b = fmt.Appendf(b, `\x%02x`, r)
		case r <= 0xffff:
			b = fmt.Appendf(b, `\u%04x`, r)
		default:
			b = fmt.Appendf(b, `\U%08x`, r)
		}
	}
	return b
}

// pyBytesRepr is Python's repr() of bytes (b'…' without the b and quotes).
func pyBytesRepr(v []byte, quote byte) []byte {
	var b []byte
	for _, c := range v {
		switch {
		case c == '\\' || c == quote:
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '\r':
			b = append(b, `\r`...)
		case c == '\t':
			b = append(b, `\t`...)
		case c < 0x20 || c >= 0x7f:
			b = fmt.Appendf(b, `\x%02x`, c)
		default:
			b = append(b, c)
		}
	}
	return b
}

// goQuote strips the quotes strconv.Quote adds.
func goQuote(q string) []byte { return []byte(q[1 : len(q)-1]) }

// shellBackslash is bash's printf %q of a value without control
// characters: every shell-special byte preceded by a backslash.
func shellBackslash(v []byte) []byte {
	var b []byte
	for _, c := range v {
		if c < 0x20 || c == 0x7f {
			return nil // bash switches to $'…' (shellDollar)
		}
		if strings.IndexByte(" \t!\"#$&'()*,;<=>?[\\]^`{|}~", c) >= 0 {
			b = append(b, '\\')
		}
		b = append(b, c)
	}
	return b
}

// shellDollar is bash's $'…' quoting, used by printf %q when the value has
// control characters: C escapes, octal for the rest, UTF-8 kept.
func shellDollar(v []byte) []byte {
	var b []byte
	for _, c := range v {
		switch c {
		case '\\', '\'':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, `\n`...)
		case '\t':
			b = append(b, `\t`...)
		case '\r':
			b = append(b, `\r`...)
		case '\a':
			b = append(b, `\a`...)
		case '\b':
			b = append(b, `\b`...)
		case '\f':
			b = append(b, `\f`...)
		case '\v':
			b = append(b, `\v`...)
		case 0x1b:
			b = append(b, `\E`...)
		default:
			if c < 0x20 || c == 0x7f {
				b = fmt.Appendf(b, `\%03o`, c)
			} else {
				b = append(b, c)
			}
		}
	}
	return b
}

// everyByte formats each byte of v with format.
func everyByte(v []byte, format string) []byte {
	var b []byte
	for _, c := range v {
		b = fmt.Appendf(b, format, c)
	}
	return b
}

// dumpLine is how many bytes xxd, hexdump -C and od -c show per line.
const dumpLine = 16

// maxDumpValue bounds the values whose dump text columns are matched: a
// value yields about one pattern per byte there.
const maxDumpValue = 512

// minDumpShown is the fewest value bytes (not shown as '.') a dump pattern
// must carry.
const minDumpShown = 12

// dumpForms returns what the text columns of xxd and hexdump -C, and od
// -c, show of v. A dump spreads v over lines of dumpLine bytes at an
// unknown offset, so besides v itself the patterns are each run of
// dumpLine bytes (a full line) and each prefix and suffix (the first and
// last line), as long as it shows at least minDumpShown bytes of the
// value: shorter ones would match unrelated dumps, and a 6-byte prefix of
// a URL-shaped value ("postgr") would be replaced everywhere.
func dumpForms(v []byte) [][]byte {
	if len(v) > maxDumpValue {
		return nil
	}
	dotted := make([][]byte, len(v))
	odc := make([][]byte, len(v))
	for i, c := range v {
		if c >= 0x20 && c < 0x7f {
			dotted[i] = []byte{c}
		} else {
			dotted[i] = []byte{'.'}
		}
		odc[i] = []byte(odCell(c))
	}
	var out [][]byte
	for _, cells := range [][][]byte{dotted, odc} {
		shown := func(cs [][]byte) bool {
			n := 0
			for _, c := range cs {
				if string(c) != "." {
					n++
				}
			}
			return n >= minDumpShown
		}
		add := func(cs [][]byte) {
			if shown(cs) {
				var b []byte
				for _, c := range cs {
					b = append(b, c...)
				}
				// od's column padding is not the value's: a pattern
				// starting with spaces would hold back every prompt
				// that ends in one.
				out = append(out, bytes.TrimLeft(b, " "))
			}
		}
		add(cells)
		for i := 0; i+dumpLine <= len(cells); i++ {
			add(cells[i : i+dumpLine])
		}
		for k := minDumpShown; k < dumpLine && k < len(cells); k++ {
			add(cells[:k])
			add(cells[len(cells)-k:])
		}
	}
	return out
}

// odCell is one byte as od -c prints it: right-aligned in four columns,
// C escapes for some control bytes, three octal digits for other
// non-printing ones.
func odCell(c byte) string {
	switch c {
	case 0:
		return `  \0`
	case '\a':
		return `  \a`
	case '\b':
		return `  \b`
	case '\f':
		return `  \f`
	case '\n':
		return `  \n`
	case '\r':
		return `  \r`
	case '\t':
		return `  \t`
	case '\v':
		return `  \v`
	}
	if c >= 0x20 && c < 0x7f {
		return "   " + string(c)
	}
	return fmt.Sprintf(" %03o", c)
}

// quotedPrintable is RFC 2045 quoted-printable of v without soft line
// breaks: printable ASCII but '=' as itself, space and tab too (escaped
// at the end of a line, endWS), line breaks as they are, every other
// byte as =XX in upper-case hex.
func quotedPrintable(v []byte, endWS bool) []byte {
	var b []byte
	for i, c := range v {
		switch {
		case (c == ' ' || c == '\t') && endWS && i == len(v)-1:
			b = append(b, '=', upperHex[c>>4], upperHex[c&15])
		case c == '\n' || c == ' ' || c == '\t' || c >= 33 && c <= 126 && c != '=':
			b = append(b, c)
		default:
			b = append(b, '=', upperHex[c>>4], upperHex[c&15])
		}
	}
	return b
}

// qpLine is the most characters quoted-printable puts on a line before a
// soft line break ("=" and a line break, RFC 2045's 76 columns in all).
const qpLine = 75

// qpSoftForms are the quoted-printable forms of v (see quotedPrintable)
// broken by one soft line break, as quopri and email write a value that
// straddles column 76: the form with a '=' inserted at each place a break
// can fall (not inside an =XX escape; the line break itself is walked
// through like every line break). Forms longer than a line would need
// two breaks or more and are left out, as are their many combinations.
func qpSoftForms(v []byte) [][]byte {
	var out [][]byte
	for _, q := range [][]byte{quotedPrintable(v, false), quotedPrintable(v, true)} {
		q = squeeze(q)
		if len(q) > qpLine {
			continue
		}
		for k := 1; k < len(q); k++ {
			if q[k-1] == '=' || k >= 2 && q[k-2] == '=' {
				continue // inside an escape: encoders never break there
			}
			f := make([]byte, 0, len(q)+1)
			out = append(out, append(append(append(f, q[:k]...), '='), q[k:]...))
		}
	}
	return out
}
