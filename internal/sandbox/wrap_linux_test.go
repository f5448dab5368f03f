//go:build linux && (amd64 || arm64)

package sandbox

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestCheckSupportedHere: this machine kind (Linux 6.18, user namespaces
// on, seccomp, Landlock) runs every tier; CI relies on it.
func TestCheckSupportedHere(t *testing.T) {
	for tier, err := range Supported() {
		if err != nil {
			t.Errorf("%s: %v", tier, err)
		}
	}
	if len(Supported()) != 3 {
		t.Errorf("Supported() = %v, want the three tiers", Supported())
	}
	if abi := LandlockABI(); abi < 1 {
		t.Errorf("Landlock ABI %d: lockdown would run without its write rules", abi)
	}
	if err := Check("paranoid"); err == nil || errors.Is(err, ErrUnsupported) {
		t.Errorf("unknown tier: %v, want an error that is not ErrUnsupported", err)
	}
}

// checkArg runs Check in a child whose kernel view the test has narrowed.
const checkArg = "__sandbox_check"

// runCheckChild: args are [how, tier]. how is "limit:KIND" (set this user
// namespace's user.max_KIND_namespaces to 0) or "seccomp" (load our own
// filter, which denies clone with namespace flags). It prints Check's
// error, or "ok".
func runCheckChild(args []string) int {
	how, tier := args[0], args[1]
	if kind, ok := strings.CutPrefix(how, "limit:"); ok {
		if err := os.WriteFile("/proc/sys/user/max_"+kind+"_namespaces", []byte("0"), 0); err != nil {
			os.Stdout.WriteString("setup: " + err.Error())
			return 2
		}
	} else {
		runtime.LockOSThread()
		unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
		if err := installSeccomp(); err != nil {
			os.Stdout.WriteString("setup: " + err.Error())
			return 2
		}
	}
	if err := Check(Tier(tier)); err != nil {
		if !errors.Is(err, ErrUnsupported) {
			os.Stdout.WriteString("not ErrUnsupported: ")
		}
		os.Stdout.WriteString(err.Error())
		return 0
	}
	os.Stdout.WriteString("ok")
	return 0
}

// TestCheckFailsClosed: where namespaces are switched off, Check refuses
// the tier and names the setting; where something else blocks them, it
// says it cannot create them and lists the settings to look at.
func TestCheckFailsClosed(t *testing.T) {
	cases := []struct {
		how  string
		tier Tier
		want string
	}{
		{"limit:user", Hardened, "set sysctl user.max_user_namespaces to a positive value"},
		{"limit:pid", Hardened, "user.max_pid_namespaces"},
		{"limit:net", Lockdown, "user.max_net_namespaces"},
		{"limit:net", Hardened, "ok"}, // hardened keeps the host network
		{"seccomp", Lockdown, "cannot create its namespaces: operation not permitted (check sysctls kernel.unprivileged_userns_clone"},
	}
	for _, c := range cases {
		cmd := exec.Command(testBinary(t), checkArg, c.how, string(c.tier))
		// Its own user namespace (root inside), so the limit it lowers is
		// not the host's.
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUSER,
			UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
			GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}}
		out, err := cmd.Output()
		if err != nil || !strings.Contains(string(out), c.want) || strings.Contains(string(out), "not ErrUnsupported") {
			t.Errorf("%s, %s: %q (%v), want %q", c.how, c.tier, out, err, c.want)
		}
	}
}

// TestUnsupportedError: the hint names the setting and the error matches
// ErrUnsupported.
func TestUnsupportedError(t *testing.T) {
	err := error(&UnsupportedError{Tier: Lockdown, Reason: "unprivileged user namespaces are disabled", Hint: "set sysctl kernel.unprivileged_userns_clone=1"})
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "kernel.unprivileged_userns_clone=1") || !strings.Contains(err.Error(), string(Lockdown)) {
		t.Errorf("%v", err)
	}
}

