// Package inject renders `envseal run --template-file` templates: a config
// file whose only placeholders are {{ secret "NAME" }}, in the manner of
// `op inject`. The language is deliberately tiny: no functions, pipes,
// conditions or encodings, so the secrets a template uses are exactly the
// names Parse returns (what the human approves), and a value reaches the
// rendered file only as its own bytes (what the output scrubber knows).
//
// Syntax:
//
//	{{ secret "NAME" }}   the value of vault secret NAME, as is
//	{{ "{{" }}            a literal {{
//
// Spaces inside the braces are optional. Anything else between {{ and }},
// and an unclosed {{, is an error that names its line and column.
package inject

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/envseal/envseal/internal/secretname"
)

// MaxSize is the largest template Parse accepts.
const MaxSize = 1 << 20

// MaxNames is the most distinct secrets one template may use.
const MaxNames = 64

// ErrSyntax is matched by every *SyntaxError.
var ErrSyntax = errors.New("template syntax error")

// ErrMissing: Render was not given the value of a secret the template uses.
var ErrMissing = errors.New("template secret missing")

// SyntaxError is a malformed or unknown placeholder, or a template over
// the limits.
type SyntaxError struct {
	Line, Col int    // 1-based position of the "{{" (0 for a whole-file error)
	Text      string // the placeholder as written, clipped
	Msg       string
}

func (e *SyntaxError) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	if e.Text == "" {
		return fmt.Sprintf("line %d column %d: %s", e.Line, e.Col, e.Msg)
	}
	return fmt.Sprintf("line %d column %d: %s: %s", e.Line, e.Col, e.Text, e.Msg)
}

// Is makes errors.Is(err, ErrSyntax) hold.
func (e *SyntaxError) Is(t error) bool { return t == ErrSyntax }

// Hint is what to tell the human who wrote the template.
const Hint = `placeholders are {{ secret "NAME" }} with NAME a secret in the vault (see 'envseal list'); write {{ "{{" }} for a literal {{`

// part is a literal run of bytes or (name != "") one secret.
type part struct {
	lit  []byte
	name string
}

// Template is a parsed template.
type Template struct {
	parts []part
	names []string
}

// Parse reads a template. It never looks a name up: unknown secrets are
// the caller's to report (the checkpoint does, before anything runs).
func Parse(src []byte) (*Template, error) {
	if len(src) > MaxSize {
		return nil, &SyntaxError{Msg: fmt.Sprintf("the template is %d bytes (max %d)", len(src), MaxSize)}
	}
	t := &Template{}
	seen := map[string]bool{}
	rest := src
	off := 0
	for {
		i := bytes.Index(rest, []byte("{{"))
		if i < 0 {
			t.lit(rest)
			break
		}
		t.lit(rest[:i])
		at := off + i
		body := rest[i+2:]
		j := bytes.Index(body, []byte("}}"))
		if j < 0 {
			return nil, posErr(src, at, clip(rest[i:]), `"{{" is never closed by "}}"`)
		}
		inner := body[:j]
		written := clip(rest[i : i+2+j+2])
		if bytes.Contains(inner, []byte("\n")) {
			return nil, posErr(src, at, clip(rest[i:i+2+bytes.IndexByte(inner, '\n')]), `a placeholder must fit on one line`)
		}
		name, literal, err := placeholder(strings.TrimSpace(string(inner)))
		if err != nil {
			return nil, posErr(src, at, written, err.Error())
		}
		if literal {
			t.lit([]byte("{{"))
		} else {
			if !seen[name] {
				if len(t.names) == MaxNames {
					return nil, posErr(src, at, written, fmt.Sprintf("more than %d different secrets in one template", MaxNames))
				}
				seen[name] = true
				t.names = append(t.names, name)
			}
			t.parts = append(t.parts, part{name: name})
		}
		adv := i + 2 + j + 2
		rest, off = rest[adv:], off+adv
	}
	return t, nil
}

func (t *Template) lit(b []byte) {
	if len(b) == 0 {
		return
	}
	if n := len(t.parts); n > 0 && t.parts[n-1].name == "" {
		t.parts[n-1].lit = append(t.parts[n-1].lit, b...)
		return
	}
	t.parts = append(t.parts, part{lit: bytes.Clone(b)})
}

// placeholder reads what is between the braces: secret "NAME", or "{{".
func placeholder(s string) (name string, literal bool, err error) {
	if s == `"{{"` {
		return "", true, nil
	}
	word, arg := s, ""
	if k := strings.IndexAny(s, " \t"); k >= 0 {
		word, arg = s[:k], strings.TrimSpace(s[k:])
	}
	if word != "secret" {
		if s == "" {
			return "", false, errors.New(`an empty placeholder (want {{ secret "NAME" }})`)
		}
		return "", false, errors.New(`unknown placeholder (the only one is {{ secret "NAME" }})`)
	}
	if len(arg) < 2 || arg[0] != '"' || arg[len(arg)-1] != '"' || strings.Count(arg, `"`) != 2 {
		return "", false, errors.New(`the secret's name must be one double-quoted word: {{ secret "NAME" }}`)
	}
	name = arg[1 : len(arg)-1]
	if err := secretname.Valid(name); err != nil {
		return "", false, fmt.Errorf("not a secret name: %w", err)
	}
	return name, false, nil
}

// Names are the distinct secrets the template uses, in order of first use.
func (t *Template) Names() []string { return append([]string(nil), t.names...) }

// Render fills the placeholders from values. The result holds secret
// values: the caller clears it once delivered.
func (t *Template) Render(values map[string][]byte) ([]byte, error) {
	n := 0
	for _, p := range t.parts {
		v, ok := values[p.name]
		if p.name != "" && !ok {
			return nil, fmt.Errorf("%w: %q", ErrMissing, p.name)
		}
		n += len(p.lit) + len(v)
	}
	out := make([]byte, 0, n)
	for _, p := range t.parts {
		if p.name != "" {
			out = append(out, values[p.name]...)
		} else {
			out = append(out, p.lit...)
		}
	}
	return out, nil
}

func posErr(src []byte, at int, text, msg string) error {
	line := 1 + bytes.Count(src[:at], []byte("\n"))
	col := at - bytes.LastIndexByte(src[:at], '\n')
	return &SyntaxError{Line: line, Col: col, Text: text, Msg: msg}
}

// clip is a placeholder as written, short and quoted: it came from a file
// the agent may have written, and goes to the human's terminal.
func clip(b []byte) string {
	if len(b) > 60 {
		b = append(bytes.Clone(b[:57]), "..."...)
	}
	return fmt.Sprintf("%q", b)
}
