package vault

import (
	"errors"
	"fmt"
)

// MaxNameLen is the longest secret name accepted.
const MaxNameLen = 128

// ErrBadName is matched (errors.Is) by every invalid-name error.
var ErrBadName = errors.New("invalid secret name")

// ValidName checks a secret name against [A-Za-z0-9][A-Za-z0-9._-]{0,127}.
// Names become file names, so anything else (a slash, "..", NUL, a leading
// dot that could hide a file or collide with a temp file) is refused.
func ValidName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty", ErrBadName)
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("%w: %d bytes long (max %d)", ErrBadName, len(name), MaxNameLen)
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
