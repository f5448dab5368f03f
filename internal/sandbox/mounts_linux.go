//go:build linux && (amd64 || arm64)

package sandbox

import (
	"errors"
	"fmt"
	"os"
	"slices"

	"golang.org/x/sys/unix"
)

// tmpDirs get a fresh, empty tmpfs under lockdown: the host's scratch
// files (other programs' temp files, sockets, build caches) are not the
// child's business, and what the child leaves there dies with it.
var tmpDirs = []string{"/tmp", "/var/tmp", "/dev/shm"}

const (
	tmpOptions  = "size=256m,mode=1777"
	hideOptions = "size=4k,mode=0555"
)

// nsID identifies a namespace by the device and inode its /proc link
// points to (what lsns and nsenter compare).
type nsID struct{ dev, ino uint64 }

func namespaceOf(link string) (nsID, error) {
	var st unix.Stat_t
	if err := unix.Stat(link, &st); err != nil {
		return nsID{}, &os.PathError{Op: "stat", Path: link, Err: err}
	}
	return nsID{uint64(st.Dev), st.Ino}, nil
}

// errHostMountNS: the helper was started in PID 1's mount namespace
// (someone ran it by hand, or a launcher forgot CLONE_NEWNS). Every
// mount it would make — / read-only, tmpfs over /tmp — would then hit the
// whole system.
var errHostMountNS = errors.New("refusing to touch mounts: this is PID 1's mount namespace (the helper only runs under envseal's sandbox)")

// initMountNS is PID 1's mount namespace link (a variable so the tests
// can stand in for a PID 1 whose link is readable).
var initMountNS = "/proc/1/ns/mnt"

// enterPrivateMountNS makes sure the mounts that follow cannot reach any
// other process, before the first one is made:
//
//  1. The thread's mount namespace must differ from PID 1's, or we
//     refuse. Reading PID 1's link needs ptrace access to PID 1, which an
//     unprivileged helper never has (and on this machine kind not even
//     root has): EACCES and EPERM leave the question open for step 2; any
//     other failure to read either link refuses.
//  2. It then unshares a mount namespace of its own and checks that the
//     namespace changed. After that the helper's namespace is new and
//     shared with no other process, whatever it was before, so an open
//     question from step 1 is answered by construction. A helper that
//     cannot unshare (an unprivileged one run by hand in the host
//     namespace has no CAP_SYS_ADMIN over it) refuses.
//  3. / becomes recursively MS_PRIVATE, so no mount below propagates to a
//     peer group outside (systemd makes / shared).
//
// The thread must be locked: unshare moves only the calling thread, and
// the target is forked from this thread.
func enterPrivateMountNS() error {
	self, err := namespaceOf("/proc/thread-self/ns/mnt")
	if err != nil {
		return fmt.Errorf("cannot tell which mount namespace this is: %w", err)
	}
	init, err := namespaceOf(initMountNS)
	switch {
	case err == nil && init == self:
		return errHostMountNS
	case err == nil:
	case errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM):
	default:
		return fmt.Errorf("cannot tell whether this is PID 1's mount namespace: %w", err)
	}
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("cannot tell whether this is PID 1's mount namespace, and cannot create a private one: %w", os.NewSyscallError("unshare(CLONE_NEWNS)", err))
	}
	now, err := namespaceOf("/proc/thread-self/ns/mnt")
	if err != nil {
		return fmt.Errorf("cannot tell which mount namespace this is: %w", err)
	}
	if now == self || now == init {
		return errors.New("refusing to touch mounts: unshare did not give a new mount namespace")
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private: %w", os.NewSyscallError("mount", err))
	}
	return nil
}

// enterPrivateNetNS gives the thread a new, empty network namespace and
// brings its loopback up, so that a test suite talking to a server it
// started itself keeps working while the host's listeners — on 127.0.0.1
// too — stay out of reach. The helper creates it itself, like the mount
// namespace, so the interface it configures can never be the host's.
func enterPrivateNetNS() error {
	before, err := namespaceOf("/proc/thread-self/ns/net")
	if err != nil {
		return fmt.Errorf("cannot tell which network namespace this is: %w", err)
	}
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("new network namespace: %w", os.NewSyscallError("unshare(CLONE_NEWNET)", err))
	}
	if now, err := namespaceOf("/proc/thread-self/ns/net"); err != nil || now == before {
		return errors.New("refusing to configure the network: unshare did not give a new network namespace")
	}
	return loopbackUp()
}

