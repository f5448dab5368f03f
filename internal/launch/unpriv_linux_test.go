package launch

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// asUnprivileged makes the calling test run as uid 65534 when the suite
// runs as root: root holds CAP_SYS_PTRACE and CAP_DAC_OVERRIDE, so a test
// of what the same uid can or cannot do proves nothing as root. It re-runs
// this test alone in a copy of the test binary as nobody and reports its
// outcome; it returns true in the parent, which must then return. As an
// ordinary user it returns false at once and the test runs here.
func asUnprivileged(t *testing.T) bool {
	t.Helper()
	if os.Geteuid() != 0 {
		return false
	}
	dir, bin := copyTestBinary(t, "envseal-unpriv-")
	cmd := exec.Command(bin, "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/nonexistent", "TMPDIR=/tmp", "LANG=C.UTF-8"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
		t.Fatalf("%s as uid 65534: %v\n%s", t.Name(), err, out)
	}
	t.Logf("ran as uid 65534:\n%s", out)
	return true
}

// copyTestBinary copies this test binary into a fresh 0755 directory that
// uid 65534 can enter, and returns the directory and the copy.
func copyTestBinary(t *testing.T, prefix string) (dir, bin string) {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(dir, "launch.test")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, bin
}
