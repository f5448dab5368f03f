package exeseal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSwapAfterPinRunsOriginal: the path is renamed over between pin and
// exec (the CVE-2019-5736-style swap). The sealed exec must run the pinned
// original, proven by its output.
func TestSwapAfterPinRunsOriginal(t *testing.T) {
	dir := t.TempDir()
	path := copyFile(t, sysPath(t, "/bin/echo"), filepath.Join(dir, "prog"), 0o755)
	p := mustOpen(t, path)

	evil := copyFile(t, sysPath(t, "/bin/false"), filepath.Join(dir, "evil"), 0o755)
	if err := os.Rename(evil, path); err != nil {
		t.Fatal(err)
	}
	if out, _ := exec.Command(path, "original").Output(); len(out) != 0 {
		t.Fatalf("swap did not take effect at the path: %q", out)
	}
	s := mustSeal(t, p)
	if got := run(t, s, "echo", "original"); got != "original\n" {
		t.Errorf("sealed exec after swap printed %q, want the pinned echo's output", got)
	}
}

// TestInPlaceRewriteDetected: the attacker writes to the same inode after
// it was hashed. Seal must refuse with ErrChanged carrying both hashes.
func TestInPlaceRewriteDetected(t *testing.T) {
	dir := t.TempDir()
	path := copyFile(t, sysPath(t, "/bin/echo"), filepath.Join(dir, "prog"), 0o755)
	p := mustOpen(t, path)

	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("\xcc\xcc\xcc\xcc"), p.Size/2); err != nil {
		t.Fatal(err)
	}
	f.Close()
	now, _ := os.ReadFile(path)
	nowSum := sha256.Sum256(now)

	s, err := p.Seal()
	if err == nil {
		s.Close()
		t.Fatal("Seal succeeded after an in-place rewrite")
	}
	var ce *ChangedError
	if !errors.Is(err, ErrChanged) || !errors.As(err, &ce) {
		t.Fatalf("err = %v, want ErrChanged", err)
	}
	if ce.Pinned != p.SHA256 || ce.Got != hex.EncodeToString(nowSum[:]) {
		t.Errorf("ChangedError hashes = %s / %s, want pinned %s / now %x", ce.Pinned, ce.Got, p.SHA256, nowSum)
	}
}

// TestRewriteAfterSealRunsOriginal: once sealed, the memfd is a private
// frozen copy; rewriting the file (same inode) changes nothing that runs.
func TestRewriteAfterSealRunsOriginal(t *testing.T) {
	dir := t.TempDir()
	path := copyFile(t, sysPath(t, "/bin/echo"), filepath.Join(dir, "prog"), 0o755)
	s := mustSeal(t, mustOpen(t, path))
	evil, _ := os.ReadFile(sysPath(t, "/bin/false"))
	if err := os.WriteFile(path, evil, 0o755); err != nil { // O_TRUNC: same inode
		t.Fatal(err)
	}
	if got := run(t, s, "echo", "still", "echo"); got != "still echo\n" {
		t.Errorf("got %q", got)
	}
}

