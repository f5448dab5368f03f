//go:build linux && (amd64 || arm64)

package sandbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/envseal/envseal/internal/sys"
)

// The jail's pin holder.
//
// A pinned file is served to a run as a copy mounted over its path in the
// run's own mount namespace. A mount holds a dentry, not a name: from
// another mount namespace the agent can unlink the name, rename another
// file over it or rename a directory on its way, and the kernel then
// detaches the run's mount (or leaves it on the deleted entry), so a late
// import reads the agent's file. The kernel refuses those operations with
// EBUSY only where the dentry is a mount point in the caller's own mount
// namespace.
//
// So `envseal jail` leaves one process behind in the agent's mount
// namespace, the holder: started by the jail helper before it drops its
// capabilities, Landlock and seccomp, non-dumpable, in a session of its
// own and outside the agent's Landlock domain (the agent can neither
// ptrace nor signal it, and its seccomp forbids new mount namespaces, so
// every agent process shares this one). While a run of the jail's agent
// is served, the broker asks the holder to hold its pinned paths: the
// holder bind-mounts each path, and each directory on its way that the
// agent could rename, onto itself. The agent then gets EBUSY for every
// unlink or rename that would swap what the run sees; a write in place
// still works (the run reads its copy). When the run ends the broker
// releases them; a broker that goes away releases all it held.
//
// The holder's control socket (fd 3, SOCK_SEQPACKET) comes from the
// outer `envseal jail` process, which hands it one channel per broker
// that registers the jail (JailOptions.Register): a message with one
// descriptor, the holder's end of that channel. On a channel:
//
//	'H' id(4) path NUL path …  hold these paths; answered 'k' id or 'e' id message
//	'U' id(4)                  release hold id (no answer)
const holderFlag = "--jail-holder"

// holderMsgMax bounds one message on a channel (paths are at most
// PATH_MAX each; a run pins at most a few thousand files).
const holderMsgMax = 1 << 20

// holderArgs builds the holder's command line: the agent's uid (the
// owner whose directories count as the agent's) and the jail's --rw dirs.
func holderArgs(uid int, rw []string) []string {
	args := []string{"envseal", HelperArg, holderFlag, "--uid", fmt.Sprint(uid)}
	for _, d := range rw {
		args = append(args, "--rw", d)
	}
	return args
}

// startHolder starts the holder from the calling (locked) thread, so it
// shares the thread's mount namespace and keeps CAP_SYS_ADMIN in the
// jail's user namespace, with ctl as its fd 3. It returns once the
// holder said it is ready (non-dumpable, in its own session).
func startHolder(ctl *os.File, uid int, rw []string) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("pin holder: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("pin holder: %w", err)
	}
	defer r.Close()
	null, err := os.Open(os.DevNull)
	if err != nil {
		w.Close()
		return fmt.Errorf("pin holder: %w", err)
	}
	defer null.Close()
	attr := &os.ProcAttr{Files: []*os.File{null, null, os.Stderr, ctl, w}, Env: []string{}}
	p, err := os.StartProcess(self, holderArgs(uid, rw), attr)
	w.Close()
	if err != nil {
		return fmt.Errorf("pin holder: %w", err)
	}
	p.Release()
	var b [64]byte
	n, _ := r.Read(b[:])
	if string(b[:n]) != "ready" {
		return fmt.Errorf("pin holder did not start: %q", b[:n])
	}
	return nil
}

// awaitHolder waits for the holder's 'R' on ctl: true once it runs,
// false when the helper ended before starting it (EOF).
func awaitHolder(ctl *os.File) bool {
	b := make([]byte, 1)
	n, err := ctl.Read(b)
	return err == nil && n == 1 && b[0] == 'R'
}

// holderMain is the holder process: fd 3 its control socket, fd 4 the
// pipe it says "ready" on.
func holderMain(args []string) int {
	ready := os.NewFile(4, "ready")
	fail := func(err error) int {
		ready.WriteString(oneLine(err.Error()))
		return HelperExitCode
	}
	if err := sys.SetDumpable(false); err != nil {
		return fail(err)
	}
	if _, err := unix.Setsid(); err != nil {
		return fail(os.NewSyscallError("setsid", err))
	}
	h := &holder{uid: -1, held: map[string]*heldPath{}}
	for i := 0; i+1 < len(args); i += 2 {
		switch args[i] {
		case "--uid":
			fmt.Sscan(args[i+1], &h.uid)
		case "--rw":
			h.rw = append(h.rw, filepath.Clean(args[i+1]))
		default:
			return fail(fmt.Errorf("unexpected argument %q", args[i]))
		}
	}
	if h.uid < 0 {
		return fail(errors.New("no --uid"))
	}
	ready.WriteString("ready")
	ready.Close()
	// The outer `envseal jail` registers the jail with the broker once it
	// reads this, before it lets the agent start.
	if err := sys.Sendmsg(3, []byte{'R'}, nil, 0); err != nil {
		return HelperExitCode
	}
	h.serveControl(3)
	return 0
}

