package launch

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnpinnedClassesAreSaid: each class of file the closure does not pin
// (docs/THREAT_MODEL.md "still not pinned") is named on the approval
// screen, and is really not pinned: after the agent edits such a file the
// approved rule still covers the run, which reads the edit (the output
// changes) without asking. The first run's output is the control: it
// shows the file is read at all. When one of these starts asking again,
// the class is pinned: move its row in docs/THREAT_MODEL.md.
func TestUnpinnedClassesAreSaid(t *testing.T) {
	if asUnprivileged(t) {
		return
	}
	type unpinned struct {
		name   string
		need   string
		setup  func(e *ctxEnv, dir string)
		argv   []string
		screen string // on the first approval screen
		before string // in the approved run's output
		change func(e *ctxEnv, dir string)
		after  string // in the next run's output, not asked
	}
	userSite := func(e *ctxEnv) string {
		q := exec.Command("/usr/bin/python3", "-c", "import site; print(site.getusersitepackages())")
		q.Env = e.human
		b, err := q.Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	cases := []unpinned{
		{"a node_modules dependency", "node", func(e *ctxEnv, d string) {
			write(t, filepath.Join(d, "deploy.js"), "console.log(require('dep'))\n", 0o644)
			write(t, filepath.Join(d, "node_modules/dep/index.js"), "module.exports = 'dep one'\n", 0o644)
		}, []string{"node", "deploy.js"}, "node: node_modules is not pinned", "dep one", func(e *ctxEnv, d string) {
			write(t, filepath.Join(d, "node_modules/dep/index.js"), "module.exports = 'dep two'\n", 0o644)
		}, "dep two"},
		{"a python module in the user site-packages", "python3", func(e *ctxEnv, d string) {
			write(t, filepath.Join(d, "deploy.py"), "import dep\nprint(dep.X)\n", 0o644)
			write(t, filepath.Join(userSite(e), "dep.py"), "X = 'dep one'\n", 0o644)
		}, []string{"python3", "-B", "deploy.py"}, "site-packages, virtualenvs", "dep one", func(e *ctxEnv, d string) {
			write(t, filepath.Join(userSite(e), "dep.py"), "X = 'dep two'\n", 0o644)
		}, "dep two"},
		{"a python dynamic import", "python3", func(e *ctxEnv, d string) {
			write(t, filepath.Join(d, "deploy.py"), "import importlib\nprint(importlib.import_module('plugins.' + 'p').X)\n", 0o644)
			write(t, filepath.Join(d, "plugins/p.py"), "X = 'plugin one'\n", 0o644)
		}, []string{"python3", "deploy.py"}, "dynamic imports", "plugin one", func(e *ctxEnv, d string) {
			write(t, filepath.Join(d, "plugins/p.py"), "X = 'plugin two'\n", 0o644)
		}, "plugin two"},
		{"a file a script sources by a computed path", "sh", func(e *ctxEnv, d string) {
			write(t, filepath.Join(d, "deploy.sh"), ". \"$PWD/lib/env.sh\"\necho \"$TARGET\"\n", 0o644)
			write(t, filepath.Join(d, "lib/env.sh"), "TARGET='env one'\n", 0o644)
		}, []string{"sh", "deploy.sh"}, "deploy.sh sources a file named at run time", "env one", func(e *ctxEnv, d string) {
			write(t, filepath.Join(d, "lib/env.sh"), "TARGET='env two'\n", 0o644)
		}, "env two"},
		{"a git includeIf file", "git", func(e *ctxEnv, d string) {
			git := exec.Command("git", "init", "-q", d)
			git.Env = e.human
			if out, err := git.CombinedOutput(); err != nil {
				t.Fatalf("git init: %v\n%s", err, out)
			}
			appendFile(t, filepath.Join(d, ".git/config"), "[includeIf \"gitdir:"+d+"/\"]\n\tpath = "+e.home+"/inc.gitconfig\n")
			write(t, filepath.Join(e.home, "inc.gitconfig"), "[deploy]\n\ttarget = inc-one\n", 0o644)
		}, []string{"git", "config", "--get", "deploy.target"}, "git: includeIf sections are not followed", "inc-one", func(e *ctxEnv, d string) {
			write(t, filepath.Join(e.home, "inc.gitconfig"), "[deploy]\n\ttarget = inc-two\n", 0o644)
		}, "inc-two"},
		{"a command the program starts on its own", "python3", func(e *ctxEnv, d string) {
			write(t, filepath.Join(d, "deploy.py"), "import subprocess\nsubprocess.run(['sh', 'tool' + '.sh'])\n", 0o644)
			write(t, filepath.Join(d, "tool.sh"), "echo tool one\n", 0o644)
		}, []string{"python3", "deploy.py"}, "what commands it starts on its own read", "tool one", func(e *ctxEnv, d string) {
			write(t, filepath.Join(d, "tool.sh"), "echo tool two\n", 0o644)
		}, "tool two"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := exec.LookPath(c.need); err != nil {
				t.Fatalf("%s is not installed: %v", c.need, err)
			}
			e := newCtxEnv(t)
			dir := filepath.Join(e.home, "app")
			write(t, filepath.Join(dir, ".keep"), "", 0o644)
			c.setup(e, dir)
			if out := e.allowAlways(dir, c.argv); !strings.Contains(out, c.before) {
				t.Fatalf("control: the approved run printed %q, want %q", out, c.before)
			}
			if s := e.ap.screenText(); !strings.Contains(s, c.screen) {
				t.Fatalf("the approval screen does not say %q:\n%s", c.screen, s)
			}
			c.change(e, dir)
			n := e.ap.asked()
			out, res, err := e.run(dir, c.argv)
			if err != nil || res.ExitCode != 0 || e.ap.asked() != n {
				t.Fatalf("after the edit: asked %d, err %v, res %+v, output %q (asked again: the class is pinned now; update docs/THREAT_MODEL.md)", e.ap.asked()-n, err, res, out)
			}
			if !strings.Contains(out, c.after) {
				t.Fatalf("after the edit the run printed %q, want the edited %q", out, c.after)
			}
		})
	}
}
