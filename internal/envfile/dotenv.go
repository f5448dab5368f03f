package envfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/envseal/envseal/internal/childenv"
)

// KV is one .env assignment. Value is the plaintext; KV formats as
// "KEY=[redacted]" under every fmt verb so that a log line or a test
// failure cannot print it. Line is where the assignment starts.
type KV struct {
	Key   string
	Value []byte
	Line  int
}

// String returns the key and a placeholder, never the value.
func (kv KV) String() string { return kv.Key + "=[redacted]" }

// GoString keeps %#v from printing the value bytes.
func (kv KV) GoString() string {
	return fmt.Sprintf("envfile.KV{Key: %q, Value: [redacted], Line: %d}", kv.Key, kv.Line)
}

// Format applies to every verb (%d and %x included, which would otherwise
// print the value's bytes).
func (kv KV) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, kv.GoString())
		return
	}
	fmt.Fprint(f, kv.String())
}

// ParseDotEnv reads the common .env dialect from r; path is used in errors
// only. Entries come back in file order.
//
//   - KEY=value, optionally prefixed by "export "; spaces around '=' are
//     allowed; KEY is a POSIX name. Whether KEY may carry a secret
//     (childenv.ValidName) is the importer's call: a .env legitimately
//     holds NODE_OPTIONS, which import should skip, not choke on.
//   - Blank lines and lines starting with '#' are ignored.
//   - Unquoted values run to the end of the line, trimmed; " #" or "\t#"
//     starts a comment, a '#' inside a word does not (KEY=a#b is "a#b").
//   - 'single quotes' are literal and may span lines.
//   - "double quotes" may span lines and understand \n \r \t \" \\; any
//     other backslash is kept as written.
//   - After a closing quote only blanks and a comment may follow.
//   - No $VAR expansion, no backtick quoting: both are taken literally.
//   - CRLF line endings read as LF.
//
// A key defined twice is an error (ErrDuplicate): shells keep the last,
// dotenv libraries the first, and importing a guess is worse than asking.
// Errors carry the path and line and never the value, nor anything before
// a '=' that might be one.
func ParseDotEnv(r io.Reader, path string) ([]KV, error) {
	raw, err := readLimited(r, path)
	if err != nil {
		return nil, err
	}
	data := bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
	// Best effort: the read buffers held plaintext. Values are copied out.
	defer clear(raw)
	defer clear(data)

	p := dotenvParser{data: data, path: path, line: 1}
	var out []KV
	first := map[string]int{}
	fail := func(err error) ([]KV, error) {
		for _, kv := range out {
			clear(kv.Value)
		}
		return nil, err
	}
	for p.pos < len(p.data) {
		kv, ok, err := p.entry()
		if err != nil {
			return fail(err)
		}
		if !ok {
			continue
		}
		if prev, dup := first[kv.Key]; dup {
			clear(kv.Value)
			return fail(&ParseError{Path: path, Line: kv.Line, Err: ErrDuplicate,
				Msg: fmt.Sprintf("%s defined twice (first on line %d)", kv.Key, prev)})
		}
		first[kv.Key] = kv.Line
		out = append(out, kv)
	}
	return out, nil
}

type dotenvParser struct {
	data []byte
	pos  int
	path string
	line int // line of data[pos]
}

