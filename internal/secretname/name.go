// Package secretname is the one rule for a secret's name, shared by the
// vault (names become file names) and the scrubber (names are printed into
// the child's output as "[envseal:NAME]" markers). It imports nothing.
package secretname

import (
	"errors"
	"fmt"
)

// MaxLen is the longest secret name accepted.
const MaxLen = 128

// Rule is the rule in words, for a hint or a refusal (the CLI's hint, the
// MCP server's invalid-argument error).
const Rule = "names use letters, digits, '.', '_' and '-', start with a letter or digit, and are at most 128 bytes"

// ErrBadName is matched (errors.Is) by every invalid-name error.
var ErrBadName = errors.New("invalid secret name")

// Valid checks a name against [A-Za-z0-9][A-Za-z0-9._-]{0,127}. Anything
// else is refused: a slash or "..", NUL, a leading dot that could hide a
// file or collide with a temp file, and the terminal escapes, newlines or
// ']' that would let output forge or break a marker.
func Valid(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty", ErrBadName)
	}
	if len(name) > MaxLen {
		return fmt.Errorf("%w: %d bytes long (max %d)", ErrBadName, len(name), MaxLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if alnum || i > 0 && (c == '.' || c == '_' || c == '-') {
			continue
		}
		if i == 0 {
			return fmt.Errorf("%w: %q must start with a letter or digit", ErrBadName, name)
		}
		return fmt.Errorf("%w: %q has %q at byte %d (allowed: letters, digits, '.', '_', '-')", ErrBadName, name, c, i)
	}
	return nil
}
