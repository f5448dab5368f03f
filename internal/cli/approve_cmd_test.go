//go:build linux

package cli

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/creack/pty"
	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/sys/unix"
)

// passEnv are the variables the pty commands pass through from the script
// (besides the test harness's own), so scripts can test what envseal does
// with them.
var passEnv = []string{"PATH", "HOME", "ENVSEAL_HOME", "TMPDIR", "LANG", "FOO",
	"LD_PRELOAD", "LD_LIBRARY_PATH", "BASH_ENV", "NODE_OPTIONS", "PYTHONPATH"}

func scriptEnv(ts *testscript.TestScript) []string {
	var env []string
	for _, k := range passEnv {
		if v := ts.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func lookScriptPath(ts *testscript.TestScript, name string) string {
	if strings.Contains(name, "/") {
		return ts.MkAbs(name)
	}
	for _, d := range filepath.SplitList(ts.Getenv("PATH")) {
		if c := filepath.Join(d, name); fileExists(c) {
			return c
		}
	}
	ts.Fatalf("%s not found on PATH", name)
	return ""
}

var codeRE = regexp.MustCompile(`([ABCDEFGHJKMNPQRSTUVWXYZ23456789]{6})\s+allow once`)

// human [-pass FILE] [-exit N] [-stdin FILE] ACTION CMD ARGS… runs CMD with a
// fresh pty as its controlling terminal and plays the human at it:
//
//	once    type the code shown, Enter          (allow once)
//	always  type the code and "!", Enter        (allow always)
//	for8h   type the code and "+8h", Enter      (allow for 8 hours)
//	widenN  type the code and "!*N", Enter      (allow always, argument [N] any value)
//	deny    type "n", Enter
//	wrong   type a well-formed code that is not the one shown
//	eof     close the terminal input (Ctrl-D)
//	silent  type nothing (for the timeout test)
//	inject  inject a guessed code with TIOCSTI before and after the prompt
//	none    expect no approval prompt at all (a rule covers the run)
//	notty   run CMD with no controlling terminal at all (new session)
//	once-term  allow once, then send SIGTERM to CMD (envseal) after 700 ms
//
// -pass FILE hands FILE to CMD as fd 3 (use --passphrase-fd 3). The
// terminal transcript is saved as $WORK/tty.out; the exit status must be N
// (default 0). CMD's stdout and stderr become the script's.
func cmdHuman(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("use -exit N instead of !")
	}
	var passFile, stdinFile string
	wantExit := 0
	for len(args) > 1 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-pass":
			passFile = ts.MkAbs(args[1])
		case "-stdin":
			stdinFile = ts.MkAbs(args[1])
		case "-exit":
			n, err := strconv.Atoi(args[1])
			if err != nil {
				ts.Fatalf("bad -exit: %v", err)
			}
			wantExit = n
		default:
			ts.Fatalf("unknown option %s", args[0])
		}
		args = args[2:]
	}
	if len(args) < 2 {
		ts.Fatalf("usage: human [-pass FILE] [-exit N] [-stdin FILE] ACTION CMD [ARGS...]")
	}
	action := args[0]
	cmd, master, ttyName, stdout, stderr := startOnPty(ts, args[1:], passFile, stdinFile, action == "notty")
	defer master.Close()
	if action == "notty" {
		action = "none"
	}

	var mu sync.Mutex
	var transcript bytes.Buffer
	prompted := make(chan string, 1)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 4096)
		sent := false
		for {
			n, err := master.Read(buf)
			mu.Lock()
			transcript.Write(buf[:n])
			if !sent {
				if m := codeRE.FindSubmatch(transcript.Bytes()); m != nil && bytes.Contains(transcript.Bytes(), []byte("approval code: ")) {
					prompted <- string(m[1])
					sent = true
				}
			}
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()

	if action == "inject" {
		// Before the prompt exists: queued keystrokes must be flushed.
		inject(ts, ttyName, "AAAAAA!\n")
	}
	var err2 error
	select {
	case code := <-prompted:
		switch action {
		case "once":
			io.WriteString(master, code+"\r")
		case "once-term":
			io.WriteString(master, code+"\r")
			time.Sleep(700 * time.Millisecond)
			cmd.Process.Signal(syscall.SIGTERM)
		case "always":
			io.WriteString(master, code+"!\r")
		case "for8h":
			io.WriteString(master, code+"+8h\r")
		case "widen1", "widen2", "widen3":
			io.WriteString(master, code+"!*"+action[len("widen"):]+"\r")
		case "deny":
			io.WriteString(master, "n\r")
		case "wrong":
			io.WriteString(master, wrongCode(code)+"\r")
		case "eof":
			master.Write([]byte{4})
		case "inject":
			inject(ts, ttyName, wrongCode(code)+"!\n")
		case "silent":
		case "none":
			cmd.Process.Kill()
			ts.Fatalf("an approval prompt appeared, but a rule should cover this run")
		default:
			ts.Fatalf("unknown action %q", action)
		}
		err2 = <-waitErr
	case err2 = <-waitErr:
		if action != "none" {
			mu.Lock()
			ts.Logf("[tty]\n%s", transcript.String())
			mu.Unlock()
			ts.Stderr().Write(stderr.Bytes())
			ts.Fatalf("%s exited (%v) before an approval prompt appeared", args[1], err2)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		ts.Fatalf("no approval prompt and no exit within 30s")
	}
	// Drain what is left on the terminal; the child may hold it open.
	select {
	case <-readDone:
	case <-time.After(2 * time.Second):
	}
	mu.Lock()
	os.WriteFile(ts.MkAbs("tty.out"), bytes.ReplaceAll(transcript.Bytes(), []byte("\r\n"), []byte("\n")), 0o644)
	mu.Unlock()
	ts.Stdout().Write(stdout.Bytes())
	ts.Stderr().Write(stderr.Bytes())
	checkExit(ts, err2, wantExit)
}

// startOnPty starts the script command argv with a new pty as its
// controlling terminal (the last extra descriptor, fd 4 with a pass file
// on fd 3, else fd 3), stdin from stdinFile if set, and stdout and stderr
// captured. With noTTY the command gets no terminal at all (the pty is
// still returned, unused).
func startOnPty(ts *testscript.TestScript, argv []string, passFile, stdinFile string, noTTY bool, env ...string) (cmd *exec.Cmd, master *os.File, ttyName string, stdout, stderr *bytes.Buffer) {
	master, tty, err := pty.Open()
	if err != nil {
		ts.Fatalf("open pty: %v", err)
	}
	cmd = exec.Command(lookScriptPath(ts, argv[0]), argv[1:]...)
	cmd.Dir = ts.MkAbs(".")
	cmd.Env = append(scriptEnv(ts), env...)
	stdout, stderr = &bytes.Buffer{}, &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if stdinFile != "" {
		f, err := os.Open(stdinFile)
		if err != nil {
			ts.Fatalf("%v", err)
		}
		defer f.Close()
		cmd.Stdin = f
	}
	cmd.ExtraFiles = []*os.File{nil, tty} // fd 3: pass file (or nothing), fd 4: the tty
	if passFile != "" {
		f, err := os.Open(passFile)
		if err != nil {
			ts.Fatalf("%v", err)
		}
		defer f.Close()
		cmd.ExtraFiles[0] = f
	} else {
		cmd.ExtraFiles = cmd.ExtraFiles[1:]
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 2 + len(cmd.ExtraFiles)}
	if noTTY {
		cmd.ExtraFiles = cmd.ExtraFiles[:len(cmd.ExtraFiles)-1]
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	}
	if err := cmd.Start(); err != nil {
		ts.Fatalf("start: %v", err)
	}
	ttyName = tty.Name()
	tty.Close()
	return cmd, master, ttyName, stdout, stderr
}

// checkExit fails the script unless err is exit status want (128+N for a
// child killed by signal N).
func checkExit(ts *testscript.TestScript, err error, want int) {
	got := 0
	if ee, ok := err.(*exec.ExitError); ok {
		got = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			got = 128 + int(ws.Signal())
		}
	} else if err != nil {
		ts.Fatalf("wait: %v", err)
	}
	if got != want {
		ts.Fatalf("exit status %d, want %d", got, want)
	}
}

// wrongCode returns a well-formed code that differs from code.
func wrongCode(code string) string {
	if code == "AAAAAA" {
		return "BBBBBB"
	}
	return "AAAAAA"
}

// inject pushes s into the terminal's input queue with TIOCSTI, the way a
// same-uid agent can on kernels with dev.tty.legacy_tiocsti=1. It goes
// through the slave side, as an attacker holding /dev/tty would.
func inject(ts *testscript.TestScript, name, s string) {
	f, err := os.OpenFile(name, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		ts.Fatalf("open %s: %v", name, err)
	}
	defer f.Close()
	for i := 0; i < len(s); i++ {
		c := s[i]
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, f.Fd(), unix.TIOCSTI, uintptr(unsafe.Pointer(&c))); e != 0 {
			ts.Fatalf("TIOCSTI: %v (this machine should allow it)", e)
		}
	}
}
