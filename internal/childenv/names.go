package childenv

import (
	"errors"
	"fmt"
)

// MaxNameLen bounds an environment variable name. POSIX sets no limit; no
// real program uses names anywhere near this, and the bound keeps error
// messages that quote a name short.
const MaxNameLen = 255

var (
	// ErrBadName means a name is not a POSIX environment variable name
	// ([A-Za-z_][A-Za-z0-9_]*). Anything else ("A=B", "x y", "BASH_FUNC_f%%")
	// is either unreachable with getenv(3) or parsed specially by shells.
	ErrBadName = errors.New("not a POSIX name ([A-Za-z_][A-Za-z0-9_]*, at most 255 bytes)")

	// ErrInjectionName means a name is on the injection deny-list (see
	// IsInjection): a secret must never be delivered as, say, LD_PRELOAD.
	ErrInjectionName = errors.New("loader or interpreter injection variable")

	// ErrReservedName means a name starts with ENVSEAL_, which configures
	// envseal itself (vault location, broker socket). A child never needs
	// it, and a mapping onto it could steer an envseal the child runs.
	ErrReservedName = errors.New("reserved for envseal (ENVSEAL_ prefix)")
)

// reservedPrefix is envseal's own namespace: neither passed to a child nor
// accepted as a secret's target name.
const reservedPrefix = "ENVSEAL_"

// ValidName reports whether name may carry a secret into a child: POSIX
// grammar, at most MaxNameLen bytes, not an injection variable and not
// reserved. The error wraps ErrBadName, ErrInjectionName or ErrReservedName.
func ValidName(name string) error {
	if !isPOSIXName(name) {
		return fmt.Errorf("environment variable name %s: %w", quoteName(name), ErrBadName)
	}
	if IsInjection(name) {
		return fmt.Errorf("environment variable %s: %w", name, ErrInjectionName)
	}
	if isReserved(name) {
		return fmt.Errorf("environment variable %s: %w", name, ErrReservedName)
	}
	return nil
}

// isPOSIXName is the IEEE Std 1003.1 "Name" grammar, bounded by MaxNameLen.
func isPOSIXName(name string) bool {
	if name == "" || len(name) > MaxNameLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

func isReserved(name string) bool {
	return hasPrefixFold(name, reservedPrefix)
}

// quoteName quotes a name for an error message, cut short so that a huge
// or binary "name" cannot flood a terminal.
func quoteName(name string) string {
	const max = 64
	if len(name) > max {
		return fmt.Sprintf("%q… (%d bytes)", name[:max], len(name))
	}
	return fmt.Sprintf("%q", name)
}

// upperASCII upper-cases ASCII letters only. strings.ToUpper would also map
// non-ASCII letters onto ASCII ones (U+017F ſ → S), which is not how any
// loader reads names.
func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func hasPrefixFold(s, upperPrefix string) bool {
	return len(s) >= len(upperPrefix) && upperASCII(s[:len(upperPrefix)]) == upperPrefix
}
