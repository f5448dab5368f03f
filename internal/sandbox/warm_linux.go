//go:build linux && (amd64 || arm64)

package sandbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/envseal/envseal/internal/sys"
)

// A warm helper is the helper stage started before its run is known: the
// process is cloned into the run's namespaces (user, PID, IPC, mount, a
// session of its own), the envseal binary is exec'd and the Go runtime is
// up — the part of a contained run's start that costs milliseconds — and
// it then waits on a socketpair. Warm.Start sends it what execve would
// have given a cold helper: the helper's arguments, the target's
// environment, the working directory and every descriptor, which it
// installs at the numbers Wrap chose. From there on it runs the same code
// as a cold helper (helperStage): the mounts, pins, Landlock, seccomp and
// the target's fork+exec all happen per run, after the spec arrived.
//
// A warm helper serves exactly one run and is never reused; a helper that
// gets EOF on its socket (the launcher went away) exits without running
// anything. Its view of the mount table is the launcher's at the time it
// was cloned: Start refuses (and the caller starts a cold helper) when the
// launcher's mount table changed since then, so a run never sees mounts
// the launcher no longer has.

const warmFlag = "--warm"

// ErrWarmUnusable is matched (errors.Is) when a warm helper cannot take a
// run (a different sandbox shape, the mount table changed, the helper is
// gone). Nothing of the run was started; the caller starts a cold helper.
var ErrWarmUnusable = errors.New("warm sandbox helper unusable")

// Warm is one pre-started helper stage (see StartWarm).
type Warm struct {
	mu     sync.Mutex
	cmd    *exec.Cmd
	ctl    *os.File // our end of the socketpair
	mounts int      // /proc/self/mounts, opened before the clone (a raw fd: the netpoller must not poll it)
	sys    *syscall.SysProcAttr
	self   string
	arg0   string
	done   bool // handed to a run, or closed
}

// StartWarm starts a helper stage for a later run wrapped with options of
// o's shape (Tier must be lockdown; NoTTY as the runs will have it; the
// other fields belong to the run and are ignored here). self and arg0 are
// what Wrap's caller uses as cmd.Path and cmd.Args[0]. start runs
// cmd.Start the way the caller starts a cold helper (no_new_privs,
// dumpable for the id maps).
func StartWarm(self, arg0 string, o Options, start func(*exec.Cmd) error) (*Warm, error) {
	if o.Tier != Lockdown {
		return nil, fmt.Errorf("sandbox: warm helpers are for tier %s", Lockdown)
	}
	if err := Check(Lockdown); err != nil {
		return nil, err
	}
	// Opened before the clone: any change to our mount table from here
	// on raises POLLPRI on it (proc_mounts poll), and Start then refuses.
	// Not os.Open: the runtime's netpoller would register the file, and
	// its epoll_wait would consume the change notification.
	mounts, err := unix.Open("/proc/self/mounts", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("sandbox: warm helper: %w", &os.PathError{Op: "open", Path: "/proc/self/mounts", Err: err})
	}
	closeMounts := func() { unix.Close(mounts) }
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		closeMounts()
		return nil, fmt.Errorf("sandbox: warm helper: %w", os.NewSyscallError("socketpair", err))
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "warm-ctl"), os.NewFile(uintptr(fds[1]), "warm-ctl-helper")
	sys := &syscall.SysProcAttr{}
	applyNamespaces(sys, Options{Tier: Lockdown, NoTTY: o.NoTTY}, os.Getuid(), os.Getgid())
	want := &syscall.SysProcAttr{}
	applyNamespaces(want, Options{Tier: Lockdown, NoTTY: o.NoTTY}, os.Getuid(), os.Getgid())
	// The helper's own environment is not the target's (that comes with
	// the run): only what the Go runtime of a test binary needs.
	env := []string{}
	if v, ok := os.LookupEnv("GORACE"); ok {
		env = append(env, "GORACE="+v)
	}
	// Descriptors 4 … warmReserved-1 are held by placeholders while the
	// helper's Go runtime starts: it keeps descriptors of its own open
	// (the cgroup CPU-limit files), and they must land above the numbers
	// the run's descriptors take. The helper closes the placeholders.
	null, err := os.Open(os.DevNull)
	if err != nil {
		ours.Close()
		theirs.Close()
		closeMounts()
		return nil, fmt.Errorf("sandbox: warm helper: %w", err)
	}
	extra := []*os.File{theirs}
	for len(extra) < warmReserved-3 {
		extra = append(extra, null)
	}
	cmd := &exec.Cmd{
		Path: self, Args: []string{arg0, HelperArg, warmFlag, "--ctl-fd", "3"},
		Env: env, ExtraFiles: extra, SysProcAttr: sys,
	}
	err = start(cmd)
	theirs.Close()
	null.Close()
	if err != nil && cmd.Process != nil {
		// Started, but the launcher failed around it (it could not make
		// itself non-dumpable again): nothing of it is kept.
		cmd.Process.Kill()
		cmd.Wait()
	}
	if err != nil {
		ours.Close()
		closeMounts()
		return nil, fmt.Errorf("sandbox: warm helper: %w", err)
	}
	// Wait for the helper to say it is ready (its runtime up, its pages
	// mapped); EOF means it died.
	w := &Warm{cmd: cmd, ctl: ours, mounts: mounts, sys: want, self: self, arg0: arg0}
	if err := w.awaitReady(); err != nil {
		w.Close()
		return nil, fmt.Errorf("sandbox: warm helper: %w", err)
	}
	return w, nil
}