// TestWrapLayout: the argv and process attributes Wrap builds.
func TestWrapLayout(t *testing.T) {
	img := sealedImage(t, shell(t))
	extra, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	cmd := &exec.Cmd{Args: []string{"sh", "-c", "true", "--"}, ExtraFiles: []*os.File{extra},
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true}}
	if err := img.Prepare(cmd); err != nil {
		t.Fatal(err)
	}
	if cmd.Path != "/proc/self/fd/4" {
		t.Fatalf("exeseal put the image at %s", cmd.Path)
	}
	work := t.TempDir()
	h, err := Wrap(cmd, self, Options{Tier: Lockdown, Cwd: work, RW: []string{work + "/out/"}, Hide: []string{"/nonexistent/vault"}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	want := []string{self, HelperArg, "--target-fd", "4", "--arg0", "sh", "--tier", string(Lockdown), "--status-fd", "5", "--fd", "3",
		"--cwd", work, "--rw", work + "/out", "--hide", "/nonexistent/vault", "--report-fd", "6", "--", "-c", "true", "--"}
	if cmd.Path != self || !slices.Equal(cmd.Args, want) {
		t.Errorf("Wrap: %s %q\nwant %q", cmd.Path, cmd.Args, want)
	}
	if len(cmd.ExtraFiles) != 4 || cmd.ExtraFiles[0] != extra {
		t.Errorf("ExtraFiles %v: want the caller's, the image, the status pipe, then the report pipe", cmd.ExtraFiles)
	}
	sys := cmd.SysProcAttr
	wantFlags := uintptr(unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWIPC | unix.CLONE_NEWNS)
	if sys.Cloneflags != wantFlags || !sys.Setpgid {
		t.Errorf("Cloneflags %#x Setpgid %v, want %#x and the caller's Setpgid kept", sys.Cloneflags, sys.Setpgid, wantFlags)
	}
	uid, gid := os.Getuid(), os.Getgid()
	if len(sys.UidMappings) != 1 || sys.UidMappings[0] != (syscall.SysProcIDMap{ContainerID: uid, HostID: uid, Size: 1}) ||
		len(sys.GidMappings) != 1 || sys.GidMappings[0] != (syscall.SysProcIDMap{ContainerID: gid, HostID: gid, Size: 1}) {
		t.Errorf("id maps %v %v, want %d and %d mapped to themselves", sys.UidMappings, sys.GidMappings, uid, gid)
	}
	if !slices.Equal(sys.AmbientCaps, []uintptr{unix.CAP_SYS_ADMIN, unix.CAP_NET_ADMIN}) {
		t.Errorf("AmbientCaps %v", sys.AmbientCaps)
	}
	if _, err := Wrap(cmd, self, Options{Tier: Lockdown, Cwd: work}); err == nil {
		t.Error("wrapping twice succeeded")
	}

	hard := &exec.Cmd{Args: []string{"sh"}}
	img.Prepare(hard)
	h2, err := Wrap(hard, self, Options{Tier: Hardened, Hide: []string{"/x"}, Network: true})
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	if hard.SysProcAttr.Cloneflags != unix.CLONE_NEWUSER|unix.CLONE_NEWPID|unix.CLONE_NEWIPC || hard.SysProcAttr.AmbientCaps != nil ||
		slices.Contains(hard.Args, "--hide") || !slices.Contains(hard.Args, string(Hardened)) {
		t.Errorf("hardened: flags %#x caps %v args %q", hard.SysProcAttr.Cloneflags, hard.SysProcAttr.AmbientCaps, hard.Args)
	}
}

// TestWrapRefuses: commands Wrap cannot vouch for.
func TestWrapRefuses(t *testing.T) {
	img := sealedImage(t, shell(t))
	prepared := func() *exec.Cmd {
		c := &exec.Cmd{Args: []string{"sh"}}
		img.Prepare(c)
		return c
	}
	plain := exec.Command("/bin/true")
	if _, err := Wrap(plain, self, Options{Tier: Hardened}); err == nil || !strings.Contains(err.Error(), "not a sealed image") {
		t.Errorf("unsealed command: %v", err)
	}
	bogus := prepared()
	bogus.Path = "/proc/self/fd/" + strconv.Itoa(3+len(bogus.ExtraFiles))
	if _, err := Wrap(bogus, self, Options{Tier: Hardened}); err == nil {
		t.Error("command path naming no ExtraFile: wrapped")
	}
	if _, err := Wrap(prepared(), self, Options{Tier: "max"}); err == nil {
		t.Error("unknown tier: wrapped")
	}
	if _, err := Wrap(prepared(), self, Options{Tier: Lockdown, Cwd: "/"}); err == nil || !strings.Contains(err.Error(), "refusing to make / writable") {
		t.Errorf("cwd /: %v", err)
	}
	if _, err := Wrap(prepared(), self, Options{Tier: Lockdown, Cwd: t.TempDir(), RW: []string{"/"}}); err == nil {
		t.Error("--rw /: wrapped")
	}
	mapped := prepared()
	mapped.SysProcAttr = &syscall.SysProcAttr{UidMappings: []syscall.SysProcIDMap{{Size: 1}}}
	if _, err := Wrap(mapped, self, Options{Tier: Hardened}); err == nil {
		t.Error("command with its own id maps: wrapped")
	}
	std := prepared()
	before := slices.Clone(std.Args)
	h, err := Wrap(std, self, Options{Tier: Standard})
	if err != nil || std.Path == self || !slices.Equal(std.Args, before) || h.AfterStart() != nil {
		t.Errorf("standard: %v, path %s args %q: want cmd untouched", err, std.Path, std.Args)
	}
}
