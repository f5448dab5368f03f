package launch

import (
	"errors"
	"fmt"
	"time"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/totp"
)

// ErrSecondFactor: TOTP is on and the one-time code was refused, or the
// TOTP state cannot be used. The run is denied (126).
var ErrSecondFactor = approve.ErrSecondFactor

// secondFactor returns the TOTP check an approval must pass, or nil when
// TOTP is off (totp.OpenFactor). A missing, damaged or locked-out state
// denies here, before the human is asked anything. Call done when the run
// is over: it wipes the TOTP subkey.
func (c *Checkpoint) secondFactor(key seal.Key, policyFlag bool) (sf approve.SecondFactor, done func(), err error) {
	f, err := totp.OpenFactor(c.Vault.Dir(), key, policyFlag, c.now, func(reason string) {
		c.audit(key, audit.TOTPFailed, map[string]any{"reason": reason})
	})
	if err != nil {
		return nil, nil, &Error{Code: ExitDenied, Err: fmt.Errorf("%w: %w: %w", ErrDenied, ErrSecondFactor, err), Hint: TOTPHint(err)}
	}
	if f == nil {
		return nil, func() {}, nil
	}
	return f, f.Wipe, nil
}

// secondFactorSkipped reports an approver that allowed without asking for
// the code it was handed: the checkpoint does not take its word for it.
func secondFactorSkipped(sf approve.SecondFactor) bool {
	f, ok := sf.(*totp.Factor)
	return ok && !f.Verified()
}

// TOTPHint says what to do after a TOTP failure; "" when there is nothing
// better than trying again.
func TOTPHint(err error) string {
	var rl *totp.RateLimitedError
	switch {
	case errors.As(err, &rl):
		return fmt.Sprintf("too many wrong TOTP codes: approvals are locked for %s; wait, then type a current code", rl.Wait.Round(time.Second))
	case errors.Is(err, totp.ErrMissing):
		return "restore totp.seal from a backup, or run 'envseal totp reset' (passphrase and a typed RESET) to turn TOTP off, then enable it again"
	case errors.Is(err, totp.ErrState):
		return "restore totp.seal from a backup, or run 'envseal totp reset' (passphrase and a typed RESET); approvals stay denied until then"
	case errors.Is(err, totp.ErrReused):
		return "each TOTP code works once: wait for your authenticator app to show the next code"
	case errors.Is(err, totp.ErrBadCode):
		return "type the 6-digit code your authenticator app shows for envseal now (check the phone's clock if it keeps failing)"
	}
	return ""
}
