package policy

import (
	"testing"
	"time"
)

// TestLookupContext: a rule covers only the working directory, the
// environment and the file contents it was approved with. Any difference
// is ContextChanged (asked again), never Allowed; the control is the
// exact context, which is Allowed.
func TestLookupContext(t *testing.T) {
	r := rule("/usr/bin/python3", "aa", "deploy.py")
	r.Files = []File{{Path: "/home/u/app/deploy.py", SHA256: "11"}, {Path: "/home/u/app/requests.py"}}
	p := &Policy{}
	p.Put(r)
	base := Query{Binary: "/usr/bin/python3", SHA256: "aa", Argv: []string{"deploy.py"}, Sandbox: "standard", Now: time.Now(),
		Grants: r.Grants, Cwd: r.Cwd, Env: r.Env, Files: r.Files}
	if got := p.Lookup(base); got.Verdict != Allowed {
		t.Fatalf("exact context: %v, want allowed", got.Verdict)
	}
	cases := map[string]func(q *Query){
		"other cwd":      func(q *Query) { q.Cwd = "/tmp/agent" },
		"other HOME":     func(q *Query) { q.Env = []string{"HOME=/tmp/agent", "PATH=/usr/bin:/bin"} },
		"extra variable": func(q *Query) { q.Env = append([]string{"MAKEFILES=/tmp/x"}, q.Env...) },
		"edited module": func(q *Query) {
			q.Files = []File{{Path: "/home/u/app/deploy.py", SHA256: "22"}, {Path: "/home/u/app/requests.py"}}
		},
		"new shadow module": func(q *Query) {
			q.Files = []File{{Path: "/home/u/app/deploy.py", SHA256: "11"}, {Path: "/home/u/app/requests.py", SHA256: "33"}}
		},
		"file dropped": func(q *Query) { q.Files = q.Files[:1] },
		"file set renamed": func(q *Query) {
			q.Files = []File{{Path: "/home/u/app/deploy.py", SHA256: "11"}, {Path: "/home/u/app/other.py"}}
		},
	}
	for name, mutate := range cases {
		q := base
		q.Files = append([]File(nil), base.Files...)
		mutate(&q)
		m := p.Lookup(q)
		if m.Verdict != ContextChanged {
			t.Errorf("%s: %v, want context changed", name, m.Verdict)
			continue
		}
		if d := m.Rule.DiffContext(q); d.Empty() {
			t.Errorf("%s: DiffContext found nothing", name)
		}
	}
	// A rule from before contexts were recorded (empty Cwd) covers nothing.
	old := rule("/usr/bin/make", "bb", "deploy")
	old.Cwd, old.Env = "", nil
	p.Put(old)
	q := Query{Binary: "/usr/bin/make", SHA256: "bb", Argv: []string{"deploy"}, Sandbox: "standard", Now: time.Now(), Grants: old.Grants}
	if got := p.Lookup(q); got.Verdict == Allowed {
		t.Errorf("rule without a recorded context: allowed")
	}
}

func TestDiffContextNames(t *testing.T) {
	r := rule("/usr/bin/make", "aa", "deploy")
	r.Files = []File{{Path: "/a/Makefile", SHA256: "11"}}
	q := Query{Cwd: "/b", Env: []string{"HOME=/home/u", "PATH=/tmp/evil:/usr/bin"}, Files: []File{{Path: "/a/Makefile", SHA256: "22"}, {Path: "/a/x.mk", SHA256: "33"}}}
	d := r.DiffContext(q)
	if d.Cwd != [2]string{"/home/u/app", "/b"} {
		t.Errorf("cwd: %v", d.Cwd)
	}
	if len(d.Env) != 1 || d.Env[0].Name != "PATH" {
		t.Errorf("env: %+v", d.Env)
	}
	if len(d.Files) != 2 || d.Files[0].Path != "/a/Makefile" || !d.Files[1].Old.Absent() {
		t.Errorf("files: %+v", d.Files)
	}
}
