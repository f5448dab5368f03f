package totp

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/envseal/envseal/internal/seal"
)

func fixedEnrolment(t *testing.T) *Enrolment {
	t.Helper()
	e, err := NewEnrolment("alice@host")
	if err != nil {
		t.Fatal(err)
	}
	e.now = func() time.Time { return t0 }
	t.Cleanup(e.Wipe)
	return e
}

// codes returns a read func handing out cs in turn.
func codes(cs ...string) func() (string, error) {
	return func() (string, error) {
		c := cs[0]
		cs = cs[1:]
		return c, nil
	}
}

// TestConfirmRetries: a wrong code is retried up to attempts; the right one
// stores the seed; attempts wrong codes give a NotEnrolledError wrapping
// ErrBadCode and write nothing; a read error comes back as it is.
func TestConfirmRetries(t *testing.T) {
	e := fixedEnrolment(t)
	dir := t.TempDir()
	st := NewStore(dir, seal.NewKey())
	defer st.Wipe()
	retries := 0
	bad := wrong(e.seed, step0())
	if err := e.Confirm(st, 3, codes(bad, bad, Code(e.seed, t0)), func() { retries++ }); err != nil || retries != 2 {
		t.Fatalf("Confirm = %v after %d retries; want nil after 2", err, retries)
	}
	if p, _ := Present(dir); !p {
		t.Fatal("a confirmed enrolment wrote no totp.seal")
	}

	e2 := fixedEnrolment(t)
	dir2 := t.TempDir()
	st2 := NewStore(dir2, seal.NewKey())
	defer st2.Wipe()
	bad2 := wrong(e2.seed, step0())
	err := e2.Confirm(st2, 2, codes(bad2, bad2), func() {})
	var ne *NotEnrolledError
	if !errors.As(err, &ne) || !errors.Is(err, ErrBadCode) || !strings.HasPrefix(err.Error(), "TOTP not enabled: ") {
		t.Fatalf("two wrong codes: %v, want a NotEnrolledError wrapping ErrBadCode", err)
	}
	if p, _ := Present(dir2); p {
		t.Fatal("a refused enrolment wrote totp.seal")
	}
	boom := errors.New("no terminal")
	if err := e2.Confirm(st2, 3, func() (string, error) { return "", boom }, func() {}); err != boom {
		t.Fatalf("read error came back as %v", err)
	}
}

func TestScreenAndReports(t *testing.T) {
	e := fixedEnrolment(t)
	s := e.Screen()
	for what, want := range map[string]string{"QR code": e.QR, "URI": e.URI, "grouped seed": Grouped(e.seed), "parameters": "(SHA1, 6 digits, 30 seconds)"} {
		if !strings.Contains(s, want) {
			t.Errorf("Screen lacks the %s", what) // never print the seed
		}
	}
	if got := (Status{Failures: 2}).Report(); got != "totp: on (totp.seal authenticates); 2 wrong codes in a row" {
		t.Errorf("Report = %q", got)
	}
	if got := (Status{Failures: 5, LockedFor: 29600 * time.Millisecond}).Report(); !strings.HasSuffix(got, "; approvals locked for 30s") {
		t.Errorf("Report while locked = %q", got)
	}
	dir, _, _ := newEnrolled(t)
	if !strings.HasPrefix(PresenceReport(dir), "totp: on ") || !strings.HasPrefix(PresenceReport(t.TempDir()), "totp: off ") {
		t.Error("PresenceReport does not follow totp.seal")
	}
}
