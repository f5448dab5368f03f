package approve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// testTTY is a real pty: the approver opens the slave by path, as it would
// open /dev/tty; the test plays the human on the master side.
type testTTY struct {
	master, slave *os.File
	mu            sync.Mutex
	out           bytes.Buffer
}

func newTestTTY(t *testing.T) *testTTY {
	t.Helper()
	ptmx, slave, err := pty.Open()
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	// A non-blocking master goes through Go's poller, so Close really
	// closes it (and hangs up the terminal) even while Read waits.
	fd, err := unix.Dup(int(ptmx.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	ptmx.Close()
	if err := unix.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}
	master := os.NewFile(uintptr(fd), "ptmx")
	tt := &testTTY{master: master, slave: slave}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			tt.mu.Lock()
			tt.out.Write(buf[:n])
			tt.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { master.Close(); slave.Close() })
	return tt
}

func (tt *testTTY) screen() string {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	return tt.out.String()
}

var codeLine = regexp.MustCompile(`\n  ([A-Z2-9]{6})      allow once`)

// waitCode reads the challenge code off the screen, as the human would.
func (tt *testTTY) waitCode(t *testing.T) string {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		s := tt.screen()
		if m := codeLine.FindStringSubmatch(s); m != nil && strings.HasSuffix(strings.TrimRight(s, " "), "approval code:") {
			return m[1]
		}
	}
	t.Fatalf("no approval prompt on the terminal; screen:\n%s", tt.screen())
	return ""
}

func (tt *testTTY) waitScreen(t *testing.T, want string) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if strings.Contains(tt.screen(), want) {
			return
		}
	}
	t.Errorf("terminal does not show %q; screen:\n%s", want, tt.screen())
}

func (tt *testTTY) typeIn(t *testing.T, s string) {
	t.Helper()
	if _, err := tt.master.Write([]byte(s)); err != nil {
		t.Fatalf("type on pty: %v", err)
	}
}

// inject pushes bytes into the terminal's input queue with TIOCSTI, the
// way a same-uid agent holding the terminal open would.
func inject(t *testing.T, f *os.File, s string) {
	t.Helper()
	if os.Geteuid() != 0 {
		// The kernel allows TIOCSTI without CAP_SYS_ADMIN only into the
		// caller's own controlling terminal, which the test's pty is not.
		t.Skip("needs root: TIOCSTI into a terminal that is not our controlling one needs CAP_SYS_ADMIN (CI runs as root)")
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), unix.TIOCSTI, uintptr(unsafe.Pointer(&b))); errno != 0 {
			t.Fatalf("TIOCSTI: %v (dev.tty.legacy_tiocsti must be 1 for this test)", errno)
		}
	}
}

type result struct {
	d   Decision
	err error
}

