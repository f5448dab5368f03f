package exeseal

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// The test binary doubles as the "attacker" that tries to read a victim's
// /proc files; TestMain dispatches to it before any test runs.
const helperEnv = "EXESEAL_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "procread" {
		procRead()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// procReport is what the reader saw. Errno fields are 0 on success.
type procReport struct {
	EnvironErrno int
	Environ      []byte
	MemErrno     int    // opening /proc/<pid>/mem
	MemRead      int    // bytes read from the first readable mapping
	MemReadErr   string // why no bytes were read after a successful open
	PtraceErrno  int    // PTRACE_ATTACH
}

func errnoOf(err error) int {
	if err == nil {
		return 0
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		return int(e)
	}
	return -1
}

func procRead() {
	pid, err := strconv.Atoi(os.Getenv("EXESEAL_TEST_PID"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad pid:", err)
		os.Exit(2)
	}
	dir := "/proc/" + strconv.Itoa(pid)
	var r procReport
	r.Environ, err = os.ReadFile(dir + "/environ")
	r.EnvironErrno = errnoOf(err)

	mem, err := os.Open(dir + "/mem")
	r.MemErrno = errnoOf(err)
	if err == nil {
		r.MemRead, r.MemReadErr = readFirstMapping(dir, mem)
		mem.Close()
	}

	runtime.LockOSThread()
	err = unix.PtraceAttach(pid)
	r.PtraceErrno = errnoOf(err)
	if err == nil {
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, unix.WALL, nil)
		unix.PtraceDetach(pid)
	}
	json.NewEncoder(os.Stdout).Encode(&r)
}

func readFirstMapping(dir string, mem *os.File) (int, string) {
	maps, err := os.ReadFile(dir + "/maps")
	if err != nil {
		return 0, "maps: " + err.Error()
	}
	for _, line := range strings.Split(string(maps), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || !strings.HasPrefix(f[1], "r") {
			continue
		}
		start, err := strconv.ParseUint(strings.SplitN(f[0], "-", 2)[0], 16, 64)
		if err != nil {
			continue
		}
		buf := make([]byte, 16)
		n, err := mem.ReadAt(buf, int64(start))
		if err != nil && n == 0 {
			return 0, "read: " + err.Error()
		}
		return n, ""
	}
	return 0, "no readable mapping"
}

// credential is how the tests run "the same uid" on both sides: as root
// (CI) both victim and reader drop to nobody, since root's CAP_SYS_PTRACE
// would read anything; as an ordinary user both stay that user.
func credential() *syscall.Credential {
	if os.Geteuid() != 0 {
		return nil
	}
	return &syscall.Credential{Uid: 65534, Gid: 65534}
}

func wantUID() uint32 {
	if c := credential(); c != nil {
		return c.Uid
	}
	return uint32(os.Geteuid())
}

// worldDir makes a temp dir that the credential's uid can traverse.
func worldDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "exeseal-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// readerBinary copies the test binary where the credential's uid can run it.
func readerBinary(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return copyFile(t, self, filepath.Join(worldDir(t), "reader"), 0o755)
}

func readProc(t *testing.T, reader string, pid int) (procReport, []byte) {
	t.Helper()
	cmd := exec.Command(reader)
	cmd.Env = []string{helperEnv + "=procread", "EXESEAL_TEST_PID=" + strconv.Itoa(pid)}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: credential()}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("reader: %v (stderr %q)", err, stderr.String())
	}
	var r procReport
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("reader output: %v", err)
	}
	return r, append(out, stderr.Bytes()...)
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) string {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // umask
		t.Fatal(err)
	}
	return path
}

// sysPath resolves a system tool to its canonical path, as the launcher would.
func sysPath(t *testing.T, p string) string {
	t.Helper()
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustOpen(t *testing.T, path string, opts ...Option) *Pinned {
	t.Helper()
	p, err := Open(path, opts...)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func mustSeal(t *testing.T, p *Pinned) *Sealed {
	t.Helper()
	s, err := p.Seal()
	if err != nil {
		t.Fatalf("Seal(%s): %v", p.Path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// run runs the sealed image and returns its stdout.
func run(t *testing.T, s *Sealed, argv0 string, args ...string) string {
	t.Helper()
	cmd, err := s.Command(argv0, args...)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("run sealed %s: %v (stderr %q)", s.Path, err, stderr.String())
	}
	return string(out)
}

func randomSecret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "s3cr3t-" + hex.EncodeToString(b)
}
