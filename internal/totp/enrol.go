package totp

import (
	"errors"
	"fmt"
	"time"
)

// Enrolment is one `envseal totp enable`: a fresh seed and the otpauth://
// URI and QR code the human scans from it. Wipe it when done.
type Enrolment struct {
	seed []byte
	URI  string
	QR   string
	now  func() time.Time // time.Now; tests fix it
}

// NewEnrolment draws a seed for account (Account()) and renders it.
func NewEnrolment(account string) (*Enrolment, error) {
	seed := NewSeed()
	uri := URI(account, seed)
	qr, err := QR(uri)
	if err != nil {
		clear(seed)
		return nil, err
	}
	return &Enrolment{seed: seed, URI: uri, QR: qr, now: time.Now}, nil
}

// Screen is what the terminal shows to enrol an authenticator app: the QR
// code, the URI and the seed grouped for typing by hand. It holds the seed:
// only ever write it to the terminal, and clear the screen afterwards.
func (e *Enrolment) Screen() string {
	return fmt.Sprintf("\nScan this with your authenticator app (Aegis, Google Authenticator, 1Password, …):\n\n%s\n%s\n\n", e.QR, e.URI) +
		fmt.Sprintf("Or type the secret in by hand: %s\n(SHA1, 6 digits, 30 seconds)\n\n", Grouped(e.seed))
}

// Wipe clears the seed.
func (e *Enrolment) Wipe() { clear(e.seed) }

// NotEnrolledError is Confirm's error when the store refused the seed (a
// code that does not match, TOTP already on, a write that failed), as
// against reading a code failing.
type NotEnrolledError struct{ Err error }

func (e *NotEnrolledError) Error() string { return "TOTP not enabled: " + e.Err.Error() }
func (e *NotEnrolledError) Unwrap() error { return e.Err }

// Confirm stores the seed in st once the human types a code that matches:
// up to attempts codes from read, with retry called after each wrong one
// but the last. An error of read is returned as it is; a refusal of the
// store as a *NotEnrolledError.
func (e *Enrolment) Confirm(st *Store, attempts int, read func() (string, error), retry func()) error {
	for i := 1; ; i++ {
		code, err := read()
		if err != nil {
			return err
		}
		err = st.Enroll(e.seed, code, e.now())
		if err == nil {
			return nil
		}
		if !errors.Is(err, ErrBadCode) || i >= attempts {
			return &NotEnrolledError{Err: err}
		}
		retry()
	}
}

// Report is `envseal totp status --verify`'s line for TOTP on, once
// totp.seal authenticated.
func (s Status) Report() string {
	r := fmt.Sprintf("totp: on (totp.seal authenticates); %d wrong codes in a row", s.Failures)
	if s.LockedFor > 0 {
		r += fmt.Sprintf("; approvals locked for %s", s.LockedFor.Round(time.Second))
	}
	return r
}

// OffReport is `envseal totp status --verify`'s line for TOTP off.
const OffReport = "totp: off (policy flag clear, no totp.seal)"

// PresenceReport is `envseal totp status`'s line without the key: what
// the presence of totp.seal in dir says (the authoritative flag is sealed
// in the policy).
func PresenceReport(dir string) string {
	if p, _ := Present(dir); p {
		return "totp: on (totp.seal is present; --verify checks it with the passphrase)"
	}
	return "totp: off as far as the files show (no totp.seal); the flag is sealed in the policy: --verify checks it"
}