func (w *Warm) awaitReady() error {
	rc, err := w.ctl.SyscallConn()
	if err != nil {
		return err
	}
	var rerr error
	cerr := rc.Control(func(fd uintptr) {
		b := make([]byte, 8)
		n, _, _, err := sys.Recvmsg(int(fd), b, nil, 0)
		switch {
		case err != nil:
			rerr = os.NewSyscallError("recvmsg", err)
		case n != 1 || b[0] != 'r':
			rerr = errors.New("the helper exited before it was ready")
		}
	})
	if cerr != nil {
		return cerr
	}
	return rerr
}

// Start hands the run in cmd — wrapped by Wrap, every descriptor in
// place, not started — to the warm helper instead of exec'ing a new one:
// afterwards cmd.Process is the helper, and the caller goes on exactly as
// after cmd.Start (Handle.AfterStart, cmd.Wait, Handle.Leftover). On an
// error (ErrWarmUnusable) the helper has been killed and reaped, nothing
// of the run started, and cmd is untouched: start it cold.
func (w *Warm) Start(cmd *exec.Cmd) (err error) {
	w.mu.Lock()
	if w.done {
		w.mu.Unlock()
		return fmt.Errorf("%w: already used", ErrWarmUnusable)
	}
	w.done = true
	w.mu.Unlock()
	defer func() {
		if err != nil {
			w.kill()
			err = fmt.Errorf("%w: %w", ErrWarmUnusable, err)
		}
	}()
	if cmd.Process != nil {
		return errors.New("command already started")
	}
	if cmd.Path != w.self || len(cmd.Args) < 2 || cmd.Args[0] != w.arg0 || cmd.Args[1] != HelperArg {
		return errors.New("command is not a wrapped helper of this binary")
	}
	if !reflect.DeepEqual(cmd.SysProcAttr, w.sys) {
		return errors.New("command wants a different sandbox shape")
	}
	if cmd.Env == nil {
		return errors.New("command has no explicit environment")
	}
	if w.mountsChanged() {
		return errors.New("the mount table changed since the helper started")
	}
	var files []*os.File
	var targets []int
	for i, s := range []any{cmd.Stdin, cmd.Stdout, cmd.Stderr} {
		f, ok := s.(*os.File)
		if !ok || f == nil {
			return fmt.Errorf("stdio %d is not a file", i)
		}
		files, targets = append(files, f), append(targets, i)
	}
	for i, f := range cmd.ExtraFiles {
		if f != nil {
			files, targets = append(files, f), append(targets, 3+i)
		}
	}
	if targets[len(targets)-1] >= warmReserved {
		return fmt.Errorf("the run needs descriptor %d; a warm helper has room below %d", targets[len(targets)-1], warmReserved)
	}
	spec := encodeSpec(cmd.Dir, cmd.Args[2:], cmd.Env, targets)
	defer clear(spec) // the environment may hold env-delivered secrets
	// Fd, as os/exec's Start does for the files it passes: it puts the
	// descriptor in blocking mode. The child shares the open file
	// description, so a pipe from os.Pipe handed over as it is would be
	// non-blocking in the child too, and a shell's `read` on an empty
	// stdin pipe would fail with EAGAIN instead of waiting for the data.
	fds := make([]int, len(files))
	for i, f := range files {
		fds[i] = int(f.Fd())
	}
	if err := sendSpec(w.ctl, spec, fds); err != nil {
		return err
	}
	for _, f := range files {
		runtime.KeepAlive(f) // the numbers sent were theirs
	}
	w.ctl.Close()
	unix.Close(w.mounts)
	cmd.Process = w.cmd.Process
	return nil
}

