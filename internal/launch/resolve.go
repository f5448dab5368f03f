package launch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// resolve turns the command as typed into a canonical absolute path: a
// name without a slash is looked up on pathList (absolute entries only — a
// relative entry such as "." would let whoever controls the working
// directory shadow any command), a relative path is taken from cwd, and
// every symlink is resolved so the human approves, and the rule records,
// the file that really runs.
func resolve(argv0, cwd, pathList string) (string, error) {
	p, err := lookup(argv0, cwd, pathList)
	if err != nil {
		return "", err
	}
	canon, err := filepath.EvalSymlinks(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("%w: %s does not exist", ErrNotFound, p)
		}
		return "", fmt.Errorf("resolve %s: %w", p, err)
	}
	return filepath.Abs(canon)
}

// lookup finds argv0 as resolve does, without resolving symlinks: the
// path the kernel would be handed.
func lookup(argv0, cwd, pathList string) (string, error) {
	if argv0 == "" {
		return "", fmt.Errorf("%w: empty command", ErrNotFound)
	}
	var p string
	if strings.Contains(argv0, "/") {
		p = argv0
		if !filepath.IsAbs(p) {
			p = filepath.Join(cwd, p)
		}
	} else {
		for _, dir := range filepath.SplitList(pathList) {
			if dir == "" || !filepath.IsAbs(dir) {
				continue
			}
			c := filepath.Join(dir, argv0)
			if st, err := os.Stat(c); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0 {
				p = c
				break
			}
		}
		if p == "" {
			return "", fmt.Errorf("%w: %q is not on PATH", ErrNotFound, argv0)
		}
	}
	return filepath.Clean(p), nil
}

// scriptArg is the path a script's interpreter is handed. The kernel
// hands it the path as invoked (a wrapper such as Debian's pg_wrapper
// picks what to run from the name $0 it was called by); the pinned bytes
// are served at the canonical path the symlink leads to. Where the agent
// could re-point the symlink (its directory is writable) the canonical
// path is used instead, so the interpreter reads the served copy.
func scriptArg(invoked, canonical string) string {
	if invoked == "" || invoked == canonical || !filepath.IsAbs(invoked) {
		return canonical
	}
	if userWritable(filepath.Dir(invoked)) || userWritable(filepath.Dir(canonical)) {
		return canonical
	}
	if c, err := filepath.EvalSymlinks(invoked); err != nil || c != canonical {
		return canonical
	}
	return invoked
}
