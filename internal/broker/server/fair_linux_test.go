package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/broker/client"
	"github.com/envseal/envseal/internal/broker/wire"
	"github.com/envseal/envseal/internal/launch"
	"github.com/envseal/envseal/internal/seal"
)

// The test binary as a client of the broker (modeEnv names what it does,
// sockEnv the socket). Started in a new user namespace it is a jailed
// client, as `envseal jail` makes one.
const (
	modeEnv = "ENVSEAL_BROKER_TEST_MODE"
	sockEnv = "ENVSEAL_BROKER_TEST_SOCK"
)

// jailedMark is the warning the broker adds to a jailed request's prompt.
const jailedMark = "asked from inside a jail"

func clientMode(mode, sock string, args []string) int {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		fmt.Println("open /dev/null:", err)
		return 2
	}
	// Runs start in the marker's directory: a contained run writes only
	// beneath its working directory.
	run := func(ctx context.Context, cwd string, argv ...string) error {
		c, err := client.Dial(sock)
		if err != nil {
			return err
		}
		req := runReq(argv...)
		req.Cwd = cwd
		req.Stdin, req.Stdout, req.Stderr = null, null, null
		_, err = c.Run(ctx, req)
		return err
	}
	switch mode {
	case "flood": // args: N MARKER — N concurrent runs that need approval
		n := 0
		fmt.Sscan(args[0], &n)
		var busy, other atomic.Int64
		var firstOther atomic.Value
		for i := 0; i < n; i++ {
			go func() {
				err := run(context.Background(), filepath.Dir(args[1]), "sh", "-c", "touch "+args[1])
				if errors.Is(err, wire.ErrBusy) {
					busy.Add(1)
				} else {
					other.Add(1)
					firstOther.CompareAndSwap(nil, fmt.Sprint(err))
				}
			}()
		}
		deadline := time.Now().Add(20 * time.Second)
		for busy.Load() < int64(n-MaxJailInFlight) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		fmt.Printf("READY busy=%d other=%d %v\n", busy.Load(), other.Load(), firstOther.Load())
		io.Copy(io.Discard, os.Stdin) // hold the flood until the test is done
		return 0
	case "lock":
		c, err := client.Dial(sock)
		if err == nil {
			err = c.Lock()
		}
		fmt.Printf("lock: fromjail=%v err=%v\n", errors.Is(err, wire.ErrFromJail), err)
		return 0
	case "stores": // two store requests at once; the jail's budget is one
		// Each result is printed as it comes: the first waits for a human
		// who never answers the jail, until the test ends this process.
		for i := 0; i < 2; i++ {
			go func() {
				c, err := client.Dial(sock)
				if err == nil {
					var r *wire.StoreResultMsg
					if r, err = c.Store(fmt.Sprintf("NEW_%d", i), "x"); err == nil {
						fmt.Printf("STORE %d stored=%v %s\n", i, r.Stored, r.Reason)
						return
					}
				}
				fmt.Printf("STORE %d busy=%v %v\n", i, errors.Is(err, wire.ErrBusy), err)
			}()
			time.Sleep(300 * time.Millisecond) // the first one waits for the human by now
		}
		select {}
	case "run": // args: MARKER — one run that needs approval; reports how it ended
		fmt.Println("STARTED")
		err := run(context.Background(), filepath.Dir(args[0]), "sh", "-c", "touch "+args[0])
		fmt.Printf("ENDED cancelled=%v err=%v\n", strings.Contains(fmt.Sprint(err), approve.ErrCancelled.Error()), err)
		return 0
	}
	fmt.Println("unknown mode", mode)
	return 2
}

// clientCmd is the test binary in mode; jailed puts it in a new user
// namespace (the caller's uid and gid mapped to themselves).
func clientCmd(t *testing.T, sock, mode string, jailed bool, args ...string) *exec.Cmd {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, args...)
	cmd.Env = []string{modeEnv + "=" + mode, sockEnv + "=" + sock, "PATH=/usr/bin:/bin"}
	if jailed {
		uid, gid := os.Getuid(), os.Getgid()
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Cloneflags:  unix.CLONE_NEWUSER,
			UidMappings: []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}},
			GidMappings: []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}},
		}
	}
	return cmd
}

