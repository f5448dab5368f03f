package launch

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/policy"
)

// runnerCase is one runner of issue 16's table, or a neighbour of one (a
// config file the program reads, a file a script it runs reads): approved
// once, it runs; run again unchanged it is not asked (the control); each
// change the agent could make is asked again with the screen naming the
// file.
type runnerCase struct {
	name  string
	need  []string
	setup func(e *ctxEnv, dir string)
	argv  []string
	out   string
	steps []runnerStep
}

type runnerStep struct {
	what   string
	change func(e *ctxEnv, dir string)
	want   string // on the approval screen; DIR and HOME are replaced
}

func (c runnerCase) run(t *testing.T) {
	for _, n := range c.need {
		if _, err := exec.LookPath(n); err != nil {
			t.Fatalf("%s is not installed (.ci/run installs it): %v", n, err)
		}
	}
	for _, s := range c.steps {
		t.Run(s.what, func(t *testing.T) {
			// A fresh world per step: each change is judged against the
			// approved rule alone.
			e := newCtxEnv(t)
			dir := filepath.Join(e.home, "app")
			os.MkdirAll(dir, 0o755)
			c.setup(e, dir)
			out := e.allowAlways(dir, c.argv)
			if !strings.Contains(out, c.out) {
				t.Fatalf("approved run printed %q, want %q", out, c.out)
			}
			s.change(e, dir)
			want := strings.NewReplacer("DIR", dir, "HOME", e.home).Replace(s.want)
			e.expectAsked(dir, c.argv, want)
		})
	}
}

func appendFile(t *testing.T, p, s string) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(s)
	f.Close()
}