// Close kills and reaps a warm helper that was never handed a run. It is
// a no-op after a successful Start.
func (w *Warm) Close() error {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	if w.done {
		w.mu.Unlock()
		return nil
	}
	w.done = true
	w.mu.Unlock()
	w.kill()
	return nil
}

// kill ends the helper (and with its PID namespace anything in it) and
// waits for it.
func (w *Warm) kill() {
	w.cmd.Process.Kill()
	w.ctl.Close()
	unix.Close(w.mounts)
	w.cmd.Wait()
}

// mountsChanged reports a change to our mount table since the helper was
// cloned (or an error asking, which counts as a change).
func (w *Warm) mountsChanged() bool {
	pfd := []unix.PollFd{{Fd: int32(w.mounts), Events: unix.POLLPRI}}
	n, err := unix.Poll(pfd, 0)
	return err != nil || (n > 0 && pfd[0].Revents&(unix.POLLPRI|unix.POLLERR|unix.POLLNVAL) != 0)
}

// The spec travels as SOCK_SEQPACKET messages, each starting with the
// total length of the spec and the total number of descriptors (two
// little-endian uint32), then the next piece of the spec; the
// descriptors ride along, at most warmFDsPerMsg per message.
const (
	warmReserved  = 256 // descriptor numbers below this are free for the run in a warm helper
	warmChunk     = 32 << 10
	warmFDsPerMsg = 200
	warmMaxSpec   = 64 << 20
	warmMaxFDs    = 1 << 14
)

func sendSpec(ctl *os.File, spec []byte, fds []int) error {
	rc, err := ctl.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	cerr := rc.Control(func(fd uintptr) {
		data, rest := spec, fds
		first := true
		for first || len(data) > 0 || len(rest) > 0 {
			first = false
			n := min(len(data), warmChunk)
			k := min(len(rest), warmFDsPerMsg)
			msg := binary.LittleEndian.AppendUint32(nil, uint32(len(spec)))
			msg = binary.LittleEndian.AppendUint32(msg, uint32(len(fds)))
			msg = append(msg, data[:n]...)
			var oob []byte
			if k > 0 {
				oob = unix.UnixRights(rest[:k]...)
			}
			serr = sys.Sendmsg(int(fd), msg, oob, 0)
			clear(msg)
			if serr != nil {
				serr = os.NewSyscallError("sendmsg", serr)
				return
			}
			data, rest = data[n:], rest[k:]
		}
	})
	if cerr != nil {
		return cerr
	}
	return serr
}

// errWarmEOF: the launcher closed the socket without sending a run.
var errWarmEOF = errors.New("no run")