// startClient starts a client; a jailed one (a new user namespace) is
// started the way the checkpoint starts its sandboxes, because the broker
// made this test process non-dumpable and an ordinary user cannot write a
// non-dumpable child's uid_map.
func startClient(cmd *exec.Cmd) error {
	return launch.StartDumpable(cmd.Start)
}

// classApprover plays a human who answers their own requests at once
// and never answers the jail's: a jailed prompt waits until withdrawn.
type classApprover struct {
	human, jailed atomic.Int64
	onScreen      atomic.Int64 // jailed prompts showing now
}

func (a *classApprover) Approve(ctx context.Context, r *approve.Request) (approve.Decision, error) {
	for _, w := range r.Warnings {
		if strings.HasPrefix(w, jailedMark) {
			a.jailed.Add(1)
			a.onScreen.Add(1)
			defer a.onScreen.Add(-1)
			<-ctx.Done()
			return approve.Deny, ctx.Err()
		}
	}
	a.human.Add(1)
	return approve.AllowOnce, nil
}

// 300 concurrent run requests from a jail, each waiting for an approval
// that never comes: the jail gets its own budget (the rest are refused
// with ErrBusy, saying so), and the human's own run — which needs an
// approval too — is asked first and served, as is their status request.
func TestJailFloodLeavesHumanServed(t *testing.T) {
	ap := &classApprover{}
	tb := startBroker(t, approve.AllowOnce, func(c *Config) { c.Approver = ap })
	marker := filepath.Join(t.TempDir(), "flood-ran") // the runs' working directory too
	const flood = 300
	cmd := clientCmd(t, tb.sock, "flood", true, fmt.Sprint(flood), marker)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := startClient(cmd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("flooder: %v", err)
	}
	var busy, other int
	fmt.Sscanf(line, "READY busy=%d other=%d", &busy, &other)
	if busy != flood-MaxJailInFlight || other != 0 {
		t.Errorf("flood: %d refused busy, %d other endings (%s); want %d busy, 0 other", busy, other, strings.TrimSpace(line), flood-MaxJailInFlight)
	}
	waitUntil(t, "a jailed prompt on screen", func() bool { return ap.onScreen.Load() == 1 })

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := client.Dial(tb.sock)
	if err != nil {
		t.Fatalf("the human's dial during the flood: %v", err)
	}
	human := runReq("sh", "-c", "exit 3")
	human.Cwd = t.TempDir()
	res, err := c.Run(ctx, human)
	if err != nil || res.ExitCode != 3 || res.Approval != "once" {
		t.Fatalf("the human's run during the flood: %+v, %v; want exit 3 approved once", res, err)
	}
	if ap.human.Load() != 1 {
		t.Errorf("%d human prompts, want 1", ap.human.Load())
	}
	c, _ = client.Dial(tb.sock)
	if st, err := c.Status(); err != nil || st.Locked {
		t.Errorf("the human's status during the flood: %+v, %v", st, err)
	}
	// The pre-empted jailed prompt is asked again after the human's.
	waitUntil(t, "the jailed prompt back on screen", func() bool { return ap.onScreen.Load() == 1 })
	if ap.jailed.Load() < 2 {
		t.Errorf("%d jailed prompts shown, want the first again after the human's", ap.jailed.Load())
	}
	stdin.Close()
	cmd.Wait()
	if fileExists(marker) {
		t.Error("a flood request ran its program without an approval")
	}
}

