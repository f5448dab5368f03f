//go:build linux && (amd64 || arm64)

package sandbox

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Check reports whether this kernel and its settings can run tier, and if
// not, which setting to change. It reads the sysctls that switch user
// namespaces off, asks the kernel whether seccomp filters are available,
// and then creates the tier's namespaces for real: it forks a child with
// exactly the helper's clone flags, id maps and ambient capabilities and
// lets it exec "/", which fails with EACCES only after every namespace
// step before it succeeded. It never downgrades; callers must not either.
//
// A success is remembered for the life of the process (a broker checks on
// every run; the probe child costs a few milliseconds): if the settings
// change afterwards the sandbox's own start fails — closed — instead.
func Check(tier Tier) error {
	switch tier {
	case Standard:
		return nil
	case Hardened, Lockdown:
	default:
		return tier.unknown()
	}
	key := fmt.Sprint(tier, os.Getuid(), os.Getgid())
	if _, ok := checked.Load(key); ok {
		return nil
	}
	if err := check(tier); err != nil {
		return err
	}
	checked.Store(key, true)
	return nil
}

// checked holds the tiers (per uid and gid) whose Check succeeded.
var checked sync.Map

func check(tier Tier) error {
	if err := checkSysctls(tier); err != nil {
		return err
	}
	if err := seccompAvailable(); err != nil {
		return &UnsupportedError{Tier: tier, Reason: fmt.Sprintf("seccomp filters are not available: %v", err),
			Hint: "the kernel needs CONFIG_SECCOMP_FILTER"}
	}
	if tier == Lockdown {
		// mount_setattr (Linux 5.12) makes / and every submount read-only
		// in one call; there is no fallback that walks mountinfo.
		err := unix.MountSetattr(-1, "", 0, &unix.MountAttr{})
		if errors.Is(err, unix.ENOSYS) {
			return &UnsupportedError{Tier: tier, Reason: "the kernel has no mount_setattr", Hint: "lockdown needs Linux 5.12 or newer"}
		}
	}
	return probeNamespaces(tier)
}

// Supported runs Check for every tier, for doctor and status output.
func Supported() map[Tier]error {
	out := map[Tier]error{}
	for _, t := range Tiers() {
		out[t] = Check(t)
	}
	return out
}

// userNSHints lists every setting that can stop unprivileged user
// namespaces, for errors where the kernel does not say which one did.
const userNSHints = "check sysctls kernel.unprivileged_userns_clone, user.max_user_namespaces, " +
	"kernel.apparmor_restrict_unprivileged_userns, and seccomp or container policies that block clone(CLONE_NEWUSER)"

// nsLimits are the per-user namespace counts each tier needs above zero.
var nsLimits = map[Tier][]string{
	Hardened: {"user", "pid", "ipc"},
	Lockdown: {"user", "pid", "ipc", "mnt", "net"},
}

func checkSysctls(tier Tier) error {
	unprivileged := os.Geteuid() != 0
	if unprivileged && sysctl("kernel/unprivileged_userns_clone") == "0" {
		return &UnsupportedError{Tier: tier, Reason: "unprivileged user namespaces are disabled",
			Hint: "set sysctl kernel.unprivileged_userns_clone=1"}
	}
	for _, kind := range nsLimits[tier] {
		if sysctl("user/max_"+kind+"_namespaces") == "0" {
			return &UnsupportedError{Tier: tier, Reason: kind + " namespaces are disabled",
				Hint: "set sysctl user.max_" + kind + "_namespaces to a positive value, e.g. 10000"}
		}
	}
	// Ubuntu 23.10+: a user namespace can be created, but an unconfined
	// program gets no capabilities in it, so the helper's mounts fail.
	// A program with its own AppArmor profile may be allowed userns.
	if unprivileged && sysctl("kernel/apparmor_restrict_unprivileged_userns") == "1" && appArmorUnconfined() {
		return &UnsupportedError{Tier: tier, Reason: "AppArmor restricts unprivileged user namespaces",
			Hint: "set sysctl kernel.apparmor_restrict_unprivileged_userns=0, or give envseal an AppArmor profile with \"userns,\""}
	}
	return nil
}

// sysctl reads /proc/sys/NAME, "" if it does not exist.
func sysctl(name string) string {
	b, err := os.ReadFile("/proc/sys/" + name)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func appArmorUnconfined() bool {
	for _, p := range []string{"/proc/self/attr/apparmor/current", "/proc/self/attr/current"} {
		if b, err := os.ReadFile(p); err == nil {
			s := strings.TrimSpace(strings.TrimRight(string(b), "\x00"))
			return s == "" || s == "unconfined"
		}
	}
	return true
}

// probeNamespaces forks a child configured like the tier's helper that
// execs "/". For lockdown it also asks for the network namespace the
// helper will unshare.
func probeNamespaces(tier Tier) error {
	sys := namespaceAttr(tier, os.Getuid(), os.Getgid(), false)
	if tier == Lockdown {
		sys.Cloneflags |= unix.CLONE_NEWNET
	}
	pid, err := syscall.ForkExec("/", []string{"envseal-sandbox-probe"}, &syscall.ProcAttr{Sys: sys})
	if err == nil {
		// Cannot happen (a directory is not executable); reap it anyway.
		var ws syscall.WaitStatus
		syscall.Wait4(pid, &ws, 0, nil)
		return nil
	}
	if errors.Is(err, unix.EACCES) {
		return nil
	}
	return &UnsupportedError{Tier: tier, Reason: fmt.Sprintf("cannot create its namespaces: %v", err), Hint: userNSHints}
}
