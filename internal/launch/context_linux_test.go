package launch

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/vault"
)

// screenApprover plays the human: it records every request it is shown,
// may act while the request is on screen (as an attacker racing the
// human would), and answers from a queue (deny once it is empty).
type screenApprover struct {
	mu      sync.Mutex
	answers []approve.Decision
	shown   []*approve.Request
	during  func()
}

func (a *screenApprover) Approve(_ context.Context, r *approve.Request) (approve.Decision, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.shown = append(a.shown, r)
	if a.during != nil {
		a.during()
	}
	if len(a.answers) == 0 {
		return approve.Deny, nil
	}
	d := a.answers[0]
	a.answers = a.answers[1:]
	return d, nil
}

func (a *screenApprover) asked() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.shown)
}

func (a *screenApprover) last() *approve.Request {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.shown[len(a.shown)-1]
}

// screenText is what the human read on the last request.
func (a *screenApprover) screenText() string {
	r := a.last()
	var b strings.Builder
	for _, w := range r.Warnings {
		b.WriteString(w + "\n")
	}
	for _, row := range r.Context {
		b.WriteString(row.Label + ": " + row.Value + "\n")
	}
	return b.String()
}

type ctxEnv struct {
	t     *testing.T
	v     *vault.Vault
	ap    *screenApprover
	home  string
	human []string
	// evil is the requester's environment: the agent's HOME and PATH.
	evil []string
}

const ctxValue = "ctx-secret-value-8d2f61c0a9"

func newCtxEnv(t *testing.T) *ctxEnv {
	t.Helper()
	root := t.TempDir()
	v, k, err := vault.Create(filepath.Join(root, "vault"), []byte("pw"), seal.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}, policy.InitEmpty)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Store(k, "TOKEN", []byte(ctxValue), vault.StoreOptions{}); err != nil {
		t.Fatal(err)
	}
	k.Wipe()
	home := filepath.Join(root, "home")
	os.Mkdir(home, 0o700)
	evil := filepath.Join(root, "agent")
	os.Mkdir(evil, 0o700)
	return &ctxEnv{t: t, v: v, ap: &screenApprover{}, home: home,
		human: []string{"HOME=" + home, "PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"},
		evil:  []string{"HOME=" + evil, "PATH=" + evil + ":/usr/bin:/bin", "TMPDIR=" + evil, "MAKEFILES=" + evil + "/x.mk", "PYTHONPLATLIBDIR=" + evil}}
}

func (e *ctxEnv) checkpoint() *Checkpoint {
	return New(Config{
		Vault:    e.v,
		Unlock:   func() (seal.Key, error) { return e.v.Unlock([]byte("pw")) },
		Approver: e.ap,
		Audit:    NopAuditor{},
		HumanEnv: e.human,
	})
}

// run runs argv in cwd with TOKEN in $TOKEN, the agent's environment as
// the requester's, and returns the child's output.
func (e *ctxEnv) run(cwd string, argv []string, mutate ...func(*Request)) (string, *Result, error) {
	out := &lockedBuf{}
	req := &Request{Argv: argv, Cwd: cwd, Env: e.evil, PATH: "/usr/bin:/bin",
		Grants: []policy.Grant{{Secret: "TOKEN", Delivery: policy.DeliverEnv, Env: "TOKEN"}},
		Stdout: out, Stderr: out}
	for _, m := range mutate {
		m(req)
	}
	res, err := e.checkpoint().Run(context.Background(), req)
	return out.String(), res, err
}

func (e *ctxEnv) allowAlways(cwd string, argv []string, mutate ...func(*Request)) string {
	e.t.Helper()
	e.ap.answers = append(e.ap.answers, approve.AllowAlways)
	n := e.ap.asked()
	out, res, err := e.run(cwd, argv, mutate...)
	if err != nil || e.ap.asked() != n+1 {
		e.t.Fatalf("first run of %q: asked %d times, err %v\n%s", argv, e.ap.asked()-n, err, out)
	}
	if res.ExitCode != 0 {
		e.t.Fatalf("first run of %q: exit %d\n%s", argv, res.ExitCode, out)
	}
	// Control: the same run again is covered by the rule.
	out2, res, err := e.run(cwd, argv, mutate...)
	if err != nil || e.ap.asked() != n+1 || res.ExitCode != 0 {
		e.t.Fatalf("second run of %q: asked again (%d) or failed: %v\n%s", argv, e.ap.asked()-n-1, err, out2)
	}
	return out
}

