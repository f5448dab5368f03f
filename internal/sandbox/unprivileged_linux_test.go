//go:build linux && (amd64 || arm64)

package sandbox

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestLockdownUnprivileged runs the whole path as uid 65534, the way an
// ordinary user gets it (docs/ARCHITECTURE.md kernel fact 4): the helper is not root in
// its user namespace and mounts only thanks to ambient CAP_SYS_ADMIN; it
// cannot read PID 1's mount namespace link and relies on its own unshare;
// the target ends with no capability at all, writes its cwd (files owned
// by 65534 on the host), and cannot write into a directory 65534 owns
// outside the writable places, nor read the hidden dir.
func TestLockdownUnprivileged(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to start the test as uid 65534")
	}
	_, cred := nobodyCopy(t)
	work := t.TempDir()
	hidden := filepath.Join(work, "vault")
	if err := os.Mkdir(hidden, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(hidden, "sealed.file"), []byte("ciphertext"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A directory 65534 owns outside every writable place (not under
	// /tmp, which the sandbox replaces).
	outside, err := os.MkdirTemp("/", ".envseal-sandbox-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(outside) })
	for _, d := range []string{filepath.Dir(work), work, hidden, outside} {
		if err := os.Chown(d, int(cred.Uid), int(cred.Gid)); err != nil {
			t.Fatal(err)
		}
		os.Chmod(d, 0o755)
	}
	script := `grep -E '^(Uid|CapEff|CapPrm|CapAmb)' /proc/self/status
echo built > out.txt && echo wrote-cwd
(echo x > /etc/envseal-unpriv-probe) 2>/dev/null && echo wrote-etc
(echo x > "$OUTSIDE/x") 2>/dev/null && echo wrote-outside
cat vault/sealed.file 2>/dev/null && echo read-vault
ls -A vault | wc -l`
	res := sandboxed(t, []string{shell(t), "-c", script}, Options{Tier: Lockdown, Cwd: work, Hide: []string{hidden}},
		func(c *exec.Cmd) {
			c.Dir = work
			c.Env = append(c.Env, "OUTSIDE="+outside)
			c.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		})
	defer os.Remove("/etc/envseal-unpriv-probe")
	if res.helperErr != nil || res.code != 0 {
		t.Fatalf("exit %d, helper error %v, stderr %q", res.code, res.helperErr, res.stderr)
	}
	for _, want := range []string{"Uid:\t65534\t65534\t65534\t65534", "CapEff:\t0000000000000000", "CapPrm:\t0000000000000000", "CapAmb:\t0000000000000000", "wrote-cwd", "\n0\n"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, res.stdout)
		}
	}
	for _, bad := range []string{"wrote-etc", "wrote-outside", "ciphertext", "read-vault"} {
		if strings.Contains(res.stdout, bad) {
			t.Errorf("output has %q:\n%s", bad, res.stdout)
		}
	}
	st, err := os.Stat(filepath.Join(work, "out.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if uid := st.Sys().(*syscall.Stat_t).Uid; uid != cred.Uid {
		t.Errorf("file written in the sandbox is owned by uid %d on the host, want %d", uid, cred.Uid)
	}
}
