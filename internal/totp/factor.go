package totp

import (
	"time"

	"github.com/envseal/envseal/internal/seal"
)

// Factor is the second factor of one approval: it checks codes against
// totp.seal and reports each refusal (its Reason, never the code) to
// onFail. The checkpoint's runs and the broker's store requests both use
// it; it satisfies approve.SecondFactor.
type Factor struct {
	st       *Store
	now      func() time.Time
	onFail   func(reason string)
	verified bool
}

// OpenFactor returns the approval's second factor, or nil when TOTP is off
// (Active). A missing, damaged or locked-out totp.seal is an error, and
// onFail hears of it: the caller denies before the human is asked anything.
// Wipe the Factor when the approval is over.
func OpenFactor(dir string, key seal.Key, policyFlag bool, now func() time.Time, onFail func(reason string)) (*Factor, error) {
	if !Active(dir, policyFlag) {
		return nil, nil
	}
	st := NewStore(dir, key)
	if err := st.Check(now()); err != nil {
		st.Wipe()
		onFail(Reason(err))
		return nil, err
	}
	return &Factor{st: st, now: now, onFail: onFail}, nil
}

// Verify checks one code; a refusal goes to onFail.
func (f *Factor) Verify(code string) error {
	if err := f.st.Verify(code, f.now()); err != nil {
		f.onFail(Reason(err))
		return err
	}
	f.verified = true
	return nil
}

// Verified reports whether a code was accepted during this approval. An
// approver that allowed without asking for the code it was handed is not
// taken at its word: the caller checks this.
func (f *Factor) Verified() bool { return f.verified }

// Wipe clears the TOTP subkey. A nil Factor is fine.
func (f *Factor) Wipe() {
	if f != nil {
		f.st.Wipe()
	}
}
