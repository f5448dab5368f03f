//go:build redteam && linux

package redteam

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

const (
	modeDirect = "direct"
	modeJail   = "broker+jail"
	secretName = "TOKEN"
)

// bins are the programs every world shares, in a 0755 directory owned by
// the harness (as envseal would be installed): the agent cannot change
// envseal itself.
type bins struct {
	dir, envseal, rtagent string
}

func buildBins(t *testing.T) *bins {
	d, err := os.MkdirTemp("", "envseal-redteam-bin")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	os.Chmod(d, 0o755)
	b := &bins{dir: d, envseal: filepath.Join(d, "envseal"), rtagent: filepath.Join(d, "rtagent")}
	build := exec.Command("go", "build", "-o", b.envseal, "github.com/envseal/envseal/cmd/envseal")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build envseal: %v\n%s", err, out)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	copyFile(t, self, b.rtagent, 0o755)
	os.Chmod(b.envseal, 0o755)
	return b
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, mode); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dst, mode)
}

// world is one mode's throwaway machine: a home with a vault, a work
// directory the agent controls (the approved programs live there, as a
// project's tools do), a runtime dir for the broker's socket.
type world struct {
	t    *testing.T
	mode string
	*bins
	root, home, vault, work, wbin, run string
	passFile                           string
	pass, value                        string
	uid, gid                           int
	cred                               *syscall.Credential
	env                                []string
	broker                             *brokerProc
}

