package moving

import (
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/envseal/envseal/internal/childenv"
	"github.com/envseal/envseal/internal/detect"
)

// fileLang is what kind of file `scan --import` rewrites, which decides
// what the moved value is replaced with. A literal "[envseal:NAME]" is
// fine in a history file or a note, but in a program it is a wrong value
// (a shell script would send it as the token): there the value becomes a
// read of an environment variable, which .envseal then maps to the
// secret, so `envseal run -- ./deploy.sh` works as before.
type fileLang int

const (
	langText   fileLang = iota // history, notes, YAML, JSON: the marker
	langShell                  // "${VAR}" with the right quoting
	langJS                     // process.env.VAR
	langPython                 // os.environ["VAR"]
	langCode                   // another language: refused, with a hint
)

func (l fileLang) String() string {
	return [...]string{"text", "shell script", "JavaScript", "Python", "program"}[l]
}

// langOf decides by extension, then by the #! line.
func langOf(path string, data []byte) fileLang {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".sh", ".bash", ".zsh", ".ksh", ".dash":
		return langShell
	case ".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".jsx", ".tsx":
		return langJS
	case ".py", ".pyw":
		return langPython
	case ".go", ".rb", ".java", ".kt", ".kts", ".php", ".rs", ".c", ".h", ".cc", ".cpp", ".hpp", ".cs",
		".swift", ".scala", ".pl", ".pm", ".lua", ".r", ".dart", ".ex", ".exs", ".groovy", ".ps1", ".fish":
		return langCode
	}
	if !bytes.HasPrefix(data, []byte("#!")) {
		return langText
	}
	first, _, _ := bytes.Cut(data, []byte("\n"))
	f := strings.Fields(string(first[2:]))
	if len(f) == 0 {
		return langText
	}
	interp := filepath.Base(f[0])
	if interp == "env" {
		// #!/usr/bin/env [-S] [VAR=x] node …: the first other word.
		interp = ""
		for _, w := range f[1:] {
			if !strings.HasPrefix(w, "-") && !strings.Contains(w, "=") {
				interp = filepath.Base(w)
				break
			}
		}
	}
	switch {
	case interp == "sh" || interp == "bash" || interp == "zsh" || interp == "dash" || interp == "ksh" || interp == "ash":
		return langShell
	case interp == "node" || interp == "deno" || interp == "bun":
		return langJS
	case strings.HasPrefix(interp, "python"):
		return langPython
	}
	return langCode
}

// envVarFor is the variable a rewritten program reads secret from:
// apiToken → API_TOKEN, hist.auth-token → HIST_AUTH_TOKEN.
func envVarFor(secret string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(secret); i++ {
		c := secret[i]
		if i > 0 && c >= 'A' && c <= 'Z' && secret[i-1] >= 'a' && secret[i-1] <= 'z' {
			b.WriteByte('_')
		}
		switch {
		case c == '.' || c == '-':
			b.WriteByte('_')
		case c >= 'a' && c <= 'z':
			b.WriteByte(c - 'a' + 'A')
		default:
			b.WriteByte(c)
		}
	}
	name := b.String()
	if name != "" && name[0] >= '0' && name[0] <= '9' {
		name = "SECRET_" + name
	}
	if err := childenv.ValidName(name); err != nil {
		return "", err
	}
	return name, nil
}

// refVarBase is what the variable is named after: the one the value was
// assigned to when it has one (export SLACK_TOKEN=… keeps SLACK_TOKEN
// whatever --prefix the secret got), else the secret's name.
func refVarBase(f *detect.Finding, secret string) string {
	if f.Name != "" && childenv.ValidName(f.Name) == nil {
		return f.Name
	}
	if n := strings.ReplaceAll(f.Name, "-", "_"); f.Name != "" && childenv.ValidName(n) == nil {
		return n // --api-token → API_TOKEN
	}
	return secret
}

// replacement is what replaces data[start:end] in the rewritten file.
type replacement struct {
	start, end int
	text       string
	env        string // the variable the text reads ("" for the marker)
}

// pyImportOS: the file imports os at top level, so os.environ works.
var pyImportOS = regexp.MustCompile(`(?m)^import\s+(?:[A-Za-z0-9_.]+\s*,\s*)*os\s*(?:,|$|#)`)

