//go:build linux && (amd64 || arm64)

package sandbox

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// warmProbe is a shell script whose output describes the sandbox it runs
// in: a warm helper must give the run exactly what a cold one gives.
const warmProbe = `echo "env=$WARM_TEST"; pwd; [ $$ -lt 100 ] && [ "$(ls /proc | grep -c '^[0-9]')" -lt 100 ] && echo own-pid-ns; ls /proc/self/fd | sort -n | tr '\n' ' '; echo
grep -E '^(NoNewPrivs|Seccomp|CapEff|CapBnd|CapAmb):' /proc/self/status
cat /dev/fd/3; echo
touch ./w && echo cwd-writable; touch /etc/envseal-warm-test 2>/dev/null || echo etc-read-only
ls -A "$HIDDEN" | wc -l; ls -A /tmp | wc -l; cat /dev/tty 2>/dev/null || echo no-tty`

func runWarmProbe(t *testing.T, warm *Warm, dir, hidden string) (string, error) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(hidden, "secret.file"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	extra, err := os.CreateTemp(t.TempDir(), "fd3-")
	if err != nil {
		t.Fatal(err)
	}
	extra.WriteString("passed on fd 3")
	extra.Seek(0, 0)
	defer extra.Close()
	img := sealedImage(t, shell(t))
	cmd := &exec.Cmd{Args: []string{"sh", "-c", warmProbe}, Dir: dir,
		Env: []string{"PATH=/usr/bin:/bin", "WARM_TEST=value", "HIDDEN=" + hidden, "GORACE=" + os.Getenv("GORACE")}}
	cmd.ExtraFiles = []*os.File{extra}
	if err := img.Prepare(cmd); err != nil {
		t.Fatal(err)
	}
	h, err := Wrap(cmd, self, Options{Tier: Lockdown, Network: true, NoTTY: true, Hide: []string{hidden}})
	if err != nil {
		t.Fatalf("Wrap: %v", err)
	}
	cmd.Args[0] = os.Args[0] // as the launcher does
	// Stdio as files (a warm helper needs descriptors, as the broker has).
	outR, outW, _ := os.Pipe()
	devnull, _ := os.Open(os.DevNull)
	defer devnull.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, outW, outW
	if warm != nil {
		err = warm.Start(cmd)
	} else {
		err = startNoNewPrivs(cmd)
	}
	outW.Close()
	if err != nil {
		outR.Close()
		h.Close()
		return "", err
	}
	var out bytes.Buffer
	done := make(chan struct{})
	go func() { out.ReadFrom(outR); close(done) }()
	if err := h.AfterStart(); err != nil {
		t.Fatalf("AfterStart: %v", err)
	}
	werr := cmd.Wait()
	<-done
	outR.Close()
	if code := exitCode(t, cmd, werr); code != 0 {
		t.Fatalf("probe exit %d:\n%s", code, out.String())
	}
	if n := h.Leftover(); n != 0 {
		t.Fatalf("leftover %d processes", n)
	}
	return strings.ReplaceAll(out.String(), dir, "$DIR"), nil
}

// TestWarmHelperMatchesCold: the same run through a pre-started helper
// and through a freshly exec'd one sees the same sandbox — environment,
// cwd, PID namespace, descriptors, no_new_privs, seccomp, capabilities,
// read-only /, hidden dirs, private /tmp, no terminal.
func TestWarmHelperMatchesCold(t *testing.T) {
	dir, hidden := t.TempDir(), t.TempDir()
	cold, err := runWarmProbe(t, nil, dir, hidden)
	if err != nil {
		t.Fatal(err)
	}
	w, err := StartWarm(self, os.Args[0], Options{Tier: Lockdown, NoTTY: true}, startNoNewPrivs)
	if err != nil {
		t.Fatalf("StartWarm: %v", err)
	}
	os.Remove(filepath.Join(dir, "w"))
	warm, err := runWarmProbe(t, w, dir, hidden)
	if err != nil {
		t.Fatalf("warm Start: %v", err)
	}
	if warm != cold {
		t.Fatalf("warm run differs from cold run:\n--- cold\n%s--- warm\n%s", cold, warm)
	}
	for _, want := range []string{"env=value", "own-pid-ns", "Seccomp:\t2", "NoNewPrivs:\t1", "CapEff:\t0000000000000000", "passed on fd 3", "cwd-writable", "etc-read-only", "no-tty"} {
		if !strings.Contains(warm, want) {
			t.Errorf("warm run output lacks %q:\n%s", want, warm)
		}
	}
	// One run each: a used helper refuses a second one.
	if err := w.Start(&exec.Cmd{}); !errors.Is(err, ErrWarmUnusable) {
		t.Fatalf("second Start: %v, want ErrWarmUnusable", err)
	}
}

// TestWarmHelperRefusesAfterMountChange: a helper cloned before the
// launcher's mount table changed has a stale view; Start refuses and the
// helper is gone (the caller starts a cold one).
func TestWarmHelperRefusesAfterMountChange(t *testing.T) {
	w, err := StartWarm(self, os.Args[0], Options{Tier: Lockdown, NoTTY: true}, startNoNewPrivs)
	if err != nil {
		t.Fatalf("StartWarm: %v", err)
	}
	pid := w.cmd.Process.Pid
	mnt := t.TempDir()
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=4k"); err != nil {
		w.Close()
		t.Fatalf("mount (the test runs as root in CI): %v", err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
	_, err = runWarmProbe(t, w, t.TempDir(), t.TempDir())
	if !errors.Is(err, ErrWarmUnusable) {
		t.Fatalf("Start after a mount change: %v, want ErrWarmUnusable", err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("refused warm helper %d still exists: %v", pid, err)
	}
}

// TestWarmHelperClose: a helper never used is killed and reaped, and one
// whose launcher closed the socket exits on its own without running
// anything.
func TestWarmHelperClose(t *testing.T) {
	w, err := StartWarm(self, os.Args[0], Options{Tier: Lockdown, NoTTY: true}, startNoNewPrivs)
	if err != nil {
		t.Fatalf("StartWarm: %v", err)
	}
	pid := w.cmd.Process.Pid
	w.Close()
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("closed warm helper %d still exists: %v", pid, err)
	}
	w2, err := StartWarm(self, os.Args[0], Options{Tier: Lockdown, NoTTY: true}, startNoNewPrivs)
	if err != nil {
		t.Fatalf("StartWarm: %v", err)
	}
	w2.ctl.Close() // EOF: the helper exits 0 with nothing run
	err = w2.cmd.Wait()
	if err != nil {
		t.Fatalf("warm helper after EOF: %v, want exit 0", err)
	}
}