// A jail has one store request at a time: the second, while the first
// waits for the human, is refused with ErrBusy; the human's own store
// request meanwhile is asked (and pre-empts the jailed prompt).
func TestJailStoreBudget(t *testing.T) {
	ap := &classApprover{}
	tb := startBroker(t, approve.AllowOnce, func(c *Config) {
		c.Approver = ap
		c.ReadValue = func(string) ([]byte, error) { return []byte("typed-by-the-human-0123456789"), nil }
	})
	cmd := clientCmd(t, tb.sock, "stores", true)
	var out syncBuf
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := startClient(cmd); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the jail's first store prompt", func() bool { return ap.onScreen.Load() == 1 })
	c, err := client.Dial(tb.sock)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := c.Store("HUMAN_ONE", "mine"); err != nil || !r.Stored {
		t.Errorf("the human's store while the jail's waits: %+v, %v", r, err)
	}
	// End the jailed client (its waiting prompt is withdrawn).
	time.Sleep(400 * time.Millisecond)
	cmd.Process.Kill()
	cmd.Wait()
	got := out.String()
	if !strings.Contains(got, "STORE 1 busy=true") || !strings.Contains(got, "a store request from this jail is already waiting") {
		t.Errorf("jailed stores: %q; want the second refused with ErrBusy naming the limit", got)
	}
}

// envseal lock from a jailed client is refused with ErrFromJail (and the
// key stays); from the human's side it locks.
func TestLockRefusedFromJail(t *testing.T) {
	tb := startBroker(t, approve.AllowOnce, nil)
	jc := clientCmd(t, tb.sock, "lock", true)
	var jout strings.Builder
	jc.Stdout, jc.Stderr = &jout, &jout
	err := startClient(jc)
	if err == nil {
		err = jc.Wait()
	}
	out := []byte(jout.String())
	if err != nil || !strings.Contains(string(out), "fromjail=true") || !strings.Contains(string(out), "passphrase") {
		t.Fatalf("jailed lock: %v: %s; want ErrFromJail naming the passphrase prompt", err, out)
	}
	if tb.srv.Status().Locked {
		t.Fatal("a jailed client locked the broker")
	}
	out, err = clientCmd(t, tb.sock, "lock", false).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "err=<nil>") {
		t.Fatalf("the human's lock: %v: %s", err, out)
	}
	if !tb.srv.Status().Locked {
		t.Error("the human's envseal lock did not lock")
	}
}

// holdApprover shows a prompt that ends only when its context does, then
// "answers yes" anyway: a withdrawn request must not run on a late yes.
type holdApprover struct {
	asked, ended chan struct{}
	cause        atomic.Value
}

func (a *holdApprover) Approve(ctx context.Context, r *approve.Request) (approve.Decision, error) {
	close(a.asked)
	<-ctx.Done()
	a.cause.Store(context.Cause(ctx).Error())
	close(a.ended)
	return approve.AllowOnce, nil
}

type eventLog struct {
	mu     sync.Mutex
	events []string
}

func (l *eventLog) Event(_ seal.Key, kind audit.Event, f map[string]any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, fmt.Sprintf("%s %v", kind, f["reason"]))
}

func (l *eventLog) find(kind string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.events {
		if strings.HasPrefix(e, kind+" ") {
			return e
		}
	}
	return ""
}