// TestRunnerTable: the runners of issue 16 beyond TestClosureChangesAskAgain's
// first cases, and their neighbours — other config files each program
// reads, from the project or from the human's HOME (which a same-uid agent
// can write in direct mode and from a jail without --rw).
func TestRunnerTable(t *testing.T) {
	if asUnprivileged(t) {
		return
	}
	pkg := func(script string) string {
		return `{"name":"app","version":"1.0.0","scripts":{"deploy":"` + script + `"}}`
	}
	nodeDeploy := func(e *ctxEnv, dir string) {
		write(t, filepath.Join(dir, "package.json"), pkg("node deploy.js"), 0o644)
		write(t, filepath.Join(dir, "package-lock.json"), `{"name":"app","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"app","version":"1.0.0"}}}`, 0o644)
		write(t, filepath.Join(dir, "deploy.js"), "const lib = require('./lib.js');\nconsole.log('deploy', lib.target, process.env.TOKEN.length)\n", 0o644)
		write(t, filepath.Join(dir, "lib.js"), "module.exports = { target: 'prod' };\n", 0o644)
	}
	npmSteps := []runnerStep{
		{"package.json script", func(e *ctxEnv, d string) { write(t, filepath.Join(d, "package.json"), pkg("env"), 0o644) }, "DIR/package.json"},
		{"the script file", func(e *ctxEnv, d string) {
			appendFile(t, filepath.Join(d, "deploy.js"), "console.log(process.env.TOKEN)\n")
		}, "DIR/deploy.js"},
		{"a module the script requires", func(e *ctxEnv, d string) {
			write(t, filepath.Join(d, "lib.js"), "process.exitCode = process.env.TOKEN.charCodeAt(0); module.exports = {};\n", 0o644)
		}, "DIR/lib.js"},
		{"project .npmrc script-shell", func(e *ctxEnv, d string) {
			write(t, filepath.Join(d, ".npmrc"), "script-shell="+d+"/evil.sh\n", 0o644)
		}, "new file DIR/.npmrc"},
		{"~/.npmrc", func(e *ctxEnv, d string) {
			write(t, filepath.Join(e.home, ".npmrc"), "node-options=--require "+d+"/evil.js\n", 0o644)
		}, "new file HOME/.npmrc"},
	}
	cases := []runnerCase{
		{"npm run", []string{"npm"}, nodeDeploy, []string{"npm", "run", "--silent", "deploy"}, "deploy prod 27", append(npmSteps,
			runnerStep{"the lockfile", func(e *ctxEnv, d string) {
				write(t, filepath.Join(d, "package-lock.json"), `{"name":"app","lockfileVersion":3,"packages":{"node_modules/evil":{"version":"1.0.0","resolved":"file:evil"}}}`, 0o644)
			}, "DIR/package-lock.json"})},
		{"pnpm run", []string{"pnpm"}, func(e *ctxEnv, dir string) {
			nodeDeploy(e, dir)
			os.Remove(filepath.Join(dir, "package-lock.json"))
			write(t, filepath.Join(dir, "pnpm-lock.yaml"), "lockfileVersion: '9.0'\n", 0o644)
		}, []string{"pnpm", "run", "--silent", "deploy"}, "deploy prod 27", append(npmSteps,
			runnerStep{"the lockfile", func(e *ctxEnv, d string) { appendFile(t, filepath.Join(d, "pnpm-lock.yaml"), "importers: {}\n") }, "DIR/pnpm-lock.yaml"})},
		{"yarn run (yarn 1)", []string{"yarn"}, func(e *ctxEnv, dir string) {
			nodeDeploy(e, dir)
			os.Remove(filepath.Join(dir, "package-lock.json"))
			write(t, filepath.Join(dir, "yarn.lock"), "# yarn lockfile v1\n", 0o644)
		}, []string{"yarn", "--silent", "run", "deploy"}, "deploy prod 27", []runnerStep{
			npmSteps[0], npmSteps[1], npmSteps[2],
			{"the lockfile", func(e *ctxEnv, d string) {
				appendFile(t, filepath.Join(d, "yarn.lock"), "evil@1.0.0:\n  resolved \"file:evil\"\n")
			}, "DIR/yarn.lock"},
			{"project .yarnrc", func(e *ctxEnv, d string) {
				write(t, filepath.Join(d, ".yarnrc"), "script-shell \""+d+"/evil.sh\"\n", 0o644)
			}, "new file DIR/.yarnrc"},
			{"~/.yarnrc", func(e *ctxEnv, d string) {
				write(t, filepath.Join(e.home, ".yarnrc"), "script-shell \""+d+"/evil.sh\"\n", 0o644)
			}, "new file HOME/.yarnrc"},
			{"~/.npmrc (yarn 1 reads it)", func(e *ctxEnv, d string) {
				write(t, filepath.Join(e.home, ".npmrc"), "script-shell="+d+"/evil.sh\n", 0o644)
			}, "new file HOME/.npmrc"},
		}},
		{"node requiring modules in other directories", []string{"node"}, func(e *ctxEnv, dir string) {
			write(t, filepath.Join(dir, "deploy.js"), "const { target } = require('./src/target');\nconsole.log('deploy', target)\n", 0o644)
			write(t, filepath.Join(dir, "src/target.js"), "const u = require('./util');\nconst conf = require('../conf/settings.json');\nmodule.exports = { target: u.name(conf.target) };\n", 0o644)
			write(t, filepath.Join(dir, "src/util.js"), "exports.name = t => t.toUpperCase();\n", 0o644)
			write(t, filepath.Join(dir, "conf/settings.json"), `{"target":"prod"}`, 0o644)
		}, []string{"node", "deploy.js"}, "deploy PROD", []runnerStep{
			{"a module in a subdirectory", func(e *ctxEnv, d string) {
				appendFile(t, filepath.Join(d, "src/target.js"), "process.exitCode = process.env.TOKEN.charCodeAt(0);\n")
			}, "DIR/src/target.js"},
			{"a module that module requires", func(e *ctxEnv, d string) {
				appendFile(t, filepath.Join(d, "src/util.js"), "process.exitCode = process.env.TOKEN.charCodeAt(0);\n")
			}, "DIR/src/util.js"},
			{"a JSON file it requires from another directory", func(e *ctxEnv, d string) {
				write(t, filepath.Join(d, "conf/settings.json"), `{"target":"evil"}`, 0o644)
			}, "DIR/conf/settings.json"},
		}},
		{"npx a node_modules/.bin tool", []string{"npx"}, func(e *ctxEnv, dir string) {
			write(t, filepath.Join(dir, "package.json"), `{"name":"app","version":"1.0.0"}`, 0o644)
			write(t, filepath.Join(dir, "node_modules/tool/package.json"), `{"name":"tool","version":"1.0.0","bin":{"tool":"cli.js"}}`, 0o644)
			write(t, filepath.Join(dir, "node_modules/tool/cli.js"), "#!/usr/bin/env node\nrequire('./lib/run.js');\nconsole.log('tool ran', process.env.TOKEN.length)\n", 0o755)
			write(t, filepath.Join(dir, "node_modules/tool/lib/run.js"), "module.exports = {};\n", 0o644)
			os.MkdirAll(filepath.Join(dir, "node_modules/.bin"), 0o755)
			os.Symlink("../tool/cli.js", filepath.Join(dir, "node_modules/.bin/tool"))
		}, []string{"npx", "--no-install", "tool"}, "tool ran 27", []runnerStep{
			{"the tool's package.json", func(e *ctxEnv, d string) {
				write(t, filepath.Join(d, "node_modules/tool/package.json"), `{"name":"tool","version":"1.0.0","type":"module","bin":{"tool":"cli.js"}}`, 0o644)
			}, "DIR/node_modules/tool/package.json"},
			{"a module the tool's script requires from its package", func(e *ctxEnv, d string) {
				appendFile(t, filepath.Join(d, "node_modules/tool/lib/run.js"), "process.exitCode = process.env.TOKEN.charCodeAt(0)\n")
			}, "DIR/node_modules/tool/lib/run.js"},
			{"the tool's script", func(e *ctxEnv, d string) {
				appendFile(t, filepath.Join(d, "node_modules/tool/cli.js"), "process.exitCode = process.env.TOKEN.charCodeAt(0)\n")
			}, "DIR/node_modules/tool/cli.js"},
			{"package.json", func(e *ctxEnv, d string) {
				write(t, filepath.Join(d, "package.json"), `{"name":"app","version":"1.0.1"}`, 0o644)
			}, "DIR/package.json"},
		}},
		{"npm run a node_modules/.bin tool (wrangler deploy)", []string{"npm"}, func(e *ctxEnv, dir string) {
			write(t, filepath.Join(dir, "package.json"), pkg("tool deploy"), 0o644)
			write(t, filepath.Join(dir, "node_modules/tool/cli.js"), "#!/usr/bin/env node\nconsole.log('tool', process.argv[2], process.env.TOKEN.length)\n", 0o755)
			os.MkdirAll(filepath.Join(dir, "node_modules/.bin"), 0o755)
			os.Symlink("../tool/cli.js", filepath.Join(dir, "node_modules/.bin/tool"))
		}, []string{"npm", "run", "--silent", "deploy"}, "tool deploy 27", []runnerStep{
			{"the tool's entry script", func(e *ctxEnv, d string) {
				appendFile(t, filepath.Join(d, "node_modules/tool/cli.js"), "process.exitCode = process.env.TOKEN.charCodeAt(0)\n")
			}, "DIR/node_modules/tool/cli.js"},
		}},
		{"python3 -m a module of the project", []string{"python3"}, func(e *ctxEnv, dir string) {
			write(t, filepath.Join(dir, "app/__init__.py"), "", 0o644)
			write(t, filepath.Join(dir, "app/deploy.py"), "from app import target\nprint('deploy', target.NAME)\n", 0o644)
			write(t, filepath.Join(dir, "app/target.py"), "NAME = 'prod'\n", 0o644)
			write(t, filepath.Join(dir, "settings.py"), "X = 1\n", 0o644)
		}, []string{"python3", "-m", "app.deploy"}, "deploy prod", []runnerStep{
			{"the module it runs", func(e *ctxEnv, d string) {
				appendFile(t, filepath.Join(d, "app/deploy.py"), "import os; os._exit(7)\n")
			}, "DIR/app/deploy.py"},
			{"a module beside it", func(e *ctxEnv, d string) {
				appendFile(t, filepath.Join(d, "app/target.py"), "import os; os._exit(7)\n")
			}, "DIR/app/target.py"},
			{"a new module in the cwd shadowing the stdlib", func(e *ctxEnv, d string) { write(t, filepath.Join(d, "os.py"), "", 0o644) }, "new file DIR/os.py"},
		}},
		{"psql", []string{"psql"}, func(e *ctxEnv, dir string) {}, []string{"psql", "--version"}, "psql (PostgreSQL)", []runnerStep{
			{"~/.psqlrc (\\! runs shell commands)", func(e *ctxEnv, d string) { write(t, filepath.Join(e.home, ".psqlrc"), "\\! env > /tmp/x\n", 0o644) }, "new file HOME/.psqlrc"},
		}},
		{"bash -c naming scripts", []string{"bash"}, func(e *ctxEnv, dir string) {
			write(t, filepath.Join(dir, "env.sh"), "TARGET=prod\n", 0o644)
			write(t, filepath.Join(dir, "scripts/release.sh"), "#!/bin/sh\n. ./scripts/lib.sh\necho release $1 $(lib)\n", 0o755)
			write(t, filepath.Join(dir, "scripts/lib.sh"), "lib() { echo ok; }\n", 0o644)
		}, []string{"bash", "-c", "source ./env.sh && ./scripts/release.sh $TARGET"}, "release prod ok", []runnerStep{
			{"the file the -c string sources", func(e *ctxEnv, d string) { appendFile(t, filepath.Join(d, "env.sh"), "env > /tmp/x\n") }, "DIR/env.sh"},
			{"the script it runs", func(e *ctxEnv, d string) { appendFile(t, filepath.Join(d, "scripts/release.sh"), "env > /tmp/x\n") }, "DIR/scripts/release.sh"},
			{"what that script sources", func(e *ctxEnv, d string) { appendFile(t, filepath.Join(d, "scripts/lib.sh"), "env > /tmp/x\n") }, "DIR/scripts/lib.sh"},
		}},
		{"make", []string{"make", "python3", "curl"}, func(e *ctxEnv, dir string) {
			write(t, filepath.Join(dir, "Makefile"), "include vars.mk\ndeploy:\n\t@python3 deploy.py $(V)\n\t@curl -s -o /dev/null file:///dev/null\n", 0o644)
			write(t, filepath.Join(dir, "vars.mk"), "V = one\n", 0o644)
			write(t, filepath.Join(dir, "deploy.py"), "import sys, helper\nprint('deploy', sys.argv[1], helper.X)\n", 0o644)
			write(t, filepath.Join(dir, "helper.py"), "X = 'ok'\n", 0o644)
		}, []string{"make", "-s", "deploy"}, "deploy one ok", []runnerStep{
			{"the Makefile", func(e *ctxEnv, d string) { appendFile(t, filepath.Join(d, "Makefile"), "\t@env\n") }, "DIR/Makefile"},
			{"an include", func(e *ctxEnv, d string) { write(t, filepath.Join(d, "vars.mk"), "V = two\n", 0o644) }, "DIR/vars.mk"},
			{"the script a recipe runs", func(e *ctxEnv, d string) {
				appendFile(t, filepath.Join(d, "deploy.py"), "import os; os._exit(ord(os.environ['TOKEN'][0]))\n")
			}, "DIR/deploy.py"},
			{"a module of that script", func(e *ctxEnv, d string) {
				write(t, filepath.Join(d, "helper.py"), "import os\nX = 'ok'\nos._exit(ord(os.environ['TOKEN'][0]))\n", 0o644)
			}, "DIR/helper.py"},
			{"~/.curlrc of a recipe's curl", func(e *ctxEnv, d string) {
				write(t, filepath.Join(e.home, ".curlrc"), "trace-ascii = "+d+"/trace.txt\n", 0o644)
			}, "new file HOME/.curlrc"},
		}},
		{"git push with hooks and config", []string{"git"}, func(e *ctxEnv, dir string) { gitPushSetup(t, e, dir) },
			[]string{"git", "push", "-q", "origin", "HEAD:refs/heads/main"}, "", []runnerStep{
				{"a new pre-push hook", func(e *ctxEnv, d string) {
					write(t, filepath.Join(d, ".git/hooks/pre-push"), "#!/bin/sh\nexit 0\n", 0o755)
				}, "new file DIR/.git/hooks/pre-push"},
				{"core.hooksPath in .git/config", func(e *ctxEnv, d string) {
					appendFile(t, filepath.Join(d, ".git/config"), "[core]\n\thooksPath = "+d+"/hooks\n")
				}, "DIR/.git/config"},
				{"core.hooksPath in ~/.gitconfig", func(e *ctxEnv, d string) {
					write(t, filepath.Join(e.home, ".gitconfig"), "[core]\n\thooksPath = "+d+"/hooks\n", 0o644)
				}, "new file HOME/.gitconfig"},
				{"~/.config/git/config", func(e *ctxEnv, d string) {
					write(t, filepath.Join(e.home, ".config/git/config"), "[core]\n\tsshCommand = "+d+"/evil.sh\n", 0o644)
				}, "new file HOME/.config/git/config"},
				{"a hook of the local remote it pushes to", func(e *ctxEnv, d string) {
					write(t, filepath.Join(e.home, "remote.git/hooks/pre-receive"), "#!/bin/sh\nexit 0\n", 0o755)
				}, "new file HOME/remote.git/hooks/pre-receive"},
			}},
		{"git push with a husky-style core.hooksPath", []string{"git"}, func(e *ctxEnv, dir string) {
			gitPushSetup(t, e, dir)
			appendFile(t, filepath.Join(dir, ".git/config"), "[core]\n\thooksPath = .husky\n")
			write(t, filepath.Join(dir, ".husky/pre-push"), "#!/bin/sh\n. ./scripts/env.sh\n./scripts/check.sh\n", 0o755)
			write(t, filepath.Join(dir, "scripts/env.sh"), "CHECK=1\n", 0o644)
			write(t, filepath.Join(dir, "scripts/check.sh"), "#!/bin/sh\nexit 0\n", 0o755)
		}, []string{"git", "push", "-q", "origin", "HEAD:refs/heads/main"}, "", []runnerStep{
			{"the hook", func(e *ctxEnv, d string) { appendFile(t, filepath.Join(d, ".husky/pre-push"), "env > /tmp/x\n") }, "DIR/.husky/pre-push"},
			{"a script the hook runs", func(e *ctxEnv, d string) { appendFile(t, filepath.Join(d, "scripts/check.sh"), "env > /tmp/x\n") }, "DIR/scripts/check.sh"},
			{"a file the hook sources", func(e *ctxEnv, d string) { appendFile(t, filepath.Join(d, "scripts/env.sh"), "env > /tmp/x\n") }, "DIR/scripts/env.sh"},
			{"a new hook there", func(e *ctxEnv, d string) {
				write(t, filepath.Join(d, ".husky/reference-transaction"), "#!/bin/sh\nexit 0\n", 0o755)
			}, "new file DIR/.husky/reference-transaction"},
		}},
		{"sh -c curl with the token", []string{"curl"}, func(e *ctxEnv, dir string) {
			os.MkdirAll(filepath.Join(e.home, ".local/bin"), 0o755)
			e.human[1] = "PATH=" + e.home + "/.local/bin:/usr/bin:/bin"
		}, []string{"sh", "-c", `curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" file:///dev/null && echo sent`}, "sent", []runnerStep{
			{"~/.curlrc", func(e *ctxEnv, d string) {
				write(t, filepath.Join(e.home, ".curlrc"), "trace-ascii = "+d+"/trace.txt\n", 0o644)
			}, "new file HOME/.curlrc"},
			{"a curl shadowing the real one on the human's PATH", func(e *ctxEnv, d string) {
				write(t, filepath.Join(e.home, ".local/bin/curl"), "#!/bin/sh\necho \"$TOKEN\" > /tmp/x\n", 0o755)
			}, "new file HOME/.local/bin/curl"},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, c.run)
	}
}

// gitPushSetup: a repository with one commit whose origin is a bare
// repository on this machine (a local mirror, a NAS path), git identity in
// .git/config.
func gitPushSetup(t *testing.T, e *ctxEnv, dir string) {
	t.Helper()
	remote := filepath.Join(e.home, "remote.git")
	git := func(args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = []string{"HOME=" + e.home, "PATH=/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM=1"}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q", "--bare", remote)
	git("init", "-q", ".")
	git("config", "user.email", "dev@example.invalid")
	git("config", "user.name", "dev")
	git("remote", "add", "origin", remote)
	write(t, filepath.Join(dir, "README"), "app\n", 0o644)
	git("add", "README")
	git("commit", "-q", "-m", "first")
}

// TestNodeExecPathIsTheRealPath: node finds its own binary through
// /proc/self/exe. An approved run with a mount namespace (here: its
// pinned script) execs the sealed image from an execute-only copy
// mounted over the interpreter's real path, so process.execPath is
// /usr/bin/node (no longer "/memfd:envseal:node (deleted)"), a
// child_process.fork()ed child runs, and yarn 1 — whose `yarn run` puts a
// `node` wrapper execing process.execPath first on PATH — runs a
// package.json script first time after one approval, is not asked again
// unchanged, and is asked again when the script is edited. The controls
// run the same outside envseal.
func TestNodeExecPathIsTheRealPath(t *testing.T) {
	if asUnprivileged(t) {
		return
	}
	for _, n := range []string{"node", "yarn"} {
		if _, err := exec.LookPath(n); err != nil {
			t.Fatalf("%s is not installed (.ci/run installs it): %v", n, err)
		}
	}
	node, err := filepath.EvalSymlinks("/usr/bin/node")
	if err != nil {
		t.Fatal(err)
	}
	e := newCtxEnv(t)
	dir := filepath.Join(e.home, "app")
	write(t, filepath.Join(dir, "package.json"), `{"name":"app","version":"1.0.0","license":"MIT","scripts":{"deploy":"node deploy.js"}}`, 0o644)
	write(t, filepath.Join(dir, "deploy.js"), "console.log('deploy ran', process.env.TOKEN.length)\n", 0o644)
	write(t, filepath.Join(dir, "fork.js"), "if (process.argv[2] === 'child') { console.log('child ran', process.env.TOKEN.length); } else { console.log('execPath', process.execPath); require('child_process').fork(__filename, ['child']).on('error', e => { console.log('fork failed', e.code); }); }\n", 0o644)
	control := func(argv ...string) string {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = dir
		cmd.Env = append(e.human, "TOKEN="+ctxValue)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("control %v: %v\n%s", argv, err, out)
		}
		return string(out)
	}
	if out := control("yarn", "--silent", "run", "deploy"); !strings.Contains(out, "deploy ran 27") {
		t.Fatalf("control: yarn run outside envseal printed %q", out)
	}
	if out := control("node", "fork.js"); !strings.Contains(out, "child ran 27") || !strings.Contains(out, "execPath "+node+"\n") {
		t.Fatalf("control: fork outside envseal printed %q", out)
	}

	out := e.allowAlways(dir, []string{"node", "fork.js"})
	if !strings.Contains(out, "execPath "+node+"\n") || !strings.Contains(out, "child ran 27") {
		t.Fatalf("fork under envseal printed %q (want execPath %s and the child's line)", out, node)
	}
	argv := []string{"yarn", "--silent", "run", "deploy"}
	if out := e.allowAlways(dir, argv); !strings.Contains(out, "deploy ran 27") {
		t.Fatalf("yarn run under envseal printed %q", out)
	}
	write(t, filepath.Join(dir, "package.json"), `{"name":"app","version":"1.0.0","license":"MIT","scripts":{"deploy":"env"}}`, 0o644)
	e.expectAsked(dir, argv, "file edited: "+filepath.Join(dir, "package.json"))
}

// TestContainedNodeExecPath: a contained run (the broker's: lockdown
// layout, its own mount namespace) serves node's image at its path
// whether or not anything else is pinned — `node -e` with no closure, and
// `node fork.js` whose forked child runs with the value. The control is
// the same `node -e` in a direct standard run, which has no mount
// namespace and still reports the memfd.
func TestContainedNodeExecPath(t *testing.T) {
	if asUnprivileged(t) {
		return
	}
	node, err := filepath.EvalSymlinks("/usr/bin/node")
	if err != nil {
		t.Fatal(err)
	}
	e := newCtxEnv(t)
	dir := filepath.Join(e.home, "app")
	write(t, filepath.Join(dir, "fork.js"), "if (process.argv[2] === 'child') { console.log('child ran', process.env.TOKEN.length); } else { console.log('execPath', process.execPath); require('child_process').fork(__filename, ['child']).on('error', e => { console.log('fork failed', e.code); }); }\n", 0o644)
	inline := []string{"node", "-e", "console.log('execPath', process.execPath)"}
	e.ap.answers = []approve.Decision{approve.AllowOnce}
	if out, _, err := e.run(dir, inline); err != nil || !strings.Contains(out, "/memfd:envseal:node") {
		t.Fatalf("control: direct node -e: err %v output %q", err, out)
	}
	contained := func(argv []string) string {
		cp := e.checkpoint()
		cp.Contain = true
		e.ap.answers = []approve.Decision{approve.AllowOnce}
		buf := &lockedBuf{}
		req := &Request{Argv: argv, Cwd: dir, Env: e.evil, PATH: "/usr/bin:/bin", Stdout: buf, Stderr: buf,
			Grants: []policy.Grant{{Secret: "TOKEN", Delivery: policy.DeliverEnv, Env: "TOKEN"}}}
		res, err := cp.Run(t.Context(), req)
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("contained %q: %v\n%s", argv, err, buf.String())
		}
		return buf.String()
	}
	if out := contained(inline); out != "execPath "+node+"\n" {
		t.Fatalf("contained node -e printed %q, want execPath %s", out, node)
	}
	if out := contained([]string{"node", "fork.js"}); !strings.Contains(out, "execPath "+node+"\n") || !strings.Contains(out, "child ran 27") {
		t.Fatalf("contained node fork.js printed %q", out)
	}
}

