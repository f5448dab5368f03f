//go:build linux && (amd64 || arm64)

package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func randomName(prefix string) string {
	b := make([]byte, 8)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// TestLockdownFilesystem: under lockdown the host filesystem is read-only
// (/etc, $HOME), the vault-like hidden dirs are empty and unwritable, the
// cwd and --rw dirs are writable and their writes land on the host, the
// host's /tmp is replaced by an empty one whose files vanish with the
// run, and Landlock refuses writes outside the writable places even where
// the mounts would allow them (/proc).
func TestLockdownFilesystem(t *testing.T) {
	home := hostDir(t)
	work := t.TempDir() // under /tmp: exercises re-creating the cwd inside the fresh tmpfs
	rw := t.TempDir()
	// A hidden dir inside the writable cwd (the vault under $HOME with
	// cwd = $HOME) and one under the read-only host tree.
	vaultIn := filepath.Join(work, "vault")
	vaultOut, err := os.MkdirTemp(home, ".envseal-sandbox-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(vaultOut) })
	for _, d := range []string{vaultIn, vaultOut} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "sealed.file"), []byte("ciphertext"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	marker, err := os.CreateTemp("/tmp", "envseal-host-marker-")
	if err != nil {
		t.Fatal(err)
	}
	marker.Close()
	t.Cleanup(func() { os.Remove(marker.Name()) })

	etcFile := "/etc/" + randomName("envseal-probe-")
	homeFile := filepath.Join(home, randomName("envseal-probe-"))
	childTmp := "/tmp/" + randomName("envseal-child-")
	devFile := "/dev/" + randomName("envseal-probe-") // a submount of /: read-only too
	t.Cleanup(func() {
		// Only left behind if the sandbox failed.
		os.Remove(devFile)
		os.Remove(etcFile)
		os.Remove(homeFile)
		os.Remove(childTmp)
	})

	type want struct {
		op    string
		errno int
	}
	wants := []want{
		{"w:" + etcFile, int(unix.EROFS)},
		{"w:" + homeFile, int(unix.EROFS)},
		{"w:" + devFile, int(unix.EROFS)},
		{"w:" + filepath.Join(vaultIn, "new"), int(unix.EROFS)},
		{"w:" + filepath.Join(vaultOut, "new"), int(unix.EROFS)},
		{"r:" + filepath.Join(vaultIn, "sealed.file"), int(unix.ENOENT)},
		{"r:" + filepath.Join(vaultOut, "sealed.file"), int(unix.ENOENT)},
		{"ls:" + vaultIn, -100}, // empty
		{"ls:" + vaultOut, -100},
		{"w:" + filepath.Join(work, "build.out"), 0},
		{"w:" + filepath.Join(rw, "cache.out"), 0},
		{"r:" + marker.Name(), int(unix.ENOENT)},
		{"w:" + childTmp, 0},
		{"w:/var/tmp/" + randomName("envseal-"), 0},
		{"w:/dev/shm/" + randomName("envseal-"), 0},
		{"w:/dev/null", 0},
		{"w:/proc/self/comm", int(unix.EACCES)}, // Landlock: /proc is not a writable place
	}
	var ops []string
	for _, w := range wants {
		ops = append(ops, w.op)
	}
	r := probe(t, Options{Tier: Lockdown, Cwd: work, RW: []string{rw}, Hide: []string{vaultIn, vaultOut}}, nil, ops...)
	for _, w := range wants {
		if got := r.Ops[w.op]; got != w.errno {
			t.Errorf("%s: got %d (%v), want %d (%v)", w.op, got, unix.Errno(max(got, 0)), w.errno, unix.Errno(max(w.errno, 0)))
		}
	}
	if r.Cwd != work {
		t.Errorf("cwd %q, want %q", r.Cwd, work)
	}
	for _, f := range []string{filepath.Join(work, "build.out"), filepath.Join(rw, "cache.out")} {
		if b, err := os.ReadFile(f); err != nil || string(b) != "probe" {
			t.Errorf("write to writable dir did not reach the host: %s: %q %v", f, b, err)
		}
	}
	if _, err := os.Lstat(childTmp); err == nil {
		t.Errorf("%s written in the child's /tmp appeared on the host", childTmp)
	}
	for _, d := range []string{vaultIn, vaultOut} {
		if b, err := os.ReadFile(filepath.Join(d, "sealed.file")); err != nil || string(b) != "ciphertext" {
			t.Errorf("hidden dir %s changed on the host: %q %v", d, b, err)
		}
	}
}

// hostDir is a writable directory of the host tree that lockdown makes
// read-only and does not cover with a fresh tmpfs: $HOME, unless it is
// under /tmp, /var/tmp or /dev/shm (a throw-away HOME=/tmp/x), else the
// package directory go test runs in.
func hostDir(t *testing.T) string {
	t.Helper()
	var cands []string
	if h, err := os.UserHomeDir(); err == nil {
		cands = append(cands, h)
	}
	if wd, err := os.Getwd(); err == nil {
		cands = append(cands, wd)
	}
	for _, c := range cands {
		c, err := filepath.EvalSymlinks(c)
		if err != nil || underFreshTmpfs(c) {
			continue
		}
		if f, err := os.CreateTemp(c, ".envseal-probe-"); err == nil {
			f.Close()
			os.Remove(f.Name())
			return c
		}
	}
	t.Fatalf("no writable host directory outside /tmp, /var/tmp and /dev/shm among %q: set HOME to one", cands)
	return ""
}

func underFreshTmpfs(p string) bool {
	for _, d := range []string{"/tmp", "/var/tmp", "/dev/shm"} {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// TestLockdownNetwork: a listener the test opened on the host's 127.0.0.1
// is unreachable under lockdown (new network namespace, its own loopback)
// and reachable with Network.
func TestLockdownNetwork(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	op := "connect:" + ln.Addr().String()
	work := t.TempDir()

	r := probe(t, Options{Tier: Lockdown, Cwd: work}, nil, op)
	if got := r.Ops[op]; got != int(unix.ECONNREFUSED) {
		t.Errorf("lockdown: connect to the host listener: errno %d (%v), want ECONNREFUSED from the sandbox's own loopback", got, unix.Errno(max(got, 0)))
	}
	r = probe(t, Options{Tier: Lockdown, Cwd: work, Network: true}, nil, op)
	if got := r.Ops[op]; got != 0 {
		t.Errorf("lockdown with Network: connect: errno %d (%v), want success", got, unix.Errno(max(got, 0)))
	}
}