// holder is the holder's state: every path it holds, with how many holds
// share it.
type holder struct {
	uid  int
	rw   []string
	mu   sync.Mutex
	held map[string]*heldPath
}

type heldPath struct {
	count int
	mnt   uint64 // the mount ID of the bind we made
}

// serveControl takes channels from the control socket until it closes
// (the outer `envseal jail` exited), then returns.
func (h *holder) serveControl(fd int) {
	buf := make([]byte, 16)
	oob := make([]byte, unix.CmsgSpace(4))
	for {
		_, oobn, _, err := sys.Recvmsg(fd, buf, oob, 0)
		if err != nil {
			return
		}
		if oobn == 0 {
			// A message with no descriptor: EOF on SEQPACKET, or garbage.
			return
		}
		fds, err := parseRights(oob[:oobn])
		if err != nil {
			continue
		}
		for _, c := range fds {
			go h.serveChannel(c)
		}
	}
}

func parseRights(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var fds []int
	for _, m := range msgs {
		f, err := unix.ParseUnixRights(&m)
		if err == nil {
			fds = append(fds, f...)
		}
	}
	return fds, nil
}

// serveChannel answers one broker's holds; when the broker goes away
// (EOF), everything it still held is released.
func (h *holder) serveChannel(fd int) {
	defer unix.Close(fd)
	holds := map[uint32][]string{}
	defer func() {
		for _, paths := range holds {
			h.release(paths)
		}
	}()
	buf := make([]byte, holderMsgMax)
	for {
		n, _, _, err := sys.Recvmsg(fd, buf, nil, 0)
		if err != nil || n < 5 {
			return
		}
		id := binary.BigEndian.Uint32(buf[1:5])
		switch buf[0] {
		case 'H':
			var reply []byte
			paths, err := h.hold(strings.Split(string(buf[5:n]), "\x00"))
			if err != nil {
				reply = append([]byte{'e', 0, 0, 0, 0}, oneLine(err.Error())...)
			} else {
				holds[id] = paths
				reply = []byte{'k', 0, 0, 0, 0}
			}
			binary.BigEndian.PutUint32(reply[1:5], id)
			if _, err := sys.Retry(func() (int, error) { return unix.Write(fd, reply) }); err != nil {
				return
			}
		case 'U':
			h.release(holds[id])
			delete(holds, id)
		default:
			return
		}
	}
}

// hold holds each of paths (with the directories on its way that the
// agent could rename) and returns what it took, in the order taken; on
// an error it has released what it took.
func (h *holder) hold(paths []string) ([]string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var taken []string
	for _, p := range paths {
		if p == "" {
			continue
		}
		ways, err := h.toHold(p)
		if err == nil {
			for _, w := range ways {
				if err = h.take(w); err != nil {
					break
				}
				taken = append(taken, w)
			}
		}
		if err != nil {
			h.releaseLocked(taken)
			return nil, fmt.Errorf("hold %s: %w", p, err)
		}
	}
	return taken, nil
}

// toHold lists what must be held for path p: each component, from the
// top, whose parent directory the agent can change (owned by its uid,
// or group/other-writable; beneath a --rw dir when the jail has any).
// A path the jail does not show as a regular file (beneath its private
// /tmp, hidden) is nothing the agent can swap: nothing to hold.
func (h *holder) toHold(p string) ([]string, error) {
	p = filepath.Clean(p)
	if !filepath.IsAbs(p) || p == "/" {
		return nil, fmt.Errorf("not an absolute file path")
	}
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, nil
	}
	var ways []string
	for cur := p; cur != "/"; cur = filepath.Dir(cur) {
		parent := filepath.Dir(cur)
		var ps unix.Stat_t
		if err := unix.Lstat(parent, &ps); err != nil {
			return nil, os.NewSyscallError("lstat "+parent, err)
		}
		if ps.Mode&unix.S_IFMT != unix.S_IFDIR {
			return nil, fmt.Errorf("%s is no longer a directory", parent)
		}
		if h.agentWritable(parent, &ps) {
			ways = append(ways, cur)
		}
	}
	for i, j := 0, len(ways)-1; i < j; i, j = i+1, j-1 {
		ways[i], ways[j] = ways[j], ways[i]
	}
	return ways, nil
}

func (h *holder) agentWritable(dir string, st *unix.Stat_t) bool {
	if len(h.rw) > 0 {
		in := false
		for _, d := range h.rw {
			if dir == d || strings.HasPrefix(dir, strings.TrimSuffix(d, "/")+"/") {
				in = true
			}
		}
		if !in {
			return false
		}
	}
	return int(st.Uid) == h.uid || st.Mode&0o022 != 0
}

