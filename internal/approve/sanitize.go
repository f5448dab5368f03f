package approve

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxField bounds how much of one field is shown. An argument of a megabyte
// would otherwise scroll the rest of the request, and its warnings, off the
// screen; what is cut is announced by a warning, not hidden.
const maxField = 512

// cleaned is one field made safe to print, with what had to be done to it.
type cleaned struct {
	text      string
	escaped   bool // something was escaped: the human sees \x.., \u....
	truncated int  // input bytes not shown
}

// clean renders s for a terminal or dialog. Only printable ASCII passes
// through; everything else is shown as a Go-style escape:
//   - C0/C1 controls and DEL, so ESC sequences, \r and backspace cannot
//     move the cursor or redraw the screen;
//   - bidi overrides/isolates (U+202A–U+202E, U+2066–U+2069), zero-width
//     and other invisible or format characters, so text cannot be reordered
//     or hidden;
//   - every other non-ASCII rune, so a Cyrillic "а" in "/usr/bin/wrаngler"
//     or a right-to-left letter cannot pass for something it is not;
//   - invalid UTF-8 as \xNN.
//
// The backslash itself is escaped too (and the double quote when quote is
// set), so an attacker's literal text "\u202e" is distinguishable from an
// escape made here.
func clean(s string, quote bool) cleaned {
	var b strings.Builder
	c := cleaned{}
	for i := 0; i < len(s); {
		if b.Len() >= maxField {
			c.truncated = len(s) - i
			break
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
			c.escaped = true
		case r == '\\':
			b.WriteString(`\\`)
		case r == '"' && quote:
			b.WriteString(`\"`)
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
			c.escaped = true
		case r == '\r':
			b.WriteString(`\r`)
			c.escaped = true
		case r == '\t':
			b.WriteString(`\t`)
			c.escaped = true
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
			c.escaped = true
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04X`, r)
			c.escaped = true
		default:
			fmt.Fprintf(&b, `\U%08X`, r)
			c.escaped = true
		}
		i += size
	}
	c.text = b.String()
	if c.truncated > 0 {
		c.text += fmt.Sprintf("...[%d more bytes not shown]", c.truncated)
	}
	return c
}

// quoted is clean with surrounding double quotes, for argv elements: the
// human sees where each argument starts and ends, including empty ones and
// ones with spaces.
func quoted(s string) cleaned {
	c := clean(s, true)
	c.text = `"` + c.text + `"`
	return c
}
