//go:build linux && (amd64 || arm64)

package sandbox

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestExitStatus: the target's exit code, and 128+N for a signal, come
// back through the helper unchanged; a target exiting 127 is not mistaken
// for a helper failure.
func TestExitStatus(t *testing.T) {
	for _, tier := range []Tier{Hardened, Lockdown} {
		for script, want := range map[string]int{
			"exit 0":        0,
			"exit 7":        7,
			"exit 127":      127,
			"kill -KILL $$": 137,
		} {
			res := sandboxed(t, []string{shell(t), "-c", script}, Options{Tier: tier, Cwd: t.TempDir()}, nil)
			if res.helperErr != nil || res.code != want {
				t.Errorf("%s: %q: exit %d (helper error %v), want %d; stderr %q", tier, script, res.code, res.helperErr, want, res.stderr)
			}
		}
	}
}

// TestSignalForwarding: SIGTERM sent to the helper (what envseal does on
// Ctrl-C or a timeout) reaches the target. A target without a handler
// dies of it (143) — it would ignore it as PID 1 of the namespace, which
// is why the helper stays PID 1 — and a target with a trap runs it.
func TestSignalForwarding(t *testing.T) {
	cases := []struct {
		script string
		want   int
	}{
		{"echo ready; while :; do sleep 0.05; done", 128 + int(syscall.SIGTERM)},
		{"trap 'exit 42' TERM; echo ready; while :; do sleep 0.05; done", 42},
	}
	for _, tier := range []Tier{Hardened, Lockdown} {
		for _, c := range cases {
			code := runUntilReadyThenSignal(t, tier, c.script, syscall.SIGTERM)
			if code != c.want {
				t.Errorf("%s: %q: exit %d after SIGTERM, want %d", tier, c.script, code, c.want)
			}
		}
	}
}

func runUntilReadyThenSignal(t *testing.T, tier Tier, script string, sig syscall.Signal) int {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	sc := startSandboxed(t, []string{shell(t), "-c", script}, Options{Tier: tier, Cwd: t.TempDir()}, func(c *exec.Cmd) { c.Stdout = pw })
	pw.Close()
	if err := sc.handle.AfterStart(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(pr).ReadString('\n')
		ready <- line
		io.Copy(io.Discard, pr)
	}()
	select {
	case line := <-ready:
		if line != "ready\n" {
			t.Fatalf("target said %q, stderr %q", line, sc.errBuf.String())
		}
	case <-time.After(10 * time.Second):
		sc.Process.Kill()
		t.Fatal("target never became ready")
	}
	if err := sc.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sc.Wait() }()
	select {
	case err := <-done:
		return exitCode(t, sc.Cmd, err)
	case <-time.After(10 * time.Second):
		sc.Process.Kill()
		<-done
		t.Fatalf("%s: target ignored %v", tier, sig)
		return -1
	}
}

// TestHelperKilledKillsTarget: SIGKILL to the helper (the launcher's last
// resort) takes the whole PID namespace with it; nothing sandboxed
// outlives the run holding the output pipe.
func TestHelperKilledKillsTarget(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	sc := startSandboxed(t, []string{shell(t), "-c", "sleep 60 & echo ready; wait"}, Options{Tier: Hardened}, func(c *exec.Cmd) { c.Stdout = pw })
	pw.Close()
	if err := sc.handle.AfterStart(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(pr).ReadString('\n')
	if line != "ready\n" {
		t.Fatalf("target said %q", line)
	}
	sc.Process.Kill()
	sc.Wait()
	eof := make(chan struct{})
	go func() { io.Copy(io.Discard, pr); close(eof) }()
	select {
	case <-eof: // every holder of the pipe, the background sleep too, is gone
	case <-time.After(10 * time.Second):
		t.Fatal("a sandboxed process survived the helper")
	}
}

// TestScriptTarget: a "#!" script sealed by exeseal runs through the
// helper (its sealed script memfd arrives as /dev/fd/N), with its
// arguments, and can write into the cwd under lockdown.
func TestScriptTarget(t *testing.T) {
	work := t.TempDir()
	script := filepath.Join(work, "build.sh")
	body := "#!" + shell(t) + "\necho \"script:$1:$2\"\necho built > out.txt\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tier := range []Tier{Hardened, Lockdown} {
		os.Remove(filepath.Join(work, "out.txt"))
		res := sandboxed(t, []string{script, "-x", "two words"}, Options{Tier: tier, Cwd: work}, func(c *exec.Cmd) { c.Dir = work })
		if res.helperErr != nil || res.code != 0 || res.stdout != "script:-x:two words\n" {
			t.Errorf("%s: exit %d, helper error %v, stdout %q, stderr %q", tier, res.code, res.helperErr, res.stdout, res.stderr)
		}
		if b, err := os.ReadFile(filepath.Join(work, "out.txt")); err != nil || strings.TrimSpace(string(b)) != "built" {
			t.Errorf("%s: script output file: %q %v", tier, b, err)
		}
	}
}

// TestInheritedDescriptors: a descriptor the launcher passes (an
// fd-delivered secret, "NAME=/dev/fd/3") reaches the target at the same
// number; the status pipe does not, and neither does a descriptor leaked
// to the launcher without close-on-exec.
func TestInheritedDescriptors(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "delivered")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString("fd-payload")
	leakR, leakW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer leakR.Close()
	defer leakW.Close()
	if _, err := unix.FcntlInt(leakR.Fd(), unix.F_SETFD, 0); err != nil { // as a careless parent would
		t.Fatal(err)
	}
	leaked := strconv.Itoa(int(leakR.Fd()))
	for _, tier := range []Tier{Hardened, Lockdown} {
		f.Seek(0, 0)
		script := `cat /dev/fd/3; echo; ls /proc/self/fd | sort -n | tr '\n' ' '`
		res := sandboxed(t, []string{shell(t), "-c", script}, Options{Tier: tier, Cwd: t.TempDir()},
			func(c *exec.Cmd) { c.ExtraFiles = []*os.File{f} })
		lines := strings.SplitN(res.stdout, "\n", 2)
		if res.code != 0 || len(lines) != 2 || lines[0] != "fd-payload" {
			t.Fatalf("%s: exit %d, stdout %q, stderr %q", tier, res.code, res.stdout, res.stderr)
		}
		// 0-2, 3 (delivered), 4 (the image), 5 (ls's own directory).
		if fds := strings.Fields(lines[1]); !slices.Equal(fds, []string{"0", "1", "2", "3", "4", "5"}) {
			t.Errorf("%s: target holds descriptors %v (leaked one: %s), want 0-5", tier, fds, leaked)
		}
	}
}