// receiveSpec reads one spec from ctl (blocking). Received descriptors
// are close-on-exec until installed.
func receiveSpec(ctl int) ([]byte, []int, error) {
	var spec []byte
	var fds []int
	fail := func(err error) ([]byte, []int, error) {
		for _, fd := range fds {
			unix.Close(fd)
		}
		clear(spec)
		return nil, nil, err
	}
	buf := make([]byte, 8+warmChunk)
	defer clear(buf)
	oob := make([]byte, unix.CmsgSpace(4*warmFDsPerMsg))
	total, nfds := -1, -1
	for total < 0 || len(spec) < total || len(fds) < nfds {
		n, oobn, flags, err := sys.Recvmsg(ctl, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err != nil {
			return fail(os.NewSyscallError("recvmsg", err))
		}
		if oobn > 0 {
			msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
			if err != nil {
				return fail(err)
			}
			for _, m := range msgs {
				got, err := unix.ParseUnixRights(&m)
				if err != nil {
					return fail(err)
				}
				fds = append(fds, got...)
			}
		}
		if n == 0 && oobn == 0 {
			return fail(errWarmEOF)
		}
		if flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 || n < 8 {
			return fail(errors.New("malformed run spec message"))
		}
		t, k := int(binary.LittleEndian.Uint32(buf)), int(binary.LittleEndian.Uint32(buf[4:]))
		if total < 0 {
			if t > warmMaxSpec || k > warmMaxFDs {
				return fail(errors.New("run spec too large"))
			}
			total, nfds = t, k
			spec = make([]byte, 0, total)
		}
		if t != total || k != nfds || len(spec)+n-8 > total || len(fds) > nfds {
			return fail(errors.New("inconsistent run spec"))
		}
		spec = append(spec, buf[8:n]...)
	}
	return spec, fds, nil
}

type warmSpec struct {
	dir     string
	args    []string
	env     []string
	targets []int
}

func encodeSpec(dir string, args, env []string, targets []int) []byte {
	b := binary.AppendUvarint(nil, uint64(len(dir)))
	b = append(b, dir...)
	for _, list := range [][]string{args, env} {
		b = binary.AppendUvarint(b, uint64(len(list)))
		for _, s := range list {
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(targets)))
	for _, t := range targets {
		b = binary.AppendUvarint(b, uint64(t))
	}
	return b
}

func decodeSpec(b []byte) (*warmSpec, error) {
	bad := errors.New("malformed run spec")
	num := func() (int, error) {
		v, n := binary.Uvarint(b)
		if n <= 0 || v > uint64(len(b))+maxFD {
			return 0, bad
		}
		b = b[n:]
		return int(v), nil
	}
	str := func() (string, error) {
		n, err := num()
		if err != nil || n > len(b) {
			return "", bad
		}
		s := string(b[:n])
		b = b[n:]
		return s, nil
	}
	list := func() ([]string, error) {
		n, err := num()
		if err != nil || n > len(b) {
			return nil, bad
		}
		out := make([]string, 0, n)
		for range n {
			s, err := str()
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	sp := &warmSpec{}
	var err error
	if sp.dir, err = str(); err != nil {
		return nil, err
	}
	if sp.args, err = list(); err != nil {
		return nil, err
	}
	if sp.env, err = list(); err != nil {
		return nil, err
	}
	n, err := num()
	if err != nil || n > len(b) {
		return nil, bad
	}
	for range n {
		t, err := num()
		if err != nil {
			return nil, err
		}
		sp.targets = append(sp.targets, t)
	}
	if len(b) != 0 {
		return nil, bad
	}
	return sp, nil
}

// warmMain is the warm helper: wait for one run, install what execve
// would have given a cold helper, then be that helper.
func warmMain(args []string, hardenErr error) int {
	ctl, err := warmCtl(args)
	if err != nil {
		return helperFail(-1, err)
	}
	// What does not depend on the run is done before it arrives, on this
	// (locked) thread: catching the signals to forward (the first
	// signal.Notify starts a thread of the runtime's, half a millisecond
	// on the run's path), and a private mount namespace of its own
	// (nothing is mounted in it yet; it is a copy of the launcher's view
	// at the clone, which Start checks is still current). Neither opens a
	// descriptor. A failure here is left for the run's own attempt to
	// report.
	pre := &prepared{fwd: startForwarding()}
	pre.privateNS = enterPrivateMountNS() == nil
	// Before the ready byte, so that no descriptor of ours is open, and
	// nothing of ours runs, once the run arrives.
	populate(mappedRanges())
	// Ready: StartWarm returns once this byte arrives, so a run never
	// lands on a helper still starting up.
	if err := unix.Sendmsg(ctl, []byte{'r'}, nil, nil, 0); err != nil {
		return 0
	}
	raw, fds, err := receiveSpec(ctl)
	unix.Close(ctl)
	if errors.Is(err, errWarmEOF) {
		return 0 // never used: nothing ran
	}
	if err != nil {
		return helperFail(-1, err)
	}
	sp, err := decodeSpec(raw)
	clear(raw)
	if err != nil {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return helperFail(-1, err)
	}
	if err := installFDs(sp.targets, fds); err != nil {
		return installFailed(sp, fds, err)
	}
	// From here on the descriptors are where execve would have put them:
	// failures are reported the cold helper's way (stderr, status fd).
	if sp.dir != "" {
		if err := unix.Chdir(sp.dir); err != nil {
			return helperFail(lenientStatusFD(sp.args), fmt.Errorf("chdir %s: %w", sp.dir, os.NewSyscallError("chdir", err)))
		}
	}
	// The run's descriptors above stderr are exactly the ones installed
	// (the placeholders are closed, everything else of ours is
	// close-on-exec): no /proc/self/fd walk as inheritedFDs does.
	pre.inherited = map[int]bool{}
	for _, t := range sp.targets {
		if t > 2 {
			unix.CloseOnExec(t)
			pre.inherited[t] = true
		}
	}
	return helperStage(sp.args, sp.env, pre, hardenErr)
}

// warmCtl checks the warm helper's arguments and returns its control
// socket, close-on-exec from now on; the placeholders StartWarm left on
// the other numbers below warmReserved are closed (they are the run's).
func warmCtl(args []string) (int, error) {
	if len(args) != 2 || args[0] != "--ctl-fd" {
		return -1, errors.New("usage: --warm --ctl-fd N")
	}
	ctl, err := parseFD(args[1])
	if err != nil {
		return -1, fmt.Errorf("invalid --ctl-fd %q: %w", args[1], err)
	}
	if _, err := unix.FcntlInt(uintptr(ctl), unix.F_GETFD, 0); err != nil {
		return -1, fmt.Errorf("invalid --ctl-fd %d: not an open descriptor", ctl)
	}
	unix.CloseOnExec(ctl)
	for fd := 3; fd < warmReserved; fd++ {
		if fd == ctl {
			continue
		}
		if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil && flags&unix.FD_CLOEXEC == 0 {
			unix.Close(fd)
		}
	}
	return ctl, nil
}

// installFailed reports a run whose descriptors could not be installed
// on its status pipe if there is one, wherever it is now, so the
// launcher reports a helper failure and not a run; it closes the rest.
func installFailed(sp *warmSpec, fds []int, err error) int {
	status := -1
	if i := slices.Index(sp.targets, lenientStatusFD(sp.args)); i >= 0 {
		if status = fds[i]; status < 0 {
			status = sp.targets[i]
		}
	}
	if status >= 0 {
		unix.Write(status, []byte(oneLine(err.Error())))
	}
	for _, fd := range fds {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	return helperFail(-1, err)
}

// installFDs puts received descriptor fds[i] at number targets[i], not
// close-on-exec, as execve would have passed it. Targets are 0, 1, 2 and
// then strictly increasing; a target number that is open in this process
// for anything else (stdio excepted) refuses the run rather than closing
// a descriptor of the runtime's. Installed entries of fds become -1; on an
// error the caller closes the rest.
func installFDs(targets, fds []int) error {
	if len(targets) != len(fds) || len(targets) < 3 || targets[0] != 0 || targets[1] != 1 || targets[2] != 2 ||
		!slices.IsSorted(targets) || len(slices.Compact(slices.Clone(targets))) != len(targets) || targets[len(targets)-1] > maxFD {
		return errors.New("malformed descriptor list in the run spec")
	}
	top := targets[len(targets)-1]
	// Move what we received above every target number first, so that no
	// dup3 below lands on a descriptor still to be installed.
	for i, fd := range fds {
		if fd <= top {
			nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, top+1)
			if err != nil {
				return fmt.Errorf("install descriptors: %w", os.NewSyscallError("fcntl(F_DUPFD_CLOEXEC)", err))
			}
			unix.Close(fd)
			fds[i] = nfd
		}
	}
	for _, t := range targets[3:] {
		if _, err := unix.FcntlInt(uintptr(t), unix.F_GETFD, 0); err == nil {
			return fmt.Errorf("install descriptors: %d is in use in the helper", t)
		}
	}
	for i, t := range targets {
		if err := unix.Dup3(fds[i], t, 0); err != nil {
			return fmt.Errorf("install descriptors: %w", os.NewSyscallError("dup3", err))
		}
		unix.Close(fds[i])
		fds[i] = -1
	}
	return nil
}

// mappedRanges lists this process's readable file-backed mappings (the
// envseal binary) for populate.
//
// Raw syscalls only: an os.File could start the runtime's netpoller,
// whose descriptors would then sit on the numbers the run needs.
func mappedRanges() [][2]uintptr {
	fd, err := unix.Open("/proc/self/maps", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	var maps []byte
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.Read(fd, buf)
		if n <= 0 || err != nil {
			break
		}
		maps = append(maps, buf[:n]...)
	}
	unix.Close(fd)
	var out [][2]uintptr
	for _, line := range strings.Split(string(maps), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || !strings.HasPrefix(f[1], "r") {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			continue
		}
		a, err1 := strconv.ParseUint(lo, 16, 64)
		b, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || b <= a || len(f) < 6 || !strings.HasPrefix(f[5], "/") {
			continue // file-backed only: the binary's code and data
		}
		out = append(out, [2]uintptr{uintptr(a), uintptr(b)})
	}
	return out
}

// populate maps the pages of ranges ahead of use (MADV_POPULATE_READ;
// best effort): the helper code that runs after the spec arrives has
// never run in this process, and its page faults on the run's path cost
// a millisecond and more.
func populate(ranges [][2]uintptr) {
	for _, r := range ranges {
		unix.Syscall(unix.SYS_MADVISE, r[0], r[1]-r[0], unix.MADV_POPULATE_READ)
	}
}