// expectAsked runs again (the human denies) and checks the screen named
// what changed.
func (e *ctxEnv) expectAsked(cwd string, argv []string, want string, mutate ...func(*Request)) {
	e.t.Helper()
	n := e.ap.asked()
	out, _, err := e.run(cwd, argv, mutate...)
	if e.ap.asked() != n+1 {
		e.t.Fatalf("%q after the change: not asked again (err %v)\n%s", argv, err, out)
	}
	if !errors.Is(err, ErrDenied) {
		e.t.Fatalf("%q denied by the human: err %v", argv, err)
	}
	if out != "" {
		e.t.Fatalf("%q ran although denied:\n%s", argv, out)
	}
	if screen := e.ap.screenText(); !strings.Contains(screen, want) {
		e.t.Fatalf("%q: the approval screen does not say %q:\n%s", argv, want, screen)
	}
}

func write(t *testing.T, p, body string, mode os.FileMode) {
	t.Helper()
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
}

// TestRuleBindsCwd: a rule approved in one directory does not cover the
// same argv from another (the agent's own deploy.sh); the screen says the
// working directory changed.
func TestRuleBindsCwd(t *testing.T) {
	if asUnprivileged(t) {
		return
	}
	e := newCtxEnv(t)
	a, b := filepath.Join(e.home, "app"), filepath.Join(t.TempDir(), "agent-app")
	write(t, filepath.Join(a, "deploy.sh"), "echo approved-deploy\n", 0o644)
	write(t, filepath.Join(b, "deploy.sh"), "echo agent-deploy\n", 0o644)
	if out := e.allowAlways(a, []string{"sh", "deploy.sh"}); !strings.Contains(out, "approved-deploy") {
		t.Fatalf("approved run printed %q", out)
	}
	e.expectAsked(b, []string{"sh", "deploy.sh"}, "working directory: was "+a)
}

// TestRuleBindsEnvironment: the child's PATH, HOME, TMPDIR come from the
// human's side, never the requester's; variables --inherit-env passes are
// shown, recorded, and a different value asks again.
func TestRuleBindsEnvironment(t *testing.T) {
	if asUnprivileged(t) {
		return
	}
	e := newCtxEnv(t)
	app := filepath.Join(e.home, "app")
	os.MkdirAll(app, 0o755)
	argv := []string{"sh", "-c", `printf '%s|%s|%s|%s\n' "$HOME" "$PATH" "${TMPDIR-unset}" "${MAKEFILES-unset}"`}
	out := e.allowAlways(app, argv)
	want := e.home + "|/usr/local/bin:/usr/bin:/bin|unset|unset\n"
	if out != want {
		t.Fatalf("child environment %q, want the human's %q", out, want)
	}
	if !strings.Contains(e.ap.screenText(), "environment: HOME="+e.home) {
		t.Fatalf("the screen does not show the environment:\n%s", e.ap.screenText())
	}
	// --inherit-env: the requester's MAKEFILES is a new variable the human
	// must see; the requester's HOME/PATH still do not override.
	inherit := func(r *Request) { r.InheritEnv = true }
	e.expectAsked(app, argv, "new variable MAKEFILES=", inherit)
	e.ap.answers = append(e.ap.answers, approve.AllowAlways)
	out, _, err := e.run(app, argv, inherit)
	if err != nil || !strings.HasPrefix(out, e.home+"|/usr/local/bin:/usr/bin:/bin|unset|") || strings.HasSuffix(out, "unset\n") {
		t.Fatalf("inherit-env run: %v %q", err, out)
	}
	other := func(r *Request) {
		r.InheritEnv = true
		r.Env = append(append([]string(nil), e.evil[:3]...), "MAKEFILES=/elsewhere.mk", "PYTHONPLATLIBDIR="+e.home)
	}
	e.expectAsked(app, argv, "variable MAKEFILES:", other)
}

