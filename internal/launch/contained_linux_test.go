package launch

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/seal"
)

// onTerminal re-runs the calling test alone in a copy of the test binary
// whose controlling terminal is a fresh pty — the human's terminal, for
// the test — as uid 65534 when the suite runs as root (the same uid as
// "the agent" then, without root's CAP_SYS_PTRACE). It returns true in
// the parent, which must then return.
func onTerminal(t *testing.T) bool {
	t.Helper()
	const childEnv = "ENVSEAL_TEST_ON_TERMINAL"
	if os.Getenv(childEnv) == t.Name() {
		return false
	}
	dir, bin := copyTestBinary(t, "envseal-tty-")
	cmd := exec.Command(bin, "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Dir = dir
	cmd.Env = []string{childEnv + "=" + t.Name(), "PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/nonexistent", "TMPDIR=/tmp", "LANG=C.UTF-8", "TERM=dumb"}
	attr := &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		attr.Credential = &syscall.Credential{Uid: 65534, Gid: 65534}
		// The human's terminal belongs to the human: the same uid.
		if err := slave.Chown(65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	cmd.SysProcAttr = attr
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	var out bytes.Buffer
	done := make(chan struct{})
	go func() { io.Copy(&out, master); close(done) }()
	werr := cmd.Wait()
	master.Close()
	<-done
	if werr != nil || !bytes.Contains(out.Bytes(), []byte("--- PASS: "+t.Name())) {
		t.Fatalf("%s on a terminal: %v\n%s", t.Name(), werr, out.Bytes())
	}
	t.Logf("ran on a pty:\n%s", out.Bytes())
	return true
}

// TestContainedRun: a run whose code the agent controls, contained as the
// broker runs every program, reaches none of the doors an uncontained run
// of the same probe reaches (the control): the human's terminal
// (/dev/tty and its /dev/pts node), ~/.bashrc, the vault, the launcher's
// /proc, a tmux server, a GNU screen session and a D-Bus session bus of
// the same user; and a detached setsid daemon does not outlive the run.
// The working directory stays writable.
func TestContainedRun(t *testing.T) {
	if onTerminal(t) {
		return
	}
	for _, tool := range []string{"tmux", "screen", "dbus-daemon", "dbus-send"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (.ci/run installs it): %v", tool, err)
		}
	}
	e := newCtxEnv(t)
	app := filepath.Join(e.home, "app")
	os.MkdirAll(app, 0o755)
	write(t, filepath.Join(e.home, ".bashrc"), "# the human's\n", 0o644)
	humanPTS, err := os.Readlink("/proc/self/fd/0")
	if err != nil || !strings.HasPrefix(humanPTS, "/dev/pts/") {
		t.Fatalf("the test's terminal: %q %v", humanPTS, err)
	}
	if f, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err != nil {
		t.Fatalf("control: this process cannot open its own /dev/tty: %v", err)
	} else {
		f.Close()
	}
	tmp := t.TempDir() // under /tmp, where tmux, screen and agents put their sockets
	os.Chmod(tmp, 0o755)
	runtime := filepath.Join(e.home, "run")
	os.Mkdir(runtime, 0o700)
	tmuxSock := filepath.Join(tmp, "tmux", "default")
	os.Mkdir(filepath.Dir(tmuxSock), 0o700)
	must := func(name string, args ...string) {
		c := exec.Command(name, args...)
		c.Env = []string{"HOME=" + e.home, "PATH=/usr/bin:/bin", "SHELL=/bin/sh", "SCREENDIR=" + filepath.Join(tmp, "screen"), "TERM=dumb"}
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	must("tmux", "-S", tmuxSock, "new-session", "-d", "sleep 120")
	t.Cleanup(func() { exec.Command("tmux", "-S", tmuxSock, "kill-server").Run() })
	os.Mkdir(filepath.Join(tmp, "screen"), 0o700)
	must("screen", "-S", "human", "-dm", "sleep", "120")
	t.Cleanup(func() {
		c := exec.Command("screen", "-S", "human", "-X", "quit")
		c.Env = []string{"SCREENDIR=" + filepath.Join(tmp, "screen")}
		c.Run()
	})
	bus := filepath.Join(runtime, "bus")
	dbus := exec.Command("dbus-daemon", "--session", "--nofork", "--address=unix:path="+bus)
	if err := dbus.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dbus.Process.Kill(); dbus.Wait() })
	for i := 0; i < 100 && !exists(bus); i++ {
		time.Sleep(20 * time.Millisecond)
	}

	probe := fmt.Sprintf(`try() { if eval "$2" >/dev/null 2>./err; then echo "$1:reached"; else echo "$1:blocked $(head -c 200 ./err)"; fi; }
try tty 'echo probe > /dev/tty'
try pts 'echo probe > %[1]s'
try bashrc 'echo probe >> %[2]s/.bashrc'
try vault 'ls -A %[3]s | grep -q .'
try proc 'cat /proc/%[4]d/status'
try tmux 'tmux -S %[5]s list-sessions'
try screen 'SCREENDIR=%[6]s screen -ls | grep -q human'
try bus 'dbus-send --bus=unix:path=%[7]s --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.ListNames'
try cwd 'echo ok > ./written'
rm -f ./daemon-alive
(setsid sh -c 'sleep 3; touch ./daemon-alive' </dev/null >/dev/null 2>&1 &)
`, humanPTS, e.home, e.v.Dir(), os.Getpid(), tmuxSock, filepath.Join(tmp, "screen"), bus)
	// Inline, so nothing is pinned and the control runs with no helper
	// (pinned files are served from a mount and PID namespace, which
	// would already stop the daemon).
	argv := []string{"sh", "-c", probe}
	hide := func(r *Request) { r.Hide = []string{e.v.Dir(), runtime} }

	// Control: the same probe, uncontained (direct mode's standard tier).
	e.ap.answers = []approve.Decision{approve.AllowOnce, approve.AllowOnce}
	out, _, err := e.run(app, argv, hide)
	if err != nil {
		t.Fatalf("control run: %v\n%s", err, out)
	}
	for _, door := range []string{"tty", "pts", "bashrc", "vault", "proc", "tmux", "screen", "bus", "cwd"} {
		if !strings.Contains(out, door+":reached") {
			t.Fatalf("control: the uncontained probe did not reach %s, so the contained result would prove nothing:\n%s", door, out)
		}
	}
	if !waitFor(filepath.Join(app, "daemon-alive"), 10*time.Second) {
		t.Fatal("control: the uncontained run's daemon did not survive it")
	}

	cp := e.checkpoint()
	cp.Contain = true
	fin := &finishAudit{}
	cp.Audit = fin
	buf := &lockedBuf{}
	req := &Request{Argv: argv, Cwd: app, Env: e.evil, PATH: "/usr/bin:/bin", Grants: nil, Stdout: buf, Stderr: buf}
	hide(req)
	os.Remove(filepath.Join(app, "daemon-alive"))
	res, err := cp.Run(t.Context(), req)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("contained run: %v\n%s", err, buf.String())
	}
	out = buf.String()
	// ~/.bashrc is checked on disk below: the test's HOME lies under /tmp,
	// so the contained write lands in the run's private /tmp (a real HOME
	// is under the read-only /: EROFS).
	for _, door := range []string{"tty", "pts", "vault", "proc", "tmux", "screen", "bus"} {
		if !strings.Contains(out, door+":blocked") {
			t.Errorf("the contained run reached %s:\n%s", door, out)
		}
	}
	if !strings.Contains(out, "cwd:reached") {
		t.Errorf("the contained run could not write its working directory:\n%s", out)
	}
	if waitFor(filepath.Join(app, "daemon-alive"), 5*time.Second) {
		t.Error("a daemon started by the contained run outlived it")
	}
	if k, ok := fin.fields["killed"].(int); !ok || k < 1 {
		t.Errorf("run_finished says killed=%v, want the daemon counted", fin.fields["killed"])
	}
	if b, _ := os.ReadFile(filepath.Join(e.home, ".bashrc")); strings.Count(string(b), "probe") != 1 {
		t.Errorf(".bashrc: %q (want only the control's line)", b)
	}
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func waitFor(p string, d time.Duration) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if exists(p) {
			return true
		}
	}
	return false
}

// finishAudit keeps the fields of run_finished.
type finishAudit struct{ fields map[string]any }

func (a *finishAudit) Event(_ seal.Key, kind audit.Event, f map[string]any) {
	if kind == "run_finished" {
		a.fields = f
	}
}
