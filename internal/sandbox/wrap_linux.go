//go:build linux && (amd64 || arm64)

package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Handle follows one wrapped command through its start.
type Handle struct {
	r, w   *os.File // status pipe; nil for the standard tier
	rr, rw *os.File // report pipe (lockdown, or pinned files): how the run ended
	// What the report said (read once): the target's status, the
	// processes left when it exited, and whether the pins' tripwire
	// stopped the run.
	read           bool
	code, leftover int
	codeOK         bool
	tripped        *PinReplacedError
	// A jail's: the pin holder's control socket (holder_linux.go), our
	// end and the helper's (closed once it started).
	ctl, ctlChild *os.File
	// and the gate the helper waits on before it starts the agent.
	gate, gateChild *os.File
}

// Wrap rewrites cmd — already prepared by exeseal.Sealed.Prepare, with
// every ExtraFile, Env, Dir and std stream set — so that it runs through
// the helper stage:
//
//	cmd.Path = self
//	cmd.Args = [self, "__sandbox_helper", "--target-fd", K, "--arg0", ARGS[0],
//	            "--tier", T, "--status-fd", S, "--fd", F…, <lockdown flags>,
//	            "--", ARGS[1:]…]
//
// where K is the sealed image's descriptor ("/proc/self/fd/K" in
// cmd.Path), S the write end of a status pipe appended to ExtraFiles, and
// F each other ExtraFiles descriptor: the target gets exactly those (and
// stdio) at the same numbers. Add every ExtraFile before calling Wrap.
// self must name the envseal binary (pass "/proc/self/exe"; cmd/envseal
// dispatches HelperArg to HelperMain). SysProcAttr gains the tier's
// namespaces (hardened: user, PID, IPC; lockdown: also mount), the real
// uid and gid mapped to themselves (file ownership unchanged;
// SysProcAttr.Credential's ids if set), and for lockdown ambient
// CAP_SYS_ADMIN and CAP_NET_ADMIN inside the new user namespace, for the
// helper's mounts and loopback — it drops them before the target runs.
// Under lockdown the helper itself unshares a private mount namespace
// and, unless o.Network, a new network namespace. Existing SysProcAttr
// fields (Setpgid, Credential…) are kept; id mappings or ambient
// capabilities already set are an error. Pdeathsig is better left unset:
// it fires when the thread that started the helper exits, and a launcher
// that starts from a locked throw-away thread (for no_new_privs) would
// kill the sandbox at once.
//
// The standard tier needs no helper: cmd is left as it is (the launcher
// still sets no_new_privs). Options other than Tier only matter under
// lockdown and are ignored otherwise. Wrap runs Check first and fails
// closed with its *UnsupportedError.
//
// A Pin marked Exec (--exec-pin) replaces the image K at exec time: the
// helper execs the copy it served at the pin's path (pins_linux.go).
//
// After cmd.Start succeeds, call AfterStart; if Start fails, call Close.
func Wrap(cmd *exec.Cmd, self string, o Options) (*Handle, error) {
	if !o.Tier.Valid() {
		return nil, o.Tier.unknown()
	}
	if o.Tier == Standard && len(o.Pins) == 0 && !o.NoTTY {
		return &Handle{}, nil
	}
	h, sys, err := wrapArgs(cmd, self, o)
	if err != nil {
		return nil, err
	}
	handle, err := addPipes(cmd, h, o.Tier == Lockdown || len(o.Pins) > 0)
	if err != nil {
		return nil, err
	}
	uid, gid := os.Getuid(), os.Getgid()
	if c := sys.Credential; c != nil {
		uid, gid = int(c.Uid), int(c.Gid)
	}
	applyNamespaces(sys, o, uid, gid)
	h.newPTS = o.NoTTY && o.Tier == Lockdown
	cmd.SysProcAttr = sys

	cmd.Path = self
	cmd.Args = append([]string{self, HelperArg}, helperArgv(h)...)
	cmd.Err = nil
	return handle, nil
}

