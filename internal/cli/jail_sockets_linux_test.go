//go:build linux

package cli

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestJailControlSockets: the human (uid 65534 when the test runs as
// root) runs a tmux server, a GNU screen session and a D-Bus session bus
// outside; agent sockets and editor sockets exist where their variables
// say. From outside the jail, as the same uid, the attacker's commands
// work (the controls); from inside they all fail, the variables are
// unset, and the tmux and screen "new window" commands never run.
func TestJailControlSockets(t *testing.T) {
	for _, tool := range []string{"tmux", "screen", "dbus-daemon", "dbus-send"} {
		if _, err := exec.LookPath(tool); err != nil {
			// .ci/run installs them: a CI run never gets here.
			t.Fatalf("%s is not installed (apt-get install tmux screen dbus)", tool)
		}
	}
	e := newJailEnv(t)
	if _, errb, err := e.run(jailPass+"\n", "init", "--passphrase-fd", "0"); err != nil {
		t.Fatalf("init: %v\n%s", err, errb)
	}
	uid := os.Getuid()
	if e.cred != nil {
		uid = int(e.cred.Uid)
	}
	tag := "envseal-jt-" + strconv.Itoa(os.Getpid())
	work := filepath.Join(e.dir, "work")
	home := filepath.Join(e.dir, "home")
	rt := filepath.Join(e.dir, "run")

	// The human's tmux server and screen session. (nobody's login shell is
	// nologin: the panes run sh.)
	e.setenv("SHELL", "/bin/sh")
	tmuxSock := filepath.Join("/tmp", "tmux-"+strconv.Itoa(uid), tag)
	e.mustRun("tmux", "-L", tag, "new-session", "-d", "-s", "human", "sleep 600")
	t.Cleanup(func() { e.tool("tmux", "-L", tag, "kill-server").Run() })
	e.mustRun("screen", "-dmS", tag, "sleep", "600")
	t.Cleanup(func() { e.tool("screen", "-S", tag, "-X", "quit").Run() })
	sty := waitScreen(t, e, tag)

	// The session bus, in $XDG_RUNTIME_DIR where systemd puts it.
	bus := filepath.Join(rt, "bus")
	dbus := e.tool("dbus-daemon", "--session", "--nofork", "--nopidfile", "--address=unix:path="+bus)
	if err := dbus.Start(); err != nil {
		t.Fatalf("dbus-daemon: %v", err)
	}
	t.Cleanup(func() { dbus.Process.Kill(); dbus.Wait() })
	waitFor(t, "the session bus socket", func() bool { _, err := os.Stat(bus); return err == nil })

	// Agent and editor sockets: ssh-agent's in ~/.ssh/agent, gpg-agent's
	// in ~/.gnupg, VS Code's somewhere no cover reaches (its variable
	// names it), and files in the other private dirs.
	sshDir := filepath.Join(home, ".ssh", "agent")
	gnupg := filepath.Join(home, ".gnupg")
	for _, d := range []string{filepath.Join(home, ".ssh"), sshDir, gnupg} {
		os.Mkdir(d, 0o700)
		os.Chown(d, uid, uid)
	}
	sshSock := listenAll(t, filepath.Join(sshDir, "s.agent"))
	gpgSock := listenAll(t, filepath.Join(gnupg, "S.gpg-agent"))
	vscSock := listenAll(t, filepath.Join(e.dir, "vscode-ipc-"+tag+".sock"))
	for _, f := range []string{"/dev/shm/" + tag, "/var/tmp/" + tag} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(f) })
	}

	vars := map[string]string{
		"TMUX":                     tmuxSock + ",1,0",
		"TMUX_PANE":                "%0",
		"STY":                      sty,
		"DBUS_SESSION_BUS_ADDRESS": "unix:path=" + bus,
		"SSH_AUTH_SOCK":            sshSock,
		"GPG_AGENT_INFO":           gpgSock + ":0:1",
		"VSCODE_IPC_HOOK_CLI":      vscSock,
		"VSCODE_GIT_IPC_HANDLE":    vscSock,
		"KITTY_LISTEN_ON":          "unix:" + vscSock,
		"WEZTERM_UNIX_SOCKET":      vscSock,
		"ZELLIJ_SESSION_NAME":      "x",
		"EMACS_SOCKET_NAME":        vscSock,
		"PULSE_SERVER":             "unix:" + vscSock,
		"XAUTHORITY":               filepath.Join(home, ".Xauthority"),
	}
	for k, v := range vars {
		e.setenv(k, v)
	}
	e.setenv("TERM", "xterm")

	listNames := " --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.ListNames"
	ops := []string{
		"cmd:tmux -L " + tag + " capture-pane -p -t human",
		"cmd:tmux -L " + tag + " send-keys -t human true Enter",
		`cmd:tmux -L ` + tag + ` new-window -t human "touch ` + work + `/tmux-window-${ENVSEAL_JAIL:-outside}"`,
		"cmd:tmux capture-pane -p", // through $TMUX
		"cmd:tmux -S " + tmuxSock + " list-sessions",
		"exists:" + tmuxSock,
		// The working directory is bound back into the fresh /tmp: ".."
		// from it is the new /tmp, not the real one.
		"exists:../../" + filepath.Join(filepath.Base(filepath.Dir(tmuxSock)), tag),
		"cmd:screen -S " + tag + " -X echo hello",
		`cmd:screen -S ` + tag + ` -X screen touch ` + work + `/screen-window-${ENVSEAL_JAIL:-outside}`,
		"cmd:screen -X echo hello", // through $STY
		"cmd:dbus-send --session" + listNames,
		"cmd:dbus-send --bus=unix:path=" + bus + listNames,
		"dial:" + bus,
		"dial:" + sshSock,
		"dial:" + gpgSock,
		"dial:" + vscSock,
		"exists:/dev/shm/" + tag,
		"exists:/var/tmp/" + tag,
		"list:" + sshDir,
	}
	for k := range vars {
		ops = append(ops, "env:"+k)
	}
	outside := probes(e.runOK(t, append([]string{jailProbeArg}, ops...)...))
	insideOut := e.runOK(t, append([]string{"jail", "--", "envseal", jailProbeArg}, ops...)...)
	inside := probes(insideOut)
	for _, op := range ops {
		if outside[op] != "ok" {
			t.Errorf("control outside the jail: %s: %q, want ok", op, outside[op])
		}
		if got, ok := inside[op]; !ok {
			t.Errorf("inside the jail: %s did not run", op)
		} else if got == "ok" {
			t.Errorf("inside the jail: %s succeeded, want it refused", op)
		}
	}
	// Give the servers time to run what they were told, then check that
	// only the control's windows ran.
	waitFor(t, "the control's tmux and screen windows", func() bool {
		return fileExists(filepath.Join(work, "tmux-window-outside")) && fileExists(filepath.Join(work, "screen-window-outside"))
	})
	time.Sleep(300 * time.Millisecond)
	for _, m := range []string{"tmux-window-1", "screen-window-1"} {
		if fileExists(filepath.Join(work, m)) {
			t.Errorf("a command sent from inside the jail ran outside it (%s exists)", m)
		}
	}
	if t.Failed() {
		t.Logf("jail output:\n%s", insideOut)
	}
}