func (p *dotenvParser) fail(line int, format string, args ...any) error {
	return &ParseError{Path: p.path, Line: line, Msg: fmt.Sprintf(format, args...), Err: ErrSyntax}
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// restOfLine returns data[pos:] up to the newline and moves past it.
func (p *dotenvParser) restOfLine() []byte {
	end := bytes.IndexByte(p.data[p.pos:], '\n')
	var s []byte
	if end < 0 {
		s, p.pos = p.data[p.pos:], len(p.data)
	} else {
		s, p.pos = p.data[p.pos:p.pos+end], p.pos+end+1
	}
	p.line++
	return s
}

// entry consumes one logical line (several for a multi-line quoted value).
// ok is false for a blank or comment line.
func (p *dotenvParser) entry() (KV, bool, error) {
	start := p.line
	// Peek the physical line without consuming a quoted value's tail.
	lineEnd := bytes.IndexByte(p.data[p.pos:], '\n')
	if lineEnd < 0 {
		lineEnd = len(p.data) - p.pos
	}
	line := p.data[p.pos : p.pos+lineEnd]
	i := 0
	for i < len(line) && (isBlank(line[i]) || line[i] == '\r' || line[i] == '\v' || line[i] == '\f') {
		i++
	}
	if i == len(line) || line[i] == '#' {
		p.restOfLine()
		return KV{}, false, nil
	}
	if bytes.HasPrefix(line[i:], []byte("export")) && i+6 < len(line) && isBlank(line[i+6]) {
		i += 6
		for i < len(line) && isBlank(line[i]) {
			i++
		}
	}
	keyStart := i
	for i < len(line) && isNameByte(line[i]) {
		i++
	}
	key := string(line[keyStart:i])
	for i < len(line) && isBlank(line[i]) {
		i++
	}
	if i == len(line) || line[i] != '=' {
		p.restOfLine()
		return KV{}, false, p.fail(start, "expected KEY=value (KEY is [A-Za-z_][A-Za-z0-9_]*)")
	}
	if errors.Is(childenv.ValidName(key), childenv.ErrBadName) { // empty, leading digit, too long
		p.restOfLine()
		return KV{}, false, p.fail(start, "invalid variable name (want [A-Za-z_][A-Za-z0-9_]*)")
	}
	i++ // '='
	afterEq := i
	for i < len(line) && isBlank(line[i]) {
		i++
	}
	if i < len(line) && (line[i] == '\'' || line[i] == '"') {
		p.pos += i
		value, err := p.quoted(key, start)
		if err != nil {
			return KV{}, false, err
		}
		return KV{Key: key, Value: value, Line: start}, true, nil
	}
	// Unquoted: keep the blanks after '=' so that "KEY= #c" reads as a
	// comment and "KEY=#c" as a value.
	p.pos += afterEq
	return KV{Key: key, Value: unquoted(p.restOfLine()), Line: start}, true, nil
}

func isNameByte(c byte) bool {
	return c == '_' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
}

// unquoted trims s and cuts it at the first '#' that follows a blank.
func unquoted(s []byte) []byte {
	for i := 1; i < len(s); i++ {
		if s[i] == '#' && isBlank(s[i-1]) {
			s = s[:i]
			break
		}
	}
	return append([]byte{}, bytes.Trim(s, " \t\r\v\f")...)
}

// quoted reads a quoted value starting at data[pos] (the opening quote),
// then checks that only blanks and a comment follow it on its line.
func (p *dotenvParser) quoted(key string, start int) ([]byte, error) {
	q := p.data[p.pos]
	p.pos++
	var v []byte
	for {
		if p.pos >= len(p.data) {
			clear(v)
			return nil, p.fail(start, "%s: unterminated %s value", key, quoteName(q))
		}
		c := p.data[p.pos]
		p.pos++
		switch {
		case c == q:
			tail := p.restOfLine()
			j := 0
			for j < len(tail) && (isBlank(tail[j]) || tail[j] == '\r') {
				j++
			}
			if j < len(tail) && tail[j] != '#' {
				clear(v)
				return nil, p.fail(p.line-1, "%s: unexpected text after the closing quote", key)
			}
			if v == nil {
				v = []byte{}
			}
			return v, nil
		case c == '\n':
			p.line++
			v = append(v, c)
		case c == '\\' && q == '"' && p.pos < len(p.data):
			e := p.data[p.pos]
			p.pos++
			switch e {
			case 'n':
				v = append(v, '\n')
			case 'r':
				v = append(v, '\r')
			case 't':
				v = append(v, '\t')
			case '"', '\\':
				v = append(v, e)
			default:
				if e == '\n' {
					p.line++
				}
				v = append(v, '\\', e)
			}
		default:
			v = append(v, c)
		}
	}
}

func quoteName(q byte) string {
	if q == '\'' {
		return "single-quoted"
	}
	return "double-quoted"
}