// take holds one path: a recursive bind of it onto itself (its
// submounts, the jail's covers among them, come along), so its dentry is
// a mount point in this namespace.
func (h *holder) take(p string) error {
	if hp := h.held[p]; hp != nil {
		hp.count++
		return nil
	}
	tree, err := unix.OpenTree(unix.AT_FDCWD, p, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE|unix.AT_SYMLINK_NOFOLLOW)
	if err != nil {
		return os.NewSyscallError("open_tree", err)
	}
	defer unix.Close(tree)
	if err := unix.MoveMount(tree, "", unix.AT_FDCWD, p, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return os.NewSyscallError("move_mount", err)
	}
	id, err := mountID(p)
	if err != nil {
		unix.Unmount(p, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW)
		return err
	}
	h.held[p] = &heldPath{count: 1, mnt: id}
	return nil
}

func mountID(p string) (uint64, error) {
	var stx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, p, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &stx); err != nil {
		return 0, os.NewSyscallError("statx", err)
	}
	return stx.Mnt_id, nil
}

func (h *holder) release(paths []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.releaseLocked(paths)
}

// releaseLocked undoes takes, last first: a path's bind goes when no
// hold shares it, and only if it is still the mount on top there.
func (h *holder) releaseLocked(paths []string) {
	for i := len(paths) - 1; i >= 0; i-- {
		p := paths[i]
		hp := h.held[p]
		if hp == nil {
			continue
		}
		if hp.count--; hp.count > 0 {
			continue
		}
		delete(h.held, p)
		if id, err := mountID(p); err == nil && id == hp.mnt {
			unix.Unmount(p, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW)
		}
	}
}

// NewHolderChannel makes a channel to the jail's pin holder: it sends
// the holder its end over the control socket and returns the other, for
// a broker (JailOptions.Register).
func newHolderChannel(ctl *os.File) (*os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socketpair", err)
	}
	defer unix.Close(fds[1])
	raw, err := ctl.SyscallConn()
	if err != nil {
		unix.Close(fds[0])
		return nil, err
	}
	var serr error
	raw.Control(func(fd uintptr) {
		serr = sys.Sendmsg(int(fd), []byte{'C'}, unix.UnixRights(fds[1]), 0)
	})
	if serr != nil {
		unix.Close(fds[0])
		return nil, fmt.Errorf("pin holder: %w", os.NewSyscallError("sendmsg", serr))
	}
	return os.NewFile(uintptr(fds[0]), "pin-holder"), nil
}

// Holder is a broker's channel to one jail's pin holder.
type Holder struct {
	mu   sync.Mutex
	f    *os.File
	next uint32
}

// NewHolder takes over fd, a channel received with a jail's
// registration.
func NewHolder(fd int) (*Holder, error) {
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	return &Holder{f: os.NewFile(uintptr(fd), "pin-holder")}, nil
}

// holdTimeout bounds one hold: mounts take microseconds; a holder that
// does not answer fails the run.
const holdTimeout = 5 * time.Second

// Close closes the channel; the holder releases what it still holds.
func (h *Holder) Close() error { return h.f.Close() }

// ErrHolder is wrapped by Hold's errors.
var ErrHolder = errors.New("the jail could not hold the pinned files in place")

// Hold asks the holder to hold paths for one run; release gives them
// back (call it once the run's processes are gone).
func (h *Holder) Hold(paths []string) (release func(), err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.next++
	id := h.next
	msg := make([]byte, 5, 5+64*len(paths))
	msg[0] = 'H'
	binary.BigEndian.PutUint32(msg[1:5], id)
	msg = append(msg, strings.Join(paths, "\x00")...)
	if len(msg) > holderMsgMax {
		return nil, fmt.Errorf("%w: too many paths (%d)", ErrHolder, len(paths))
	}
	h.f.SetDeadline(time.Now().Add(holdTimeout))
	defer h.f.SetDeadline(time.Time{})
	if _, err := h.f.Write(msg); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHolder, err)
	}
	reply := make([]byte, 4096)
	n, err := h.f.Read(reply)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrHolder, err)
	case n < 5 || binary.BigEndian.Uint32(reply[1:5]) != id:
		return nil, fmt.Errorf("%w: bad answer", ErrHolder)
	case reply[0] == 'e':
		return nil, fmt.Errorf("%w: %s", ErrHolder, reply[5:n])
	case reply[0] != 'k':
		return nil, fmt.Errorf("%w: bad answer", ErrHolder)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			u := []byte{'U', 0, 0, 0, 0}
			binary.BigEndian.PutUint32(u[1:5], id)
			h.mu.Lock()
			h.f.Write(u)
			h.mu.Unlock()
		})
	}, nil
}
