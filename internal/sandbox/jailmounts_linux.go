//go:build linux && (amd64 || arm64)

package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// jailMounts builds the agent's view in the jail's own mount namespace.
// Everything else of the host's filesystem stays as it is: the agent is
// meant to work on the user's files.
func jailMounts(j *jailArgs, layer func(string, error) error) error {
	names := []string{"hide vault", "sockets", "terminals"}
	if err := enterPrivateMountNS(); err != nil {
		for _, n := range names {
			if lerr := layer(n, fmt.Errorf("no private mount namespace: %w", err)); lerr != nil {
				return lerr
			}
		}
		return nil
	}
	steps := map[string]func() error{
		"hide vault": func() error { return coverDir(j.hide, true) },
		"sockets":    func() error { return coverSockets(j) },
		"terminals":  func() error { return onlyTerminals(j.ttys) },
	}
	for _, n := range names {
		if err := layer(n, steps[n]()); err != nil {
			return err
		}
	}
	// The helper's working directory may be an inode under a dir just
	// covered: from there ".." would walk the real /tmp. Enter it again
	// by path, i.e. in the new tree.
	if j.cwd != "" {
		if err := unix.Chdir(j.cwd); err != nil {
			return fmt.Errorf("working directory %s: %w", j.cwd, os.NewSyscallError("chdir", err))
		}
	}
	return nil
}

// tmpfsCover is one tmpfs the jail mounts over a directory.
type tmpfsCover struct {
	dir, mode string
	ro        bool // read-only once what is kept is bound in
	create    bool // created (0700) when missing, e.g. inside a fresh /tmp
}

// keptTree is a detached copy of a path taken before the covers, bound
// back at the same path after them.
type keptTree struct {
	path string
	fd   int
	dir  bool
}

// coverSockets gives the jail fresh /tmp, /var/tmp, /dev/shm and runtime
// dirs, empties the other socket dirs and the broker's dir, binds back
// the broker's socket and the --keep paths, and covers the sockets named
// by variables with /dev/null (jailsockets_linux.go says why).
func coverSockets(j *jailArgs) error {
	var covers []tmpfsCover
	for _, d := range j.private {
		covers = append(covers, tmpfsCover{dir: d, mode: "1777"})
	}
	for _, d := range j.privateRT {
		covers = append(covers, tmpfsCover{dir: d, mode: "0700"})
	}
	for _, d := range j.coverDirs {
		covers = append(covers, tmpfsCover{dir: d, mode: "0555", ro: true})
	}
	var trees []keptTree
	defer func() {
		for _, t := range trees {
			if t.fd >= 0 {
				unix.Close(t.fd)
			}
		}
	}()
	if j.brokerDir != "" {
		c, err := brokerCover(j, &trees)
		if err != nil {
			return err
		}
		covers = append(covers, c)
	}
	for _, k := range j.keep {
		t, err := cloneTree(k)
		if err != nil {
			return err
		}
		trees = append(trees, t)
	}
	depth := func(p string) int { return strings.Count(filepath.Clean(p), "/") }
	slices.SortStableFunc(covers, func(a, b tmpfsCover) int { return depth(a.dir) - depth(b.dir) })
	slices.SortStableFunc(trees, func(a, b keptTree) int { return depth(a.path) - depth(b.path) })

	ro, err := mountCovers(covers)
	if err != nil {
		return err
	}
	if err := attachKept(trees); err != nil {
		return err
	}
	for _, d := range ro {
		if err := unix.MountSetattr(unix.AT_FDCWD, d, 0, &roAttr); err != nil {
			return fmt.Errorf("read-only %s: %w", d, os.NewSyscallError("mount_setattr", err))
		}
	}
	return coverFiles(j.coverFiles)
}