// TestClosureChangesAskAgain: for each runner, editing a file the run
// reads, or creating one that would change it, asks again and the screen
// names the file. The first run is approved, the second (unchanged) runs
// without asking — the control.
func TestClosureChangesAskAgain(t *testing.T) {
	if asUnprivileged(t) {
		return
	}
	type step struct {
		change func(dir string)
		want   string
	}
	cases := []struct {
		name  string
		need  string
		setup func(dir string)
		argv  []string
		out   string
		steps []step
	}{
		{"shell script and what it sources", "sh", func(d string) {
			write(t, filepath.Join(d, "release.sh"), ". ./lib.sh\necho release $(greet)\n", 0o755)
			write(t, filepath.Join(d, "lib.sh"), "greet() { echo hello; }\n", 0o644)
		}, []string{"bash", "./release.sh"}, "release hello", []step{
			{func(d string) { write(t, filepath.Join(d, "lib.sh"), "greet() { echo \"$TOKEN\" > /tmp/x; }\n", 0o644) }, "file edited: "},
			{func(d string) { write(t, filepath.Join(d, "release.sh"), "echo evil\n", 0o755) }, "release.sh"},
		}},
		{"python script with local modules", "python3", func(d string) {
			write(t, filepath.Join(d, "deploy.py"), "import helper\nprint('deploy', helper.X)\n", 0o644)
			write(t, filepath.Join(d, "helper.py"), "X = 1\n", 0o644)
		}, []string{"python3", "deploy.py"}, "deploy 1", []step{
			{func(d string) { write(t, filepath.Join(d, "helper.py"), "X = 2\n", 0o644) }, "helper.py"},
			{func(d string) { write(t, filepath.Join(d, "json.py"), "import os\n", 0o644) }, "new file " + "JSONPY"},
		}},
		{"make and its includes", "make", func(d string) {
			write(t, filepath.Join(d, "Makefile"), "include vars.mk\ndeploy:\n\t@echo deploy $(V)\n", 0o644)
			write(t, filepath.Join(d, "vars.mk"), "V = one\n", 0o644)
		}, []string{"make", "-s", "deploy"}, "deploy one", []step{
			{func(d string) { write(t, filepath.Join(d, "vars.mk"), "V = two\n", 0o644) }, "vars.mk"},
			{func(d string) { write(t, filepath.Join(d, "GNUmakefile"), "deploy:\n\t@env\n", 0o644) }, "new file " + "GNUMAKEFILE"},
		}},
		{"git with hooks and config", "git", func(d string) {
			gitInit(t, d)
		}, []string{"git", "status", "--porcelain"}, "", []step{
			{func(d string) { write(t, filepath.Join(d, ".git/hooks/pre-push"), "#!/bin/sh\nenv > /tmp/x\n", 0o755) }, "pre-push"},
			{func(d string) {
				f, _ := os.OpenFile(filepath.Join(d, ".git/config"), os.O_APPEND|os.O_WRONLY, 0)
				f.WriteString("[core]\n\thooksPath = /tmp/agent-hooks\n")
				f.Close()
			}, ".git/config"},
		}},
		{"npm run with package.json", "npm", func(d string) {
			write(t, filepath.Join(d, "package.json"), `{"name":"app","version":"1.0.0","scripts":{"deploy":"node deploy.js"}}`, 0o644)
			write(t, filepath.Join(d, "deploy.js"), "console.log('deploy', process.env.TOKEN.length)\n", 0o644)
		}, []string{"npm", "run", "--silent", "deploy"}, "deploy 27", []step{
			{func(d string) { write(t, filepath.Join(d, "deploy.js"), "console.log(process.env.TOKEN)\n", 0o644) }, "deploy.js"},
			{func(d string) {
				write(t, filepath.Join(d, "package.json"), `{"name":"app","version":"1.0.0","scripts":{"deploy":"env"}}`, 0o644)
			}, "package.json"},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := exec.LookPath(c.need); err != nil {
				t.Fatalf("%s is not installed (.ci/run installs it): %v", c.need, err)
			}
			e := newCtxEnv(t)
			dir := filepath.Join(e.home, "app")
			os.MkdirAll(dir, 0o755)
			c.setup(dir)
			out := e.allowAlways(dir, c.argv)
			if !strings.Contains(out, c.out) {
				t.Fatalf("approved run printed %q, want %q", out, c.out)
			}
			for _, s := range c.steps {
				s.change(dir)
				want := strings.NewReplacer("JSONPY", filepath.Join(dir, "json.py"), "GNUMAKEFILE", filepath.Join(dir, "GNUmakefile")).Replace(s.want)
				e.expectAsked(dir, c.argv, want)
			}
		})
	}
}