func startApprove(t *testing.T, tt *testTTY, opts ...Option) <-chan result {
	t.Helper()
	a, err := New(KindTTY, append([]Option{withTTYPath(tt.slave.Name())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan result, 1)
	go func() {
		d, err := a.Approve(context.Background(), testRequest())
		ch <- result{d, err}
	}()
	return ch
}

func wait(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("approver did not return")
	}
	return result{}
}

// notCode is a 6-letter guess that is not the code on screen.
func notCode(code string) string {
	if code == "AAAAAA" {
		return "BBBBBB"
	}
	return "AAAAAA"
}

func TestTTYAnswers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answer  func(code string) string
		want    Decision
		wantErr error
	}{
		{"code allows once", func(c string) string { return c + "\n" }, AllowOnce, nil},
		{"code! allows always", func(c string) string { return c + "!\n" }, AllowAlways, nil},
		{"lower case is the same code", func(c string) string { return strings.ToLower(c) + "\n" }, AllowOnce, nil},
		{"wrong code denies", func(c string) string { return notCode(c) + "\n" }, Deny, ErrWrongCode},
		{"wrong code! denies", func(c string) string { return notCode(c) + "!\n" }, Deny, ErrWrongCode},
		{"code with extra text denies", func(c string) string { return c + "x\n" }, Deny, ErrWrongCode},
		{"empty line denies", func(string) string { return "\n" }, Deny, nil},
		{"n denies", func(string) string { return "n\n" }, Deny, nil},
		{"EOF denies", func(string) string { return "\x04" }, Deny, ErrNoAnswer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tt := newTestTTY(t)
			ch := startApprove(t, tt)
			tt.typeIn(t, tc.answer(tt.waitCode(t)))
			r := wait(t, ch)
			if r.d != tc.want || !errors.Is(r.err, tc.wantErr) || (tc.wantErr == nil && r.err != nil) {
				t.Fatalf("got (%v, %v), want (%v, %v)", r.d, r.err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestTTYPromptShowsRequest(t *testing.T) {
	tt := newTestTTY(t)
	ch := startApprove(t, tt)
	tt.waitCode(t)
	tt.typeIn(t, "\n")
	wait(t, ch)
	for _, want := range []string{"/usr/bin/wrangler", strings.Repeat("ab", 32), `[1] "deploy"`,
		"cf-token -> env CLOUDFLARE_API_TOKEN", "hardened", "envseal: deny"} {
		tt.waitScreen(t, want)
	}
}

func TestTTYHangupDenies(t *testing.T) {
	tt := newTestTTY(t)
	ch := startApprove(t, tt)
	tt.waitCode(t)
	tt.master.Close()
	tt.slave.Close()
	if r := wait(t, ch); r.d != Deny || !errors.Is(r.err, ErrNoAnswer) {
		t.Fatalf("got (%v, %v), want Deny with ErrNoAnswer", r.d, r.err)
	}
}

func TestTTYTimeoutDenies(t *testing.T) {
	tt := newTestTTY(t)
	start := time.Now()
	ch := startApprove(t, tt, WithTimeout(200*time.Millisecond))
	r := wait(t, ch)
	if r.d != Deny || !errors.Is(r.err, ErrTimeout) {
		t.Fatalf("got (%v, %v), want Deny with ErrTimeout", r.d, r.err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("timeout of 200ms took %v", el)
	}
	tt.waitScreen(t, "no answer within 200ms")
}

func TestTTYContextCancelDenies(t *testing.T) {
	tt := newTestTTY(t)
	a, _ := New(KindTTY, withTTYPath(tt.slave.Name()))
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan result, 1)
	go func() { d, err := a.Approve(ctx, testRequest()); ch <- result{d, err} }()
	tt.waitCode(t)
	cancel()
	if r := wait(t, ch); r.d != Deny || !errors.Is(r.err, context.Canceled) || !errors.Is(r.err, ErrCancelled) {
		t.Fatalf("got (%v, %v), want Deny with ErrCancelled and context.Canceled", r.d, r.err)
	}
	// The prompt ends on the human's screen too.
	tt.waitScreen(t, "envseal: withdrawn: the client that asked went away")
}

// An agent's TUI leaves the terminal raw (no echo, Enter sends \r). The
// prompt must still work and the agent's mode must come back afterwards.
func TestTTYRawModeTerminal(t *testing.T) {
	tt := newTestTTY(t)
	fd := int(tt.slave.Fd())
	before, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	raw := *before
	raw.Lflag &^= unix.ICANON | unix.ECHO
	raw.Iflag &^= unix.ICRNL
	raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		t.Fatal(err)
	}
	ch := startApprove(t, tt)
	code := tt.waitCode(t)
	tt.typeIn(t, code+"\r")
	if r := wait(t, ch); r.d != AllowOnce || r.err != nil {
		t.Fatalf("got (%v, %v), want AllowOnce", r.d, r.err)
	}
	after, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if after.Lflag != raw.Lflag || after.Iflag != raw.Iflag {
		t.Fatalf("terminal mode not restored: lflag %#x iflag %#x, want %#x %#x", after.Lflag, after.Iflag, raw.Lflag, raw.Iflag)
	}
}

// The attack this approver exists to stop: an agent that can push
// keystrokes into the terminal but cannot see the code on screen.
func TestTTYInjectedGuessDenies(t *testing.T) {
	for _, suffix := range []string{"\n", "!\n"} {
		t.Run(fmt.Sprintf("guess%q", suffix), func(t *testing.T) {
			tt := newTestTTY(t)
			ch := startApprove(t, tt)
			code := tt.waitCode(t)
			inject(t, tt.slave, notCode(code)+suffix)
			if r := wait(t, ch); r.d != Deny || !errors.Is(r.err, ErrWrongCode) {
				t.Fatalf("injected guess: got (%v, %v), want Deny with ErrWrongCode", r.d, r.err)
			}
		})
	}
}

// Keystrokes queued before the prompt are flushed, even the right code:
// the test knows the code in advance (fixed randomness), injects it before
// the prompt exists, and the approver must still time out.
func TestTTYInjectedBeforePromptIsFlushed(t *testing.T) {
	tt := newTestTTY(t)
	inject(t, tt.slave, "AAAAAA\n")
	zeros := withRand(bytes.NewReader(make([]byte, 64))) // code "AAAAAA"
	ch := startApprove(t, tt, zeros, WithTimeout(300*time.Millisecond))
	if code := tt.waitCode(t); code != "AAAAAA" {
		t.Fatalf("fixed randomness gave code %s, want AAAAAA", code)
	}
	if r := wait(t, ch); r.d != Deny || !errors.Is(r.err, ErrTimeout) {
		t.Fatalf("pre-prompt injection: got (%v, %v), want Deny with ErrTimeout", r.d, r.err)
	}
}

// Garbage queued before the prompt must not use up the human's answer.
func TestTTYQueuedGarbageDoesNotEatAnswer(t *testing.T) {
	tt := newTestTTY(t)
	inject(t, tt.slave, "yes\n")
	ch := startApprove(t, tt)
	tt.typeIn(t, tt.waitCode(t)+"\n")
	if r := wait(t, ch); r.d != AllowOnce || r.err != nil {
		t.Fatalf("got (%v, %v), want AllowOnce", r.d, r.err)
	}
}

func TestTTYMissingOrNotATerminal(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("CODE\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/nonexistent/tty", file} {
		a, _ := New(KindTTY, withTTYPath(p))
		d, err := a.Approve(context.Background(), testRequest())
		if d != Deny || !errors.Is(err, ErrNoTTY) {
			t.Fatalf("%s: got (%v, %v), want Deny with ErrNoTTY", p, d, err)
		}
		if !strings.Contains(err.Error(), "interactive terminal") {
			t.Errorf("ErrNoTTY message does not say what to do: %v", err)
		}
	}
}

// A process without a controlling terminal (setsid, as under a daemon or an
// agent's pipe-only runner) gets ErrNoTTY from the default /dev/tty.
func TestTTYNoControllingTerminal(t *testing.T) {
	if os.Getenv("ENVSEAL_APPROVE_TEST_NOCTTY") == "1" {
		a, _ := New(KindTTY)
		d, err := a.Approve(context.Background(), testRequest())
		fmt.Printf("decision=%v noTTY=%v err=%v\n", d, errors.Is(err, ErrNoTTY), err)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestTTYNoControllingTerminal$", "-test.v")
	cmd.Env = append(os.Environ(), "ENVSEAL_APPROVE_TEST_NOCTTY=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Stdin = nil
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "decision=deny noTTY=true") {
		t.Fatalf("child without a controlling terminal did not get ErrNoTTY:\n%s", out)
	}
}
