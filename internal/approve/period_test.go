package approve

import (
	"errors"
	"testing"
	"time"
)

func TestJudgePeriods(t *testing.T) {
	const code = "ABCDEF"
	for _, tc := range []struct {
		answer string
		want   Decision
		err    error
	}{
		{"ABCDEF", AllowOnce, nil},
		{"abcdef!", AllowAlways, nil},
		{"ABCDEF+", AllowFor(8 * time.Hour), nil},
		{"ABCDEF+8h", AllowFor(8 * time.Hour), nil},
		{"abcdef+30M", AllowFor(30 * time.Minute), nil},
		{"ABCDEF+7d", AllowFor(7 * 24 * time.Hour), nil},
		{"ABCDEF+2w", AllowFor(14 * 24 * time.Hour), nil},
		// A period that does not parse or is out of range denies; it is
		// never read as "always".
		{"ABCDEF+8x", Deny, ErrBadPeriod},
		{"ABCDEF+91d", Deny, ErrBadPeriod},
		{"ABCDEF+0m", Deny, ErrBadPeriod},
		{"ABCDEF+-1h", Deny, ErrBadPeriod},
		{"ABCDEF+8h!", Deny, ErrBadPeriod},
		// The wrong code is the wrong code whatever follows.
		{"ABCDEG+8h", Deny, ErrWrongCode},
		{"+8h", Deny, ErrWrongCode},
		{"n", Deny, nil},
	} {
		d, err := judge(tc.answer, code)
		if d != tc.want || !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
			t.Errorf("judge(%q) = (%v, %v), want (%v, %v)", tc.answer, d, err, tc.want, tc.err)
		}
	}
}

func TestAllowForDecision(t *testing.T) {
	d := AllowFor(8 * time.Hour)
	if p, ok := d.For(); !ok || p != 8*time.Hour {
		t.Fatalf("For() = %v %v", p, ok)
	}
	if !d.SavesRule() || !AllowAlways.SavesRule() || AllowOnce.SavesRule() || Deny.SavesRule() {
		t.Error("SavesRule")
	}
	// Neither once nor always, so a caller that only knows those two
	// saves no rule.
	if d == AllowOnce || d == AllowAlways || d == Deny {
		t.Error("a timed allowance equals an untimed decision")
	}
	for _, x := range []Decision{Deny, AllowOnce, AllowAlways, Decision(3), Decision(-1)} {
		if _, ok := x.For(); ok {
			t.Errorf("%v has a period", x)
		}
	}
	if got := AllowFor(36 * time.Hour).String(); got != "allow for 1d12h" {
		t.Errorf("String() = %q", got)
	}
	if p, _ := AllowFor(365 * 24 * time.Hour).For(); p != MaxAllowFor {
		t.Errorf("AllowFor is not clamped to MaxAllowFor: %v", p)
	}
}
