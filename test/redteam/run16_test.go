//go:build redteam && linux

package redteam

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Issues 15 and 16 from the approved run's side: what a rule binds (the
// working directory, the environment, the closure), and what code the
// agent gets into an approved run (through node_modules, which is not
// pinned) can reach from there.
func init() {
	// Before the rows that change the world for the rest (TOTP on in
	// direct mode, the broker locked by the lock row).
	i := slices.IndexFunc(attacks, func(a attack) bool {
		return reflect.ValueOf(a.run).Pointer() == reflect.ValueOf(attackOwnPtyTOTP).Pointer()
	})
	attacks = slices.Insert(attacks, i, attack{"", attackRuleContext}, attack{"", attackInsideApprovedRun})
}

// inDir is the agent's command in another working directory.
func (w *world) agentIn(dir string, extraEnv []string, argv ...string) res {
	if w.mode == modeJail {
		argv = append([]string{w.envseal, "jail", "--"}, argv...)
	}
	cmd := w.command(extraEnv, argv[0], argv[1:]...)
	cmd.Dir = dir
	if w.mode == modeDirect {
		f := w.passFD()
		defer f.Close()
		cmd.ExtraFiles = []*os.File{f}
	}
	return w.exec(cmd)
}

func attackRuleContext(w *world, tb *table) {
	app := w.p("app16")
	w.mkdir(app)
	w.writeFile(filepath.Join(app, "deploy.sh"), []byte(". ./lib.sh\necho deploy $(target)\n"), 0o644)
	w.writeFile(filepath.Join(app, "lib.sh"), []byte("target() { echo prod; }\n"), 0o644)
	os.Remove(filepath.Join(w.home, ".curlrc"))
	// The deploy endpoint: a local HTTP server (a trace of a file:// URL
	// would show no header).
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	curlCmd := `curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" ` + srv.URL + `/deploy; echo sent`
	approveIn := func(dir string, argv ...string) {
		before := w.broker.countOrZero()
		if w.mode == modeJail {
			w.broker.setAnswer("always")
			defer w.broker.setAnswer("deny")
		}
		var r res
		if w.mode == modeJail {
			r = w.agentIn(dir, nil, w.runArgv(nil, argv...)...)
		} else {
			r = w.approveDirectIn(dir, argv...)
		}
		if r.code != 0 || (w.mode == modeJail && w.broker.count() != before+1) {
			w.t.Fatalf("approve %v in %s: %s", argv, dir, r.all())
		}
	}
	approveIn(app, "sh", "deploy.sh")
	approveIn(w.work, "sh", "-c", curlCmd)
	by := "the rule binds the cwd, the environment and the closure; any difference asks again (launch TestRuleBindsCwd, TestRuleBindsEnvironment, TestClosureChangesAskAgain, TestRunnerTable)"
	leak := w.p("ctx.leak")
	evilSh := []byte("printf %s \"$TOKEN\" > " + leak + "\necho deploy prod\n")
	// control for every row: the payload, run plainly with the value, leaks
	payloadWorks := func(argv ...string) string {
		w.resetLeak(leak)
		r := w.outside([]string{"TOKEN=" + w.value}, argv...)
		ok := w.leakedPart(leak)
		w.resetLeak(leak)
		return ctl(ok, "the payload does not leak when run plainly: %s", r.all())
	}
	row := func(attack string, run func() res, control string) {
		w.resetLeak(leak)
		before := w.broker.countOrZero()
		r := run()
		leaked := w.leakedPart(leak)
		w.resetLeak(leak)
		note := fmt.Sprintf("run exit %d, leaked %v", r.code, leaked)
		if w.mode == modeJail {
			note += fmt.Sprintf(", %d prompt(s) at the broker", w.broker.count()-before)
		}
		w.report(tb, attack, expStopped, !leaked, by, note+": "+errLine(r), control)
	}

	// Another working directory with the agent's own deploy.sh.
	other := w.p("agent16")
	w.mkdir(other)
	w.writeFile(filepath.Join(other, "deploy.sh"), evilSh, 0o644)
	w.writeFile(filepath.Join(other, "lib.sh"), nil, 0o644)
	row("run an approved argv (sh deploy.sh) from another working directory", func() res {
		return w.agentIn(other, nil, w.runArgv(nil, "sh", "deploy.sh")...)
	}, payloadWorks("sh", filepath.Join(other, "deploy.sh")))

	// A file the approved script sources.
	lib := filepath.Join(app, "lib.sh")
	w.writeFile(lib, append([]byte("target() { echo prod; }\n"), evilSh[:len(evilSh)-len("echo deploy prod\n")]...), 0o644)
	row("edit a file the approved script sources (lib.sh)", func() res {
		return w.agentIn(app, nil, w.runArgv(nil, "sh", "deploy.sh")...)
	}, payloadWorks("sh", lib))

	// The exit-status side channel: the first byte of the value.
	w.writeFile(lib, []byte("target() { echo prod; }\nb=$(printf %s \"$TOKEN\" | od -An -tu1 -N1 | tr -d ' ')\nexit $b\n"), 0o644)
	r := w.agentIn(app, nil, w.runArgv(nil, "sh", "deploy.sh")...)
	ctlR := w.outside([]string{"TOKEN=" + w.value}, "sh", lib)
	w.report(tb, "leak the value a byte per run through the exit status (edited lib.sh)", expStopped, r.code != int(w.value[0]),
		"the edited file is a closure change: asked again, so the agent's code never runs with the value (launch TestExitStatusSideChannelClosed)",
		fmt.Sprintf("run exit %d (the value's first byte is %d)", r.code, w.value[0]),
		ctl(ctlR.code == int(w.value[0]), "control: the payload exits %d, not the first byte", ctlR.code))
	w.writeFile(lib, []byte("target() { echo prod; }\n"), 0o644)

	// Write after the check: the agent edits lib.sh harmlessly (so the
	// human is asked and sees that text), and once the prompt is on
	// screen replaces it with the payload. The human approves what was
	// shown; the run must get those bytes.
	w.writeFile(lib, []byte("target() { echo staging; }\n"), 0o644)
	swapped := append([]byte("target() { echo prod; }\n"), evilSh[:len(evilSh)-len("echo deploy prod\n")]...)
	w.resetLeak(leak)
	r = w.approveWhileSwapping(app, func() { w.writeFile(lib+".new", swapped, 0o644); os.Rename(lib+".new", lib) }, "sh", "deploy.sh")
	leakedSwap := w.leakedPart(leak)
	w.resetLeak(leak)
	onDisk, _ := os.ReadFile(lib)
	swapControl := payloadWorks("sh", lib)
	if swapControl == "" {
		swapControl = ctl(string(onDisk) == string(swapped), "control: the swap did not land on disk")
	}
	w.report(tb, "replace a closure file (lib.sh) while the approval is on screen", expStopped, !leakedSwap && strings.Contains(r.out, "deploy staging"),
		"the child gets the bytes that were hashed and shown, mounted read-only over their path (launch TestWriteAfterCheckServesApprovedBytes)",
		fmt.Sprintf("run exit %d, printed the approved text %v, leaked %v", r.code, strings.Contains(r.out, "deploy staging"), leakedSwap), swapControl)
	w.writeFile(lib, []byte("target() { echo prod; }\n"), 0o644)

	// The curl rule: a .curlrc in the human's HOME, a curl on a writable
	// directory of the human's PATH (w.wbin comes first), the agent's own
	// HOME, CURL_HOME with --inherit-env.
	trace := []byte("trace-ascii = " + leak + "\n")
	curlrc := filepath.Join(w.home, ".curlrc")
	w.writeFile(curlrc, trace, 0o644)
	ctlCurl := payloadWorks("sh", "-c", curlCmd)
	row("write ~/.curlrc (trace-ascii) for an approved sh -c 'curl … $TOKEN'", func() res {
		return w.envsealRun(nil, nil, "sh", "-c", curlCmd)
	}, ctlCurl)
	os.Remove(curlrc)
	evilHome := w.p("agenthome16")
	w.mkdir(evilHome)
	w.writeFile(filepath.Join(evilHome, ".curlrc"), trace, 0o644)
	row("give the approved curl run the agent's HOME (its .curlrc)", func() res {
		return w.envsealRun([]string{"HOME=" + evilHome}, nil, "sh", "-c", curlCmd)
	}, ctlCurl)
	row("pass CURL_HOME (the agent's .curlrc) with --inherit-env", func() res {
		return w.envsealRun([]string{"CURL_HOME=" + evilHome}, []string{"--inherit-env"}, "sh", "-c", curlCmd)
	}, ctlCurl)
	shadow := filepath.Join(w.wbin, "curl")
	w.writeFile(shadow, []byte("#!/bin/sh\nprintf %s \"$TOKEN\" > "+leak+"\necho sent\n"), 0o755)
	row("drop a curl into a writable directory early on the human's PATH", func() res {
		return w.envsealRun(nil, nil, "sh", "-c", curlCmd)
	}, payloadWorks(shadow))
	os.Remove(shadow)
}