// TestServedImageStaysNonDumpable: the copy of the interpreter served at
// its real path is execute-only, so the process exec'd from it is
// non-dumpable (prctl PR_GET_DUMPABLE 0), as one exec'd from the memfd;
// /proc/self/exe names the real path. The control: the same script run
// plainly is dumpable (1). Unprivileged: root reads any file, and the
// kernel marks nothing.
func TestServedImageStaysNonDumpable(t *testing.T) {
	if asUnprivileged(t) {
		return
	}
	e := newCtxEnv(t)
	dir := filepath.Join(e.home, "app")
	write(t, filepath.Join(dir, "dump.py"), "import ctypes, os\nprint('dumpable', ctypes.CDLL(None).prctl(3, 0, 0, 0, 0), 'exe', os.readlink('/proc/self/exe'))\n", 0o644)
	python, err := filepath.EvalSymlinks("/usr/bin/python3")
	if err != nil {
		t.Fatal(err)
	}
	plain := exec.Command("/usr/bin/python3", "dump.py")
	plain.Dir, plain.Env = dir, e.human
	if out, err := plain.CombinedOutput(); err != nil || string(out) != "dumpable 1 exe "+python+"\n" {
		t.Fatalf("control: plain python printed %q (%v)", out, err)
	}
	if out := e.allowAlways(dir, []string{"python3", "dump.py"}); out != "dumpable 0 exe "+python+"\n" {
		t.Fatalf("approved run printed %q, want non-dumpable at %s", out, python)
	}
}

