//go:build linux && (amd64 || arm64)

package sandbox

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"

	"github.com/envseal/envseal/internal/sys"
	"golang.org/x/sys/unix"
)

// HelperMain runs the helper stage and returns its exit status; args are
// the arguments after HelperArg (os.Args[2:]). cli.Main calls it right
// after hardening the process and before any flag parsing, when os.Args[1]
// is HelperArg.
//
// Before the target starts, any failure is one line on stderr starting
// "envseal __sandbox_helper: ", the same message on the status fd, and
// exit status HelperExitCode (127). Afterwards the status is the target's: its exit code,
// or 128+N when signal N killed it.
func HelperMain(args []string) int {
	if len(args) > 0 && args[0] == holderFlag {
		return holderMain(args[1:]) // a jail's pin holder (holder_linux.go)
	}
	if len(args) > 0 && args[0] == jailFlag {
		return jailMain(args[1:]) // `envseal jail`'s stage (jailhelper_linux.go)
	}
	// The environment may hold env-delivered secrets: no core dumps, and
	// /proc/<pid>/{mem,environ} closed to other processes of this uid.
	hardenErr := sys.Harden()
	// Namespaces entered by unshare, Landlock, capabilities and the
	// working directory are per thread, and the target is forked from
	// this one. Never unlocked: the thread dies with the process.
	runtime.LockOSThread()
	if len(args) > 0 && args[0] == warmFlag {
		return warmMain(args[1:], hardenErr) // a pre-started stage (warm_linux.go)
	}
	return helperStage(args, nil, nil, hardenErr)
}

// prepared is what a warm helper did before its run arrived, on the
// (locked) thread that goes on to run it; helperStage skips those steps.
type prepared struct {
	fwd       *forwarder   // signals caught since before the run (startForwarding)
	privateNS bool         // enterPrivateMountNS done
	inherited map[int]bool // the run's descriptors above stderr, as installFDs put them (close-on-exec now)
}

// forwarder is the prepared forwarder, or a new one.
func (p *prepared) forwarder() *forwarder {
	if p != nil && p.fwd != nil {
		return p.fwd
	}
	return startForwarding()
}

// helperStage is the helper once its descriptors, working directory and
// arguments are in place: as execve left them, or as a warm helper
// installed them from its run's spec. env is the target's environment
// (nil: this process's own, as execve gave it). hardenErr is the
// failure of the process's hardening at its start, reported (and the run
// refused) once the status fd is known.
func helperStage(args, env []string, pre *prepared, hardenErr error) int {
	// Before anything here opens a descriptor of its own.
	var inherited map[int]bool
	if pre != nil && pre.inherited != nil {
		inherited = pre.inherited
	} else {
		inherited = inheritedFDs()
	}

	// The status pipe is close-on-exec from here on (inheritedFDs) and
	// not passed on: the target must not hold it open.
	statusFD := lenientStatusFD(args)
	if !inherited[statusFD] {
		statusFD = -1 // not an inherited descriptor: never write to it
	}
	delete(inherited, statusFD)
	if hardenErr != nil {
		return helperFail(statusFD, fmt.Errorf("harden the helper before the target gets its secrets: %w", hardenErr))
	}
	h, err := parseHelperArgs(args)
	if err != nil {
		return helperFail(statusFD, err)
	}
	h.env = env
	if h.statusFD >= 0 && statusFD < 0 {
		return helperFail(-1, fmt.Errorf("invalid --status-fd %d: not an open descriptor inherited from the launcher", h.statusFD))
	}
	code, err := runHelper(h, inherited, &statusFD, pre)
	if err != nil {
		return helperFail(statusFD, err)
	}
	return code
}

// helperFail reports err and returns HelperExitCode.
func helperFail(statusFD int, err error) int {
	msg := oneLine(err.Error())
	os.Stderr.WriteString(helperPrefix + msg + "\n")
	if statusFD >= 0 {
		unix.Write(statusFD, []byte(msg))
		unix.Close(statusFD)
	}
	return HelperExitCode
}

// lenientStatusFD finds --status-fd before strict parsing, so that even a
// malformed command line is reported to the launcher on that fd.
func lenientStatusFD(args []string) int {
	for i := 0; i+1 < len(args) && args[i] != "--"; i++ {
		if args[i] == "--status-fd" {
			if fd, err := parseFD(args[i+1]); err == nil {
				return fd
			}
			return -1
		}
	}
	return -1
}

