package exeseal

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// requiredSeals freeze the memfd's contents for good: no write, no grow,
// no shrink, and no removing or adding seals. F_SEAL_EXEC (Linux 6.3+)
// also freezes the execute bits; it is added where the kernel has it.
const (
	requiredSeals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	optionalSeals = unix.F_SEAL_EXEC
)

// Memfd modes. 0111: the kernel marks a process that execs a file its user
// cannot read as non-dumpable, which is what closes /proc/<pid>/environ
// and /proc/<pid>/mem to same-uid readers. 0400: the script is only read
// by the interpreter and must never be exec'd on its own.
const (
	exeMode    = 0o111
	scriptMode = 0o400
)

// Seal copies the pinned bytes — from the pinned descriptor, never the
// path — into sealed memfds and checks that the sealed copy still hashes
// to the pinned SHA-256 (*ChangedError otherwise: the file was modified in
// place since Open). For a script, the interpreter goes into an
// execute-only memfd and the script into a separate read-only one.
//
// The Sealed is independent of p and can be Prepared any number of times.
func (p *Pinned) Seal() (*Sealed, error) {
	if p.sealed != nil {
		b := *p.sealed
		b.borrowed = true
		return &b, nil
	}
	if p.f == nil {
		return nil, fmt.Errorf("seal %s: pinned file is closed", p.Path)
	}
	s := &Sealed{Path: p.Path, SHA256: p.SHA256}
	if !p.IsScript() {
		exe, image, err := sealCopy(p, exeMode)
		if err != nil {
			return nil, err
		}
		s.exe, s.image = exe, image
		return s, nil
	}
	if p.Interpreter.f == nil {
		return nil, fmt.Errorf("seal %s: pinned interpreter is closed", p.Path)
	}
	exe, image, err := sealCopy(p.Interpreter, exeMode)
	if err != nil {
		return nil, err
	}
	script, _, err := sealCopy(p, scriptMode)
	if err != nil {
		exe.Close()
		image.Close()
		return nil, err
	}
	s.exe, s.image, s.script = exe, image, script
	s.interpArgv0, s.interpArg = p.InterpreterArgv0, p.InterpreterArg
	return s, nil
}