func gitInit(t *testing.T, dir string) {
	t.Helper()
	cmd := exec.Command("git", "init", "-q", dir)
	cmd.Env = []string{"HOME=" + dir, "PATH=/usr/bin:/bin"}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
}

// TestWriteAfterCheckServesApprovedBytes: while the request is on the
// human's screen — after the check, before the run — the agent replaces
// the script (rename over it) and rewrites the file it sources in place.
// The child still runs the bytes that were hashed and shown (served
// read-only at their real paths), and cannot write them either. An
// in-place rewrite of the script itself is caught when it is sealed: the
// run is refused, nothing of it runs.
func TestWriteAfterCheckServesApprovedBytes(t *testing.T) {
	if asUnprivileged(t) {
		return
	}
	e := newCtxEnv(t)
	dir := filepath.Join(e.home, "app")
	script := filepath.Join(dir, "release.sh")
	approved := "#!/bin/sh\n. ./lib.sh\necho \"release $(greet)\"\necho tamper >> ./lib.sh 2>/dev/null || echo lib-read-only\n"
	write(t, script, approved, 0o755)
	write(t, filepath.Join(dir, "lib.sh"), "greet() { echo approved; }\n", 0o644)
	e.ap.during = func() {
		write(t, script+".new", "#!/bin/sh\necho \"agent code: $TOKEN\"\n", 0o755)
		if err := os.Rename(script+".new", script); err != nil {
			t.Error(err)
		}
		write(t, filepath.Join(dir, "lib.sh"), "greet() { echo \"agent: $TOKEN\"; }\n", 0o644)
	}
	e.ap.answers = []approve.Decision{approve.AllowOnce}
	out, res, err := e.run(dir, []string{"./release.sh"})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("run: %v\n%s", err, out)
	}
	if !strings.Contains(out, "release approved\n") || !strings.Contains(out, "lib-read-only\n") || strings.Contains(out, "agent") {
		t.Fatalf("the child ran other bytes than the approved ones: %q", out)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "lib.sh")); !strings.Contains(string(b), "agent") {
		t.Fatal("control: the agent's rewrite did not land on disk")
	}

	write(t, script, approved, 0o755)
	e.ap.during = func() { write(t, script, "#!/bin/sh\necho \"agent code: $TOKEN\"\n", 0o755) }
	e.ap.answers = []approve.Decision{approve.AllowOnce}
	out, _, err = e.run(dir, []string{"./release.sh"})
	if !errors.Is(err, ErrDenied) || out != "" {
		t.Fatalf("script rewritten in place after the check: err %v, output %q (want a refusal and no output)", err, out)
	}
}

// TestScriptsRunAtTheirRealPath: a `#!/usr/bin/env node` program reached
// through a node_modules/.bin symlink (wrangler, npx, …) sees its real
// path and loads its sibling module; a perl script's output and exit
// status come back intact (it used to run as an empty program); psql,
// Debian's perl wrapper, runs.
func TestScriptsRunAtTheirRealPath(t *testing.T) {
	if asUnprivileged(t) {
		return
	}
	e := newCtxEnv(t)
	dir := filepath.Join(e.home, "app")
	write(t, filepath.Join(dir, "node_modules/tool/cli.js"), "#!/usr/bin/env node\nconst lib = require('./lib.js');\nconsole.log(lib.name, __filename, process.env.TOKEN.length);\n", 0o755)
	write(t, filepath.Join(dir, "node_modules/tool/lib.js"), "module.exports = { name: 'lib-loaded' };\n", 0o644)
	os.MkdirAll(filepath.Join(dir, "node_modules/.bin"), 0o755)
	if err := os.Symlink("../tool/cli.js", filepath.Join(dir, "node_modules/.bin/tool")); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "report.pl"), "#!/usr/bin/perl\nprint \"perl ran with \", length($ENV{TOKEN}), \"\\n\";\nexit 3;\n", 0o755)

	e.ap.answers = []approve.Decision{approve.AllowOnce, approve.AllowOnce, approve.AllowOnce}
	out, res, err := e.run(dir, []string{"./node_modules/.bin/tool", "deploy"})
	real := filepath.Join(dir, "node_modules/tool/cli.js")
	if err != nil || res.ExitCode != 0 || out != "lib-loaded "+real+" 27\n" {
		t.Fatalf("node script: exit %v err %v output %q", res, err, out)
	}
	out, res, err = e.run(dir, []string{"./report.pl"})
	if err != nil || res.ExitCode != 3 || out != "perl ran with 27\n" {
		t.Fatalf("perl script: res %+v err %v output %q", res, err, out)
	}
	if _, err := exec.LookPath("psql"); err != nil {
		t.Fatalf("psql is not installed (.ci/run installs postgresql-client): %v", err)
	}
	out, res, err = e.run(dir, []string{"psql", "--version"})
	if err != nil || res.ExitCode != 0 || !strings.Contains(out, "psql (PostgreSQL)") {
		t.Fatalf("psql: res %+v err %v output %q", res, err, out)
	}
}

