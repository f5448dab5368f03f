//go:build linux

package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// jailProbeArg makes a copy of the test binary (named envseal) run
// jailProbe instead: the attacker's tool inside and outside the jail.
const jailProbeArg = "__jailprobe"

func init() {
	if len(os.Args) > 1 && os.Args[1] == jailProbeArg {
		// syscall.Exit: os.Exit's exit hooks would print "GOCOVERDIR not set" from a -cover build into the output tests compare.
		syscall.Exit(jailProbe(os.Args[2:]))
	}
}

// jailProbe tries each "op:arg" and prints "PROBE op:arg ok" or
// "PROBE op:arg denied <error>". It never prints what it read.
func jailProbe(ops []string) int {
	for _, o := range ops {
		op, arg, _ := strings.Cut(o, ":")
		err := probeOne(op, arg)
		if err != nil {
			fmt.Printf("PROBE %s denied %v\n", o, err)
		} else {
			fmt.Printf("PROBE %s ok\n", o)
		}
	}
	return 0
}

func probeOne(op, arg string) error {
	pid, _ := strconv.Atoi(arg)
	switch op {
	case "read": // the whole file; for an environ, it must hold T=
		b, err := os.ReadFile(arg)
		if err == nil && strings.HasPrefix(filepath.Base(arg), "environ") && !bytes.Contains(b, []byte("T=")) {
			return errors.New("read, but no T= in it")
		}
		return err
	case "list": // a directory with entries in it
		es, err := os.ReadDir(arg)
		if err == nil && len(es) == 0 {
			return errors.New("empty")
		}
		return err
	case "write": // opens for writing; writes nothing
		f, err := os.OpenFile(arg, os.O_WRONLY|os.O_APPEND, 0)
		if err == nil {
			f.Close()
		}
		return err
	case "create":
		f, err := os.OpenFile(arg, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			f.Close()
			os.Remove(arg)
		}
		return err
	case "open": // a terminal
		f, err := os.OpenFile(arg, os.O_RDWR|unix.O_NOCTTY, 0)
		if err == nil {
			f.Close()
		}
		return err
	case "ptrace":
		if err := unix.PtraceAttach(pid); err != nil {
			return err
		}
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, unix.WALL, nil)
		return unix.PtraceDetach(pid)
	case "kill":
		return unix.Kill(pid, unix.SIGURG) // ignored by Go programs and sleep
	case "connect":
		c, err := net.Dial("unix", "@"+arg)
		if err == nil {
			c.Close()
		}
		return err
	case "dial": // a unix socket file
		c, err := net.Dial("unix", arg)
		if err == nil {
			c.Close()
		}
		return err
	case "cmd": // a shell command (the attacker's tmux, screen, dbus-send) exits 0
		out, err := exec.Command("/bin/sh", "-c", arg).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, strings.Join(strings.Fields(string(out)), " "))
		}
		return nil
	case "exists":
		_, err := os.Lstat(arg)
		return err
	case "env": // set in the environment
		if _, ok := os.LookupEnv(arg); !ok {
			return errors.New("unset")
		}
		return nil
	case "tiocsti":
		c := byte('\n')
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, 0, unix.TIOCSTI, uintptr(unsafe.Pointer(&c)))
		if errno != 0 {
			return errno
		}
		return nil
	case "tty": // ttyname(0) resolves, and /dev/tty opens
		p, err := os.Readlink("/proc/self/fd/0")
		if err != nil {
			return err
		}
		var a, b unix.Stat_t
		if err := unix.Fstat(0, &a); err != nil {
			return err
		}
		if err := unix.Stat(p, &b); err != nil {
			return err
		}
		if a.Rdev != b.Rdev || a.Ino != b.Ino {
			return fmt.Errorf("%s is another file", p)
		}
		f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
		if err != nil {
			return err
		}
		return f.Close()
	}
	return fmt.Errorf("unknown probe %q", op)
}

// jailEnv is a test world uid 65534 can use (or the current user, when
// the test does not run as root).
type jailEnv struct {
	t     *testing.T
	dir   string
	bin   string
	env   []string
	cred  *syscall.Credential
	vault string
}