// wrapArgs checks cmd and o and gathers the helper's arguments (the pins
// are appended to cmd.ExtraFiles); sys is cmd's SysProcAttr or a new one.
func wrapArgs(cmd *exec.Cmd, self string, o Options) (*helperArgs, *syscall.SysProcAttr, error) {
	if cmd.Process != nil {
		return nil, nil, errors.New("sandbox: command already started")
	}
	targetFD, err := preparedFD(cmd)
	if err != nil {
		return nil, nil, err
	}
	if len(cmd.Args) == 0 || cmd.Args[0] == "" {
		return nil, nil, errors.New("sandbox: command has no argv[0]")
	}
	if self == "" {
		return nil, nil, errors.New("sandbox: no helper binary given")
	}
	sys := cmd.SysProcAttr
	if sys == nil {
		sys = &syscall.SysProcAttr{}
	}
	if sys.UidMappings != nil || sys.GidMappings != nil || sys.AmbientCaps != nil {
		return nil, nil, errors.New("sandbox: command already has id mappings or ambient capabilities")
	}
	h := &helperArgs{targetFD: targetFD, arg0: cmd.Args[0], tier: o.Tier, argv: cmd.Args[1:]}
	for i, f := range cmd.ExtraFiles {
		if f != nil && 3+i != targetFD {
			h.fds = append(h.fds, 3+i)
		}
	}
	if o.Tier == Lockdown {
		if err := lockdownArgs(h, cmd, o); err != nil {
			return nil, nil, err
		}
	}
	for _, p := range o.Pins {
		if p.File == nil {
			return nil, nil, fmt.Errorf("sandbox: pin %s has no descriptor", p.Path)
		}
		h.pins = append(h.pins, pinArg{fd: 3 + len(cmd.ExtraFiles), mode: p.Mode & 0o777, path: p.Path})
		cmd.ExtraFiles = append(cmd.ExtraFiles, p.File)
	}
	if _, err := parsePins(h.pins); err != nil {
		return nil, nil, err
	}
	if err := execPinArg(h, o.Pins); err != nil {
		return nil, nil, err
	}
	check := o.Tier
	if len(o.Pins) > 0 {
		check = Lockdown // pins need a mount namespace whatever the tier
	}
	if err := Check(check); err != nil {
		return nil, nil, err
	}
	return h, sys, nil
}

// addPipes appends the write ends of the status pipe and, with report
// (lockdown, or pinned files), the report pipe to cmd.ExtraFiles; the
// handle keeps both ends.
func addPipes(cmd *exec.Cmd, h *helperArgs, report bool) (*Handle, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("sandbox status pipe: %w", err)
	}
	h.statusFD = 3 + len(cmd.ExtraFiles)
	cmd.ExtraFiles = append(cmd.ExtraFiles, w)
	handle := &Handle{r: r, w: w}
	if report {
		rr, rw, err := os.Pipe()
		if err != nil {
			r.Close()
			w.Close()
			return nil, fmt.Errorf("sandbox report pipe: %w", err)
		}
		h.reportFD = 3 + len(cmd.ExtraFiles)
		cmd.ExtraFiles = append(cmd.ExtraFiles, rw)
		handle.rr, handle.rw = rr, rw
	}
	return handle, nil
}

// preparedFD returns K from cmd.Path "/proc/self/fd/K" and checks that
// ExtraFiles really holds descriptor K: the helper execs exactly that
// descriptor, so a cmd not prepared by exeseal is refused rather than
// guessed at.
func preparedFD(cmd *exec.Cmd) (int, error) {
	s, ok := strings.CutPrefix(cmd.Path, "/proc/self/fd/")
	if !ok {
		return 0, fmt.Errorf("sandbox: command path %q is not a sealed image (/proc/self/fd/N)", cmd.Path)
	}
	fd, err := parseFD(s)
	if err != nil || fd-3 >= len(cmd.ExtraFiles) || cmd.ExtraFiles[fd-3] == nil {
		return 0, fmt.Errorf("sandbox: command path %q names no descriptor in ExtraFiles", cmd.Path)
	}
	return fd, nil
}