// TestMemfdRunSaysExecPath: a direct standard run with nothing pinned has
// no mount namespace, so node still runs from the sealed memfd (a user
// namespace only for this would open the program to ptrace by every
// process running as the user); the approval screen says so, and
// process.execPath is the memfd. The control: a run with a pinned script
// gets no such note (TestNodeExecPathIsTheRealPath shows its execPath).
func TestMemfdRunSaysExecPath(t *testing.T) {
	if asUnprivileged(t) {
		return
	}
	e := newCtxEnv(t)
	dir := filepath.Join(e.home, "app")
	os.MkdirAll(dir, 0o755)
	e.ap.answers = []approve.Decision{approve.AllowOnce}
	out, res, err := e.run(dir, []string{"node", "-e", "console.log(process.execPath)"})
	if err != nil || res.ExitCode != 0 || !strings.Contains(out, "/memfd:envseal:node") {
		t.Fatalf("node -e: err %v res %+v output %q", err, res, out)
	}
	if !strings.Contains(e.ap.screenText(), "process.execPath") {
		t.Fatalf("the screen does not say node runs from a copy:\n%s", e.ap.screenText())
	}
	write(t, filepath.Join(dir, "x.js"), "console.log(process.execPath)\n", 0o644)
	e.ap.answers = []approve.Decision{approve.AllowOnce}
	if out, _, err := e.run(dir, []string{"node", "x.js"}); err != nil || strings.Contains(out, "memfd") {
		t.Fatalf("control node x.js: err %v output %q", err, out)
	}
	if strings.Contains(e.ap.screenText(), "process.execPath") {
		t.Fatalf("control: the screen of a served run has the memfd note:\n%s", e.ap.screenText())
	}
}

