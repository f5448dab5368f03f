package policy

import (
	"errors"
	"testing"
	"time"
)

func TestArgAllowed(t *testing.T) {
	for v, want := range map[string]bool{
		"main": true, "feature/login-2": true, "v1.2.3": true, "a_b": true, "dir/file.txt": true,
		"": false, "-f": false, "--upload-pack=touch /tmp/x": false, "--exec=sh": false, "+main": false,
		"main:main": false, ":main": false, "a=b": false, "a b": false, "$(id)": false, "`id`": false,
		"a;b": false, "*": false, "../../etc/passwd": false, "a/../b": false, "a\nb": false, "é": false,
	} {
		if got := ArgAllowed(v); got != want {
			t.Errorf("ArgAllowed(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestCanWiden(t *testing.T) {
	argv := []string{"git", "push", "origin", "main"}
	if err := CanWiden(argv, 3); err != nil {
		t.Fatalf("CanWiden(git push origin main, 3): %v", err)
	}
	for _, tc := range []struct {
		argv []string
		pos  int
	}{
		{argv, 0}, // the program itself
		{argv, 4}, // no such argument
		{[]string{"git", "push", "--force", "x"}, 2}, // a flag now
		{[]string{"git", "-C", "dir", "push"}, 2},    // an option's value (any repository)
		{[]string{"git", "push", "origin", "+m"}, 3}, // a force refspec
		{[]string{"tool", "--out=x", "y"}, 1},        // an assignment
	} {
		if err := CanWiden(tc.argv, tc.pos); !errors.Is(err, ErrCannotWiden) {
			t.Errorf("CanWiden(%q, %d) = %v, want ErrCannotWiden", tc.argv, tc.pos, err)
		}
	}
}

func TestLookupWidened(t *testing.T) {
	now := time.Now()
	r := Rule{ID: "r1", Binary: "/usr/bin/git", SHA256: "h", Argv: []string{"push", "origin", "main"}, AnyArg: 3,
		Grants: []Grant{{Secret: "GH", Delivery: DeliverEnv, Env: "GH"}}, Sandbox: "standard", Cwd: "/p", Created: now}
	exact := r
	exact.AnyArg = 0
	q := func(args ...string) Query {
		return Query{Binary: "/usr/bin/git", SHA256: "h", Argv: args, Grants: r.Grants, Sandbox: "standard", Cwd: "/p", Now: now}
	}
	p := &Policy{Rules: []Rule{r}}
	for _, tc := range []struct {
		args []string
		want Verdict
	}{
		{[]string{"push", "origin", "main"}, Allowed},
		{[]string{"push", "origin", "feature/x"}, Allowed},
		{[]string{"push", "origin", "--upload-pack=touch /tmp/pwned"}, NoRule}, // a flag never matches
		{[]string{"push", "origin", "-f"}, NoRule},
		{[]string{"push", "origin", "+main"}, NoRule},
		{[]string{"push", "origin", ":main"}, NoRule},
		{[]string{"push", "upstream", "main"}, NoRule}, // only [3] is wide
		{[]string{"push", "origin", "main", "extra"}, NoRule},
		{[]string{"push", "origin"}, NoRule},
	} {
		if m := p.Lookup(q(tc.args...)); m.Verdict != tc.want {
			t.Errorf("widened rule, argv %q: %v, want %v", tc.args, m.Verdict, tc.want)
		}
	}
	// Without widening the same rule is the exact argv.
	pe := &Policy{Rules: []Rule{exact}}
	if m := pe.Lookup(q("push", "origin", "feature/x")); m.Verdict != NoRule {
		t.Errorf("exact rule, another branch: %v, want no rule", m.Verdict)
	}
	if got, want := r.ArgvString(), `"push" "origin" [3]=<any>`; got != want {
		t.Errorf("ArgvString = %s, want %s", got, want)
	}
	// A widened rule does not replace the exact one for the same argv.
	p.Put(exact)
	if len(p.Rules) != 2 {
		t.Errorf("Put(exact) beside a widened rule left %d rules, want 2", len(p.Rules))
	}
}