// inheritedFDs lists the descriptors above stderr that came through
// execve (those without close-on-exec; everything the Go runtime opens
// has it) and marks them close-on-exec: only the ones named again in the
// target's fork reach the target.
func inheritedFDs() map[int]bool {
	out := map[int]bool{}
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return out
	}
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd < 3 {
			continue
		}
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil || flags&unix.FD_CLOEXEC != 0 {
			continue
		}
		unix.CloseOnExec(fd)
		out[fd] = true
	}
	return out
}

// runHelper sets up the tier, starts the target and waits for it. It
// closes *statusFD once the target runs and sets it to -1.
func runHelper(h *helperArgs, inherited map[int]bool, statusFD *int, pre *prepared) (int, error) {
	if err := checkInherited(h, inherited); err != nil {
		return 0, err
	}
	// Signals that arrive during setup are queued and forwarded once the
	// target exists.
	fwd := pre.forwarder()
	writable, tw, err := enterNamespaces(h, pre != nil && pre.privateNS)
	if err != nil {
		return 0, err
	}
	if err := confine(h, writable); err != nil {
		return 0, err
	}
	pid, err := startGuarded(h, tw)
	if err != nil {
		return 0, err
	}
	// EOF on the status pipe tells the launcher the target is running.
	if *statusFD >= 0 {
		unix.Close(*statusFD)
		*statusFD = -1
	}
	fwd.to(pid)
	code, err := reap(pid)
	if err == nil && h.reportFD > 0 && inherited[h.reportFD] {
		// What is still running is killed now, before the launcher
		// hears of the end (it would die with this PID namespace when we
		// exit, which the launcher then need not wait for); say how much
		// that was, for the audit record, and the target's status.
		n := -1 // unknown without lockdown's own /proc
		if h.tier == Lockdown {
			n = leftover()
		}
		endRun(inherited, h.reportFD)
		unix.Write(h.reportFD, []byte(endReport(code, n, tw)))
		unix.Close(h.reportFD)
	}
	return code, err
}

// startGuarded starts the target with the pins' tripwire armed (tw nil:
// nothing pinned): an event already queued fails the helper before the
// target exists; one that arrives later kills every process of the run.
// The wire's goroutine may see an event before the fork (its kill then
// reaches nobody): the check after the fork kills the target then.
func startGuarded(h *helperArgs, tw *tripwire) (int, error) {
	if tw == nil {
		return startTarget(h)
	}
	if pin, ok := tw.poll(); ok {
		return 0, replacedBeforeStart(pin)
	}
	killAll := func() { unix.Kill(-1, unix.SIGKILL) }
	tw.arm(killAll)
	pid, err := startTarget(h)
	if err != nil {
		return 0, err
	}
	if _, ok := tw.tripped(); ok {
		killAll()
	}
	return pid, nil
}

func replacedBeforeStart(pin string) error {
	if pin == "" {
		return errors.New("the watch on the pinned files lost events before the target started")
	}
	return fmt.Errorf("pinned file %s was replaced before the target started", pin)
}

// endReport is the report: "CODE LEFTOVER", then, if the pins' tripwire
// stopped the run, a line "replaced PATH" (the pinned path whose name
// changed) or "lost-events".
func endReport(code, leftover int, tw *tripwire) string {
	s := strconv.Itoa(code) + " " + strconv.Itoa(leftover)
	if tw != nil {
		if pin, ok := tw.tripped(); ok && pin == "" {
			s += "\n" + reportLost
		} else if ok {
			s += "\n" + reportReplaced + pin
		}
	}
	return s
}

// The end report's trip lines (endReport).
const (
	reportReplaced = "replaced "
	reportLost     = "lost-events"
)

// checkInherited: every descriptor the arguments name came from the
// launcher, and the target's is a regular file.
func checkInherited(h *helperArgs, inherited map[int]bool) error {
	if !inherited[h.targetFD] {
		return fmt.Errorf("invalid --target-fd %d: not an open descriptor inherited from the launcher", h.targetFD)
	}
	for _, fd := range h.fds {
		if !inherited[fd] {
			return fmt.Errorf("invalid --fd %d: not an open descriptor inherited from the launcher", fd)
		}
	}
	var st unix.Stat_t
	if err := unix.Fstat(h.targetFD, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("invalid --target-fd %d: not a regular file", h.targetFD)
	}
	for _, p := range h.pins {
		if !inherited[p.fd] {
			return fmt.Errorf("invalid --pin %d: not an open descriptor inherited from the launcher", p.fd)
		}
	}
	return nil
}