// sealCopy returns an O_PATH descriptor of a sealed memfd holding p's
// bytes, with the given mode, and for an executable mode also a read-only
// descriptor of it (OpenImage), opened before the mode took read access
// away: the only way to read an execute-only copy back.
func sealCopy(p *Pinned, mode uint32) (pathFile, image *os.File, err error) {
	name := "envseal:" + filepath.Base(p.Path)
	if len(name) > 200 {
		name = name[:200]
	}
	fd, err := memfdCreate(name, mode&0o111 != 0)
	if err != nil {
		return nil, nil, fmt.Errorf("seal %s: %w", p.Path, err)
	}
	mf := os.NewFile(uintptr(fd), name)
	defer mf.Close()
	if mode&0o111 != 0 {
		if image, err = reopenReadOnly(fd, p.Path); err != nil {
			return nil, nil, err
		}
		defer func() {
			if err != nil {
				image.Close()
			}
		}()
	}

	// Set the final mode before any byte lands: a same-uid process that
	// reaches the memfd through /proc/<launcher>/fd can then no longer
	// open it for writing. Our own descriptor stays writable.
	if err := fchmod(fd, mode); err != nil {
		if mode&0o111 != 0 && errors.Is(err, unix.EPERM) {
			return nil, nil, fmt.Errorf("seal %s: %w (is sysctl vm.memfd_noexec set to 2?)", p.Path, err)
		}
		return nil, nil, fmt.Errorf("seal %s: %w", p.Path, err)
	}
	if _, err := io.Copy(mf, io.NewSectionReader(p.f, 0, math.MaxInt64)); err != nil {
		return nil, nil, fmt.Errorf("seal %s: copy: %w", p.Path, err)
	}
	if err := addSeals(fd, requiredSeals, optionalSeals); err != nil {
		return nil, nil, fmt.Errorf("seal %s: %w", p.Path, err)
	}
	if seals, err := getSeals(fd); err != nil {
		return nil, nil, fmt.Errorf("seal %s: %w", p.Path, err)
	} else if seals&requiredSeals != requiredSeals {
		return nil, nil, fmt.Errorf("seal %s: seals %#x missing from %#x", p.Path, requiredSeals, seals)
	}

	// Hash what is now frozen, not what we think we wrote: the pinned file
	// may have been rewritten in place since Open, and before the seals a
	// same-uid process could have written into the memfd itself.
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(mf, 0, math.MaxInt64)); err != nil {
		return nil, nil, fmt.Errorf("seal %s: verify: %w", p.Path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != p.SHA256 {
		return nil, nil, &ChangedError{Path: p.Path, Pinned: p.SHA256, Got: got, Detail: "sealed copy differs from the pinned bytes"}
	}
	st, err := fstat(fd)
	if err != nil {
		return nil, nil, fmt.Errorf("seal %s: %w", p.Path, err)
	}
	if st.Mode&0o7777 != mode {
		return nil, nil, fmt.Errorf("seal %s: memfd mode is %#o, want %#o", p.Path, st.Mode&0o7777, mode)
	}

	pfd, err := openPathFd(fd)
	if err != nil {
		return nil, nil, fmt.Errorf("seal %s: %w", p.Path, err)
	}
	return os.NewFile(uintptr(pfd), name), image, nil
}

// Prepare points cmd at the sealed image. It sets cmd.Path to
// "/proc/self/fd/K", appends the image (and, for a script, the script) to
// cmd.ExtraFiles, and rewrites cmd.Args: a binary keeps the caller's
// argv[0]; a script runs as
//
//	[interpreter argv0, optional #! argument, "/dev/fd/N", cmd.Args[1:]...]
//
// The caller sets Env, Dir, Stdin/Stdout/Stderr and SysProcAttr, may append
// more ExtraFiles afterwards, but must not remove or reorder the ones
// Prepare added. A child that runs as another uid (SysProcAttr.Credential)
// needs SysProcAttr set before Prepare: the script memfd is then chowned
// to that uid, because the interpreter re-opens /dev/fd/N with a fresh
// permission check (the 0111 image needs no read access).
//
// Why the image goes into ExtraFiles even though a close-on-exec memfd
// would do for execve: between fork and exec, Go's child dup2()s the
// inherited descriptors into place and may land on the number the path
// names (golang/go#61751). Only descriptors in ExtraFiles are safe from
// that. The child thus inherits an O_PATH descriptor of its own image,
// which allows nothing but exec and fstat.
func (s *Sealed) Prepare(cmd *exec.Cmd) error {
	if s.exe == nil {
		return fmt.Errorf("prepare %s: sealed image is closed", s.Path)
	}
	if cmd.Process != nil {
		return fmt.Errorf("prepare %s: command already started", s.Path)
	}
	args := cmd.Args
	if len(args) == 0 {
		args = []string{s.Path}
	}
	if s.script != nil && cmd.SysProcAttr != nil && cmd.SysProcAttr.Credential != nil {
		if err := s.chownScript(cmd.SysProcAttr.Credential); err != nil {
			return err
		}
	}
	exeFd := 3 + len(cmd.ExtraFiles)
	cmd.ExtraFiles = append(cmd.ExtraFiles, s.exe)
	if s.script != nil {
		scriptFd := exeFd + 1
		cmd.ExtraFiles = append(cmd.ExtraFiles, s.script)
		argv := []string{s.interpArgv0}
		if s.interpArg != "" {
			argv = append(argv, s.interpArg)
		}
		argv = append(argv, "/dev/fd/"+strconv.Itoa(scriptFd))
		args = append(argv, args[1:]...)
	}
	cmd.Path = "/proc/self/fd/" + strconv.Itoa(exeFd)
	cmd.Args = args
	// exec.Command may have recorded a LookPath failure for the original
	// path; we no longer exec that path.
	cmd.Err = nil
	return nil
}

func (s *Sealed) chownScript(c *syscall.Credential) error {
	fd := int(s.script.Fd())
	st, err := fstat(fd)
	if err != nil {
		return fmt.Errorf("prepare %s: %w", s.Path, err)
	}
	if st.Uid == c.Uid { // mode 0400: only the owner matters
		return nil
	}
	if err := fchown(fd, int(c.Uid), int(c.Gid)); err != nil {
		return fmt.Errorf("prepare %s: give script to uid %d: %w", s.Path, c.Uid, err)
	}
	return nil
}

// Command returns an exec.Cmd running the sealed image with argv
// [argv0, args...] (see Prepare for scripts). For a script run under
// another uid, build the exec.Cmd with SysProcAttr and call Prepare.
func (s *Sealed) Command(argv0 string, args ...string) (*exec.Cmd, error) {
	cmd := &exec.Cmd{Args: append([]string{argv0}, args...)}
	if err := s.Prepare(cmd); err != nil {
		return nil, err
	}
	return cmd, nil
}

// Close releases the memfds. Commands already started keep running; ones
// prepared but not started will fail to start.
func (s *Sealed) Close() error {
	if s.borrowed {
		return nil
	}
	var errs []error
	if s.exe != nil {
		errs = append(errs, s.exe.Close())
		s.exe = nil
	}
	if s.script != nil {
		errs = append(errs, s.script.Close())
		s.script = nil
	}
	if s.image != nil {
		errs = append(errs, s.image.Close())
		s.image = nil
	}
	return errors.Join(errs...)
}
