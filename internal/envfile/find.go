package envfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

var (
	// ErrNotFound means no .envseal exists in the start directory or any
	// parent.
	ErrNotFound = errors.New("no .envseal file found")

	// ErrSymlink means the .envseal file is a symbolic link. It is refused,
	// not skipped: following it would let whoever planted the link pick
	// the mapping (or make envseal read /dev/zero), and skipping it would
	// silently use a file further up.
	ErrSymlink = errors.New("is a symbolic link; envseal never follows a symlinked .envseal")

	// ErrNotRegular means the .envseal is a directory, FIFO, device or
	// socket. A FIFO would block the reader forever; a device could be
	// anything.
	ErrNotRegular = errors.New("is not a regular file")

	// ErrUnsafeFile means the file is owned by another user (not you, not
	// root) or writable by every user. As with git's refusal of a
	// repository owned by someone else (CVE-2022-24765), a .envseal planted
	// in a shared parent such as /tmp must not decide which secret reaches
	// which variable.
	ErrUnsafeFile = errors.New("could have been written by another user")
)

// Find looks for a file named .envseal in startDir, then in each parent up
// to the root, and returns the first path found. startDir must be absolute;
// it is cleaned, not resolved, so the walk follows the path as given.
//
// Candidates are examined with Lstat: a .envseal that is a symlink or not a
// regular file stops the walk with ErrSymlink or ErrNotRegular naming it,
// rather than being followed or skipped. A directory that cannot be
// searched also stops the walk: a .envseal hidden in it might be the one
// that was meant. If nothing is found the error wraps ErrNotFound.
func Find(startDir string) (string, error) {
	if !filepath.IsAbs(startDir) {
		return "", fmt.Errorf("find %s: start directory %q is not absolute", FileName, startDir)
	}
	dir := filepath.Clean(startDir)
	for {
		p := filepath.Join(dir, FileName)
		fi, err := os.Lstat(p)
		switch {
		case err == nil:
			if err := checkType(p, fi.Mode()); err != nil {
				return "", err
			}
			return p, nil
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		default:
			return "", fmt.Errorf("find %s: %w", FileName, err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w in %s or any parent directory", ErrNotFound, startDir)
		}
		dir = parent
	}
}

// Load reads and parses the .envseal file at path. The final component is
// opened with O_NOFOLLOW (ErrSymlink if it is a link) and non-blocking, and
// must be a regular file owned by the caller or root and not
// world-writable (ErrUnsafeFile). Directories above it are trusted as the
// caller named them.
func Load(path string) ([]Mapping, error) {
	f, err := openNoFollow(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	if err := checkType(path, fi.Mode()); err != nil {
		return nil, err
	}
	if err := checkOwner(path, fi); err != nil {
		return nil, err
	}
	return Parse(f, path)
}

func checkType(path string, mode fs.FileMode) error {
	switch {
	case mode&fs.ModeSymlink != 0:
		return fmt.Errorf("%s %w", path, ErrSymlink)
	case !mode.IsRegular():
		return fmt.Errorf("%s %w (%s)", path, ErrNotRegular, mode.Type())
	}
	return nil
}
