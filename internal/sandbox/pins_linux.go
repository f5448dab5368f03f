package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/envseal/envseal/internal/sys"
)

// servePins mounts a read-only copy of each pinned file's bytes over its
// path (docs/ARCHITECTURE.md kernel fact 5). The copies live on one detached tmpfs that no
// path names, so nothing outside this mount namespace — or inside it — can
// write them, and the mounts are locked to the user namespace: the program
// cannot unmount them to see what lies beneath.
//
// Why copies and not the memfds: a memfd cannot be a bind-mount source
// (it lives on a kernel-internal mount; EINVAL).
//
// covered(p) reports a path the run cannot see at all (beneath lockdown's
// fresh /tmp or a hidden dir, and not beneath a writable dir re-bound on
// top): such a pin is skipped, since nothing there can be read.
//
// The --exec-pin copy, once mounted, takes the place of the target's
// image: its descriptor goes to h.targetFD's number, which startTarget
// execs, so the target runs from its real path (a pin that was skipped
// leaves the sealed memfd there).
//
// Each served path is guarded by the returned tripwire (tripwire_linux.go)
// from before its mount on: the mount holds the file's dentry, and the
// agent, in another mount namespace, can still unlink or rename that
// name, after which the path inside the run names the agent's file.
func servePins(h *helperArgs, covered func(string) bool) (*tripwire, error) {
	pins := h.pins
	if len(pins) == 0 {
		return nil, nil
	}
	tw, err := newTripwire()
	if err != nil {
		return nil, fmt.Errorf("pinned files: %w", err)
	}
	if err := mountPins(h, tw, covered); err != nil {
		tw.close()
		return nil, err
	}
	return tw, nil
}

// mountPins copies the pins to a detached tmpfs and mounts each copy over
// its path, guarding the path with tw first.
func mountPins(h *helperArgs, tw *tripwire, covered func(string) bool) error {
	pins := h.pins
	fsfd, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("pinned files: %w", os.NewSyscallError("fsopen(tmpfs)", err))
	}
	defer unix.Close(fsfd)
	if err := unix.FsconfigSetString(fsfd, "mode", "0755"); err != nil {
		return fmt.Errorf("pinned files: %w", os.NewSyscallError("fsconfig", err))
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return fmt.Errorf("pinned files: %w", os.NewSyscallError("fsconfig(create)", err))
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV)
	if err != nil {
		return fmt.Errorf("pinned files: %w", os.NewSyscallError("fsmount", err))
	}
	defer unix.Close(mfd)
	for i, p := range pins {
		if err := copyPin(mfd, strconv.Itoa(i), p); err != nil {
			return fmt.Errorf("pinned file %s: %w", p.path, err)
		}
	}
	ro := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	if err := unix.MountSetattr(mfd, "", unix.AT_EMPTY_PATH, &ro); err != nil {
		return fmt.Errorf("pinned files: %w", os.NewSyscallError("mount_setattr", err))
	}
	for i, p := range pins {
		tree, err := unix.OpenTree(mfd, strconv.Itoa(i), unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
		if err != nil {
			return fmt.Errorf("pinned file %s: %w", p.path, os.NewSyscallError("open_tree", err))
		}
		// The path must still be a regular file: a pinned file the agent
		// removed or replaced by a directory fails the run closed.
		var st unix.Stat_t
		if err := unix.Stat(p.path, &st); errors.Is(err, unix.ENOENT) && covered(p.path) {
			unix.Close(tree)
			unix.Close(p.fd)
			continue
		}
		if err := unix.Stat(p.path, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
			unix.Close(tree)
			if err == nil {
				err = errors.New("no longer a regular file")
			}
			return fmt.Errorf("pinned file %s changed before the run: %w", p.path, err)
		}
		// Watched before it is mounted: a swap from here on trips the
		// wire; one before lands under the mount, which serves the copy.
		if err := tw.guard(p.path); err != nil {
			unix.Close(tree)
			return fmt.Errorf("pinned file %s: %w", p.path, err)
		}
		err = unix.MoveMount(tree, "", unix.AT_FDCWD, p.path, unix.MOVE_MOUNT_F_EMPTY_PATH)
		if err == nil && p.path == h.execPin {
			err = execFromPin(tree, h.targetFD)
		}
		unix.Close(tree)
		if err != nil {
			return fmt.Errorf("pinned file %s: %w", p.path, err)
		}
		unix.Close(p.fd)
	}
	return nil
}

