package guard

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

// interpreterRE matches programs that run whatever code they are handed.
// A rule pins the interpreter's bytes and its argv, not the script or the
// modules it then reads, so anyone who can edit those files inherits the
// rule's secrets.
var interpreterRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(sh|bash|dash|zsh|ksh|mksh|fish|csh|tcsh|busybox|env|` +
		`python[0-9.]*|pypy[0-9.]*|node|nodejs|deno|bun|perl[0-9.]*|ruby[0-9.]*|php[0-9.]*|lua[0-9.]*|luajit|` +
		`tclsh[0-9.]*|wish[0-9.]*|java|osascript|pwsh|powershell|Rscript|julia|awk|gawk|mawk)$`)
})

// IsInterpreter reports whether path names a shell or a script
// interpreter, by its base name.
func IsInterpreter(path string) bool { return interpreterRE().MatchString(filepath.Base(path)) }

// ruleSignals: needs the unlocked policy; without it, say so.
func ruleSignals(f Facts) []Signal {
	if !f.RulesChecked {
		return sig("rules.unchecked", Info, "rules were not checked: they are sealed with the vault key",
			"envseal doctor --passphrase-fd N (or type the passphrase: envseal doctor --rules)")
	}
	var interp, forever []string
	for _, r := range f.Rules {
		if r.Expired(f.Now) {
			continue
		}
		prog := r.Binary
		if r.Interpreter != "" && IsInterpreter(r.Interpreter) && !IsInterpreter(prog) {
			// A #! script: its own bytes are pinned; flag only a bare
			// interpreter below.
			prog = ""
		}
		if prog != "" && IsInterpreter(prog) {
			interp = append(interp, fmt.Sprintf("%s (%s %s)", r.ID, filepath.Base(prog), strings.Join(r.Argv, " ")))
		}
		if r.Expires == nil {
			forever = append(forever, r.ID)
		}
	}
	var out []Signal
	if len(interp) > 0 {
		out = append(out, Signal{ID: "rules.interpreter", Severity: Medium,
			Found: "rules that allow a shell or interpreter: " + strings.Join(interp, ", ") + "; the code it runs (scripts, modules) is not pinned",
			Fix:   "revoke them (envseal policy revoke ID) and allow the script itself, made executable with a #! line"})
	}
	if len(forever) > 0 {
		out = append(out, Signal{ID: "rules.no_expiry", Severity: Low,
			Found: "rules that never expire: " + strings.Join(forever, ", "),
			Fix:   "revoke them (envseal policy revoke ID) and, at the next approval, allow for a while: type the code with +8h (or +30m, +7d)"})
	}
	if len(out) == 0 {
		out = append(out, Signal{ID: "rules.ok", Severity: Info, Found: fmt.Sprintf("%d rules: none allows an interpreter, all expire", len(f.Rules))})
	}
	return out
}
