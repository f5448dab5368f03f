//go:build unix

package approve

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// userWritable says why the current user could have written path (or
// swapped it, through a writable directory), or "" if it could not. It
// looks at owners and mode bits, not access(2), so the answer is about the
// user and not about root's override in a test.
//
// For root every file is writable, and root is outside the threat model:
// the warning would be on every program and teach the human to skip it.
func userWritable(path string) string {
	uid := os.Geteuid()
	if uid == 0 {
		return ""
	}
	return writableBy(path, uid, groups())
}

func groups() map[uint32]bool {
	g := map[uint32]bool{uint32(os.Getegid()): true}
	if ids, err := os.Getgroups(); err == nil {
		for _, id := range ids {
			g[uint32(id)] = true
		}
	}
	return g
}

func writableBy(path string, uid int, gids map[uint32]bool) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	if canWrite(fi, uid, gids) {
		return "is writable by you"
	}
	dir := filepath.Dir(path)
	di, err := os.Stat(dir)
	if err != nil {
		return ""
	}
	// In a sticky directory only the file's owner can rename it away.
	st, _ := fi.Sys().(*syscall.Stat_t)
	if canWrite(di, uid, gids) && (di.Mode()&os.ModeSticky == 0 || st == nil || int(st.Uid) == uid) {
		return fmt.Sprintf("can be replaced by you (its directory %s is writable)", clean(dir, false).text)
	}
	return ""
}

func canWrite(fi os.FileInfo, uid int, gids map[uint32]bool) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	m := fi.Mode().Perm()
	switch {
	case int(st.Uid) == uid:
		return m&0o200 != 0
	case gids[st.Gid]:
		return m&0o020 != 0
	}
	return m&0o002 != 0
}

// resolveTrusted accepts path only if the file it resolves to, and every
// directory above that file, is owned by root and not writable by group or
// others. Anything else the user (and so an agent running as the user)
// could have written or swapped: a fake pinentry or zenity that answers
// "allow" by itself. It returns the symlink-free path that was checked,
// which is the one to execute.
func resolveTrusted(path string) (string, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", path, err)
	}
	if !filepath.IsAbs(real) {
		return "", fmt.Errorf("%w: %s is not an absolute path", ErrUntrustedProgram, path)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return "", fmt.Errorf("stat %s: %w", real, err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%w: %s is not a regular file", ErrUntrustedProgram, real)
	}
	for p := real; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("stat %s: %w", p, err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok || st.Uid != 0 {
			return "", fmt.Errorf("%w: %s is not owned by root", ErrUntrustedProgram, p)
		}
		if fi.Mode().Perm()&0o022 != 0 {
			return "", fmt.Errorf("%w: %s is writable by group or others", ErrUntrustedProgram, p)
		}
		if p == filepath.Dir(p) {
			return real, nil
		}
	}
}