// referenceFor says what replaces f's value in data, a file of kind lang,
// or why the file cannot be rewritten safely.
func referenceFor(lang fileLang, path string, data []byte, f *detect.Finding, secret string) (replacement, error) {
	s, e := f.Span()
	r := replacement{start: s, end: e, text: "[envseal:" + secret + "]"}
	if lang == langText {
		return r, nil
	}
	if lang == langCode {
		return r, &RefusedError{path, "a " + lang.String() + " in a language scan --import cannot rewrite",
			"replace the value with a read of an environment variable by hand, then 'envseal store' it and map it in .envseal"}
	}
	env, err := envVarFor(refVarBase(f, secret))
	if err != nil {
		return r, &RefusedError{path, fmt.Sprintf("no environment variable can carry secret %s (%v)", secret, err),
			"choose a secret name made of letters, digits and '_' when asked"}
	}
	r.env = env
	switch lang {
	case langShell:
		st, err := shellQuoteAt(data, s)
		if err != nil {
			return r, &RefusedError{path, err.Error(), "replace the value with \"${" + env + "}\" by hand and map it in .envseal"}
		}
		switch st {
		case shComment:
			r.text, r.env = "[envseal:"+secret+"]", ""
		case shBare:
			r.text = `"${` + env + `}"`
		case shDouble:
			r.text = `${` + env + `}`
		case shSingle:
			if data[s-1] == '\'' && e < len(data) && data[e] == '\'' {
				// The whole single-quoted word: 'v' → "${X}".
				r.start, r.end, r.text = s-1, e+1, `"${`+env+`}"`
				break
			}
			// Close the single quotes, expand, reopen: 'a'"${X}"'b'.
			r.text = `'"${` + env + `}"'`
		}
		return r, nil
	case langJS, langPython:
		if s == 0 || e >= len(data) || data[s-1] != data[e] || !bytes.ContainsAny(data[s-1:s], "\"'`") ||
			(s >= 2 && (data[s-2] == data[s-1] || isWordByte(data[s-2]))) || (e+1 < len(data) && data[e+1] == data[e]) {
			return r, &RefusedError{path, fmt.Sprintf("line %d: the value is not a whole string literal", f.Line),
				"replace it with a read of the environment variable " + env + " by hand and map it in .envseal"}
		}
		if data[s-1] == '`' && lang == langPython {
			return r, &RefusedError{path, fmt.Sprintf("line %d: not a Python string", f.Line), "rewrite it by hand"}
		}
		r.start, r.end = s-1, e+1
		if lang == langJS {
			r.text = "process.env." + env
		} else if pyImportOS.Match(data) {
			r.text = `os.environ["` + env + `"]`
		} else {
			r.text = `__import__("os").environ["` + env + `"]`
		}
		return r, nil
	}
	return r, nil
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

type shState int

const (
	shBare shState = iota
	shSingle
	shDouble
	shComment
)

// shellQuoteAt returns the quoting in force at data[pos] in a shell
// script, read from the start of the file: quotes, backslashes and
// comments. A here-document before pos is refused: its quoting depends on
// its delimiter, a guess scan will not make.
func shellQuoteAt(data []byte, pos int) (shState, error) {
	st := shBare
	wordStart := true
	for i := 0; i < pos; i++ {
		c := data[i]
		switch st {
		case shComment:
			if c == '\n' {
				st, wordStart = shBare, true
			}
			continue
		case shSingle:
			if c == '\'' {
				st = shBare
			}
			continue
		case shDouble:
			switch c {
			case '\\':
				i++
			case '"':
				st = shBare
			}
			continue
		}
		switch {
		case c == '\\':
			i++
		case c == '\'':
			st = shSingle
		case c == '"':
			st = shDouble
		case c == '#' && wordStart:
			st = shComment
		case c == '<' && i+1 < len(data) && data[i+1] == '<' && (i+2 >= len(data) || data[i+2] != '<'):
			return st, fmt.Errorf("line %d: a here-document comes before the value", 1+bytes.Count(data[:pos], []byte("\n")))
		}
		wordStart = c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '&' || c == '|' || c == '('
	}
	return st, nil
}
