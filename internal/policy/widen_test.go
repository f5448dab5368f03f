package policy

import (
	"testing"
	"time"
)

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