// lockdownArgs fills in the lockdown flags, with absolute clean paths.
func lockdownArgs(h *helperArgs, cmd *exec.Cmd, o Options) error {
	h.network = o.Network
	cwd := o.Cwd
	if cwd == "" {
		cwd = cmd.Dir
	}
	if cwd == "" {
		wd, err := os.Getwd()
		if err != nil {
			return fmt.Errorf("sandbox: working directory: %w", err)
		}
		cwd = wd
	}
	clean := func(what, p string) (string, error) {
		a, err := filepath.Abs(p)
		if err != nil {
			return "", fmt.Errorf("sandbox: %s %q: %w", what, p, err)
		}
		return a, nil
	}
	var err error
	if h.cwd, err = clean("working directory", cwd); err != nil {
		return err
	}
	if h.cwd == "/" {
		return errors.New("sandbox: lockdown makes the working directory writable; refusing to make / writable (run from a project directory)")
	}
	for _, d := range o.RW {
		a, err := clean("writable dir", d)
		if err != nil {
			return err
		}
		if a == "/" {
			return errors.New("sandbox: refusing to make / writable")
		}
		h.rw = append(h.rw, a)
	}
	for _, d := range o.Hide {
		a, err := clean("hidden dir", d)
		if err != nil {
			return err
		}
		if a == "/" {
			return errors.New("sandbox: cannot hide /")
		}
		h.hide = append(h.hide, a)
	}
	return nil
}

// applyNamespaces adds the helper's clone configuration for o to sys:
// the tier's namespaces, id maps and ambient capabilities, and with
// NoTTY a session of its own. StartWarm builds its helper's attributes
// with it too, so a warm helper matches the run exactly.
func applyNamespaces(sys *syscall.SysProcAttr, o Options, uid, gid int) {
	ns := namespaceAttr(o.Tier, uid, gid, len(o.Pins) > 0)
	if o.NoTTY {
		// A session of its own: no controlling terminal, so /dev/tty is
		// ENXIO, and the launcher's terminal cannot be reached through it.
		sys.Setsid, sys.Setctty, sys.Noctty = true, false, false
	}
	sys.Cloneflags |= ns.Cloneflags
	sys.UidMappings, sys.GidMappings, sys.AmbientCaps = ns.UidMappings, ns.GidMappings, ns.AmbientCaps
}

// namespaceAttr is the clone configuration of a tier's helper.
func namespaceAttr(tier Tier, uid, gid int, mounts bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{
		Cloneflags:  unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWIPC,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}},
	}
	// A non-root helper loses every capability at execve unless it is
	// ambient (docs/ARCHITECTURE.md kernel fact 4).
	switch {
	case tier == Lockdown:
		a.Cloneflags |= unix.CLONE_NEWNS
		a.AmbientCaps = []uintptr{unix.CAP_SYS_ADMIN, unix.CAP_NET_ADMIN}
	case mounts:
		// Pinned files are served by mounts: a mount namespace, and the
		// one capability to build it (dropped before the target runs).
		a.Cloneflags |= unix.CLONE_NEWNS
		a.AmbientCaps = []uintptr{unix.CAP_SYS_ADMIN}
	}
	return a
}

// AfterStart must be called right after cmd.Start succeeded. It closes
// the launcher's copy of the status pipe's write end and waits until the
// helper has started the target (nil) or failed (*HelperError, matching
// ErrHelper; the helper then exits 127 and cmd.Wait still has to be
// called). The pipe is close-on-exec everywhere but in the helper, which
// closes it once the target runs: EOF means started.
func (h *Handle) AfterStart() error {
	if h == nil || h.r == nil {
		return nil
	}
	h.w.Close()
	h.w = nil
	if h.rw != nil {
		h.rw.Close()
		h.rw = nil
	}
	defer func() {
		if h.r != nil {
			h.r.Close()
			h.r = nil
		}
	}()
	msg, err := io.ReadAll(io.LimitReader(h.r, 4096))
	if err != nil {
		return fmt.Errorf("read sandbox helper status: %w", err)
	}
	if len(msg) > 0 {
		return &HelperError{Msg: oneLine(string(msg))}
	}
	return nil
}