func newWorld(t *testing.T, b *bins, mode string) *world {
	d, err := os.MkdirTemp("", "envseal-redteam-"+strings.ReplaceAll(mode, "+", "-"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	os.Chmod(d, 0o755)
	w := &world{t: t, mode: mode, bins: b, root: d, uid: os.Getuid(), gid: os.Getgid()}
	if w.uid == 0 {
		// Root has CAP_SYS_PTRACE and would prove nothing (docs/ARCHITECTURE.md
		// kernel fact 3): envseal, the broker and the agent all run as nobody.
		w.uid, w.gid = 65534, 65534
		w.cred = &syscall.Credential{Uid: 65534, Gid: 65534}
	}
	for _, sub := range []string{"home", "work", "run"} {
		p := filepath.Join(d, sub)
		os.Mkdir(p, 0o700)
		os.Chown(p, w.uid, w.gid)
	}
	w.home, w.work, w.run = filepath.Join(d, "home"), filepath.Join(d, "work"), filepath.Join(d, "run")
	w.vault = filepath.Join(w.home, "vault")
	w.wbin = filepath.Join(w.work, "bin")
	w.mkdir(w.wbin)
	// The passphrase file belongs to the harness (the human's memory): as
	// root, the agent cannot read it; envseal gets it on fd 3.
	w.pass = "redteam " + randHex(12)
	w.passFile = filepath.Join(d, "pass")
	os.WriteFile(w.passFile, []byte(w.pass+"\n"), 0o600)
	// A recognisable random value with characters every encoding treats
	// differently (URL, JSON), long enough to wrap at 76 base64 columns.
	w.value = "rt/" + randHex(20) + ` "q"&<x>+=` + randHex(8)
	w.env = []string{
		"PATH=" + w.wbin + ":" + b.dir + ":/usr/local/bin:/usr/bin:/bin",
		"HOME=" + w.home,
		"ENVSEAL_HOME=" + w.vault,
		"XDG_RUNTIME_DIR=" + w.run,
		"LANG=C",
	}
	cmd := w.command(nil, b.rtagent, agentArg, "setup", w.vault, secretName)
	cmd.Stdin = strings.NewReader(w.pass + "\n" + w.value)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("setup vault: %v\n%s", err, out)
	}
	return w
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// mkdir makes a directory the agent owns.
func (w *world) mkdir(p string) {
	os.MkdirAll(p, 0o755)
	os.Chown(p, w.uid, w.gid)
}

// writeFile writes a file the agent owns.
func (w *world) writeFile(p string, b []byte, mode os.FileMode) {
	if err := os.WriteFile(p, b, mode); err != nil {
		w.t.Fatal(err)
	}
	os.Chmod(p, mode)
	os.Chown(p, w.uid, w.gid)
}

func (w *world) copyTo(src, dst string) {
	b, err := os.ReadFile(src)
	if err != nil {
		w.t.Fatal(err)
	}
	w.writeFile(dst, b, 0o755)
}

// command is a process of the user (uid 65534 as root) in the work dir,
// with no controlling terminal.
func (w *world) command(extraEnv []string, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = w.work
	cmd.Env = append(append([]string{}, w.env...), extraEnv...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: w.cred, Setsid: true}
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

func (w *world) passFD() *os.File {
	f, err := os.Open(w.passFile)
	if err != nil {
		w.t.Fatal(err)
	}
	return f
}

// res is how a process ended and what it printed.
type res struct {
	code        int
	out, errout string
}

func (r res) all() string { return r.out + r.errout }

// exec runs cmd with a deadline and collects its output.
func (w *world) exec(cmd *exec.Cmd) res {
	var out, errb bytes.Buffer
	if cmd.Stdout == nil {
		cmd.Stdout = &out
	}
	if cmd.Stderr == nil {
		cmd.Stderr = &errb
	}
	if err := cmd.Start(); err != nil {
		return res{code: -1, errout: err.Error()}
	}
	tm := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	defer tm.Stop()
	err := cmd.Wait()
	return res{code: exitCode(err), out: out.String(), errout: errb.String()}
}

// agent runs ARGV as the attacker: as the user, with no terminal; in
// broker+jail mode inside `envseal jail`. With pass set (direct mode),
// fd 3 carries the passphrase, as if the human typed it for this run.
func (w *world) agent(pass bool, extraEnv []string, argv ...string) res {
	if w.mode == modeJail {
		argv = append([]string{w.envseal, "jail", "--"}, argv...)
	}
	cmd := w.command(extraEnv, argv[0], argv[1:]...)
	if pass && w.mode == modeDirect {
		f := w.passFD()
		defer f.Close()
		cmd.ExtraFiles = []*os.File{f}
	}
	return w.exec(cmd)
}

// outside runs ARGV as the same user outside any jail: the controls.
func (w *world) outside(extraEnv []string, argv ...string) res {
	return w.exec(w.command(extraEnv, argv[0], argv[1:]...))
}

// envsealRun is `envseal run FLAGS -- ARGV` as the agent would type it;
// in direct mode it unlocks with the passphrase on fd 3 and never uses a
// broker.
func (w *world) envsealRun(extraEnv, flags []string, argv ...string) res {
	return w.agent(true, extraEnv, w.runArgv(flags, argv...)...)
}

func (w *world) runArgv(flags []string, argv ...string) []string {
	a := []string{w.envseal, "run"}
	if w.mode == modeDirect {
		a = append(a, "--direct", "--passphrase-fd", "3")
	}
	a = append(a, "--secret", secretName)
	a = append(a, flags...)
	return append(append(a, "--"), argv...)
}

// probe runs the agent's probes (as the agent: jailed in broker mode, or
// outside with inside=false) and returns op → result.
func (w *world) probe(inside bool, ops ...string) map[string]string {
	argv := append([]string{w.rtagent, agentArg, "probe"}, ops...)
	env := []string{envNeedle + "=" + w.value}
	var r res
	if inside {
		r = w.agent(false, env, argv...)
	} else {
		r = w.outside(env, argv...)
	}
	m := map[string]string{}
	for _, l := range strings.Split(r.out, "\n") {
		f := strings.SplitN(strings.TrimSpace(l), " ", 3)
		if len(f) == 3 && f[0] == "PROBE" {
			m[f[1]] = f[2]
		}
	}
	for _, op := range ops {
		if _, ok := m[op]; !ok {
			m[op] = "did not run: " + firstLine(r.errout)
		}
	}
	return m
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// human is the person at a terminal: the harness owns the pty's master,
// reads what envseal shows and types answers.
type human struct {
	master *os.File
	tty    string
	mu     sync.Mutex
	screen bytes.Buffer
	done   chan struct{}
}

func (w *world) openPty() (*os.File, *os.File) {
	master, tty, err := pty.Open()
	if err != nil {
		w.t.Fatalf("open pty: %v", err)
	}
	if w.cred != nil {
		// The terminal belongs to the user, as a login terminal does.
		os.Chown(tty.Name(), w.uid, w.gid)
	}
	return master, tty
}

// startOnPty starts cmd with a fresh pty as its controlling terminal.
func (w *world) startOnPty(cmd *exec.Cmd) *human {
	master, tty := w.openPty()
	if cmd.Stdin == nil {
		cmd.Stdin = tty
	}
	if cmd.Stdout == nil {
		cmd.Stdout = tty
	}
	if cmd.Stderr == nil {
		cmd.Stderr = tty
	}
	cmd.SysProcAttr.Setctty = true
	cmd.SysProcAttr.Ctty = 0
	if f, ok := cmd.Stdin.(*os.File); !ok || f != tty {
		// Ctty is a child fd number: put the tty somewhere known.
		cmd.ExtraFiles = append(cmd.ExtraFiles, tty)
		cmd.SysProcAttr.Ctty = 2 + len(cmd.ExtraFiles)
	}
	if err := cmd.Start(); err != nil {
		w.t.Fatalf("start %v: %v", cmd.Args, err)
	}
	tty.Close()
	h := &human{master: master, tty: tty.Name(), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			h.mu.Lock()
			h.screen.Write(buf[:n])
			h.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return h
}

func (h *human) text() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.ReplaceAll(h.screen.String(), "\r\n", "\n")
}

// code waits for an approval prompt and returns its code ("" if none
// came within d).
func (h *human) code(d time.Duration) string {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		s := h.text()
		if strings.Contains(s, "approval code: ") {
			if m := codeRE.FindStringSubmatch(s); m != nil {
				return m[1]
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return ""
}

// approve is the human's "allow always" for `envseal run FLAGS -- ARGV`:
// in direct mode typed at the run's own terminal (the human's), in
// broker mode at the broker's terminal.
func (w *world) approve(flags []string, argv ...string) {
	if w.mode == modeJail {
		before := w.broker.count()
		w.broker.setAnswer("always")
		r := w.envsealRun(nil, flags, argv...)
		w.broker.setAnswer("deny")
		if r.code != 0 || w.broker.count() != before+1 {
			w.t.Fatalf("approve %v at the broker: exit %d, %d prompts\n%s\nbroker:\n%s", argv, r.code, w.broker.count()-before, r.all(), w.broker.text())
		}
		return
	}
	a := w.runArgv(flags, argv...)
	cmd := w.command(nil, a[0], a[1:]...)
	f := w.passFD()
	defer f.Close()
	cmd.ExtraFiles = []*os.File{f}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	h := w.startOnPty(cmd)
	defer h.master.Close()
	code := h.code(20 * time.Second)
	if code == "" {
		cmd.Process.Kill()
		cmd.Wait()
		w.t.Fatalf("approve %v: no prompt\n%s\n%s", argv, h.text(), out.String())
	}
	io.WriteString(h.master, code+"!\r")
	if err := cmd.Wait(); err != nil {
		w.t.Fatalf("approve %v: %v\n%s\n%s", argv, err, h.text(), out.String())
	}
}

// brokerProc is `envseal broker` on the human's own terminal; the
// harness types the passphrase and answers prompts with answer.
type brokerProc struct {
	*human
	cmd       *exec.Cmd
	pass      string
	answer    string
	scanned   int
	approvals int
	exited    chan struct{}
}

func (w *world) startBroker() {
	cmd := w.command(nil, w.envseal, "broker", "--idle-lock", "1h")
	h := w.startOnPty(cmd)
	b := &brokerProc{human: h, cmd: cmd, pass: w.pass, answer: "deny", exited: make(chan struct{})}
	go func() { cmd.Wait(); close(b.exited) }()
	go b.play()
	w.broker = b
	w.t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-b.exited
		}
		h.master.Close()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if r := w.outside(nil, w.envseal, "status"); strings.Contains(r.out, "mode: broker") {
			return
		}
		select {
		case <-b.exited:
			w.t.Fatalf("broker exited:\n%s", h.text())
		default:
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("broker not listening after 20s:\n%s", h.text())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *brokerProc) setAnswer(a string) {
	b.mu.Lock()
	b.answer = a
	b.mu.Unlock()
}

func (b *brokerProc) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.approvals
}

// play answers each prompt on the broker's terminal once, in order.
func (b *brokerProc) play() {
	for {
		select {
		case <-b.done:
			return
		case <-time.After(5 * time.Millisecond):
		}
		b.mu.Lock()
		for {
			rest := b.screen.Bytes()[b.scanned:]
			pi := bytes.Index(rest, []byte("Vault passphrase: "))
			ci := bytes.Index(rest, []byte("approval code: "))
			if pi >= 0 && (ci < 0 || pi < ci) {
				b.scanned += pi + len("Vault passphrase: ")
				io.WriteString(b.master, b.pass+"\r")
				continue
			}
			if ci >= 0 {
				m := codeRE.FindSubmatch(rest[:ci])
				if m == nil {
					break
				}
				b.scanned += ci + len("approval code: ")
				b.approvals++
				switch b.answer {
				case "always":
					io.WriteString(b.master, string(m[1])+"!\r")
				case "none": // the human looks away (jail15_test.go)
				case "human-only": // answers their own requests, not the jail's
					if !bytes.Contains(rest[:ci], []byte("asked from inside a jail")) {
						io.WriteString(b.master, string(m[1])+"\r")
					}
				default:
					io.WriteString(b.master, "n\r")
				}
				continue
			}
			break
		}
		b.mu.Unlock()
	}
}

// findProc waits for a process whose cmdline is exactly args and returns
// its pid and its parent's.
func findProc(args ...string) (pid, ppid int) {
	want := strings.Join(args, "\x00") + "\x00"
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ents, _ := os.ReadDir("/proc")
		for _, d := range ents {
			cl, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
			if err != nil || string(cl) != want {
				continue
			}
			st, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
			if err != nil {
				continue
			}
			s := string(st)
			f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
			p, _ := strconv.Atoi(d.Name())
			pp, _ := strconv.Atoi(f[1])
			return p, pp
		}
		time.Sleep(20 * time.Millisecond)
	}
	return 0, 0
}
