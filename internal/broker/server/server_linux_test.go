package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/broker/client"
	"github.com/envseal/envseal/internal/broker/wire"
	"github.com/envseal/envseal/internal/launch"
	"github.com/envseal/envseal/internal/policy"
)

// testCwd is the project directory the tests' runs start in: a contained
// run writes only there (and a run from / is refused).
var testCwd = func() string {
	d, err := os.MkdirTemp("", "envseal-broker-test-")
	if err != nil {
		panic(err)
	}
	return d
}()

func runReq(argv ...string) *launch.Request {
	return &launch.Request{
		Argv: argv, Cwd: testCwd, PATH: "/usr/bin:/bin", Env: []string{"PATH=/usr/bin:/bin"},
		Grants: []policy.Grant{{Secret: "tok", Delivery: policy.DeliverEnv, Env: "T"}},
	}
}

func TestRunScrubsAndReturnsStatus(t *testing.T) {
	tb := startBroker(t, approve.AllowOnce, nil)
	var out, errb syncBuf
	req := runReq("sh", "-c", `test "$T" = "`+testToken+`" && echo "ok $T" && echo "e $T" >&2 && exit 7`)
	req.Stdout, req.Stderr = &out, &errb
	c, err := client.Dial(tb.sock)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Run(context.Background(), req)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if res.ExitCode != 7 {
		t.Errorf("exit %d, want 7 (stderr %q)", res.ExitCode, errb.String())
	}
	if out.String() != "ok [envseal:tok]\n" || errb.String() != "e [envseal:tok]\n" {
		t.Errorf("output not scrubbed as expected: stdout %q stderr %q", out.String(), errb.String())
	}
	if res.Leaks["tok"] != 2 {
		t.Errorf("leaks = %v, want tok:2", res.Leaks)
	}
	if tb.ap.n.Load() != 1 {
		t.Errorf("%d approvals, want 1", tb.ap.n.Load())
	}

	// A denial is the direct path's 126, a missing command 127.
	tb.ap.d.Store(int64(approve.Deny))
	c, _ = client.Dial(tb.sock)
	_, err = c.Run(context.Background(), runReq("sh", "-c", "true"))
	var le *launch.Error
	if !errors.As(err, &le) || le.Code != launch.ExitDenied {
		t.Errorf("denied run: %v, want exit 126", err)
	}
	c, _ = client.Dial(tb.sock)
	_, err = c.Run(context.Background(), runReq("no-such-command-envseal"))
	if !errors.As(err, &le) || le.Code != launch.ExitNotFound {
		t.Errorf("missing command: %v, want exit 127", err)
	}
}

// A client of another uid gets a refusal and nothing else; the same
// request from our uid gets the status (the control).
func TestOtherUIDRefused(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to start a client as uid 65534")
	}
	tb := startBroker(t, approve.AllowOnce, nil)
	// A socket the other uid can reach at all (the real one sits in a
	// 0700 dir): this isolates the SO_PEERCRED check.
	open := filepath.Join(mkShared(t), "open.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: open, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(open, 0o777)
	go tb.srv.Serve(ln)
	bin := copyTestBinary(t)

	run := func(cred *syscall.Credential) string {
		cmd := exec.Command(bin)
		cmd.Env = []string{clientEnv + "=" + open}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("client: %v: %s", err, out)
		}
		return string(out)
	}
	if got := run(&syscall.Credential{Uid: 65534, Gid: 65534}); !strings.Contains(got, "error: refused: uid 65534") {
		t.Errorf("uid 65534 client got %q, want a refusal", got)
	}
	if got := run(nil); got != "reply t\n" {
		t.Errorf("same-uid client got %q, want the status reply", got)
	}
}