func TestMemfdIsSealed(t *testing.T) {
	dir := t.TempDir()
	script := writeFile(t, filepath.Join(dir, "s"), "#!/bin/sh\necho hi\n", 0o755)
	s := mustSeal(t, mustOpen(t, script))
	for _, tc := range []struct {
		name string
		f    *os.File
		mode uint32
		// a chmod that changes execute bits, refused under F_SEAL_EXEC
		chmod uint32
	}{{"interpreter", s.exe, 0o111, 0o700}, {"script", s.script, 0o400, 0o500}} {
		var st unix.Stat_t
		if err := unix.Fstat(int(tc.f.Fd()), &st); err != nil {
			t.Fatal(err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Mode&0o7777 != tc.mode {
			t.Errorf("%s: mode %#o, want regular %#o", tc.name, st.Mode, tc.mode)
		}
		// Re-open for writing through the magic link (root passes the
		// permission check, so only the seals can stop this).
		rw, err := os.OpenFile("/proc/self/fd/"+strconv.Itoa(int(tc.f.Fd())), os.O_RDWR, 0)
		if err != nil {
			if os.Geteuid() == 0 {
				t.Fatalf("%s: reopen: %v", tc.name, err)
			}
			continue // as non-root the 0111/0400 mode already refuses
		}
		fd := int(rw.Fd())
		seals, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0)
		if err != nil || seals&requiredSeals != requiredSeals {
			t.Errorf("%s: seals %#x (%v), want %#x", tc.name, seals, err, requiredSeals)
		}
		if _, err := rw.WriteAt([]byte("x"), 0); !errors.Is(err, unix.EPERM) {
			t.Errorf("%s: write: %v, want EPERM", tc.name, err)
		}
		if _, err := rw.Write([]byte("grow")); err == nil {
			t.Errorf("%s: append succeeded", tc.name)
		}
		if err := unix.Ftruncate(fd, 0); !errors.Is(err, unix.EPERM) {
			t.Errorf("%s: truncate: %v, want EPERM", tc.name, err)
		}
		if _, err := unix.Mmap(fd, 0, 4096, unix.PROT_WRITE, unix.MAP_SHARED); !errors.Is(err, unix.EPERM) {
			t.Errorf("%s: writable shared mmap: %v, want EPERM", tc.name, err)
		}
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_FUTURE_WRITE); !errors.Is(err, unix.EPERM) {
			t.Errorf("%s: add seal: %v, want EPERM", tc.name, err)
		}
		if kernelAtLeast(t, 6, 3) { // F_SEAL_EXEC and MFD_EXEC/MFD_NOEXEC_SEAL
			if seals&unix.F_SEAL_EXEC == 0 {
				t.Errorf("%s: F_SEAL_EXEC missing (seals %#x)", tc.name, seals)
			}
			if err := unix.Fchmod(fd, tc.chmod); !errors.Is(err, unix.EPERM) {
				t.Errorf("%s: chmod %#o: %v, want EPERM", tc.name, tc.chmod, err)
			}
		}
		rw.Close()
		// The O_PATH descriptor we keep is no write handle either.
		if err := unix.Fchmod(int(tc.f.Fd()), 0o777); err == nil {
			t.Errorf("%s: fchmod through the kept descriptor succeeded", tc.name)
		}
	}
}

func kernelAtLeast(t *testing.T, major, minor int) bool {
	t.Helper()
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	var ma, mi int
	fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &ma, &mi)
	return ma > major || (ma == major && mi >= minor)
}

func TestScriptRunsThroughSealedInterpreter(t *testing.T) {
	dir := t.TempDir()
	// The script prints its own argv ($0 and args) and the interpreter's
	// argv as the kernel sees it.
	body := "#!/bin/sh -e\nprintf '%s|' \"$0\" \"$@\"; echo; tr '\\0' ' ' < /proc/$$/cmdline\n"
	path := writeFile(t, filepath.Join(dir, "s"), body, 0o755)
	s := mustSeal(t, mustOpen(t, path))
	out := run(t, s, "ignored-argv0", "a b", "c")
	lines := strings.Split(out, "\n")
	if len(lines) < 2 {
		t.Fatalf("output %q", out)
	}
	// ExtraFiles: 3 = interpreter image, 4 = script.
	if lines[0] != "/dev/fd/4|a b|c|" {
		t.Errorf("script argv = %q, want /dev/fd/4|a b|c|", lines[0])
	}
	if lines[1] != "/bin/sh -e /dev/fd/4 a b c " {
		t.Errorf("interpreter argv = %q, want conventional /bin/sh first", lines[1])
	}

	envScript := writeFile(t, filepath.Join(dir, "e"), "#!/usr/bin/env sh\ntr '\\0' ' ' < /proc/$$/cmdline\n", 0o755)
	es := mustSeal(t, mustOpen(t, envScript, SearchPath("/usr/bin:/bin")))
	if got := run(t, es, "x", "arg"); got != "/usr/bin/sh /dev/fd/4 arg " {
		t.Errorf("env script argv = %q", got)
	}
}

func TestBinaryKeepsArgv0AndExtraFiles(t *testing.T) {
	s := mustSeal(t, mustOpen(t, sysPath(t, "/bin/sh")))
	// Pre-existing ExtraFiles push the image to a higher fd and must
	// reach the child where they were asked for.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := &exec.Cmd{Args: []string{"/bin/sh", "-c", `tr '\0' ' ' < /proc/$$/cmdline; echo via-fd3 >&3`}}
	cmd.ExtraFiles = []*os.File{w}
	if err := s.Prepare(cmd); err != nil {
		t.Fatal(err)
	}
	if cmd.Path != "/proc/self/fd/4" {
		t.Errorf("Path = %s, want the image after the caller's fd 3", cmd.Path)
	}
	out, err := cmd.Output()
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if want := `/bin/sh -c tr '\0' ' ' < /proc/$$/cmdline; echo via-fd3 >&3 `; string(out) != want {
		t.Errorf("argv = %q, want %q", out, want)
	}
	var buf bytes.Buffer
	buf.ReadFrom(r)
	if buf.String() != "via-fd3\n" {
		t.Errorf("fd 3 got %q", buf.String())
	}
	// The same Sealed can launch again.
	if got := run(t, s, "sh", "-c", "echo again"); got != "again\n" {
		t.Errorf("second launch: %q", got)
	}
}

