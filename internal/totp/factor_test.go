package totp

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// TestFactor: off → no factor; on → a factor that reports each refusal
// (its reason, never the code) and says whether a code was accepted.
func TestFactor(t *testing.T) {
	now := func() time.Time { return t0.Add(Period) }
	var reasons []string
	onFail := func(r string) { reasons = append(reasons, r) }

	off := t.TempDir()
	if f, err := OpenFactor(off, newMaster(t, off), false, now, onFail); f != nil || err != nil {
		t.Fatalf("TOTP off: factor %v, err %v; want none", f, err)
	}

	dir, master, seed := newEnrolled(t)
	f, err := OpenFactor(dir, master, true, now, onFail)
	if err != nil || f == nil {
		t.Fatalf("TOTP on: factor %v, err %v", f, err)
	}
	defer f.Wipe()
	if f.Verified() {
		t.Fatal("a factor no code was checked against says verified")
	}
	if err := f.Verify(wrong(seed, Step(now(), Period))); !errors.Is(err, ErrBadCode) {
		t.Fatalf("wrong code: %v, want ErrBadCode", err)
	}
	if f.Verified() || !slices.Equal(reasons, []string{Reason(ErrBadCode)}) {
		t.Fatalf("after a wrong code: verified %v, reasons %q", f.Verified(), reasons)
	}
	if err := f.Verify(Code(seed, now())); err != nil {
		t.Fatalf("current code: %v", err)
	}
	if !f.Verified() {
		t.Fatal("an accepted code did not mark the factor verified")
	}
}
