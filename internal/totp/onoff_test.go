package totp

import (
	"errors"
	"testing"

	"github.com/envseal/envseal/internal/seal"
)

// TestEnableOrder: the flag is set only after totp.seal is written; a flag
// that cannot be set is a FlagError with totp.seal kept (TOTP on); a
// refused code never reaches the flag.
func TestEnableOrder(t *testing.T) {
	e := fixedEnrolment(t)
	dir := t.TempDir()
	st := NewStore(dir, seal.NewKey())
	defer st.Wipe()
	boom := errors.New("policy.seal is read-only")
	err := e.Enable(st, 1, codes(Code(e.seed, t0)), func() {}, func() error {
		if p, _ := Present(dir); !p {
			t.Error("the flag was set before totp.seal was written")
		}
		return boom
	})
	var fe *FlagError
	if !errors.As(err, &fe) || !errors.Is(err, boom) || err.Error() != boom.Error() {
		t.Fatalf("Enable with a failing flag = %v, want a FlagError wrapping it", err)
	}
	if !Active(dir, false) {
		t.Fatal("a failed flag after enrolment left TOTP off")
	}

	e2 := fixedEnrolment(t)
	st2 := NewStore(t.TempDir(), seal.NewKey())
	defer st2.Wipe()
	err = e2.Enable(st2, 1, codes(wrong(e2.seed, step0())), func() {}, func() error {
		t.Error("the flag was set for a refused code")
		return nil
	})
	var ne *NotEnrolledError
	if !errors.As(err, &ne) {
		t.Fatalf("Enable with a wrong code = %v, want a NotEnrolledError", err)
	}
}

// TestOffOrder: the flag is cleared while totp.seal is still there; if it
// cannot be, totp.seal stays (TOTP on); else totp.seal goes.
func TestOffOrder(t *testing.T) {
	dir, master, _ := newEnrolled(t)
	st := NewStore(dir, master)
	defer st.Wipe()
	boom := errors.New("policy.seal is read-only")
	var fe *FlagError
	if err := st.Off(func() error { return boom }); !errors.As(err, &fe) || !errors.Is(err, boom) {
		t.Fatalf("Off with a failing flag = %v, want a FlagError wrapping it", err)
	}
	if p, _ := Present(dir); !p {
		t.Fatal("Off removed totp.seal although the flag could not be cleared")
	}
	err := st.Off(func() error {
		if p, _ := Present(dir); !p {
			t.Error("totp.seal was removed before the flag was cleared")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := Present(dir); p {
		t.Fatal("Off left totp.seal")
	}
}