// execFromPin puts the mounted image's descriptor (tree, an O_PATH
// descriptor of the mount) at the target's number: the target execs it
// through /proc/self/fd, and /proc/self/exe then names the mount point,
// the program's real path.
func execFromPin(tree, targetFD int) error {
	if err := unix.Dup3(tree, targetFD, unix.O_CLOEXEC); err != nil {
		return os.NewSyscallError("dup3", err)
	}
	return nil
}

// copyAt copies everything readable on fd into out, reading at explicit
// offsets (an image descriptor shares its offset with other runs):
// sendfile, in the kernel, for a large binary; pread where sendfile
// cannot.
func copyAt(out *os.File, fd int) error {
	var off int64
	for {
		n, err := sys.Retry(func() (int, error) { return unix.Sendfile(int(out.Fd()), fd, &off, 1<<30) })
		if err == unix.EAGAIN {
			continue
		}
		if err != nil {
			if off == 0 && (errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS)) {
				break
			}
			return fmt.Errorf("copy: %w", os.NewSyscallError("sendfile", err))
		}
		if n == 0 {
			return nil
		}
	}
	if _, err := io.Copy(out, io.NewSectionReader(preader(fd), 0, 1<<62)); err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	return nil
}

// preader reads a descriptor at explicit offsets without owning it (an
// *os.File would close it when collected).
type preader int

func (r preader) ReadAt(b []byte, off int64) (int, error) {
	n, err := unix.Pread(int(r), b, off)
	if err != nil {
		return 0, os.NewSyscallError("pread", err)
	}
	if n == 0 && len(b) > 0 {
		return 0, io.EOF
	}
	return n, nil
}

func copyPin(mfd int, name string, p pinArg) error {
	dst, err := unix.Openat(mfd, name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, p.mode)
	if err != nil {
		return os.NewSyscallError("openat", err)
	}
	out := os.NewFile(uintptr(dst), name)
	defer out.Close()
	if err := copyAt(out, p.fd); err != nil {
		return err
	}
	if err := unix.Fchmod(dst, p.mode); err != nil { // the umask applied to openat
		return os.NewSyscallError("fchmod", err)
	}
	return nil
}

// freshPTS mounts a new devpts instance over /dev/pts: the run sees only
// the terminals it creates itself, never the human's (whose /dev/pts/N is
// the user's own and would otherwise open for reading and writing).
func freshPTS() error {
	if !isDir("/dev/pts") {
		return nil
	}
	if err := unix.Mount("devpts", "/dev/pts", "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"); err != nil {
		return fmt.Errorf("fresh /dev/pts: %w", os.NewSyscallError("mount", err))
	}
	if err := unix.Mount("/dev/pts/ptmx", "/dev/ptmx", "", unix.MS_BIND, ""); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("fresh /dev/ptmx: %w", os.NewSyscallError("mount", err))
	}
	return nil
}

// Covered reports whether path lies where a run with o cannot see it —
// beneath a lockdown run's fresh /tmp, /var/tmp or /dev/shm, or a hidden
// directory, and not beneath a writable one mounted back — so a pinned
// file there cannot be served at its path.
func Covered(o Options, path string) bool {
	return o.Tier == Lockdown && coveredByLockdown(path, append([]string{o.Cwd}, o.RW...), o.Hide)
}

// coveredByLockdown: beneath a fresh tmpfs (/tmp, /var/tmp, /dev/shm) or a
// hidden dir, and not beneath a writable dir mounted back on top.
func coveredByLockdown(p string, writable, hide []string) bool {
	under := func(dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }
	for _, w := range writable {
		if under(w) {
			return false
		}
	}
	for _, d := range append(append([]string(nil), tmpDirs...), hide...) {
		if under(d) {
			return true
		}
	}
	return false
}

// execPinArg sets h.execPin from the one Pin marked Exec, checked as the
// helper will check it.
func execPinArg(h *helperArgs, pins []Pin) error {
	for _, p := range pins {
		if !p.Exec {
			continue
		}
		if h.execPin != "" {
			return fmt.Errorf("sandbox: two pins marked Exec (%s, %s)", h.execPin, p.Path)
		}
		h.execPin = p.Path
	}
	if err := checkExecPin(h.pins, h.execPin); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	return nil
}
