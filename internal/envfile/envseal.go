package envfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/envseal/envseal/internal/childenv"
)

// FileName is the name Find looks for.
const FileName = ".envseal"

// MaxFileSize bounds both formats. A mapping file is a few hundred bytes;
// the bound stops a hostile file (or a FIFO) from making envseal buffer
// without limit.
const MaxFileSize = 1 << 20

// MaxSecretNameLen matches the vault's name grammar.
const MaxSecretNameLen = 128

var (
	// ErrSyntax marks a line that does not follow the grammar.
	ErrSyntax = errors.New("syntax error")
	// ErrDuplicate marks a variable defined twice in one file: which
	// definition wins would be a guess.
	ErrDuplicate = errors.New("variable defined twice")
	// ErrTooLarge marks a file over MaxFileSize.
	ErrTooLarge = errors.New("file too large")
	// ErrNULByte marks a file containing a NUL byte: no text editor writes
	// one, and C code downstream would see a different string.
	ErrNULByte = errors.New("NUL byte in file")
)

// ParseError is a parse failure at a line of a file. Line is 1-based, or 0
// when the failure concerns the whole file. Msg never contains a value. Err
// is a sentinel of this package or of childenv, for errors.Is.
type ParseError struct {
	Path string
	Line int
	Msg  string
	Err  error
}

func (e *ParseError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.Path, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg)
}

func (e *ParseError) Unwrap() error { return e.Err }

// Mapping is one .envseal entry: the child sees secret Secret as variable
// Env. Line is where it was defined (0 for a mapping not read from a file).
type Mapping struct {
	Env    string
	Secret string
	Line   int
}

// ValidSecretName reports whether s is a vault secret name:
// [A-Za-z0-9][A-Za-z0-9._-]{0,127}. Names cannot start with '.' or '-', so
// a name is never a hidden file, "..", or an option.
func ValidSecretName(s string) bool {
	if s == "" || len(s) > MaxSecretNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case (c == '.' || c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

const lineSpace = " \t\r\v\f"

// Parse reads a .envseal file from r; path is used in errors only. The
// mappings come back in file order.
func Parse(r io.Reader, path string) ([]Mapping, error) {
	data, err := readLimited(r, path)
	if err != nil {
		return nil, err
	}
	var out []Mapping
	first := map[string]int{}
	for i, raw := range bytes.Split(data, []byte("\n")) {
		lineNo := i + 1
		fail := func(sentinel error, format string, args ...any) error {
			return &ParseError{Path: path, Line: lineNo, Msg: fmt.Sprintf(format, args...), Err: sentinel}
		}
		line := strings.Trim(string(raw), lineSpace)
		if line == "" || line[0] == '#' {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "export"); ok && rest != "" && strings.ContainsRune(" \t", rune(rest[0])) {
			return nil, fail(ErrSyntax, `"export" prefix not allowed: .envseal lines are ENV_VAR=secret-name, without values`)
		}
		env, secret, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fail(ErrSyntax, "missing '=': want ENV_VAR=secret-name")
		}
		env = strings.TrimRight(env, lineSpace)
		secret = strings.TrimLeft(secret, lineSpace)
		if err := childenv.ValidName(env); err != nil {
			return nil, nameError(fail, env, err)
		}
		if err := checkSecretName(secret); err != "" {
			return nil, fail(ErrSyntax, "%s: %s", env, err)
		}
		if prev, dup := first[env]; dup {
			return nil, fail(ErrDuplicate, "%s defined twice (first on line %d)", env, prev)
		}
		first[env] = lineNo
		out = append(out, Mapping{Env: env, Secret: secret, Line: lineNo})
	}
	return out, nil
}

// nameError explains a refused variable name. A name that fails the grammar
// is not quoted: a malformed line may be a pasted value.
func nameError(fail func(error, string, ...any) error, env string, err error) error {
	switch {
	case errors.Is(err, childenv.ErrInjectionName):
		return fail(err, "%s is a loader or interpreter injection variable; a secret cannot be delivered as it", env)
	case errors.Is(err, childenv.ErrReservedName):
		return fail(err, "%s: the ENVSEAL_ prefix is reserved for envseal itself", env)
	default:
		return fail(err, "invalid environment variable name (want [A-Za-z_][A-Za-z0-9_]*)")
	}
}

// checkSecretName returns why s is not a secret name, or "". It never
// quotes s: a user who wrote a value where a name belongs must not see it
// echoed into a terminal or a CI log.
func checkSecretName(s string) string {
	if ValidSecretName(s) {
		return ""
	}
	if strings.Trim(s, lineSpace) == "" {
		return "empty secret name"
	}
	if before, _, ok := strings.Cut(s, "#"); ok {
		name := strings.TrimRight(before, lineSpace)
		if name != before && ValidSecretName(name) {
			return "comments must be on their own line"
		}
	}
	return "invalid secret name (want [A-Za-z0-9][A-Za-z0-9._-]{0,127}); .envseal maps names, never values — put values in the vault with envseal import"
}

// Format renders mappings in the .envseal grammar, one per line, in order.
// It refuses what Parse would refuse, so a written file always reads back.
func Format(ms []Mapping) ([]byte, error) {
	var b bytes.Buffer
	seen := map[string]bool{}
	for i, m := range ms {
		if err := childenv.ValidName(m.Env); err != nil {
			return nil, fmt.Errorf("mapping %d: %w", i+1, err)
		}
		if !ValidSecretName(m.Secret) {
			return nil, fmt.Errorf("mapping %d (%s): invalid secret name: %w", i+1, m.Env, ErrSyntax)
		}
		if seen[m.Env] {
			return nil, fmt.Errorf("mapping %d (%s): %w", i+1, m.Env, ErrDuplicate)
		}
		seen[m.Env] = true
		b.WriteString(m.Env)
		b.WriteByte('=')
		b.WriteString(m.Secret)
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// readLimited reads at most MaxFileSize bytes, refuses NUL bytes and drops
// a leading UTF-8 byte-order mark (Windows editors write one, and it would
// otherwise turn the first name into a confusing syntax error).
func readLimited(r io.Reader, path string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		clear(data)
		return nil, &ParseError{Path: path, Msg: "larger than 1 MiB", Err: ErrTooLarge}
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		line := bytes.Count(data[:i], []byte("\n")) + 1
		clear(data)
		return nil, &ParseError{Path: path, Line: line, Msg: "NUL byte", Err: ErrNULByte}
	}
	return bytes.TrimPrefix(data, utf8BOM), nil
}