// A client that goes away while its run waits for approval withdraws it:
// the prompt ends, the audit log says approval_cancelled, and the program
// never starts — even though the approver says yes right after. Closed
// connection (a cancelled context, as a closed MCP request does), Ctrl-C,
// SIGTERM, SIGHUP and SIGKILL of a client process.
func TestCancelledRunNeverStarts(t *testing.T) {
	// The control: the same request, answered at once, does create the
	// marker (so "no marker" below means "never ran", not "could not
	// write there").
	t.Run("control", func(t *testing.T) {
		tb := startBroker(t, approve.AllowOnce, nil)
		dir := t.TempDir()
		marker := filepath.Join(dir, "ran")
		c, err := client.Dial(tb.sock)
		if err != nil {
			t.Fatal(err)
		}
		req := runReq("sh", "-c", "touch "+marker)
		req.Cwd = dir
		if res, err := c.Run(context.Background(), req); err != nil || res.ExitCode != 0 || !fileExists(marker) {
			t.Fatalf("control run: %+v, %v, marker written %v", res, err, fileExists(marker))
		}
	})
	for _, how := range []string{"close", "SIGINT", "SIGTERM", "SIGHUP", "SIGKILL"} {
		t.Run(how, func(t *testing.T) {
			ap := &holdApprover{asked: make(chan struct{}), ended: make(chan struct{})}
			log := &eventLog{}
			tb := startBroker(t, approve.AllowOnce, func(c *Config) { c.Approver, c.Audit = ap, log })
			dir := t.TempDir()
			marker := filepath.Join(dir, "ran")
			var outcome string
			if how == "close" {
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() {
					c, err := client.Dial(tb.sock)
					if err == nil {
						req := runReq("sh", "-c", "touch "+marker)
						req.Cwd = dir
						_, err = c.Run(ctx, req)
					}
					done <- err
				}()
				waitChan(t, ap.asked, "the prompt")
				cancel()
				outcome = fmt.Sprint(<-done)
			} else {
				cmd := clientCmd(t, tb.sock, "run", false, marker)
				stdout, _ := cmd.StdoutPipe()
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				r := bufio.NewReader(stdout)
				r.ReadString('\n') // STARTED: its signal handlers are set once Run is called
				waitChan(t, ap.asked, "the prompt")
				sig := map[string]syscall.Signal{"SIGINT": syscall.SIGINT, "SIGTERM": syscall.SIGTERM, "SIGHUP": syscall.SIGHUP, "SIGKILL": syscall.SIGKILL}[how]
				cmd.Process.Signal(sig)
				rest, _ := io.ReadAll(r)
				cmd.Wait()
				outcome = string(rest)
				if sig != syscall.SIGKILL && !strings.Contains(outcome, "cancelled=true") {
					t.Errorf("client after %s: %q, want its run ended as cancelled", how, outcome)
				}
			}
			waitChan(t, ap.ended, "the prompt to end")
			if how != "close" && how != "SIGKILL" {
				if c, _ := ap.cause.Load().(string); c != errWithdrawn.Error() {
					t.Errorf("prompt ended by %q, want the withdrawal", c)
				}
			}
			waitUntil(t, "approval_cancelled in the audit log", func() bool { return log.find("approval_cancelled") != "" })
			time.Sleep(200 * time.Millisecond)
			if fileExists(marker) {
				t.Errorf("%s: the program started after its request was withdrawn", how)
			}
			if log.find("run_started") != "" {
				t.Errorf("%s: audit has run_started for a withdrawn request", how)
			}
			_ = outcome
		})
	}
}

// Ctrl-C during a run whose program already runs is a signal for the
// program, not a withdrawal: the run goes on to its own exit status.
func TestWithdrawAfterStartIsASignal(t *testing.T) {
	tb := startBroker(t, approve.AllowOnce, nil)
	c, err := client.Dial(tb.sock)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	req := runReq("sh", "-c", `trap 'exit 42' INT; echo $$ > `+pidFile+`; while :; do sleep 0.05; done`)
	req.Cwd = dir
	done := make(chan *launch.Result, 1)
	go func() { res, _ := c.Run(context.Background(), req); done <- res }()
	waitFile(t, pidFile)
	// What the client does on SIGINT: a signal frame and a withdrawal.
	if n := tb.srv.approver.withdraw(os.Getpid()); n != 0 {
		t.Errorf("withdrew %d prompts of a run that already started", n)
	}
	c.Signal(int(syscall.SIGINT))
	select {
	case res := <-done:
		if res == nil || res.ExitCode != 42 {
			t.Errorf("run after SIGINT: %+v, want the program's exit 42", res)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the run did not end after SIGINT")
	}
}

func waitChan(t *testing.T, ch chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// BenchmarkPeerClassify is what telling a jailed client from the human's
// adds to every connection (SO_PEERPIDFD, /proc/PID/ns/user, the pidfd
// liveness check), measured on a live connection from this process.
func BenchmarkPeerClassify(b *testing.B) {
	dir := b.TempDir()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(dir, "s"), Net: "unix"})
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("unix", filepath.Join(dir, "s"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	sc, err := ln.AcceptUnix()
	if err != nil {
		b.Fatal(err)
	}
	defer sc.Close()
	self := readSelfNS()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if p := self.classify(sc, os.Getpid()); p.jailed {
			b.Fatal("this process classified as jailed")
		}
	}
}
