package exeseal

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
)

// shebangBuf is the kernel's BINPRM_BUF_SIZE: fs/binfmt_script.c only ever
// sees this many bytes of a script, and the last one is reserved for the
// terminating NUL, so a usable "#!" line is at most 255 bytes.
const (
	shebangBuf     = 256
	maxShebangLine = shebangBuf - 1
)

// shebang is a parsed "#!" line.
type shebang struct {
	line   string // as written after "#!", without the newline
	interp string // interpreter path as written
	arg    string // single optional argument ("" if none), inner blanks kept
}

func hasShebang(head []byte) bool {
	return len(head) >= 2 && head[0] == '#' && head[1] == '!'
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// parseShebang parses a "#!" line from the first bytes of a file the way
// fs/binfmt_script.c does: skip blanks, the interpreter runs to the next
// blank, and everything after the following blanks up to the end of the
// line (trailing blanks trimmed) is one argument, spaces included. Where
// the kernel would quietly do something surprising we refuse instead: a
// line that does not end within its buffer (the kernel truncates the
// argument, so what runs differs from what the line says) and NUL bytes
// (the kernel stops at them, a viewer may not).
func parseShebang(head []byte) (shebang, error) {
	if !hasShebang(head) {
		return shebang{}, fmt.Errorf("%w: no #! prefix", ErrBadShebang)
	}
	if len(head) > shebangBuf {
		head = head[:shebangBuf]
	}
	line := head
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		line = head[:i]
	}
	if len(line) > maxShebangLine {
		return shebang{}, ErrShebangTooLong
	}
	if bytes.IndexByte(line, 0) >= 0 {
		return shebang{}, fmt.Errorf("%w: NUL byte", ErrBadShebang)
	}
	body := line[2:]
	end := len(body)
	for end > 0 && isBlank(body[end-1]) {
		end--
	}
	start := 0
	for start < end && isBlank(body[start]) {
		start++
	}
	if start == end {
		return shebang{}, fmt.Errorf("%w: no interpreter named", ErrBadShebang)
	}
	sb := shebang{line: string(line[2:])}
	rest := body[start:end]
	sep := bytes.IndexAny(rest, " \t")
	if sep < 0 {
		sb.interp = string(rest)
		return sb, nil
	}
	sb.interp = string(rest[:sep])
	sb.arg = string(bytes.TrimLeft(rest[sep:], " \t"))
	return sb, nil
}

// envProgram reports whether sb uses the "/usr/bin/env NAME" idiom and, if
// so, which NAME env would run. Only the plain form is accepted: options
// (notably -S, which re-splits the argument into several words), NAME=VALUE
// assignments, several words and relative paths with a slash (resolved
// against the cwd) are refused, because we resolve NAME ourselves and must
// run exactly what env would.
func envProgram(sb shebang) (name string, isEnv bool, err error) {
	if filepath.Base(sb.interp) != "env" {
		return "", false, nil
	}
	a := sb.arg
	switch {
	case a == "":
		return "", true, fmt.Errorf("%w: %q names no program", ErrEnvArgs, sb.line)
	case strings.HasPrefix(a, "-"):
		return "", true, fmt.Errorf("%w: %q passes options to env (-S splitting is not supported; name the interpreter path directly)", ErrEnvArgs, sb.line)
	case strings.ContainsAny(a, " \t"):
		return "", true, fmt.Errorf("%w: %q has several words", ErrEnvArgs, sb.line)
	case strings.Contains(a, "="):
		return "", true, fmt.Errorf("%w: %q sets variables", ErrEnvArgs, sb.line)
	case strings.Contains(a, "/") && !filepath.IsAbs(a):
		return "", true, fmt.Errorf("%w: %q names a relative path", ErrEnvArgs, sb.line)
	}
	return a, true, nil
}