// TestJailAllowOptIns: --allow-ssh-agent and --allow-display bind exactly
// the socket their variable names, and keep the variable; a second socket
// in the same directory stays hidden, and nothing else opens up.
func TestJailAllowOptIns(t *testing.T) {
	e := newJailEnv(t)
	if _, errb, err := e.run(jailPass+"\n", "init", "--passphrase-fd", "0"); err != nil {
		t.Fatalf("init: %v\n%s", err, errb)
	}
	uid := os.Getuid()
	if e.cred != nil {
		uid = int(e.cred.Uid)
	}
	home := filepath.Join(e.dir, "home")
	rt := filepath.Join(e.dir, "run")
	sshDir := filepath.Join(home, ".ssh", "agent")
	for _, d := range []string{filepath.Join(home, ".ssh"), sshDir} {
		os.Mkdir(d, 0o700)
		os.Chown(d, uid, uid)
	}
	sshSock := listenAll(t, filepath.Join(sshDir, "s.mine"))
	sshOther := listenAll(t, filepath.Join(sshDir, "s.other"))
	way0 := listenAll(t, filepath.Join(rt, "wayland-0"))
	way1 := listenAll(t, filepath.Join(rt, "wayland-1"))
	bus := listenAll(t, filepath.Join(rt, "bus"))
	// An X server socket in the real /tmp/.X11-unix, on a display number
	// nothing else uses.
	made := false
	if _, err := os.Stat(x11Dir); err != nil {
		if err := os.Mkdir(x11Dir, 0o1777); err != nil {
			t.Fatal(err)
		}
		os.Chmod(x11Dir, 0o1777)
		made = true
	}
	n := 300 + os.Getpid()%600
	xMine := listenAll(t, filepath.Join(x11Dir, "X"+strconv.Itoa(n)))
	xOther := listenAll(t, filepath.Join(x11Dir, "X"+strconv.Itoa(n+1)))
	if made {
		t.Cleanup(func() { os.Remove(x11Dir) })
	}
	e.setenv("SSH_AUTH_SOCK", sshSock)
	e.setenv("DISPLAY", ":"+strconv.Itoa(n))
	e.setenv("WAYLAND_DISPLAY", "wayland-0")
	e.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+bus)

	allowed := []string{"dial:" + sshSock, "dial:" + xMine, "dial:" + way0, "env:SSH_AUTH_SOCK", "env:DISPLAY", "env:WAYLAND_DISPLAY"}
	hidden := []string{"dial:" + sshOther, "dial:" + xOther, "dial:" + way1, "dial:" + bus, "env:DBUS_SESSION_BUS_ADDRESS"}
	ops := slicesConcat(allowed, hidden)
	outside := probes(e.runOK(t, append([]string{jailProbeArg}, ops...)...))
	for _, op := range ops {
		if outside[op] != "ok" {
			t.Errorf("control outside the jail: %s: %q, want ok", op, outside[op])
		}
	}
	plain := probes(e.runOK(t, append([]string{"jail", "--", "envseal", jailProbeArg}, ops...)...))
	optIn := e.runOK(t, append([]string{"jail", "--allow-ssh-agent", "--allow-display", "--", "envseal", jailProbeArg}, ops...)...)
	opted := probes(optIn)
	for _, op := range allowed {
		if plain[op] == "ok" {
			t.Errorf("jail without opt-ins: %s succeeded, want it refused", op)
		}
		if opted[op] != "ok" {
			t.Errorf("jail with --allow-ssh-agent --allow-display: %s: %q, want ok", op, opted[op])
		}
	}
	for _, op := range hidden {
		if plain[op] == "ok" || opted[op] == "ok" {
			t.Errorf("%s reachable from inside the jail (without opt-ins %q, with %q), want refused", op, plain[op], opted[op])
		}
	}
	if !strings.Contains(optIn, "the ssh agent (--allow-ssh-agent)") || !strings.Contains(optIn, "X11/Wayland (--allow-display)") {
		t.Errorf("the start line does not name the opt-ins:\n%s", optIn)
	}
	// An opt-in with nothing to bind is an error, not a silent no-op.
	e.setenv("SSH_AUTH_SOCK", filepath.Join(sshDir, "missing"))
	if _, errb, err := e.run("", "jail", "--allow-ssh-agent", "--", "true"); err == nil || !strings.Contains(errb, "--allow-ssh-agent") {
		t.Errorf("--allow-ssh-agent without an agent: err %v, stderr %q; want a refusal naming the flag", err, errb)
	}
}