// approveDirectIn is the human's "allow always" typed at the run's own
// terminal, in dir.
func (w *world) approveDirectIn(dir string, argv ...string) res {
	a := w.runArgv(nil, argv...)
	cmd := w.command(nil, a[0], a[1:]...)
	cmd.Dir = dir
	f := w.passFD()
	defer f.Close()
	cmd.ExtraFiles = []*os.File{f}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	h := w.startOnPty(cmd)
	defer h.master.Close()
	code := h.code(20 * time.Second)
	if code == "" {
		cmd.Process.Kill()
		cmd.Wait()
		return res{code: -1, out: h.text() + out.String()}
	}
	// Typed again until it exits: keys that arrive before the prompt
	// flushes its input are dropped.
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for i := 0; ; i++ {
		fmt.Fprintf(h.master, "%s!\r", code)
		select {
		case err := <-done:
			return res{code: exitCode(err), out: out.String() + h.text()}
		case <-time.After(2 * time.Second):
		}
		if i == 10 {
			cmd.Process.Kill()
			return res{code: exitCode(<-done), out: out.String() + h.text()}
		}
	}
}

// approveWhileSwapping runs `envseal run -- ARGV` as the agent in dir,
// waits for its approval prompt (at the broker, or on the run's terminal
// in direct mode), calls swap, then answers "allow once" as the human.
func (w *world) approveWhileSwapping(dir string, swap func(), argv ...string) res {
	a := w.runArgv(nil, argv...)
	if w.mode == modeJail {
		a = append([]string{w.envseal, "jail", "--"}, a...)
	}
	cmd := w.command(nil, a[0], a[1:]...)
	cmd.Dir = dir
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	answer := func(h *human, from int) {
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if m := codeRE.FindStringSubmatch(h.text()[from:]); m != nil {
				swap()
				time.Sleep(200 * time.Millisecond)
				fmt.Fprintf(h.master, "%s\r", m[1])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if w.mode == modeJail {
		w.broker.setAnswer("none")
		defer w.broker.setAnswer("deny")
		from := len(w.broker.text())
		if err := cmd.Start(); err != nil {
			return res{code: -1, errout: err.Error()}
		}
		answer(w.broker.human, from)
		err := cmd.Wait()
		return res{code: exitCode(err), out: out.String()}
	}
	f := w.passFD()
	defer f.Close()
	cmd.ExtraFiles = []*os.File{f}
	h := w.startOnPty(cmd)
	defer h.master.Close()
	answer(h, 0)
	err := cmd.Wait()
	return res{code: exitCode(err), out: out.String() + h.text()}
}

func (b *brokerProc) countOrZero() int {
	if b == nil {
		return 0
	}
	return b.count()
}

// attackInsideApprovedRun: the human approved `node deploy16.js`; its
// dependency in node_modules is not pinned (documented), so the agent's
// code runs inside the approved run. From there it tries every door of
// issue 15. The control is the same program run by the user outside
// envseal, on a terminal.
func attackInsideApprovedRun(w *world, tb *table) {
	node := "node"
	app := w.p("deploy16.js")
	w.writeFile(app, []byte("require('dep16');\nconsole.log('deployed');\n"), 0o644)
	dep := w.p("node_modules/dep16")
	w.mkdir(w.p("node_modules"))
	w.mkdir(dep)
	w.writeFile(filepath.Join(dep, "index.js"), []byte("module.exports = {};\n"), 0o644)
	w.approve(nil, node, app)

	tag := "rt16-" + randHex(4)
	if r := w.exec(w.userTool(nil, "tmux", "-L", tag, "new-session", "-d", "-s", "human", "sleep 600")); r.code != 0 {
		w.t.Fatalf("tmux: %s", r.all())
	}
	defer w.exec(w.userTool(nil, "tmux", "-L", tag, "kill-server"))
	if r := w.exec(w.userTool(nil, "screen", "-dmS", tag, "sleep", "600")); r.code != 0 {
		w.t.Fatalf("screen: %s", r.all())
	}
	defer w.exec(w.userTool(nil, "screen", "-S", tag, "-X", "quit"))
	bus := filepath.Join(w.run, "bus16")
	d := w.userTool(nil, "dbus-daemon", "--session", "--nofork", "--nopidfile", "--address=unix:path="+bus)
	if err := d.Start(); err != nil {
		w.t.Fatalf("dbus-daemon: %v", err)
	}
	defer func() { d.Process.Kill(); d.Wait(); os.Remove(bus) }()
	outsider := w.command(nil, "/bin/sleep", "3601")
	outsider.Start()
	defer func() { outsider.Process.Kill(); outsider.Wait() }()
	for i := 0; i < 250 && !fileExists(bus); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	bashrc := filepath.Join(w.home, ".bashrc")
	w.writeFile(bashrc, []byte("# the human's\n"), 0o644)
	procPID := outsider.Process.Pid
	if w.broker != nil {
		procPID = w.broker.cmd.Process.Pid
	}
	doors := [][2]string{
		{"tty", "echo probe16 > /dev/tty"},
		{"bashrc", "echo probe16 >> " + bashrc},
		{"vault", "ls -A " + w.vault + " | grep -q ."},
		{"proc", "grep -q . /proc/" + strconv.Itoa(procPID) + "/status"},
		{"tmux", "tmux -L " + tag + " list-sessions"},
		{"screen", "screen -ls " + tag + " | grep -q " + tag},
		{"bus", "dbus-send --bus=unix:path=" + bus + " --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.ListNames"},
	}
	if w.broker != nil {
		doors = append(doors, [2]string{"pts", "echo probe16 > " + w.broker.tty},
			[2]string{"broker", w.envseal + " status | grep -q 'mode: broker'"},
			[2]string{"signal", "kill -0 " + strconv.Itoa(w.broker.cmd.Process.Pid)})
	}
	results := w.p("inside16.out")
	leak := w.p("inside16.leak")
	daemon := w.p("daemon16.alive")
	js := "const cp = require('child_process'), fs = require('fs'); const out = [];\n"
	for _, dr := range doors {
		js += fmt.Sprintf("try { cp.execSync(%s, {stdio: 'ignore', shell: '/bin/sh'}); out.push('%s:reached'); } catch (e) { out.push('%s:blocked'); }\n", strconv.Quote(dr[1]), dr[0], dr[0])
	}
	js += fmt.Sprintf("fs.writeFileSync(%s, out.join('\\n') + '\\n');\n", strconv.Quote(results))
	js += fmt.Sprintf("if (process.env.TOKEN) fs.writeFileSync(%s, process.env.TOKEN);\n", strconv.Quote(leak))
	js += fmt.Sprintf("cp.spawn('setsid', ['sh', '-c', 'sleep 3; touch %s'], {detached: true, stdio: 'ignore'}).unref();\nmodule.exports = {};\n", daemon)
	w.writeFile(filepath.Join(dep, "index.js"), []byte(js), 0o644)

	read := func() map[string]string {
		m := map[string]string{}
		b, _ := os.ReadFile(results)
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok {
				m[k] = v
			}
		}
		return m
	}
	// Control: the user runs the same program on a terminal, outside.
	os.Remove(results)
	os.Remove(daemon)
	w.onPty(false, node, app)
	ctlDoors := read()
	time.Sleep(4 * time.Second)
	ctlDaemon := fileExists(daemon)
	ctlBashrc, _ := os.ReadFile(bashrc)
	w.writeFile(bashrc, []byte("# the human's\n"), 0o644)

	os.Remove(results)
	os.Remove(daemon)
	w.resetLeak(leak)
	r := w.envsealRun(nil, nil, node, app)
	in := read()
	leaked := w.leakedPart(leak)
	w.resetLeak(leak)
	time.Sleep(4 * time.Second)
	inDaemon := fileExists(daemon)
	inBashrc, _ := os.ReadFile(bashrc)
	ran := ctl(len(in) > 0, "the agent's code did not run inside the approved run: exit %d %s", r.code, errLine(r))

	w.report(tb, "edit an unpinned dependency (node_modules) of an approved run: the agent's code gets the value", expNotStopped, !leaked,
		"nothing: node_modules is not pinned (said on the approval screen; documented); the value can be written where the run may write", fmt.Sprintf("run exit %d, leaked %v", r.code, leaked), ran)
	if w.mode == modeDirect {
		var reached []string
		for _, dr := range doors {
			if in[dr[0]] == "reached" {
				reached = append(reached, dr[0])
			}
		}
		if inDaemon {
			reached = append(reached, "daemon outlived the run")
		}
		w.report(tb, "from inside an approved run: tmux, screen, the session bus, ~/.bashrc, a daemon that outlives it", expNotStopped, len(reached) == 0,
			"nothing: direct mode does not contain a run (\"can touch: everything you can\" on the screen; documented); the broker's contained run does",
			"reached: "+strings.Join(reached, ", "), ran)
		return
	}
	contained := "the broker's contained run: own user/mount/pid/ipc namespaces, fresh /tmp and devpts, no controlling terminal, hidden vault and runtime dir, new /proc (launch TestContainedRun)"
	for _, dr := range doors {
		name := map[string]string{
			"tty": "open /dev/tty", "pts": "open the broker's terminal", "bashrc": "write ~/.bashrc", "vault": "list the vault",
			"proc": "read /proc/<broker>/status", "tmux": "talk to the human's tmux server", "screen": "find the human's screen session",
			"bus":    "talk to the D-Bus session bus",
			"broker": "talk to the broker (envseal status: more requests from inside a run)", "signal": "signal the broker (kill -0)",
		}[dr[0]]
		stopped := in[dr[0]] == "blocked"
		if dr[0] == "bashrc" {
			stopped = !strings.Contains(string(inBashrc), "probe16")
		}
		control := ctl(ctlDoors[dr[0]] == "reached", "control: the program run outside did not reach %s (%q)", dr[0], ctlDoors[dr[0]])
		if dr[0] == "bashrc" && control == "" {
			control = ctl(strings.Contains(string(ctlBashrc), "probe16"), "control: ~/.bashrc not written outside")
		}
		if control == "" {
			control = ran
		}
		w.report(tb, "from inside an approved run (agent code via node_modules): "+name, expStopped, stopped, contained, dr[0]+": "+in[dr[0]], control)
	}
	w.report(tb, "from inside an approved run (agent code via node_modules): a setsid daemon outlives the run", expStopped, !inDaemon,
		"the run's PID namespace ends with it; run_finished counts the killed (launch TestContainedRun, broker TestDisconnectKillsChild)",
		fmt.Sprintf("daemon alive after the run: %v", inDaemon), ctl(ctlDaemon, "control: the daemon did not survive outside"))
}

// leakedPart reports whether file holds the value or its first 24 bytes
// (curl's trace-ascii cuts lines at 64 bytes).
func (w *world) leakedPart(file string) bool {
	b, _ := os.ReadFile(file)
	return w.leaked(file) || strings.Contains(string(b), w.value[:24])
}
