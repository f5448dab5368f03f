package approve

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDecisionZeroValueDenies(t *testing.T) {
	var d Decision
	if d != Deny || d.String() != "deny" {
		t.Fatalf("zero Decision is %v", d)
	}
	if AllowOnce.String() != "allow once" || AllowAlways.String() != "allow always" {
		t.Fatal("decision names changed")
	}
}

func TestNewCode(t *testing.T) {
	seen := map[string]bool{}
	counts := map[rune]int{}
	for i := 0; i < 2000; i++ {
		c, err := newCode(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != codeLen || strings.Trim(c, codeAlphabet) != "" {
			t.Fatalf("bad code %q", c)
		}
		seen[c] = true
		for _, r := range c {
			counts[r]++
		}
	}
	if len(seen) < 1990 {
		t.Fatalf("only %d distinct codes in 2000", len(seen))
	}
	// 12000 letters over 31: about 387 each; every letter must show up
	// and none may dominate (a modulo bias or a stuck generator would).
	for _, r := range codeAlphabet {
		if counts[r] < 250 || counts[r] > 550 {
			t.Errorf("letter %c drawn %d times", r, counts[r])
		}
	}
	// Rejection sampling: bytes >= 248 are skipped, not folded onto A..H.
	c, err := newCode(bytes.NewReader(append(bytes.Repeat([]byte{255}, 16), make([]byte, 16)...)))
	if err != nil || c != "AAAAAA" {
		t.Fatalf("newCode with rejected bytes = %q, %v", c, err)
	}
	if _, err := newCode(bytes.NewReader(nil)); err == nil {
		t.Fatal("newCode with an empty reader did not fail")
	}
}

func TestJudge(t *testing.T) {
	for _, tc := range []struct {
		answer string
		want   Decision
		err    error
	}{
		{"K7MPQ2", AllowOnce, nil},
		{" k7mpq2 ", AllowOnce, nil},
		{"K7MPQ2!", AllowAlways, nil},
		{"K7MPQ2!!", Deny, ErrWrongCode},
		{"K7MPQ", Deny, ErrWrongCode},
		{"K7MPQ22", Deny, ErrWrongCode},
		{"!", Deny, ErrWrongCode},
		{"y", Deny, ErrWrongCode},
		{"yes", Deny, ErrWrongCode},
		{"", Deny, nil},
		{"no", Deny, nil},
	} {
		d, err := judge(tc.answer, "K7MPQ2")
		if d != tc.want || !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
			t.Errorf("judge(%q) = (%v, %v), want (%v, %v)", tc.answer, d, err, tc.want, tc.err)
		}
	}
}

func TestNew(t *testing.T) {
	for _, k := range []string{KindTTY, KindPinentry, KindZenity, KindKdialog} {
		if a, err := New(k); err != nil || a == nil {
			t.Errorf("New(%q): %v", k, err)
		}
	}
	if _, err := New("mcp"); err == nil || !strings.Contains(err.Error(), "unknown approver") {
		t.Errorf("New(mcp) = %v, want unknown approver", err)
	}
	if _, err := New(KindTTY, WithTimeout(0)); err == nil {
		t.Error("zero timeout accepted")
	}
}

func TestAnswerHelpShowsTimeout(t *testing.T) {
	if s := answerHelp(&Request{}, "ABCDEF", DefaultTimeout); !strings.Contains(s, "60s") || !strings.Contains(s, "ABCDEF!") {
		t.Fatalf("answerHelp: %q", s)
	}
	if fmtDuration(1500*time.Millisecond) != "1.5s" {
		t.Fatal(fmtDuration(1500 * time.Millisecond))
	}
}
