package exeseal

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Open pins the executable at path: it opens it without following
// symlinks, checks it is an executable regular file, and hashes it from
// the descriptor (never from the path, which could be swapped between
// the two). path must be absolute and already canonical.
//
// A file starting with "#!" is a script: its interpreter is resolved and
// pinned the same way (see SearchPath for "#!/usr/bin/env NAME"), and the
// returned Pinned's SHA256 is the script's own hash.
func Open(path string, opts ...Option) (*Pinned, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("open %s: path is not absolute", path)
	}
	p, head, err := pinFile(path)
	if err != nil {
		return nil, err
	}
	if !hasShebang(head) {
		return p, nil
	}
	if err := p.pinInterpreter(head, o); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// pinFile opens, checks and hashes one file, returning its first
// shebangBuf bytes as they were hashed (a second read could see different
// bytes).
func pinFile(path string) (*Pinned, []byte, error) {
	fd, err := openNoFollow(path)
	if err != nil {
		if isELOOP(err) {
			return nil, nil, fmt.Errorf("open %s: %w", path, ErrSymlink)
		}
		return nil, nil, fmt.Errorf("open %s: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	p, head, err := hashFile(f, path)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return p, head, nil
}

func hashFile(f *os.File, path string) (*Pinned, []byte, error) {
	fd := int(f.Fd())
	st, err := fstat(fd)
	if err != nil {
		return nil, nil, fmt.Errorf("stat %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, nil, fmt.Errorf("%s: %w (not a regular file)", path, ErrNotExecutable)
	}
	if st.Mode&0o111 == 0 {
		return nil, nil, fmt.Errorf("%s: %w (no execute bit in mode %#o)", path, ErrNotExecutable, st.Mode&0o7777)
	}
	id := identityOf(&st)

	h := sha256.New()
	head := &prefix{max: shebangBuf}
	n, err := io.Copy(io.MultiWriter(h, head), io.NewSectionReader(f, 0, math.MaxInt64))
	if err != nil {
		return nil, nil, fmt.Errorf("hash %s: %w", path, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	// A writer racing with the hash could leave us a hash of bytes that
	// never existed together; the identity check catches that.
	st2, err := fstat(fd)
	if err != nil {
		return nil, nil, fmt.Errorf("stat %s: %w", path, err)
	}
	if identityOf(&st2) != id || n != st.Size {
		return nil, nil, &ChangedError{Path: path, Pinned: sum, Detail: "modified while being hashed"}
	}
	euid := geteuid()
	p := &Pinned{
		Path:     path,
		SHA256:   sum,
		Size:     n,
		ID:       id,
		Writable: (int(st.Uid) == euid && st.Mode&0o200 != 0) || st.Mode&0o022 != 0,
		f:        f,
	}
	return p, head.b, nil
}

func identityOf(st *unix.Stat_t) Identity {
	return Identity{
		Dev:   st.Dev,
		Ino:   st.Ino,
		Size:  st.Size,
		Mtime: st.Mtim.Nano(),
		Ctime: st.Ctim.Nano(),
	}
}

// prefix keeps the first max bytes written to it.
type prefix struct {
	b   []byte
	max int
}

func (w *prefix) Write(p []byte) (int, error) {
	if room := w.max - len(w.b); room > 0 {
		w.b = append(w.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (p *Pinned) pinInterpreter(head []byte, o options) error {
	sb, err := parseShebang(head)
	if err != nil {
		return fmt.Errorf("%s: %w", p.Path, err)
	}
	name, isEnv, err := envProgram(sb)
	if err != nil {
		return fmt.Errorf("%s: %w", p.Path, err)
	}
	var argv0 string
	switch {
	case isEnv && filepath.IsAbs(name):
		argv0 = name
	case isEnv:
		if !o.hasSearchPath {
			return fmt.Errorf("%s: %q: no search PATH given to resolve %q: %w", p.Path, sb.line, name, ErrInterpreterNotFound)
		}
		argv0, err = lookPath(name, o.searchPath)
		if err != nil {
			return fmt.Errorf("%s: %q: %w", p.Path, sb.line, err)
		}
	default:
		// The kernel would open a relative interpreter against the cwd.
		if !filepath.IsAbs(sb.interp) {
			return fmt.Errorf("%s: %w: interpreter %q is not an absolute path", p.Path, ErrBadShebang, sb.interp)
		}
		argv0 = sb.interp
	}
	// The kernel follows symlinks to the interpreter (/bin/sh -> dash), so
	// we do too, then pin the target with the symlink-refusing open. The
	// hash, not the path, is what approval binds to.
	real, err := filepath.EvalSymlinks(argv0)
	if err != nil {
		return fmt.Errorf("%s: resolve interpreter: %w", p.Path, err)
	}
	ip, ihead, err := pinFile(real)
	if err != nil {
		return fmt.Errorf("%s: interpreter: %w", p.Path, err)
	}
	if hasShebang(ihead) {
		ip.Close()
		return fmt.Errorf("%s: interpreter %s: %w", p.Path, real, ErrNestedScript)
	}
	p.Interpreter = ip
	p.InterpreterArgv0 = argv0
	p.Shebang = sb.line
	if !isEnv {
		p.InterpreterArg = sb.arg
	}
	return nil
}

// lookPath finds name like execvp, but only in absolute PATH entries: an
// empty or relative entry would resolve against the cwd, letting whoever
// controls the cwd plant the interpreter. It returns the path found
// (symlinks not yet resolved: it is the argv[0] env would have used, which
// matters for programs like bash that act on the name they were run as).
func lookPath(name, list string) (string, error) {
	for _, dir := range strings.Split(list, ":") {
		if !filepath.IsAbs(dir) {
			continue
		}
		cand := filepath.Join(dir, name)
		fi, err := os.Stat(cand)
		if err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return cand, nil
		}
	}
	return "", fmt.Errorf("%q: %w", name, ErrInterpreterNotFound)
}
