//go:build linux && (amd64 || arm64)

package sandbox

import (
	"os"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// filteredCalls are the probe calls the seccomp filter must turn into
// EPERM; unsandboxed, each gives something else (checked below).
var filteredCalls = []string{"ptrace", "process_vm_readv", "tiocsti", "tiocsti_high", "tioclinux", "keyctl", "unshare", "clone_newuser"}

func TestProbeControl(t *testing.T) {
	r := unsandboxedProbe(t)
	for _, name := range filteredCalls {
		if got, ok := r.Syscalls[name]; !ok || got == int(unix.EPERM) {
			t.Errorf("unsandboxed %s: errno %d (present %v); the probe cannot tell the filter's EPERM apart", name, got, ok)
		}
	}
	if r.Syscalls["tiocsti"] != int(unix.ENOTTY) || r.Syscalls["tiocsti_high"] != int(unix.ENOTTY) {
		t.Errorf("unsandboxed TIOCSTI on /dev/null: %d/%d, want ENOTTY", r.Syscalls["tiocsti"], r.Syscalls["tiocsti_high"])
	}
}

// TestSeccompDenies: under both sandboxed tiers, ptrace,
// process_vm_readv, TIOCSTI (also with the high bits of the request set),
// TIOCLINUX, keyctl, unshare and clone(CLONE_NEWUSER) fail with EPERM,
// while other ioctls and a plain fork+exec still work.
func TestSeccompDenies(t *testing.T) {
	for _, tier := range []Tier{Hardened, Lockdown} {
		t.Run(string(tier), func(t *testing.T) {
			r := probe(t, Options{Tier: tier, Cwd: t.TempDir()}, nil)
			for _, name := range filteredCalls {
				if got := r.Syscalls[name]; got != int(unix.EPERM) {
					t.Errorf("%s: errno %d (%v), want EPERM", name, got, unix.Errno(got))
				}
			}
			if got := r.Syscalls["tcgets"]; got != int(unix.ENOTTY) {
				t.Errorf("TCGETS on /dev/null: errno %d, want ENOTTY (other ioctls must pass the filter)", got)
			}
			if got := r.Syscalls["fork"]; got != int(unix.EACCES) {
				t.Errorf("fork+exec of /: errno %d, want EACCES (a plain fork must pass the filter)", got)
			}
			if r.Status["Seccomp"] != "2" || r.Status["NoNewPrivs"] != "1" {
				t.Errorf("Seccomp %q NoNewPrivs %q, want 2 and 1", r.Status["Seccomp"], r.Status["NoNewPrivs"])
			}
			for _, c := range []string{"CapInh", "CapPrm", "CapEff", "CapAmb"} {
				if r.Status[c] != "0000000000000000" {
					t.Errorf("%s = %s, want none", c, r.Status[c])
				}
			}
			if r.Uid == 0 && r.Status["CapBnd"] != "0000000000000000" {
				t.Errorf("uid 0 in the sandbox with bounding set %s: execve would hand back capabilities", r.Status["CapBnd"])
			}
		})
	}
}

// TestPIDNamespace: the helper is PID 1 and the target its child (not PID
// 2: the helper's own threads take the next numbers). Under
// hardened /proc is still the host's; lockdown mounts a new one where
// host processes are gone.
func TestPIDNamespace(t *testing.T) {
	hostPid := os.Getpid()
	r := probe(t, Options{Tier: Hardened}, nil)
	if r.Pid <= 1 || r.Pid > 64 || r.Ppid != 1 {
		t.Errorf("hardened: pid %d ppid %d, want a small pid and parent 1", r.Pid, r.Ppid)
	}
	if !slices.Contains(r.ProcPids, hostPid) {
		t.Errorf("hardened: host /proc expected (it is not remounted), test pid %d not listed", hostPid)
	}

	r = probe(t, Options{Tier: Lockdown, Cwd: t.TempDir()}, nil)
	if r.Pid <= 1 || r.Pid > 64 || r.Ppid != 1 {
		t.Errorf("lockdown: pid %d ppid %d, want a small pid and parent 1", r.Pid, r.Ppid)
	}
	if slices.Contains(r.ProcPids, hostPid) || !slices.Contains(r.ProcPids, 1) || !slices.Contains(r.ProcPids, r.Pid) {
		t.Errorf("lockdown /proc lists %v: want the namespace's 1 and %d and not the host's %d", r.ProcPids, r.Pid, hostPid)
	}
	for _, p := range r.ProcPids {
		if p > 64 {
			t.Errorf("lockdown /proc lists pid %d: host processes are visible", p)
		}
	}
}