// openGate is the outer `envseal jail`'s part once the helper started:
// once the pin holder runs, register (when register is set) the jail
// with the broker, then let the helper start the agent. A helper that
// failed before it started the holder is left to AfterStart to report.
func (h *Handle) openGate(register func()) {
	if h == nil || h.ctl == nil {
		return
	}
	h.ctlChild.Close()
	h.ctlChild = nil
	h.gateChild.Close()
	h.gateChild = nil
	if !awaitHolder(h.ctl) {
		return
	}
	if register != nil {
		register()
	}
	h.gate.Write([]byte{'g'})
	h.gate.Close()
	h.gate = nil
}

// holderChannel makes a new channel to a jail's pin holder
// (holder_linux.go), for one broker.
func (h *Handle) holderChannel() (*os.File, error) {
	if h == nil || h.ctl == nil {
		return nil, errors.New("this jail has no pin holder")
	}
	return newHolderChannel(h.ctl)
}

// Close releases the status pipe (for a cmd that failed to start). It is
// safe to call more than once and after AfterStart.
func (h *Handle) Close() error {
	if h == nil {
		return nil
	}
	for _, f := range []**os.File{&h.r, &h.w, &h.rr, &h.rw, &h.ctl, &h.ctlChild, &h.gate, &h.gateChild} {
		if *f != nil {
			(*f).Close()
			*f = nil
		}
	}
	return nil
}

// Ended waits, after AfterStart, for the helper's report on how the run
// ended (lockdown, or a run with pinned files). The helper sends it once the target has exited, every
// other process of the run has been killed and reaped, and its own copies
// of the run's descriptors are closed — before the helper itself exits
// (its namespaces' teardown is then no longer on the run's path; reap it
// with cmd.Wait all the same). code is the target's status (its exit code,
// or 128+N for signal N: 137 when the pins' tripwire killed it, see
// Tripped); ok is false without a report (neither lockdown nor pins, or
// the helper died first), and cmd.Wait's status then counts.
func (h *Handle) Ended() (code int, ok bool) {
	if h == nil {
		return 0, false
	}
	h.readReport()
	return h.code, h.codeOK
}

// Leftover reports, after the run ended (Ended, or cmd.Wait), how many
// processes of the run were still alive when its program ended — killed
// by the helper before it reported. -1 when unknown (not lockdown, or the
// helper failed).
func (h *Handle) Leftover() int {
	if h == nil {
		return -1
	}
	h.readReport()
	return h.leftover
}

// Tripped reports, after the run ended (Ended, or cmd.Wait), whether the
// pins' tripwire stopped it (tripwire_linux.go): a *PinReplacedError
// naming the pinned path whose name was unlinked, renamed or replaced
// while the run was going (every process of the run was SIGKILLed at
// once), or nil.
func (h *Handle) Tripped() error {
	if h == nil {
		return nil
	}
	h.readReport()
	if h.tripped == nil {
		return nil
	}
	return h.tripped
}

// readReport reads the report pipe to EOF once: "CODE LEFTOVER", and a
// second line if the tripwire stopped the run (endReport).
func (h *Handle) readReport() {
	if h.read {
		return
	}
	h.read, h.leftover = true, -1
	if h.rr == nil {
		return
	}
	if h.rw != nil {
		h.rw.Close()
		h.rw = nil
	}
	b, _ := io.ReadAll(io.LimitReader(h.rr, 64+unix.PathMax))
	h.rr.Close()
	h.rr = nil
	line, trip, hasTrip := strings.Cut(string(b), "\n")
	switch {
	case !hasTrip:
	case trip == reportLost:
		h.tripped = &PinReplacedError{}
	case strings.HasPrefix(trip, reportReplaced) && len(trip) > len(reportReplaced):
		h.tripped = &PinReplacedError{Path: trip[len(reportReplaced):]}
	default:
		// A report we cannot read: the run did not end as it should.
		h.tripped = &PinReplacedError{}
	}
	f := strings.Fields(line)
	if len(f) != 2 {
		return
	}
	code, err1 := strconv.Atoi(f[0])
	n, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || code < 0 || n < -1 {
		return
	}
	h.code, h.codeOK, h.leftover = code, true, n
}