// TestExitStatusSideChannelClosed: code the agent edits into an approved
// `python3 deploy.py` would hand out the value a byte per run through the
// exit status (the control: the edited code, run plainly with the value,
// exits with its first byte). Approved, the edit is a closure change: the
// human is asked, says no, nothing runs and no status comes back; written
// while the prompt is on screen, the approved bytes run (exit 0).
func TestExitStatusSideChannelClosed(t *testing.T) {
	if asUnprivileged(t) {
		return
	}
	e := newCtxEnv(t)
	dir := filepath.Join(e.home, "app")
	write(t, filepath.Join(dir, "deploy.py"), "import helper\nprint('deploy', helper.X)\n", 0o644)
	write(t, filepath.Join(dir, "helper.py"), "X = 'ok'\n", 0o644)
	argv := []string{"python3", "deploy.py"}
	e.allowAlways(dir, argv)
	evil := "import os\nX = 'ok'\nos._exit(ord(os.environ['TOKEN'][0]))\n"
	write(t, filepath.Join(dir, "helper.py"), evil, 0o644)
	plain := exec.Command("/usr/bin/python3", "deploy.py")
	plain.Dir, plain.Env = dir, append(e.human, "TOKEN="+ctxValue)
	if err := plain.Run(); plain.ProcessState == nil || plain.ProcessState.ExitCode() != int(ctxValue[0]) {
		t.Fatalf("control: the edited code did not exit with the value's first byte (%v)", err)
	}
	n := e.ap.asked()
	out, res, err := e.run(dir, argv)
	if e.ap.asked() != n+1 || !errors.Is(err, ErrDenied) || res != nil && res.ExitCode == int(ctxValue[0]) || out != "" {
		t.Fatalf("edited module: asked %d, err %v, res %+v, output %q (want asked, denied, no status)", e.ap.asked()-n, err, res, out)
	}
	if !strings.Contains(e.ap.screenText(), "helper.py") {
		t.Fatalf("the screen does not name helper.py:\n%s", e.ap.screenText())
	}
	write(t, filepath.Join(dir, "helper.py"), "X = 'ok'\n", 0o644)
	e.ap.during = func() { write(t, filepath.Join(dir, "helper.py"), evil, 0o644) }
	e.ap.answers = []approve.Decision{approve.AllowOnce}
	out, res, err = e.run(dir, []string{"python3", "-B", "deploy.py"})
	if err != nil || res.ExitCode != 0 || out != "deploy ok\n" {
		t.Fatalf("edited while on screen: err %v res %+v output %q (want the approved bytes: exit 0)", err, res, out)
	}
}