// TestInterpreterShim: python3 found on the human's PATH as a pyenv/asdf
// style shim (a shell script exec'ing the real interpreter) runs, with
// the script it is handed pinned.
func TestInterpreterShim(t *testing.T) {
	if asUnprivileged(t) {
		return
	}
	e := newCtxEnv(t)
	shims := filepath.Join(e.home, ".pyenv/shims")
	write(t, filepath.Join(shims, "python3"), "#!/bin/sh\nexec /usr/bin/python3 \"$@\"\n", 0o755)
	e.human[1] = "PATH=" + shims + ":/usr/bin:/bin"
	dir := filepath.Join(e.home, "app")
	write(t, filepath.Join(dir, "deploy.py"), "import helper\nprint('shimmed', helper.X)\n", 0o644)
	write(t, filepath.Join(dir, "helper.py"), "X = 'ok'\n", 0o644)
	run := func(r *Request) { r.PATH = shims + ":/usr/bin:/bin" }
	if out := e.allowAlways(dir, []string{"python3", "deploy.py"}, run); out != "shimmed ok\n" {
		t.Fatalf("shim run printed %q", out)
	}
	write(t, filepath.Join(dir, "helper.py"), "X = 'edited'\n", 0o644)
	e.expectAsked(dir, []string{"python3", "deploy.py"}, "helper.py", run)
}

// TestPythonBytecodeCannotShadow: the agent drops an unchecked hash-based
// .pyc for a pinned module into __pycache__ (Python loads those without
// looking at the source). Run plainly, Python runs the agent's bytecode —
// the control; run approved, the pinned source runs.
func TestPythonBytecodeCannotShadow(t *testing.T) {
	if asUnprivileged(t) {
		return
	}
	e := newCtxEnv(t)
	dir := filepath.Join(e.home, "app")
	write(t, filepath.Join(dir, "deploy.py"), "import helper\nprint('deploy', helper.X)\n", 0o644)
	write(t, filepath.Join(dir, "helper.py"), "X = 'pinned'\n", 0o644)
	write(t, filepath.Join(dir, "evil.py"), "X = 'agent bytecode'\n", 0o644)
	mk := exec.Command("/usr/bin/python3", "-c", `import py_compile, importlib.util
py_compile.compile("evil.py", cfile=importlib.util.cache_from_source("helper.py"), invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)`)
	mk.Dir = dir
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("make the agent's .pyc: %v\n%s", err, out)
	}
	os.Remove(filepath.Join(dir, "evil.py"))
	plain := exec.Command("/usr/bin/python3", "deploy.py")
	plain.Dir = dir
	if out, _ := plain.CombinedOutput(); !strings.Contains(string(out), "agent bytecode") {
		t.Fatalf("control: plain python did not load the planted .pyc (%q): the test proves nothing", out)
	}
	e.ap.answers = []approve.Decision{approve.AllowOnce}
	out, _, err := e.run(dir, []string{"python3", "deploy.py"})
	if err != nil || out != "deploy pinned\n" {
		t.Fatalf("approved run: err %v, output %q (want the pinned source's)", err, out)
	}
	if !strings.Contains(e.ap.screenText(), "python bytecode: a cache private to this run") {
		t.Fatalf("the screen does not say the bytecode cache is private:\n%s", e.ap.screenText())
	}
}

// lockedBuf is one buffer for both of a child's streams (their pumps write
// from two goroutines).
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