// brokerCover is the cover of the broker's dir; the broker's socket, if
// one listens there, is cloned into trees to be bound back.
func brokerCover(j *jailArgs, trees *[]keptTree) (tmpfsCover, error) {
	// Created on the real filesystem when missing: otherwise the agent
	// could create it first and listen there as a fake broker for the
	// human's own clients. Inside, it shows the socket alone; a socket
	// created after the jail started (a broker started later) is not
	// seen.
	if err := os.Mkdir(j.brokerDir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return tmpfsCover{}, fmt.Errorf("create %s: %w", j.brokerDir, err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(j.brokerDir, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return tmpfsCover{}, fmt.Errorf("%s is not a directory", j.brokerDir)
	}
	sock := filepath.Join(j.brokerDir, j.socket)
	if unix.Lstat(sock, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFSOCK {
		t, err := cloneFile(sock)
		if err != nil {
			return tmpfsCover{}, err
		}
		*trees = append(*trees, keptTree{path: sock, fd: t})
	}
	return tmpfsCover{dir: j.brokerDir, mode: "0700", ro: true, create: true}, nil
}

// mountCovers mounts a tmpfs on every cover (shallowest first); it
// returns the dirs to make read-only once the kept paths are back.
func mountCovers(covers []tmpfsCover) (ro []string, err error) {
	for _, c := range covers {
		if !isDir(c.dir) {
			if !c.create {
				continue // under a cover mounted just before: gone already
			}
			if err := os.MkdirAll(c.dir, 0o700); err != nil {
				return nil, fmt.Errorf("create %s: %w", c.dir, err)
			}
		}
		if err := unix.Mount("tmpfs", c.dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode="+c.mode); err != nil {
			return nil, fmt.Errorf("tmpfs on %s: %w", c.dir, os.NewSyscallError("mount", err))
		}
		if c.ro {
			ro = append(ro, c.dir)
		}
	}
	return ro, nil
}

// attachKept binds every kept tree back at its path, if a cover hid it.
func attachKept(trees []keptTree) error {
	for i := range trees {
		t := &trees[i]
		var st unix.Stat_t
		if unix.Lstat(t.path, &st) == nil {
			continue // still visible (not under any cover)
		}
		if err := os.MkdirAll(filepath.Dir(t.path), 0o700); err != nil {
			return fmt.Errorf("bind %s back: %w", t.path, err)
		}
		if err := attachTree(t.fd, t.path, t.dir); err != nil {
			return err
		}
	}
	return nil
}

// cloneTree is a detached copy of the file or directory at p (recursive:
// the vault's cover under a kept working directory comes along). A kept
// file is read-only (a socket must not be chmod'ed for everyone outside);
// a kept directory stays as writable as it was.
func cloneTree(p string) (keptTree, error) {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return keptTree{fd: -1}, fmt.Errorf("keep %s: %w", p, os.NewSyscallError("lstat", err))
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		fd, err := cloneFile(p)
		return keptTree{path: p, fd: fd}, err
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, p, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE|unix.AT_SYMLINK_NOFOLLOW)
	if err != nil {
		return keptTree{fd: -1}, fmt.Errorf("keep %s: %w", p, os.NewSyscallError("open_tree", err))
	}
	return keptTree{path: p, fd: fd, dir: true}, nil
}

// attachTree creates an empty placeholder at p and moves the detached
// tree onto it.
func attachTree(tree int, p string, dir bool) error {
	if !dir {
		return attach(tree, p)
	}
	if err := os.Mkdir(p, 0o700); err != nil {
		return err
	}
	if err := unix.MoveMount(tree, "", unix.AT_FDCWD, p, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("%s: %w", p, os.NewSyscallError("move_mount", err))
	}
	return nil
}

var roAttr = unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}

// coverDir mounts an empty read-only tmpfs over dir: the agent cannot
// read, list or write what is beneath (the vault's ciphertext, its
// policy, its audit log), nor unmount it (no capabilities; the mount is
// locked for any nested user namespace).
func coverDir(dir string, required bool) error {
	if dir == "" {
		return nil
	}
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		if !required && errors.Is(err, unix.ENOENT) {
			return nil
		}
		return fmt.Errorf("hide %s: %w (a vault created after the jail started would be visible in it: run envseal init first)", dir, os.NewSyscallError("lstat", err))
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("hide %s: not a directory", dir)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, hideOptions); err != nil {
		return fmt.Errorf("hide %s: %w", dir, os.NewSyscallError("mount", err))
	}
	return nil
}

// cloneFile is a detached, read-only bind mount of the file at p (taken
// before a tmpfs covers it).
func cloneFile(p string) (int, error) {
	fd, err := unix.OpenTree(unix.AT_FDCWD, p, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_SYMLINK_NOFOLLOW)
	if err != nil {
		return -1, fmt.Errorf("%s: %w", p, os.NewSyscallError("open_tree", err))
	}
	// Read-only: the agent must not chmod the broker's socket or its own
	// terminal for everyone outside.
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &roAttr); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("%s: %w", p, os.NewSyscallError("mount_setattr", err))
	}
	return fd, nil
}

// attach creates an empty placeholder at p and moves the detached mount
// tree onto it.
func attach(tree int, p string) error {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	if err := unix.MoveMount(tree, "", unix.AT_FDCWD, p, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("%s: %w", p, os.NewSyscallError("move_mount", err))
	}
	return nil
}