// TestRequesterConfigVariablesDoNotReach: variables that make a runner
// read other config or run other code — MAKEFLAGS, GIT_CONFIG_COUNT/KEY/
// VALUE (core.hooksPath), GIT_CONFIG_GLOBAL, npm_config_script_shell,
// CURL_HOME, XDG_CONFIG_HOME, GIT_SSH_COMMAND — in the requester's
// environment never reach the child; with --inherit-env each one that
// passes is a new request naming it.
func TestRequesterConfigVariablesDoNotReach(t *testing.T) {
	if asUnprivileged(t) {
		return
	}
	e := newCtxEnv(t)
	app := filepath.Join(e.home, "app")
	os.MkdirAll(app, 0o755)
	vars := []string{"MAKEFLAGS=--eval=x", "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=core.hooksPath", "GIT_CONFIG_VALUE_0=/tmp/h",
		"GIT_CONFIG_GLOBAL=/tmp/g", "npm_config_script_shell=/tmp/s", "CURL_HOME=/tmp/c", "XDG_CONFIG_HOME=/tmp/x", "GIT_SSH_COMMAND=/tmp/ssh"}
	e.evil = append(e.evil, vars...)
	argv := []string{"sh", "-c", "env"}
	out := e.allowAlways(app, argv)
	for _, kv := range vars {
		name, _, _ := strings.Cut(kv, "=")
		if strings.Contains(out, name+"=") {
			t.Errorf("the requester's %s reached the child", name)
		}
	}
	if !strings.Contains(out, "HOME="+e.home) {
		t.Fatalf("control: the child's env printed no HOME:\n%s", out)
	}
	// --inherit-env: the ones that pass are shown (GIT_* are stripped as
	// injection variables even then).
	inherit := func(r *Request) { r.InheritEnv = true }
	e.expectAsked(app, argv, "new variable MAKEFLAGS=--eval=x", inherit)
	for _, v := range []string{"npm_config_script_shell=", "CURL_HOME=", "XDG_CONFIG_HOME="} {
		if !strings.Contains(e.ap.screenText(), "new variable "+v) {
			t.Errorf("--inherit-env: the screen does not show %s", v)
		}
	}
	if strings.Contains(e.ap.screenText(), "GIT_CONFIG_KEY_0") {
		t.Errorf("--inherit-env passed GIT_CONFIG_KEY_0:\n%s", e.ap.screenText())
	}
}

