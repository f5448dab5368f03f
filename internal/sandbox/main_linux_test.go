//go:build linux && (amd64 || arm64)

package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/envseal/envseal/internal/exeseal"
	"golang.org/x/sys/unix"
)

// The test binary plays three parts: the tests, the helper stage
// (HelperArg, exactly as cmd/envseal dispatches it) and the probe target.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case HelperArg:
			if p := os.Getenv(pid1MountNSEnv); p != "" {
				initMountNS = p
			}
			// syscall.Exit: os.Exit's exit hooks would print "GOCOVERDIR not set" from a -cover build into the output tests compare.
			syscall.Exit(HelperMain(os.Args[2:]))
		case probeArg:
			syscall.Exit(runProbe(os.Args[2:]))
		case checkArg:
			syscall.Exit(runCheckChild(os.Args[2:]))
		}
	}
	// The race detector sleeps a second at exit (atexit_sleep_ms) in every
	// child this test binary starts as helper or probe.
	if os.Getenv("GORACE") == "" {
		os.Setenv("GORACE", "atexit_sleep_ms=0")
	}
	os.Exit(m.Run())
}

// pid1MountNSEnv makes the test helper treat another mount namespace link
// as PID 1's: on this machine kind PID 1's link is unreadable even to
// root, and the refusal for "same as PID 1" must still be exercised.
const pid1MountNSEnv = "ENVSEAL_SANDBOX_TEST_PID1_MNTNS"

// self is what Wrap execs as the helper, as in production.
const self = "/proc/self/exe"

var sealCache sync.Map // canonical path → *exeseal.Sealed

// sealedImage pins and seals the program at path once per test process.
func sealedImage(t *testing.T, path string) *exeseal.Sealed {
	t.Helper()
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := sealCache.Load(real); ok {
		return s.(*exeseal.Sealed)
	}
	p, err := exeseal.Open(real)
	if err != nil {
		t.Fatalf("exeseal.Open(%s): %v", real, err)
	}
	defer p.Close()
	s, err := p.Seal()
	if err != nil {
		t.Fatalf("seal %s: %v", real, err)
	}
	actual, _ := sealCache.LoadOrStore(real, s)
	return actual.(*exeseal.Sealed)
}

func testBinary(t *testing.T) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func shell(t *testing.T) string {
	t.Helper()
	p, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// result of one sandboxed run.
type result struct {
	stdout, stderr string
	code           int
	helperErr      error // from AfterStart
}

// sandboxed runs argv (argv[0] names the program to seal) through Wrap.
// setup, if not nil, adjusts the cmd before Prepare (Dir, Env,
// SysProcAttr).
func sandboxed(t *testing.T, argv []string, o Options, setup func(*exec.Cmd)) result {
	t.Helper()
	cmd := startSandboxed(t, argv, o, setup)
	var res result
	res.helperErr = cmd.handle.AfterStart()
	err := cmd.Wait()
	res.stdout, res.stderr = cmd.outBuf.String(), cmd.errBuf.String()
	res.code = exitCode(t, cmd.Cmd, err)
	return res
}

type sandboxCmd struct {
	*exec.Cmd
	handle         *Handle
	outBuf, errBuf *bytes.Buffer
}

func startSandboxed(t *testing.T, argv []string, o Options, setup func(*exec.Cmd)) *sandboxCmd {
	t.Helper()
	img := sealedImage(t, argv[0])
	cmd := &exec.Cmd{Args: append([]string(nil), argv...), Env: []string{"PATH=/usr/bin:/bin", "HOME=" + os.Getenv("HOME"), "GORACE=" + os.Getenv("GORACE")}}
	if setup != nil {
		setup(cmd)
	}
	if err := img.Prepare(cmd); err != nil {
		t.Fatal(err)
	}
	h, err := Wrap(cmd, self, o)
	if err != nil {
		t.Fatalf("Wrap: %v", err)
	}
	sc := &sandboxCmd{Cmd: cmd, handle: h, outBuf: &bytes.Buffer{}, errBuf: &bytes.Buffer{}}
	if cmd.Stdout == nil {
		cmd.Stdout = sc.outBuf
	}
	cmd.Stderr = sc.errBuf
	if err := startNoNewPrivs(cmd); err != nil {
		h.Close()
		t.Fatalf("start: %v", err)
	}
	return sc
}

// startNoNewPrivs starts cmd the way the launcher does: from a thread
// with no_new_privs set, so the helper starts with it too (ambient
// capabilities must survive that).
func startNoNewPrivs(cmd *exec.Cmd) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			errc <- err
			return
		}
		errc <- cmd.Start()
	}()
	return <-errc
}

func exitCode(t *testing.T, cmd *exec.Cmd, err error) int {
	t.Helper()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("wait: %v", err)
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// probe runs the probe target under o with ops and decodes its report.
func probe(t *testing.T, o Options, setup func(*exec.Cmd), ops ...string) probeReport {
	t.Helper()
	res := sandboxed(t, append([]string{testBinary(t), probeArg}, ops...), o, setup)
	if res.helperErr != nil || res.code != 0 {
		t.Fatalf("probe under %s: helper error %v, exit %d, stderr:\n%s", o.Tier, res.helperErr, res.code, res.stderr)
	}
	var r probeReport
	if err := json.Unmarshal([]byte(res.stdout), &r); err != nil {
		t.Fatalf("probe output %q: %v", res.stdout, err)
	}
	return r
}

// unsandboxedProbe runs the same sealed probe without the sandbox: the
// control that shows each errno differs without the filter.
func unsandboxedProbe(t *testing.T, ops ...string) probeReport {
	t.Helper()
	img := sealedImage(t, testBinary(t))
	cmd := &exec.Cmd{Args: append([]string{"probe", probeArg}, ops...)}
	if err := img.Prepare(cmd); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("unsandboxed probe: %v\n%s", err, errb.String())
	}
	var r probeReport
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("probe output %q: %v", out.String(), err)
	}
	return r
}

// oneHelperLine checks the helper's stderr is exactly one line with the
// documented prefix, and returns it.
func oneHelperLine(t *testing.T, stderr string) string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], helperPrefix) || !strings.HasSuffix(stderr, "\n") {
		t.Fatalf("helper stderr is not one %q line: %q", helperPrefix, stderr)
	}
	return lines[0]
}