// enterNamespaces builds the run's view: a private mount namespace
// (unless a warm helper made it already: privateNS) with lockdown's
// mounts (returning the writable paths) and its network namespace, then
// the pins over it, guarded by the returned tripwire (nil: no pins).
func enterNamespaces(h *helperArgs, privateNS bool) ([]string, *tripwire, error) {
	if (h.tier == Lockdown || len(h.pins) > 0) && !privateNS {
		if err := enterPrivateMountNS(); err != nil {
			return nil, nil, err
		}
	}
	// PID 1 of a fresh PID namespace: the target is its only child, and
	// when we exit the kernel kills whatever the target left behind.
	if unix.Getpid() != 1 {
		return nil, nil, errors.New("refusing to run: not the first process of a new PID namespace (the helper only runs under envseal's sandbox)")
	}
	var writable []string
	if h.tier == Lockdown {
		if h.cwd == "" {
			wd, err := os.Getwd()
			if err != nil {
				return nil, nil, fmt.Errorf("working directory: %w", err)
			}
			if err := checkDir(wd); err != nil || wd == "/" {
				return nil, nil, fmt.Errorf("working directory %q cannot be made writable", wd)
			}
			h.cwd = wd
		}
		var err error
		if writable, err = lockdownMounts(h); err != nil {
			return nil, nil, err
		}
		if !h.network {
			if err := enterPrivateNetNS(); err != nil {
				return nil, nil, err
			}
		}
	}
	// From here on nothing privileged is left to do.
	// Pins go last, over whatever the mounts above put at their paths
	// (a pinned file in the cwd lies in the re-bound writable tree).
	tw, err := servePins(h, func(p string) bool {
		return h.tier == Lockdown && coveredByLockdown(p, append([]string{h.cwd}, h.rw...), h.hide)
	})
	if err != nil {
		return nil, nil, err
	}
	return writable, tw, nil
}

// confine drops what the helper held for the setup and applies the
// tier's limits, inherited by the target: no_new_privs, no capabilities,
// Landlock (lockdown) and seccomp (hardened and lockdown).
func confine(h *helperArgs, writable []string) error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return os.NewSyscallError("prctl(PR_SET_NO_NEW_PRIVS)", err)
	}
	if err := dropCapabilities(); err != nil {
		return err
	}
	if h.tier == Lockdown {
		if _, err := restrictWrites(writable); err != nil {
			return err
		}
	}
	if h.tier != Standard {
		// Standard reaches the helper only to serve pins: it keeps the
		// standard tier's syscalls (no filter), as without pins.
		if err := installSeccomp(); err != nil {
			return err
		}
	}
	return nil
}

// leftover counts the processes of this PID namespace other than this
// one (the fresh /proc of lockdown shows only those).
func leftover() int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return -1
	}
	n := 0
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid != 1 {
			n++
		}
	}
	return n
}

// startTarget forks and execs the pinned image from this (locked) thread,
// so the child inherits its mount namespace, working directory, Landlock
// domain and empty capability sets. It gets stdio, the image and the --fd
// descriptors (a script's sealed memfd, "/dev/fd/N" in its argv;
// fd-delivered secrets) at their original numbers, and nothing else.
func startTarget(h *helperArgs) (int, error) {
	pass := append([]int{h.targetFD}, h.fds...)
	slices.Sort(pass)
	files := []uintptr{0, 1, 2}
	for _, fd := range slices.Compact(pass) {
		for len(files) < fd {
			files = append(files, ^uintptr(0)) // a gap: closed in the child
		}
		files = append(files, uintptr(fd))
	}
	path := "/proc/self/fd/" + strconv.Itoa(h.targetFD)
	argv := append([]string{h.arg0}, h.argv...)
	env := h.env
	if env == nil {
		env = os.Environ()
	}
	pid, err := forkExec(path, argv, env, files)
	if err != nil {
		return 0, fmt.Errorf("exec %s: %w", h.arg0, err)
	}
	return pid, nil
}