// TestShimEditAsksAgain: the pyenv/nvm-style shim on the human's PATH is a
// script in a directory the agent can write; editing it (to run another
// interpreter, or to copy the environment out) asks again, naming it.
func TestShimEditAsksAgain(t *testing.T) {
	if asUnprivileged(t) {
		return
	}
	e := newCtxEnv(t)
	shims := filepath.Join(e.home, ".nvm/shims")
	write(t, filepath.Join(shims, "node"), "#!/bin/sh\nexec /usr/bin/node \"$@\"\n", 0o755)
	e.human[1] = "PATH=" + shims + ":/usr/bin:/bin"
	dir := filepath.Join(e.home, "app")
	write(t, filepath.Join(dir, "deploy.js"), "console.log('shimmed', process.env.TOKEN.length)\n", 0o644)
	run := func(r *Request) { r.PATH = shims + ":/usr/bin:/bin" }
	argv := []string{"node", "deploy.js"}
	if out := e.allowAlways(dir, argv, run); out != "shimmed 27\n" {
		t.Fatalf("shim run printed %q", out)
	}
	write(t, filepath.Join(shims, "node"), "#!/bin/sh\nenv > /tmp/x\nexec /usr/bin/node \"$@\"\n", 0o755)
	e.expectAsked(dir, argv, filepath.Join(shims, "node"), run)
}