// mkShared is a fresh directory uid 65534 can traverse.
func mkShared(t *testing.T) string {
	d, err := os.MkdirTemp("", "envseal-broker-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	os.Chmod(d, 0o755)
	return d
}

func copyTestBinary(t *testing.T) string {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(mkShared(t), "broker.test")
	if err := os.WriteFile(p, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// The socket directory must be ours and 0700: a directory someone else
// prepared is refused by the broker and by the client.
func TestUnsafeSocketDirRefused(t *testing.T) {
	d := t.TempDir()
	loose := filepath.Join(d, "loose")
	os.Mkdir(loose, 0o755)
	if _, err := Listen(filepath.Join(loose, wire.SocketName)); !errors.Is(err, wire.ErrUnsafeDir) {
		t.Errorf("listen in a 0755 dir: %v, want ErrUnsafeDir", err)
	}
	if _, err := client.Dial(filepath.Join(loose, wire.SocketName)); !errors.Is(err, wire.ErrUnsafeDir) {
		t.Errorf("dial in a 0755 dir: %v, want ErrUnsafeDir", err)
	}
	link := filepath.Join(d, "link")
	os.Symlink(loose, link)
	if _, err := Listen(filepath.Join(link, wire.SocketName)); !errors.Is(err, wire.ErrUnsafeDir) {
		t.Errorf("listen through a symlink: %v, want ErrUnsafeDir", err)
	}
	if os.Getuid() == 0 {
		other := filepath.Join(d, "other")
		os.Mkdir(other, 0o700)
		os.Chown(other, 65534, 65534)
		if _, err := Listen(filepath.Join(other, wire.SocketName)); !errors.Is(err, wire.ErrUnsafeDir) {
			t.Errorf("listen in another user's dir: %v, want ErrUnsafeDir", err)
		}
	}
	// Without XDG_RUNTIME_DIR the path is never a bare shared directory.
	t.Setenv("XDG_RUNTIME_DIR", "")
	if dir := wire.SocketDir(); dir == os.TempDir() || dir == "/tmp" {
		t.Errorf("fallback socket dir %s is a shared directory", dir)
	}
}

// rawRun sends a run frame with the given pipes as stdio and returns the
// connection (the test drives the rest).
func rawRun(t *testing.T, sock, cwd string, argv []string, stdio [3]*os.File) *net.UnixConn {
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	b := frame(t, wire.TypeRun, &wire.RunMsg{Argv: argv, Cwd: cwd, PATH: "/usr/bin:/bin",
		Grants: []policy.Grant{{Secret: "tok", Delivery: policy.DeliverEnv, Env: "T"}}})
	if _, _, err := c.WriteMsgUnix(b, unix.UnixRights(int(stdio[0].Fd()), int(stdio[1].Fd()), int(stdio[2].Fd())), nil); err != nil {
		t.Fatal(err)
	}
	return c
}

func devNull(t *testing.T) *os.File {
	f, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func waitFile(t *testing.T, p string) string {
	for i := 0; i < 500; i++ {
		if b, err := os.ReadFile(p); err == nil && bytes.HasSuffix(b, []byte("\n")) {
			return strings.TrimSpace(string(b))
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s never written", p)
	return ""
}

// A client that disconnects mid-run gets its child terminated.
func TestDisconnectKillsChild(t *testing.T) {
	tb := startBroker(t, approve.AllowOnce, nil)
	dir := t.TempDir()
	beat := filepath.Join(dir, "beat")
	n := devNull(t)
	// The child runs in the run's own PID namespace: it shows it is alive
	// by a heartbeat in its (writable) working directory.
	c := rawRun(t, tb.sock, dir, []string{"sh", "-c", "while :; do date +%s%N > beat.new; mv beat.new beat; sleep 0.02; done"}, [3]*os.File{n, n, n})
	waitFile(t, beat)
	c.Close()
	time.Sleep(200 * time.Millisecond) // the broker notices and terminates
	last, _ := os.ReadFile(beat)
	time.Sleep(500 * time.Millisecond)
	if now, _ := os.ReadFile(beat); !bytes.Equal(now, last) {
		t.Fatal("child still running after its client disconnected")
	}
}

// A signal frame reaches the child; its exit status comes back.
func TestSignalForwarded(t *testing.T) {
	tb := startBroker(t, approve.AllowOnce, nil)
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	n := devNull(t)
	c := rawRun(t, tb.sock, dir, []string{"sh", "-c", `trap "exit 7" USR1; echo x > ready; while :; do sleep 0.02; done`}, [3]*os.File{n, n, n})
	defer c.Close()
	waitFile(t, ready)
	c.Write(frame(t, wire.TypeSignal, &wire.SignalMsg{Signal: int(syscall.SIGUSR1)}))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	f, err := wire.ReadFrame(c)
	if err != nil || f.Type != wire.TypeResult {
		t.Fatalf("reply: %v %q", err, f.Type)
	}
	r, _ := wire.DecodeResult(f.Payload)
	if r.ExitCode != 7 || r.Error != nil {
		t.Errorf("result %+v, want exit 7 from the trapped SIGUSR1", r)
	}
}

// Malformed, oversized and slow input gets a clean refusal, and the
// broker keeps serving.
func TestMalformedInput(t *testing.T) {
	tb := startBroker(t, approve.AllowOnce, nil)
	cases := map[string][]byte{
		"bad version": {9, wire.TypeStatus, 0, 0, 0, 0},
		"unknown":     {wire.Version, 'Z', 0, 0, 0, 0},
		"oversized":   {wire.Version, wire.TypeRun, 0x7f, 0xff, 0xff, 0xff},
		"bad json":    append([]byte{wire.Version, wire.TypeRun, 0, 0, 0, 3}, "{{{"...),
		"run no fds":  frame(t, wire.TypeRun, &wire.RunMsg{Argv: []string{"true"}, Cwd: "/"}),
		"reply type":  frame(t, wire.TypeResult, &wire.ResultMsg{}),
	}
	for name, b := range cases {
		c, err := net.Dial("unix", tb.sock)
		if err != nil {
			t.Fatal(err)
		}
		c.Write(b)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		f, err := wire.ReadFrame(c)
		c.Close()
		if err != nil || f.Type != wire.TypeError {
			t.Errorf("%s: reply %q, %v; want an error frame", name, f.Type, err)
		}
	}
	// Truncated: header promises 100 bytes, the client hangs up.
	c, _ := net.Dial("unix", tb.sock)
	c.Write([]byte{wire.Version, wire.TypeRun, 0, 0, 0, 100, '{'})
	c.Close()
	cl, err := client.Dial(tb.sock)
	if err != nil {
		t.Fatal(err)
	}
	st, err := cl.Status()
	if err != nil || st.Locked || st.PID != os.Getpid() {
		t.Fatalf("status after bad input: %+v, %v", st, err)
	}
}

// After the idle period the key is wiped; the next run asks for the
// passphrase again (through Config.Unlock) and works.
func TestIdleLockAndUnlockAgain(t *testing.T) {
	tb := startBroker(t, approve.AllowOnce, func(c *Config) { c.IdleLock = 100 * time.Millisecond })
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := tb.srv.Status()
		if st.Locked {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not locked after the idle period")
		}
		time.Sleep(20 * time.Millisecond)
	}
	c, _ := client.Dial(tb.sock)
	var out syncBuf
	req := runReq("sh", "-c", `test "$T" = "`+testToken+`" && echo fine`)
	req.Stdout = &out
	res, err := c.Run(context.Background(), req)
	if err != nil || res.ExitCode != 0 || out.String() != "fine\n" {
		t.Fatalf("run after idle lock: %v, %+v, %q", err, res, out.String())
	}
	if tb.unlock.Load() != 1 {
		t.Errorf("%d unlock prompts, want 1", tb.unlock.Load())
	}
	// envseal lock: wiped at once.
	tb.srv.mu.Lock()
	tb.srv.lastUse = time.Now().Add(time.Hour) // keep the idle loop out of it
	tb.srv.mu.Unlock()
	lc, _ := client.Dial(tb.sock)
	if err := lc.Lock(); err != nil {
		t.Fatal(err)
	}
	if !tb.srv.Status().Locked {
		t.Error("still unlocked after Lock")
	}
}

// 64 concurrent clients: every status and output right; fds and
// goroutines back to their idle level afterwards.
func TestLoad64Clients(t *testing.T) {
	tb := startBroker(t, approve.AllowOnce, nil)
	// Warm up (first run allocates pools) and measure the idle level.
	c, _ := client.Dial(tb.sock)
	if _, err := c.Run(context.Background(), runReq("true")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	fds0 := openFDs(t)
	rss0 := rssKiB(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := client.Dial(tb.sock)
			if err != nil {
				errs <- err
				return
			}
			var out, errb syncBuf
			req := runReq("sh", "-c", fmt.Sprintf(`echo "n=%d $T"; exit %d`, i, i%5))
			req.Stdout, req.Stderr = &out, &errb
			res, err := c.Run(context.Background(), req)
			if err != nil {
				errs <- fmt.Errorf("client %d: %v", i, err)
				return
			}
			if want := fmt.Sprintf("n=%d [envseal:tok]\n", i); out.String() != want || res.ExitCode != i%5 {
				errs <- fmt.Errorf("client %d: exit %d output %q stderr %q leaks %v", i, res.ExitCode, out.String(), errb.String(), res.Leaks)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := tb.ap.n.Load(); got != 65 {
		t.Errorf("%d approvals, want 65", got)
	}
	// The sealed-binary cache keeps one descriptor per cached binary; any
	// other descriptor left open is a leak.
	want := fds0 + tb.srv.cache.Len()
	var fds int
	for range 100 {
		if fds = openFDs(t); fds <= want {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if fds > want {
		t.Errorf("open fds %d after the load, %d before (+%d cached binaries)", fds, fds0, tb.srv.cache.Len())
	}
	// RSS: the Go heap does not shrink to the byte; a leak of the run's
	// buffers (1 MiB per pump, 128 of them) would show as well over this.
	if rss := rssKiB(t); !raceEnabled && rss > rss0+32<<10 {
		t.Errorf("RSS %d KiB after the load, %d KiB before", rss, rss0)
	}
	if st := tb.srv.Status(); st.Active != 0 || st.Served != 65 {
		t.Errorf("status after load: %+v", st)
	}
}
