//go:build linux && (amd64 || arm64)

package sandbox

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// runHelperDirect starts the helper by hand — no namespaces — with
// ExtraFiles (fd 3 onward) and returns its exit code and stderr.
func runHelperDirect(t *testing.T, args []string, extra []*os.File, sys *syscall.SysProcAttr, bin string) (int, string) {
	t.Helper()
	if bin == "" {
		bin = testBinary(t)
	}
	cmd := exec.Command(bin, append([]string{HelperArg}, args...)...)
	cmd.ExtraFiles = extra
	cmd.SysProcAttr = sys
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run helper: %v", err)
	}
	return cmd.ProcessState.ExitCode(), stderr.String()
}

func mountinfo(t *testing.T, pid string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + pid + "/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// targetFile is a harmless program to pass as --target-fd: should a
// refusal regress, the helper runs true(1) rather than something slow.
func targetFile(t *testing.T) *os.File {
	t.Helper()
	p, err := exec.LookPath("true")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestHelperRefusesHostMountNamespace: run by hand in the host's mount
// namespace the helper refuses before any mount, and the host's mount
// table is unchanged:
//   - where PID 1's namespace link is readable and equal to its own
//     (simulated: here PID 1's link is unreadable even to root);
//   - as root where it is not readable: it may unshare a private
//     namespace, but then refuses for want of a fresh PID namespace;
//   - as an unprivileged user, who can neither read PID 1's link nor
//     unshare in the host's namespaces.
func TestHelperRefusesHostMountNamespace(t *testing.T) {
	before, before1 := mountinfo(t, "self"), mountinfo(t, "1")
	args := []string{"--target-fd", "3", "--arg0", "/bin/true", "--tier", string(Lockdown), "--cwd", t.TempDir(), "--"}

	t.Setenv(pid1MountNSEnv, "/proc/"+strconv.Itoa(os.Getpid())+"/ns/mnt")
	code, stderr := runHelperDirect(t, args, []*os.File{targetFile(t)}, nil, "")
	line := oneHelperLine(t, stderr)
	if code != HelperExitCode || !strings.Contains(line, "this is PID 1's mount namespace") {
		t.Errorf("PID 1's namespace readable: exit %d, %q; want %d and a refusal naming PID 1's mount namespace", code, line, HelperExitCode)
	}
	os.Unsetenv(pid1MountNSEnv)

	code, stderr = runHelperDirect(t, args, []*os.File{targetFile(t)}, nil, "")
	line = oneHelperLine(t, stderr)
	if code != HelperExitCode || !strings.Contains(line, "PID namespace") && !strings.Contains(line, "PID 1's mount namespace") {
		t.Errorf("as root: exit %d, %q; want %d and a refusal", code, line, HelperExitCode)
	}

	// Unprivileged: as root, a copy run as uid 65534; as an ordinary
	// user, the test binary itself (it cannot switch uid, and needs not).
	bin, sys, uid := "", (*syscall.SysProcAttr)(nil), uint32(os.Getuid())
	if os.Geteuid() == 0 {
		var cred *syscall.Credential
		bin, cred = nobodyCopy(t)
		sys, uid = &syscall.SysProcAttr{Credential: cred}, cred.Uid
	}
	code, stderr = runHelperDirect(t, args, []*os.File{targetFile(t)}, sys, bin)
	line = oneHelperLine(t, stderr)
	if code != HelperExitCode || !strings.Contains(line, "cannot create a private one") {
		t.Errorf("as uid %d: exit %d, %q; want %d and a refusal", uid, code, line, HelperExitCode)
	}

	if mountinfo(t, "self") != before || mountinfo(t, "1") != before1 {
		t.Error("the host's mount table changed")
	}
}

// TestHelperInHostNamespacesStaysPrivate: a root helper given only a new
// PID namespace — the host's user, mount and network namespaces, full
// capabilities — still builds lockdown in namespaces it unshared itself:
// the target sees a read-only /etc and no host listener, and the host's
// mounts and loopback are untouched.
func TestHelperInHostNamespacesStaysPrivate(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: an unprivileged helper outside a user namespace cannot set anything up")
	}
	before := mountinfo(t, "self")
	loBefore, _ := os.ReadFile("/sys/class/net/lo/flags")
	work := t.TempDir()
	img := sealedImage(t, testBinary(t))
	etcFile := "/etc/" + randomName("envseal-probe-")
	t.Cleanup(func() { os.Remove(etcFile) })
	cmd := &exec.Cmd{Args: []string{"probe", probeArg, "w:" + etcFile}}
	if err := img.Prepare(cmd); err != nil {
		t.Fatal(err)
	}
	h, err := Wrap(cmd, self, Options{Tier: Lockdown, Cwd: work})
	if err != nil {
		t.Fatal(err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		h.Close()
		t.Fatal(err)
	}
	herr := h.AfterStart()
	if err := cmd.Wait(); err != nil || herr != nil {
		t.Fatalf("run: %v / %v\n%s", err, herr, errb.String())
	}
	if !strings.Contains(out.String(), `"w:`+etcFile+`":30`) {
		t.Errorf("write to /etc: want EROFS in %s", out.String())
	}
	if mountinfo(t, "self") != before {
		t.Error("the host's mount table changed")
	}
	if lo, _ := os.ReadFile("/sys/class/net/lo/flags"); string(lo) != string(loBefore) {
		t.Errorf("host loopback flags changed: %q -> %q", loBefore, lo)
	}
}

// TestHelperRefusesOutsidePIDNamespace: hardened touches no mount but
// still refuses to run outside a fresh PID namespace.
func TestHelperRefusesOutsidePIDNamespace(t *testing.T) {
	code, stderr := runHelperDirect(t, []string{"--target-fd", "3", "--arg0", "x", "--tier", string(Hardened), "--"}, []*os.File{targetFile(t)}, nil, "")
	line := oneHelperLine(t, stderr)
	if code != HelperExitCode || !strings.Contains(line, "PID namespace") {
		t.Errorf("exit %d, %q; want %d and a refusal naming the PID namespace", code, line, HelperExitCode)
	}
}

// TestHelperMalformedArgv: each malformed command line is rejected with
// exit 127, one stderr line naming the problem, and the same message on
// the status fd when one was given.
func TestHelperMalformedArgv(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"empty", nil, `missing "--"`},
		{"no dashdash", []string{"--target-fd", "3", "--arg0", "x"}, `missing "--"`},
		{"unknown flag", []string{"--target-fd", "3", "--arg0", "x", "--privileged", "--"}, `unknown argument "--privileged"`},
		{"flag=value", []string{"--target-fd=3", "--arg0", "x", "--"}, `unknown argument "--target-fd=3"`},
		{"stray word", []string{"--target-fd", "3", "ls", "--arg0", "x", "--"}, `unknown argument "ls"`},
		{"missing target-fd", []string{"--arg0", "x", "--"}, "missing --target-fd"},
		{"target-fd no value", []string{"--arg0", "x", "--target-fd", "--"}, "--target-fd needs a value"},
		{"target-fd at end", []string{"--arg0", "x", "--target-fd"}, "--target-fd needs a value"},
		{"target-fd word", []string{"--target-fd", "three", "--arg0", "x", "--"}, `invalid --target-fd "three"`},
		{"target-fd negative", []string{"--target-fd", "-3", "--arg0", "x", "--"}, `invalid --target-fd "-3"`},
		{"target-fd stdio", []string{"--target-fd", "1", "--arg0", "x", "--"}, `invalid --target-fd "1"`},
		{"target-fd huge", []string{"--target-fd", "99999999999", "--arg0", "x", "--"}, `invalid --target-fd "99999999999"`},
		{"target-fd twice", []string{"--target-fd", "3", "--target-fd", "3", "--arg0", "x", "--"}, "--target-fd given twice"},
		{"target-fd not open", []string{"--target-fd", "9", "--arg0", "x", "--"}, "invalid --target-fd 9: not an open descriptor"},
		{"fd not open", []string{"--target-fd", "3", "--fd", "7", "--arg0", "x", "--"}, "invalid --fd 7: not an open descriptor"},
		{"fd twice", []string{"--target-fd", "3", "--fd", "4", "--fd", "4", "--arg0", "x", "--"}, "--fd 4 given twice"},
		{"status passed on", []string{"--target-fd", "3", "--fd", "4", "--arg0", "x", "--"}, "--status-fd must not be passed to the target"},
		{"status-fd not open", []string{"--status-fd", "8", "--target-fd", "3", "--arg0", "x", "--"}, "invalid --status-fd 8: not an open descriptor"},
		{"missing arg0", []string{"--target-fd", "3", "--"}, "missing --arg0"},
		{"empty arg0", []string{"--target-fd", "3", "--arg0", "", "--"}, "invalid --arg0: empty"},
		{"bad tier", []string{"--target-fd", "3", "--arg0", "x", "--tier", "paranoid", "--"}, `invalid --tier "paranoid"`},
		{"standard without pins", []string{"--target-fd", "3", "--arg0", "x", "--tier", "standard", "--"}, "only to serve --pin files"},
		{"relative pin", []string{"--target-fd", "3", "--arg0", "x", "--pin", "4:644:app.js", "--"}, "not a clean absolute file path"},
		{"pin bad mode", []string{"--target-fd", "3", "--arg0", "x", "--pin", "4:999:/a/b", "--"}, "not octal permission bits"},
		{"pin on target fd", []string{"--target-fd", "3", "--arg0", "x", "--pin", "3:644:/a/b", "--"}, "also passed for another use"},
		{"relative rw", []string{"--target-fd", "3", "--arg0", "x", "--rw", "build", "--"}, "not an absolute path"},
		{"unclean rw", []string{"--target-fd", "3", "--arg0", "x", "--rw", dir + "/../x", "--"}, "not a clean path"},
		{"rw slash", []string{"--target-fd", "3", "--arg0", "x", "--rw", "/", "--"}, "refusing to make / writable"},
		{"lockdown flag on hardened", []string{"--target-fd", "3", "--arg0", "x", "--tier", string(Hardened), "--network", "--"}, "need --tier lockdown"},
		{"newline in value", []string{"--target-fd", "3", "--arg0", "x", "--tier", "a\nb", "--"}, `invalid --tier "a\nb"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Unit level: the parser's error.
			if _, err := parseHelperArgs(c.args); err != nil && !strings.Contains(oneLine(err.Error()), c.want) {
				t.Errorf("parse: %v, want %q", err, c.want)
			}
			// Through the binary, with a status pipe on fd 4.
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			args := append([]string{"--status-fd", "4"}, c.args...)
			ownStatus := slices.Contains(c.args, "--status-fd")
			if ownStatus {
				args = c.args
			}
			code, stderr := runHelperDirect(t, args, []*os.File{targetFile(t), w}, nil, "")
			w.Close()
			status, _ := io.ReadAll(r)
			line := oneHelperLine(t, stderr)
			if code != HelperExitCode || !strings.Contains(line, c.want) {
				t.Errorf("exit %d, %q; want %d and %q", code, line, HelperExitCode, c.want)
			}
			if ownStatus {
				if len(status) != 0 {
					t.Errorf("status written to a descriptor the case did not name: %q", status)
				}
			} else if helperPrefix+string(status) != line {
				t.Errorf("status fd %q, want the stderr message %q", status, line)
			}
		})
	}
}

// TestHelperArgvRoundTrip: what Wrap writes is what the helper reads.
func TestHelperArgvRoundTrip(t *testing.T) {
	in := &helperArgs{targetFD: 7, arg0: "/usr/bin/env", tier: Lockdown, statusFD: 9, fds: []int{3, 8}, network: true,
		cwd: "/home/u/p", rw: []string{"/home/u/.cache", "/srv"}, hide: []string{"/home/u/.config/envseal"},
		argv: []string{"--", "-x", "--target-fd", ""}}
	out, err := parseHelperArgs(helperArgv(in))
	if err != nil {
		t.Fatal(err)
	}
	if out.targetFD != 7 || out.arg0 != in.arg0 || out.tier != Lockdown || out.statusFD != 9 || !slices.Equal(out.fds, in.fds) || !out.network ||
		out.cwd != in.cwd || strings.Join(out.rw, ",") != "/home/u/.cache,/srv" ||
		strings.Join(out.hide, ",") != in.hide[0] || strings.Join(out.argv, "|") != "--|-x|--target-fd|" {
		t.Errorf("round trip: got %+v, want %+v", out, in)
	}
	def, err := parseHelperArgs([]string{"--target-fd", "3", "--arg0", "x", "--"})
	if err != nil || def.tier != Lockdown || len(def.argv) != 0 || def.statusFD != -1 {
		t.Errorf("issue protocol without --tier: %+v %v, want lockdown, no argv, no status fd", def, err)
	}
}

// TestHelperErrorReachesLauncher: a failure during setup (here a hidden
// path that is a file) comes back from AfterStart as a *HelperError
// before anything runs, and the exit status is 127.
func TestHelperErrorReachesLauncher(t *testing.T) {
	work := t.TempDir()
	notDir := filepath.Join(work, "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	res := sandboxed(t, []string{shell(t), "-c", "echo ran"}, Options{Tier: Lockdown, Cwd: work, Hide: []string{notDir}}, nil)
	var he *HelperError
	if !errors.As(res.helperErr, &he) || !errors.Is(res.helperErr, ErrHelper) || !strings.Contains(he.Msg, "not a directory") {
		t.Errorf("AfterStart: %v, want a *HelperError about the hidden path", res.helperErr)
	}
	if res.code != HelperExitCode || strings.Contains(res.stdout, "ran") {
		t.Errorf("exit %d, stdout %q: the target must not run", res.code, res.stdout)
	}
	oneHelperLine(t, res.stderr)
}

// nobodyCopy copies the test binary where uid 65534 can execute it and
// returns the copy and that uid's credential.
func nobodyCopy(t *testing.T) (string, *syscall.Credential) {
	t.Helper()
	dir := t.TempDir()
	// t.TempDir's own parent is created 0700 by the testing package.
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for d := filepath.Dir(filepath.Dir(dir)); ; d = filepath.Dir(d) {
		if st, err := os.Stat(d); err != nil || st.Mode().Perm()&0o001 == 0 {
			t.Fatalf("uid 65534 cannot reach %s (set TMPDIR to a directory others can traverse)", d)
		}
		if d == "/" {
			break
		}
	}
	src, err := os.ReadFile(testBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "sandbox.test")
	if err := os.WriteFile(bin, src, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, &syscall.Credential{Uid: 65534, Gid: 65534}
}
