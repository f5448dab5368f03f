package totp

// Turning TOTP on and off touches two places, the sealed policy flag and
// totp.seal, and either one means on (Active). The order is what keeps a
// failure or a crash between the two fail closed, so it is written here,
// once; the flag itself is set by the caller's function (this package does
// not import policy).

// FlagError is Enable's or Off's error when the caller's policy flag could
// not be changed. After Enable, totp.seal is written and TOTP is on; after
// Off, nothing was removed and TOTP is still on.
type FlagError struct{ Err error }

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

// Enable is Confirm, then setFlag: totp.seal first, so from the moment
// the seed is stored TOTP is on whatever setFlag does. Confirm's errors
// come back as they are; setFlag's as a *FlagError.
func (e *Enrolment) Enable(st *Store, attempts int, read func() (string, error), retry func(), setFlag func() error) error {
	if err := e.Confirm(st, attempts, read, retry); err != nil {
		return err
	}
	if err := setFlag(); err != nil {
		return &FlagError{Err: err}
	}
	return nil
}

// Off clears the flag (clearFlag), then removes totp.seal: a crash in
// between leaves the file, which still means on. clearFlag's error comes
// back as a *FlagError, and then totp.seal is left alone.
func (s *Store) Off(clearFlag func() error) error {
	if err := clearFlag(); err != nil {
		return &FlagError{Err: err}
	}
	return s.Remove()
}