func newJailEnv(t *testing.T) *jailEnv {
	d, err := os.MkdirTemp("", "envseal-jail-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	os.Chmod(d, 0o755)
	e := &jailEnv{t: t, dir: d}
	uid, gid := os.Getuid(), os.Getgid()
	if uid == 0 {
		// Root has CAP_SYS_PTRACE and would prove nothing (docs/ARCHITECTURE.md
		// kernel fact 3): broker, jail and attacker all run as nobody.
		e.cred = &syscall.Credential{Uid: 65534, Gid: 65534}
		uid, gid = 65534, 65534
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(d, "bin"), 0o755)
	e.bin = filepath.Join(d, "bin", "envseal")
	if err := os.WriteFile(e.bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"home", "run", "work"} {
		p := filepath.Join(d, sub)
		os.Mkdir(p, 0o700)
		os.Chown(p, uid, gid)
	}
	e.vault = filepath.Join(d, "home", "vault")
	e.env = []string{
		"PATH=" + filepath.Join(d, "bin") + ":/usr/bin:/bin",
		"HOME=" + filepath.Join(d, "home"),
		"ENVSEAL_HOME=" + e.vault,
		"XDG_RUNTIME_DIR=" + filepath.Join(d, "run"),
		"LANG=C",
		"DISPLAY=:99",
		"WAYLAND_DISPLAY=wayland-0",
	}
	return e
}

func (e *jailEnv) command(args ...string) *exec.Cmd {
	cmd := exec.Command(e.bin, args...)
	cmd.Dir = filepath.Join(e.dir, "work")
	cmd.Env = e.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: e.cred, Setsid: true}
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// run runs envseal ARGS without a terminal and returns stdout, stderr.
func (e *jailEnv) run(stdin string, args ...string) (string, string, error) {
	cmd := e.command(args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		return "", "", err
	}
	t := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer t.Stop()
	err := cmd.Wait()
	return out.String(), errb.String(), err
}

// openPty is a pty whose terminal belongs to the test user.
func (e *jailEnv) openPty() (master, tty *os.File) {
	master, tty, err := pty.Open()
	if err != nil {
		e.t.Fatalf("open pty: %v", err)
	}
	if e.cred != nil {
		os.Chown(tty.Name(), int(e.cred.Uid), int(e.cred.Gid))
	}
	return master, tty
}

// runInPty runs envseal ARGS with a fresh pty as its controlling
// terminal and returns what it printed there.
func (e *jailEnv) runInPty(args ...string) string {
	master, tty := e.openPty()
	defer master.Close()
	cmd := e.command(args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr.Setctty = true
	if err := cmd.Start(); err != nil {
		e.t.Fatalf("start %v: %v", args, err)
	}
	tty.Close()
	var buf bytes.Buffer
	copied := make(chan struct{})
	go func() { io.Copy(&buf, master); close(copied) }()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case <-waited:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		e.t.Fatalf("%v did not finish", args)
	}
	select {
	case <-copied:
	case <-time.After(5 * time.Second):
	}
	return strings.ReplaceAll(buf.String(), "\r\n", "\n")
}

// startBroker starts `envseal broker` in a pty of its own, playing the
// human there (brokerProc.play), and waits for its socket.
func (e *jailEnv) startBroker(pass string) (*brokerProc, string) {
	master, tty := e.openPty()
	cmd := e.command("broker", "--idle-lock", "1h")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr.Setctty = true
	if err := cmd.Start(); err != nil {
		e.t.Fatalf("start broker: %v", err)
	}
	ttyName := tty.Name()
	tty.Close()
	b := &brokerProc{cmd: cmd, master: master, pass: pass, answer: "once", exited: make(chan struct{})}
	go func() { cmd.Wait(); close(b.exited) }()
	go b.play()
	e.t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-b.exited
		}
		master.Close()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if out, _, err := e.run("", "status"); err == nil && strings.Contains(out, "mode: broker") {
			return b, ttyName
		}
		select {
		case <-b.exited:
			e.t.Fatalf("broker exited:\n%s", b.transcript())
		default:
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("broker not listening after 20s:\n%s", b.transcript())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *brokerProc) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.approvals
}

// probes parses jailProbe's output into op → "ok" or the error.
func probes(out string) map[string]string {
	m := map[string]string{}
	// An op may hold spaces (a "cmd:" probe); none holds " denied ".
	for _, l := range strings.Split(out, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(l), "PROBE ")
		if !ok {
			continue
		}
		if op, ok := strings.CutSuffix(rest, " ok"); ok {
			m[op] = "ok"
		} else if op, why, ok := strings.Cut(rest, " denied "); ok {
			m[op] = "denied " + why
		}
	}
	return m
}