func slicesConcat(a, b []string) []string { return append(append([]string(nil), a...), b...) }

// x11Dir is where X servers put their sockets.
const x11Dir = "/tmp/.X11-unix"

// tool is another program run as the test user, in the test world.
func (e *jailEnv) tool(name string, args ...string) *exec.Cmd {
	cmd := e.command(args...)
	p, err := exec.LookPath(name)
	if err != nil {
		e.t.Fatalf("%s: %v", name, err)
	}
	cmd.Path, cmd.Args = p, append([]string{name}, args...)
	return cmd
}

func (e *jailEnv) mustRun(name string, args ...string) {
	if out, err := e.tool(name, args...).CombinedOutput(); err != nil {
		e.t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// runOK runs envseal ARGS (no terminal) and returns stdout and stderr.
func (e *jailEnv) runOK(t *testing.T, args ...string) string {
	out, errb, err := e.run("", args...)
	if err != nil {
		t.Fatalf("envseal %v: %v\n%s%s", args[:min(len(args), 3)], err, out, errb)
	}
	return out + errb
}

// setenv replaces or adds one variable of the test world.
func (e *jailEnv) setenv(k, v string) {
	for i, kv := range e.env {
		if strings.HasPrefix(kv, k+"=") {
			e.env[i] = k + "=" + v
			return
		}
	}
	e.env = append(e.env, k+"="+v)
}

// listenAll is a unix socket at p that anyone may connect to (the test
// user too when the test is root), accepting and closing.
func listenAll(t *testing.T, p string) string {
	t.Helper()
	l, err := net.Listen("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, 0o777)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return p
}

// waitScreen returns the STY of the screen session named tag.
func waitScreen(t *testing.T, e *jailEnv, tag string) string {
	var sty string
	waitFor(t, "the screen session", func() bool {
		out, _ := e.tool("screen", "-ls", tag).CombinedOutput()
		for _, f := range strings.Fields(string(out)) {
			if strings.HasSuffix(f, "."+tag) {
				sty = f
				return true
			}
		}
		return false
	})
	return sty
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestJailLockRefused: broker, jail and human as the same unprivileged
// uid. `envseal lock` from inside the jail is refused (the passphrase
// prompt it leads to would come when the agent chooses) and the broker
// keeps its key; the human's own `envseal lock` outside — a non-dumpable
// process the broker cannot ptrace-read, told apart by its uid_map —
// locks it.
func TestJailLockRefused(t *testing.T) {
	e := newJailEnv(t)
	if _, errb, err := e.run(jailPass+"\n", "init", "--passphrase-fd", "0"); err != nil {
		t.Fatalf("init: %v\n%s", err, errb)
	}
	b, _ := e.startBroker(jailPass)
	_, errb, err := e.run("", "jail", "--", "envseal", "lock")
	if err == nil || !strings.Contains(errb, "refused inside a jail") || !strings.Contains(errb, "hint: lock the broker from a terminal outside the jail") {
		t.Errorf("envseal lock inside the jail: %v\n%s\nwant a refusal with its hint", err, errb)
	}
	if out, _, _ := e.run("", "status"); !strings.Contains(out, "mode: broker") || strings.Contains(out, "locked (") {
		t.Errorf("after the jailed lock: status %q, want an unlocked broker", out)
	}
	if _, errb, err := e.run("", "lock"); err != nil || !strings.Contains(errb, "wiped its key") {
		t.Errorf("the human's envseal lock: %v\n%s", err, errb)
	}
	if out, _, _ := e.run("", "status"); !strings.Contains(out, "locked (") {
		t.Errorf("after the human's lock: status %q, want a locked broker", out)
	}
	if t.Failed() {
		t.Logf("broker:\n%s", b.transcript())
	}
}

// TestJailStillExposes pins what the jail does NOT hide
// (docs/THREAT_MODEL.md, "What the jail still exposes"): a unix socket
// that no variable names and that lives outside the covered dirs, a TCP
// service on localhost, the command lines of processes outside, and the
// user's files. If one of these stops working from inside, the document
// is out of date.
func TestJailStillExposes(t *testing.T) {
	e := newJailEnv(t)
	if _, errb, err := e.run(jailPass+"\n", "init", "--passphrase-fd", "0"); err != nil {
		t.Fatalf("init: %v\n%s", err, errb)
	}
	// In the working directory: the test world lives under /tmp, which is
	// private in the jail except for what is bound back in.
	work := filepath.Join(e.dir, "work")
	stray := listenAll(t, filepath.Join(work, "stray.sock"))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	file := filepath.Join(work, "notes.txt")
	os.WriteFile(file, []byte("x"), 0o600)
	if e.cred != nil {
		os.Chown(file, int(e.cred.Uid), int(e.cred.Gid))
	}
	sleeper := e.tool("sleep", "37")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sleeper.Process.Kill(); sleeper.Wait() }()
	ops := []string{
		"dial:" + stray,
		"cmd:exec 3<>/dev/tcp/127.0.0.1/" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port) + " || exit 1",
		"read:/proc/" + strconv.Itoa(sleeper.Process.Pid) + "/cmdline",
		"read:" + file,
	}
	// /dev/tcp is bash's: run that probe with bash when there is one.
	if _, err := exec.LookPath("bash"); err == nil {
		ops[1] = "cmd:bash -c 'exec 3<>/dev/tcp/127.0.0.1/" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port) + "'"
	}
	out := e.runOK(t, append([]string{"jail", "--", "envseal", jailProbeArg}, ops...)...)
	inside := probes(out)
	for _, op := range ops {
		if inside[op] != "ok" {
			t.Errorf("inside the jail: %s: %q; the threat model lists it as still exposed — update it if this changed", op, inside[op])
		}
	}
}