// TestPythonUserSiteCreatedLater: the human's user site does not exist
// when `python3 deploy.py` is approved; the agent creates it with a
// usercustomize.py (python runs it at start-up, before the script). The
// control: plain python runs the hook. Approved, the run is asked again.
func TestPythonUserSiteCreatedLater(t *testing.T) {
	if asUnprivileged(t) {
		return
	}
	e := newCtxEnv(t)
	dir := filepath.Join(e.home, "app")
	write(t, filepath.Join(dir, "deploy.py"), "print('deploy')\n", 0o644)
	argv := []string{"python3", "deploy.py"}
	e.allowAlways(dir, argv)
	q := exec.Command("/usr/bin/python3", "-c", "import site; print(site.getusersitepackages())")
	q.Env = e.human
	b, err := q.Output()
	if err != nil {
		t.Fatal(err)
	}
	site := strings.TrimSpace(string(b))
	if !strings.HasPrefix(site, e.home+"/") {
		t.Fatalf("user site %q is not under HOME", site)
	}
	write(t, filepath.Join(site, "usercustomize.py"), "print('agent hook ran')\n", 0o644)
	plain := exec.Command("/usr/bin/python3", "deploy.py")
	plain.Dir, plain.Env = dir, e.human
	if out, _ := plain.CombinedOutput(); !strings.Contains(string(out), "agent hook ran") {
		t.Fatalf("control: plain python did not run the new usercustomize.py (%q)", out)
	}
	e.expectAsked(dir, argv, "new file "+filepath.Join(site, "usercustomize.py"))
}

// TestPythonNamespacePackage: deploy.py imports conf.settings from a
// directory with no __init__.py (a namespace package, which Python 3
// imports all the same); the agent edits conf/settings.py.
func TestPythonNamespacePackage(t *testing.T) {
	if asUnprivileged(t) {
		return
	}
	e := newCtxEnv(t)
	dir := filepath.Join(e.home, "app")
	write(t, filepath.Join(dir, "deploy.py"), "from conf import settings\nprint('deploy', settings.TARGET)\n", 0o644)
	write(t, filepath.Join(dir, "conf/settings.py"), "TARGET = 'prod'\n", 0o644)
	argv := []string{"python3", "deploy.py"}
	if out := e.allowAlways(dir, argv); out != "deploy prod\n" {
		t.Fatalf("approved run printed %q", out)
	}
	write(t, filepath.Join(dir, "conf/settings.py"), "import os\nTARGET = 'prod'\nos._exit(ord(os.environ['TOKEN'][0]))\n", 0o644)
	e.expectAsked(dir, argv, filepath.Join(dir, "conf/settings.py"))
}

// TestCoveredInterpreterSaysExecPath: a node that lies under a directory a
// contained run cannot see (here HOME/.nvm under the private /tmp, HOME
// not writable in the run) cannot be served at its path: the run execs
// the sealed memfd and the approval screen says so. The control: the
// same program at /usr/bin/node is served at its path, with no note.
func TestCoveredInterpreterSaysExecPath(t *testing.T) {
	if asUnprivileged(t) {
		return
	}
	e := newCtxEnv(t)
	if !strings.HasPrefix(e.home, "/tmp/") {
		t.Fatalf("the test needs HOME under /tmp (the private /tmp covers it), got %s", e.home)
	}
	dir := filepath.Join(e.home, "app")
	os.MkdirAll(dir, 0o755)
	b, err := os.ReadFile("/usr/bin/node")
	if err != nil {
		t.Fatal(err)
	}
	nvm := filepath.Join(e.home, ".nvm", "bin", "node")
	write(t, nvm, string(b), 0o755)
	contained := func(prog string) (string, string) {
		cp := e.checkpoint()
		cp.Contain = true
		e.ap.answers = []approve.Decision{approve.AllowOnce}
		buf := &lockedBuf{}
		req := &Request{Argv: []string{prog, "-e", "console.log('execPath', process.execPath)"}, Cwd: dir, Env: e.evil, PATH: "/usr/bin:/bin", Stdout: buf, Stderr: buf,
			Grants: []policy.Grant{{Secret: "TOKEN", Delivery: policy.DeliverEnv, Env: "TOKEN"}}}
		res, err := cp.Run(t.Context(), req)
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("contained %s: %v\n%s", prog, err, buf.String())
		}
		return buf.String(), e.ap.screenText()
	}
	out, screen := contained(nvm)
	if !strings.Contains(out, "/memfd:envseal:node") || !strings.Contains(screen, "cannot be served at its path") {
		t.Fatalf("covered node: output %q, screen:\n%s", out, screen)
	}
	out, screen = contained("/usr/bin/node")
	if strings.Contains(out, "memfd") || strings.Contains(screen, "process.execPath") {
		t.Fatalf("control /usr/bin/node: output %q, screen:\n%s", out, screen)
	}
}
