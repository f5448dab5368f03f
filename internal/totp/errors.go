package totp

import (
	"errors"
	"fmt"
	"time"
)

// Errors of Verify, matchable with errors.Is. Each one denies.
var (
	// ErrBadCode: the code matches none of the steps in the window.
	ErrBadCode = errors.New("wrong TOTP code")
	// ErrReused: the code is for a step at or before the last accepted one
	// (each code works once).
	ErrReused = errors.New("TOTP code already used")
	// ErrRateLimited is matched by every *RateLimitedError.
	ErrRateLimited = errors.New("too many wrong TOTP codes")
	// ErrState is matched by every *StateError: totp.seal is missing,
	// damaged or unreadable while TOTP is on.
	ErrState = errors.New("TOTP state unusable")
	// ErrMissing is matched by a *StateError for a missing totp.seal.
	ErrMissing = errors.New("TOTP state file missing")
	// ErrNotEnabled: disable or status on a vault without totp.seal.
	ErrNotEnabled = errors.New("TOTP is not enabled")
)

// RateLimitedError says how long verification is refused. While it stands
// no code is even checked.
type RateLimitedError struct {
	Wait     time.Duration // until the lockout ends
	Failures int           // consecutive failures so far
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("%v after %d wrong codes in a row: try again in %s", ErrRateLimited, e.Failures, e.Wait.Round(time.Second))
}

// Is makes errors.Is(err, ErrRateLimited) hold.
func (e *RateLimitedError) Is(t error) bool { return t == ErrRateLimited }

// StateError names totp.seal and what is wrong with it. Approvals are
// denied while it stands; TOTP is never treated as off because of it.
type StateError struct {
	Path    string
	Reason  string
	Missing bool
	Err     error // the underlying error, if any (e.g. a *safefile.UnsafeError)
}

func (e *StateError) Error() string {
	return fmt.Sprintf("TOTP state file %s %s; approvals are denied while TOTP is on", e.Path, e.Reason)
}

// Is makes errors.Is(err, ErrState) hold, and ErrMissing for a missing file.
func (e *StateError) Is(t error) bool { return t == ErrState || (e.Missing && t == ErrMissing) }

// Unwrap returns the underlying error.
func (e *StateError) Unwrap() error { return e.Err }

// Reason is the short word the audit log records for a failed check:
// bad, reused, rate_limited, state, or error.
func Reason(err error) string {
	switch {
	case errors.Is(err, ErrBadCode):
		return "bad"
	case errors.Is(err, ErrReused):
		return "reused"
	case errors.Is(err, ErrRateLimited):
		return "rate_limited"
	case errors.Is(err, ErrState):
		return "state"
	}
	return "error"
}
