//go:build linux && (amd64 || arm64)

package sandbox

import (
	"os"
	"path/filepath"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/envseal/envseal/internal/sys"
)

// A pinned file is served as a read-only copy mounted over its path
// inside the run's mount namespace (pins_linux.go). That mount is on the
// file's dentry, not on its name: a process in another mount namespace
// (the same-uid agent, outside the run) may unlink the file or rename
// something over it — or rename one of its directories away and make a
// new one — and the kernel then detaches the run's mount (or leaves it on
// the dead dentry), so that inside the run the path names the agent's
// file. A late import, a lazy require or node's fork() of its own
// process.execPath would then load the agent's code with the secret.
//
// The tripwire notices that and stops the run: before the first pin is
// mounted the helper watches, with one inotify descriptor, the directory
// of every pinned path and each of its ancestors up to / (as the helper's
// own view resolves them, which is the run's), for an entry of the
// pinned path's next component being deleted, moved away, moved over or
// created, and for the watched directory itself being deleted or moved.
// Any such event SIGKILLs every process of the run (kill(-1) as PID 1 of
// its PID namespace) and the helper's end report says which pinned path
// it was (Handle.Tripped): the run fails with *PinReplacedError. An
// event seen before the target was started fails the helper instead:
// nothing of the program runs.
//
// It is a tripwire, not a proof. The kill follows the event by the time
// it takes the helper to be woken, read the event and call kill — tens
// of microseconds, more on a loaded machine: a program that loads the
// path within that window after the agent's swap (an agent that watches
// the run, swaps and the program's next open happens at once) can still
// read the agent's file before it dies. What the run loads later, after
// a sleep, on a request, in a forked child, is stopped. A lost event
// (the inotify queue overflowed: an agent flooding the watched
// directories) stops the run too, since a swap may have been among the
// lost. The run itself changing a watched entry (a build renaming its
// own source directory) stops it as well.

// tripMask is what is watched on each directory: its entries created,
// deleted or renamed (from or to), and the directory itself deleted or
// renamed.
const tripMask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
	unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ONLYDIR

// tripwire is the inotify descriptor of one run and what its watches
// guard.
type tripwire struct {
	fd    int
	file  *os.File                    // fd once armed (it then owns it)
	dirs  map[string]int32            // watched directory path → its watch
	names map[int32]map[string]string // watch → entry names that matter → the pinned path each leads to
	first map[int32]string            // watch → a pinned path beneath it (for an event on the directory itself)
	hit   atomic.Pointer[string]      // the pinned path whose name changed ("" lost events); nil: none
}

// newTripwire opens the inotify descriptor (close-on-exec: the target
// never holds it).
func newTripwire() (*tripwire, error) {
	fd, err := sys.Retry(func() (int, error) { return unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK) })
	if err != nil {
		return nil, os.NewSyscallError("inotify_init1", err)
	}
	return &tripwire{fd: fd, dirs: map[string]int32{}, names: map[int32]map[string]string{}, first: map[int32]string{}}, nil
}

// guard watches every directory that resolves pin (an absolute path):
// its parent and each ancestor up to /, through the path as given and,
// if a symlink lies on the way, its resolved form too. A directory
// already watched for another pin stops the walk up (its ancestors are
// watched already).
func (t *tripwire) guard(pin string) error {
	if err := t.guardChain(pin, pin); err != nil {
		return err
	}
	if real, err := filepath.EvalSymlinks(pin); err == nil && real != pin {
		return t.guardChain(real, pin)
	}
	return nil
}

func (t *tripwire) guardChain(p, pin string) error {
	for child := filepath.Clean(p); child != "/"; child = filepath.Dir(child) {
		dir, name := filepath.Dir(child), filepath.Base(child)
		wd, seen := t.dirs[dir]
		if !seen {
			w, err := sys.Retry(func() (int, error) { return unix.InotifyAddWatch(t.fd, dir, tripMask) })
			if err != nil {
				return &os.PathError{Op: "watch", Path: dir, Err: err}
			}
			wd = int32(w)
			t.dirs[dir] = wd
			if t.names[wd] == nil { // the same directory by another path has the same watch
				t.names[wd] = map[string]string{}
				t.first[wd] = pin
			}
		}
		if _, ok := t.names[wd][name]; !ok {
			t.names[wd][name] = pin
		}
		if seen {
			return nil
		}
	}
	return nil
}

// poll reads the events queued so far without waiting and returns the
// tripped pin (see tripped).
func (t *tripwire) poll() (string, bool) {
	var buf [4096]byte
	for {
		n, err := sys.Retry(func() (int, error) { return unix.Read(t.fd, buf[:]) })
		if err != nil || n <= 0 {
			return t.tripped()
		}
		t.scan(buf[:n])
	}
}

// arm watches from a goroutine of its own until the helper exits: the
// first event that touches a guarded name calls kill, once.
func (t *tripwire) arm(kill func()) {
	f := os.NewFile(uintptr(t.fd), "inotify") // non-blocking: read through the runtime's poller
	t.file = f
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			if err != nil {
				return
			}
			if t.scan(buf[:n]) {
				kill()
				return
			}
		}
	}()
}

// close closes the descriptor (the helper never does: the wire lasts
// until it exits).
func (t *tripwire) close() {
	if t.file != nil {
		t.file.Close()
		return
	}
	unix.Close(t.fd)
}

// scan records the first event of b that trips the wire; it reports
// whether one did.
func (t *tripwire) scan(b []byte) bool {
	for len(b) >= unix.SizeofInotifyEvent {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&b[0]))
		end := unix.SizeofInotifyEvent + int(ev.Len)
		if end > len(b) {
			break
		}
		name := nameOf(b[unix.SizeofInotifyEvent:end])
		b = b[end:]
		switch {
		case ev.Mask&unix.IN_Q_OVERFLOW != 0:
			t.trip("")
		case ev.Mask&(unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_IGNORED|unix.IN_UNMOUNT) != 0:
			if pin, ok := t.first[ev.Wd]; ok {
				t.trip(pin)
			}
		default:
			if pin, ok := t.names[ev.Wd][name]; ok {
				t.trip(pin)
			}
		}
	}
	return t.hit.Load() != nil
}

func (t *tripwire) trip(pin string) { t.hit.CompareAndSwap(nil, &pin) }

// tripped is the pinned path whose name changed ("" when events were
// lost); ok is false while nothing tripped.
func (t *tripwire) tripped() (string, bool) {
	if p := t.hit.Load(); p != nil {
		return *p, true
	}
	return "", false
}

// nameOf is an event's entry name without its NUL padding.
func nameOf(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