// overlayFiles puts a fresh tmpfs on dir holding only the given files
// (bound to the originals), then makes it read-only. mode is the
// tmpfs root's (the broker's clients insist on 0700 for its dir).
func overlayFiles(dir, mode string, files []string) error {
	var trees []int
	defer func() {
		for _, t := range trees {
			unix.Close(t)
		}
	}()
	for _, f := range files {
		t, err := cloneFile(f)
		if err != nil {
			return err
		}
		trees = append(trees, t)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=4k,mode="+mode); err != nil {
		return fmt.Errorf("tmpfs on %s: %w", dir, os.NewSyscallError("mount", err))
	}
	for i, f := range files {
		if err := attach(trees[i], filepath.Join(dir, filepath.Base(f))); err != nil {
			return err
		}
	}
	if err := unix.MountSetattr(unix.AT_FDCWD, dir, 0, &roAttr); err != nil {
		return fmt.Errorf("read-only %s: %w", dir, os.NewSyscallError("mount_setattr", err))
	}
	return nil
}

// onlyTerminals leaves /dev/pts holding only the agent's own terminal:
// the broker's (where approval codes are typed) and every other one
// cannot be opened. /dev/tty still works (the kernel finds the
// controlling terminal without a path), and `tty` finds the same inode at
// the same path. New pseudo-terminals cannot be allocated inside.
func onlyTerminals(ttys []string) error {
	if !isDir("/dev/pts") {
		return nil
	}
	for _, t := range ttys {
		var st unix.Stat_t
		if !strings.HasPrefix(t, "/dev/pts/") || filepath.Dir(t) != "/dev/pts" ||
			unix.Lstat(t, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR {
			return fmt.Errorf("%s is not a terminal in /dev/pts", t)
		}
	}
	return overlayFiles("/dev/pts", "0755", ttys)
}

// coverFiles binds /dev/null over each socket file still visible: the
// agent cannot connect to it, nor replace it (the mount is locked).
func coverFiles(files []string) error {
	for _, f := range files {
		var st unix.Stat_t
		if unix.Lstat(f, &st) != nil || st.Mode&unix.S_IFMT == unix.S_IFDIR {
			continue
		}
		t, err := cloneFile("/dev/null")
		if err != nil {
			return err
		}
		err = unix.MoveMount(t, "", unix.AT_FDCWD, f, unix.MOVE_MOUNT_F_EMPTY_PATH)
		unix.Close(t)
		if err != nil {
			return fmt.Errorf("cover %s: %w", f, os.NewSyscallError("move_mount", err))
		}
	}
	return nil
}

// jailLandlock puts the thread in a Landlock domain scoped for signals
// and abstract unix sockets (docs/ARCHITECTURE.md kernel fact 2: no ptrace, no
// /proc/<pid>/environ|mem, no signal for any process outside it — the
// broker and its children included). With rw, writes are allowed only
// beneath those dirs and on writableDevices.
func jailLandlock(rw []string) error {
	abi := LandlockABI()
	if abi < 1 {
		return errors.New("the kernel has no Landlock (Linux 5.13+ with landlock in the lsm= boot list)")
	}
	if abi < 6 {
		return fmt.Errorf("landlock ABI %d has no signal and abstract-socket scoping (needs ABI 6, Linux 6.12)", abi)
	}
	attr := unix.LandlockRulesetAttr{Scoped: unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | unix.LANDLOCK_SCOPE_SIGNAL}
	if len(rw) > 0 {
		attr.Handled_access_fs = writeAccess(abi)
	}
	size := unsafe.Offsetof(attr.Scoped) + unsafe.Sizeof(attr.Scoped)
	r, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), size, 0)
	if errno != 0 {
		return os.NewSyscallError("landlock_create_ruleset", errno)
	}
	ruleset := int(r)
	defer unix.Close(ruleset)
	if len(rw) > 0 {
		for _, d := range rw {
			if err := addPathRule(ruleset, d, attr.Handled_access_fs, true); err != nil {
				return err
			}
		}
		for _, d := range writableDevices {
			if err := addPathRule(ruleset, d, attr.Handled_access_fs&fileWriteAccess, false); err != nil {
				return err
			}
		}
	}
	if _, _, errno := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(ruleset), 0, 0); errno != 0 {
		return os.NewSyscallError("landlock_restrict_self", errno)
	}
	return nil
}