// lockdownMounts builds the child's view of the filesystem, in the private
// mount namespace enterPrivateMountNS made:
//
//   - the writable dirs (cwd, --rw) are cloned as detached bind mounts
//     first, while / is still writable and before the tmpfs on /tmp would
//     hide a cwd under /tmp;
//   - / and every mount below it become read-only (mount_setattr with
//     AT_RECURSIVE: a plain bind remount would leave submounts like /home
//     writable);
//   - fresh tmpfs on /tmp, /var/tmp, /dev/shm;
//   - the writable clones are attached at their old paths, shortest path
//     first so a --rw dir inside the cwd ends up on top;
//   - each hidden dir is covered by an empty read-only tmpfs, last, so it
//     stays covered even inside a writable dir;
//   - a new /proc for the new PID namespace (host processes disappear).
//
// It returns every writable place, for Landlock.
func lockdownMounts(h *helperArgs) ([]string, error) {
	writable, trees, err := cloneWritable(h)
	defer func() {
		for _, fd := range trees {
			if fd > 0 {
				unix.Close(fd)
			}
		}
	}()
	if err != nil {
		return nil, err
	}
	ro := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	if err := unix.MountSetattr(unix.AT_FDCWD, "/", unix.AT_RECURSIVE, &ro); err != nil {
		return nil, fmt.Errorf("make / read-only: %w", os.NewSyscallError("mount_setattr", err))
	}
	places, err := freshTmpDirs()
	if err != nil {
		return nil, err
	}
	if err := attachWritable(writable, trees); err != nil {
		return nil, err
	}
	places = append(places, writable...)
	if err := hideDirs(h.hide); err != nil {
		return nil, err
	}
	if h.newPTS {
		if err := freshPTS(); err != nil {
			return nil, err
		}
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return nil, fmt.Errorf("mount a new /proc: %w (a /proc with files mounted over it, as in many containers, cannot be remounted in a user namespace)", os.NewSyscallError("mount", err))
	}
	// The old working directory is the read-only mount under the new
	// writable one; step onto the top of the stack.
	if err := unix.Chdir(h.cwd); err != nil {
		return nil, fmt.Errorf("chdir %s: %w", h.cwd, os.NewSyscallError("chdir", err))
	}
	return places, nil
}

// cloneWritable clones each writable dir (the cwd and --rw, shortest
// path first) as a detached bind mount, while / is still writable; the
// caller closes the returned trees (also on error).
func cloneWritable(h *helperArgs) ([]string, []int, error) {
	writable := []string{h.cwd}
	for _, d := range h.rw {
		if !slices.Contains(writable, d) {
			writable = append(writable, d)
		}
	}
	slices.SortStableFunc(writable, func(a, b string) int { return len(a) - len(b) })
	trees := make([]int, len(writable))
	for i, d := range writable {
		fd, err := unix.OpenTree(unix.AT_FDCWD, d, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
		if err != nil {
			return nil, trees, fmt.Errorf("writable dir %s: %w", d, os.NewSyscallError("open_tree", err))
		}
		trees[i] = fd
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return nil, trees, fmt.Errorf("writable dir %s: %w", d, os.NewSyscallError("fstat", err))
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return nil, trees, fmt.Errorf("writable dir %s: not a directory", d)
		}
	}
	return writable, trees, nil
}

// freshTmpDirs mounts an empty tmpfs on each of tmpDirs that exists.
func freshTmpDirs() ([]string, error) {
	var places []string
	for _, d := range tmpDirs {
		if !isDir(d) {
			continue // nothing to cover; the read-only / has no such dir
		}
		if err := unix.Mount("tmpfs", d, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, tmpOptions); err != nil {
			return nil, fmt.Errorf("tmpfs on %s: %w", d, os.NewSyscallError("mount", err))
		}
		places = append(places, d)
	}
	return places, nil
}

// attachWritable attaches the cloned writable trees at their paths, in
// order (a --rw dir inside the cwd ends up on top).
func attachWritable(writable []string, trees []int) error {
	for i, d := range writable {
		if !isDir(d) {
			// Under a fresh tmpfs: recreate the mount point there.
			if err := os.MkdirAll(d, 0o700); err != nil {
				return fmt.Errorf("writable dir %s: %w", d, err)
			}
		}
		if err := unix.MoveMount(trees[i], "", unix.AT_FDCWD, d, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
			return fmt.Errorf("writable dir %s: %w", d, os.NewSyscallError("move_mount", err))
		}
	}
	return nil
}

// hideDirs covers each hidden dir that is visible with an empty
// read-only tmpfs.
func hideDirs(hide []string) error {
	for _, d := range hide {
		var st unix.Stat_t
		if err := unix.Stat(d, &st); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue // not visible in this view: nothing to hide
			}
			return fmt.Errorf("hide %s: %w", d, os.NewSyscallError("stat", err))
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return fmt.Errorf("hide %s: not a directory", d)
		}
		if err := unix.Mount("tmpfs", d, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, hideOptions); err != nil {
			return fmt.Errorf("hide %s: %w", d, os.NewSyscallError("mount", err))
		}
	}
	return nil
}

func isDir(p string) bool {
	var st unix.Stat_t
	return unix.Stat(p, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR
}

// loopbackUp sets "lo" up in the thread's network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("loopback: %w", os.NewSyscallError("socket", err))
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback: %w", os.NewSyscallError("ioctl(SIOCGIFFLAGS)", err))
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback: %w", os.NewSyscallError("ioctl(SIOCSIFFLAGS)", err))
	}
	return nil
}
