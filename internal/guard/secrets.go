package guard

import (
	"fmt"
	"strings"
	"time"
)

// SecretHealth is what doctor knows of one secret without its value: its
// name, when its rotation falls due (zero: never) and whether it looked
// weak when stored.
type SecretHealth struct {
	Name string
	Due  time.Time
	Weak bool
}

// secretSignals: secrets due for rotation, weak values.
func secretSignals(f Facts) []Signal {
	if f.Secrets == nil {
		return nil
	}
	var due, weak []string
	for _, s := range f.Secrets {
		if !s.Due.IsZero() && !f.Now.Before(s.Due) {
			due = append(due, fmt.Sprintf("%s (due %s)", s.Name, s.Due.UTC().Format("2006-01-02")))
		}
		if s.Weak {
			weak = append(weak, s.Name)
		}
	}
	var out []Signal
	if len(due) > 0 {
		out = append(out, Signal{ID: "secrets.rotation_due", Severity: Medium,
			Found: fmt.Sprintf("%d secret(s) older than their rotation period: %s", len(due), strings.Join(due, ", ")),
			Fix:   "issue a new value at the provider, then 'envseal store NAME --force'; or change the period: envseal rotation NAME 180d|never"})
	}
	if len(weak) > 0 {
		out = append(out, Signal{ID: "secrets.weak", Severity: Low,
			Found: "values that looked like placeholders or had under 64 bits of entropy when stored: " + strings.Join(weak, ", "),
			Fix:   "replace them with real credentials ('envseal store NAME --force', or --generate for values envseal may choose)"})
	}
	if len(out) == 0 {
		out = append(out, Signal{ID: "secrets.ok", Severity: Info, Found: fmt.Sprintf("%d secret(s): none due for rotation, none weak", len(f.Secrets))})
	}
	return out
}

// totpSignals: whether approvals need a second factor. Without the
// passphrase only totp.seal's presence is known; with --rules the sealed
// flag is checked too (Facts.TOTPFlag).
func totpSignals(f Facts) []Signal {
	if f.TOTP == nil {
		return nil
	}
	on, err := f.TOTP()
	switch {
	case err != nil:
		return sig("approval.totp", Medium, "cannot tell whether TOTP is on: "+err.Error(), "check the vault directory's permissions, then 'envseal totp status --verify'")
	case on || f.TOTPFlag:
		return sig("approval.totp", Info, "approvals also need a TOTP code (single use, rate-limited)", "")
	}
	return sig("approval.totp", Low, "approvals need only the challenge code typed on the approval channel; an agent that owns that terminal sees it",
		"envseal totp enable (a code from your phone is then needed for every approval)")
}
