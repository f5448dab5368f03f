package approve

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestJudgeWiden(t *testing.T) {
	git := &Request{Path: "/usr/bin/git", Argv: []string{"git", "push", "origin", "main"}}
	const code = "ABCDEF"
	d, err := judgeFor(git, code+"!*3", code)
	if err != nil || d.Widened() != 3 || !d.SavesRule() || d.Widen(0) != AllowAlways {
		t.Fatalf("CODE!*3 = %v, %v; want allow always widening [3]", d, err)
	}
	if got := d.String(); got != "allow always, argument [3] any value" {
		t.Errorf("String() = %q", got)
	}
	d, err = judgeFor(git, code+"+8h*3", code)
	if p, ok := d.For(); err != nil || !ok || p != 8*time.Hour || d.Widened() != 3 {
		t.Fatalf("CODE+8h*3 = %v, %v; want allow for 8h widening [3]", d, err)
	}
	// A #! script's arguments are its own (the script is pinned).
	script := &Request{Path: "/home/u/deploy.sh", Interpreter: "/bin/bash", Argv: []string{"./deploy.sh", "prod"}}
	if d, err := judgeFor(script, code+"!*1", code); err != nil || d.Widened() != 1 {
		t.Errorf("a script's argument: %v, %v; want widened [1]", d, err)
	}
	// Never a default: the plain answers widen nothing.
	for _, a := range []string{code, code + "!", code + "+8h"} {
		if d, _ := judgeFor(git, a, code); d.Widened() != 0 {
			t.Errorf("%s widened [%d]", a, d.Widened())
		}
	}
	for _, tc := range []struct {
		r      *Request
		answer string
	}{
		{git, code + "*3"},  // allow once saves no rule to widen
		{git, code + "!*4"}, // no argument [4]
		{git, code + "!*0"}, // the program
		{git, code + "!*x"}, // not a number
		{&Request{Path: "/usr/bin/git", Argv: []string{"git", "push", "--force", "origin"}}, code + "!*2"},
		{&Request{Path: "/usr/bin/git", Argv: []string{"git", "-C", "repo", "push"}}, code + "!*2"},
		{&Request{Path: "/bin/sh", Argv: []string{"sh", "deploy.sh"}}, code + "!*1"},
		{&Request{Path: "/usr/bin/python3", Argv: []string{"python3", "tool.py", "arg"}}, code + "!*2"},
		{&Request{Path: "/usr/bin/env", Argv: []string{"env", "ls"}}, code + "!*1"},
		{&Request{Path: "/usr/bin/make", Argv: []string{"make", "deploy"}}, code + "!*1"},
	} {
		d, err := judgeFor(tc.r, tc.answer, code)
		if d != Deny || !errors.Is(err, ErrBadWiden) {
			t.Errorf("%q answered %q: %v, %v; want deny with ErrBadWiden", tc.r.Argv, tc.answer, d, err)
		}
	}
	// The wrong code stays the wrong code, whatever follows it.
	if _, err := judgeFor(git, "ZZZZZZ!*3", code); !errors.Is(err, ErrWrongCode) {
		t.Errorf("wrong code with *3: %v, want ErrWrongCode", err)
	}
}

// The screen offers widening only where it is allowed, and says what it
// hands the agent.
func TestScreenOffersWidening(t *testing.T) {
	git := &Request{Path: "/usr/bin/git", SHA256: strings.Repeat("a", 64), Argv: []string{"git", "push", "origin", "main"}}
	help := ttyHelp(git, "ABCDEF", time.Minute)
	for _, want := range []string{
		"ABCDEF!*3   allow always, and argument [3] may then be ANY value the agent chooses (or *N for another [N]: 1, 2, 3)",
		"not starting with '-' (never a flag)",
		"ABCDEF!     allow always (saves a rule for this path, hash, exact argv and context)",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("the git screen lacks %q:\n%s", want, help)
		}
	}
	for _, r := range []*Request{
		{Path: "/bin/bash", Argv: []string{"bash", "-c", "echo hi"}},
		{Path: "/usr/bin/git", Argv: []string{"git", "--upload-pack=x"}},
		{Store: &StoreAsk{Name: "X"}},
	} {
		if h := ttyHelp(r, "ABCDEF", time.Minute); strings.Contains(h, "*") {
			t.Errorf("%q is offered widening:\n%s", r.Argv, h)
		}
	}
}
