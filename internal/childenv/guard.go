package childenv

import (
	"sort"
	"strings"
)

// refusedOwn are the variables whose mere presence makes envseal refuse to
// start: each makes the loader run foreign code inside the process that is
// about to unlock the vault and hold the master key.
//
// LD_LIBRARY_PATH (and DYLD_LIBRARY_PATH) are deliberately not here. They
// are set by many ordinary setups (CUDA, conda, Nix), so refusing them would
// make envseal unusable there and teach users to unset variables blindly.
// The real defence against all of these is that release builds are
// statically linked (CGO_ENABLED=0), so no loader reads any of them; Guard
// exists for the builds that are not, and as a loud signal that something is
// tampering. Children never see any LD_* or DYLD_* variable (IsInjection).
var refusedOwn = map[string]bool{
	"LD_PRELOAD":            true,
	"LD_AUDIT":              true,
	"DYLD_INSERT_LIBRARIES": true,
}

// RefusedError is Guard's verdict: envseal's own environment carries a
// loader injection variable. Vars holds the names, sorted; values are never
// kept (they are paths the attacker chose, not secrets, but there is no
// reason to echo them).
type RefusedError struct {
	Vars []string
}

func (e *RefusedError) Error() string {
	return "refusing to run: " + strings.Join(e.Vars, ", ") +
		" set in envseal's own environment would load code into the process that unlocks the vault"
}

// Hint says what to do next, for the CLI's "hint:" line.
func (e *RefusedError) Hint() string {
	var b strings.Builder
	b.WriteString("run envseal without them: env")
	for _, v := range e.Vars {
		b.WriteString(" -u ")
		b.WriteString(v)
	}
	b.WriteString(" envseal …")
	return b.String()
}

// Guard checks envseal's own environment (os.Environ()) and returns a
// *RefusedError if LD_PRELOAD, LD_AUDIT or DYLD_INSERT_LIBRARIES is present,
// even with an empty value: the CLI then exits 125 and says why. The loader
// matches names exactly, so Guard does too. An entry without '=' is no
// variable to libc; it is judged by its whole text anyway, erring on the side
// of refusing.
func Guard(env []string) error {
	seen := map[string]bool{}
	for _, entry := range env {
		name, _, _ := strings.Cut(entry, "=")
		if refusedOwn[name] {
			seen[name] = true
		}
	}
	if len(seen) == 0 {
		return nil
	}
	vars := make([]string, 0, len(seen))
	for v := range seen {
		vars = append(vars, v)
	}
	sort.Strings(vars)
	return &RefusedError{Vars: vars}
}