func TestExitStatusPropagates(t *testing.T) {
	s := mustSeal(t, mustOpen(t, sysPath(t, "/bin/sh")))
	cmd, err := s.Command("sh", "-c", "exit 7")
	if err != nil {
		t.Fatal(err)
	}
	var ee *exec.ExitError
	if err := cmd.Run(); !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Errorf("exit = %v, want status 7", err)
	}

	script := writeFile(t, filepath.Join(t.TempDir(), "s"), "#!/bin/sh\nexit 9\n", 0o755)
	ss := mustSeal(t, mustOpen(t, script))
	cmd, _ = ss.Command("s")
	if err := cmd.Run(); !errors.As(err, &ee) || ee.ExitCode() != 9 {
		t.Errorf("script exit = %v, want status 9", err)
	}

	// A signal death is reported as such, not as a normal exit.
	cmd, _ = s.Command("sh", "-c", "kill -TERM $$")
	err = cmd.Run()
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
		t.Errorf("signal exit = %v, want SIGTERM", err)
	}
}

func TestClosed(t *testing.T) {
	p := mustOpen(t, sysPath(t, "/bin/true"))
	s := mustSeal(t, p)
	p.Close()
	if _, err := p.Seal(); err == nil {
		t.Error("Seal after Close succeeded")
	}
	if got := run(t, s, "true"); got != "" { // Sealed outlives Pinned
		t.Errorf("got %q", got)
	}
	s.Close()
	if _, err := s.Command("true"); err == nil {
		t.Error("Command after Close succeeded")
	}
}

// TestOpenImage: OpenImage reads back exactly the sealed image (the
// interpreter's, for a script), even after the file on disk was rewritten
// in place; the image stays execute-only and sealed, and cannot be written
// through the descriptor; it fails once the Sealed is closed. The control
// is the rewritten file itself, which differs.
func TestOpenImage(t *testing.T) {
	dir := t.TempDir()
	orig, err := os.ReadFile(sysPath(t, "/bin/echo"))
	if err != nil {
		t.Fatal(err)
	}
	path := copyFile(t, sysPath(t, "/bin/echo"), filepath.Join(dir, "prog"), 0o755)
	s := mustSeal(t, mustOpen(t, path))
	evil, _ := os.ReadFile(sysPath(t, "/bin/false"))
	if err := os.WriteFile(path, evil, 0o755); err != nil {
		t.Fatal(err)
	}
	if now, _ := os.ReadFile(path); bytes.Equal(now, orig) {
		t.Fatal("control: the rewrite did not change the file")
	}
	f, err := s.OpenImage()
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(orig)+1)
	n, _ := f.ReadAt(got, 0)
	if !bytes.Equal(got[:n], orig) {
		t.Errorf("OpenImage read %d bytes that are not the sealed image", n)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil || st.Mode&0o7777 != exeMode {
		t.Errorf("image mode %#o (%v), want %#o", st.Mode&0o7777, err, exeMode)
	}
	if _, err := f.WriteAt([]byte("x"), 0); err == nil {
		t.Error("wrote into the sealed image through OpenImage")
	}
	f.Close()

	script := writeFile(t, filepath.Join(dir, "s"), "#!/bin/sh\necho hi\n", 0o755)
	ss := mustSeal(t, mustOpen(t, script))
	sh, _ := os.ReadFile(sysPath(t, "/bin/sh"))
	g, err := ss.OpenImage()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, len(sh)+1)
	if n, _ := g.ReadAt(b, 0); !bytes.Equal(b[:n], sh) {
		t.Error("a script's image is not its interpreter")
	}
	g.Close()
	ss.Close()
	if _, err := ss.OpenImage(); err == nil {
		t.Error("OpenImage after Close succeeded")
	}
}
