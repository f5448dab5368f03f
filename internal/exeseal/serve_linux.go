package exeseal

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// PrepareServed is Prepare for a run whose sandbox serves the pinned
// script at its real path (sandbox.Pin, docs/ARCHITECTURE.md kernel fact 5): the interpreter
// still runs from its sealed copy, but is handed the script's own path
// rather than /dev/fd/N. Interpreters that resolve their script (node
// looks up modules beside it; perl reads it as a file) then see a real
// file with the approved bytes. For a binary it is Prepare.
//
// scriptPath is the path the interpreter is given: s.Path, or a symlink
// to it that the caller has checked leads there.
func (s *Sealed) PrepareServed(cmd *exec.Cmd, scriptPath string) error {
	if s.script == nil {
		return s.Prepare(cmd)
	}
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
	exeFd := 3 + len(cmd.ExtraFiles)
	cmd.ExtraFiles = append(cmd.ExtraFiles, s.exe)
	argv := []string{s.interpArgv0}
	if s.interpArg != "" {
		argv = append(argv, s.interpArg)
	}
	argv = append(argv, scriptPath)
	cmd.Path = "/proc/self/fd/" + strconv.Itoa(exeFd)
	cmd.Args = append(argv, args[1:]...)
	cmd.Err = nil
	return nil
}

// IsScript reports whether the sealed program is a "#!" script.
func (s *Sealed) IsScript() bool { return s.script != nil }

// OpenScript returns a new read-only descriptor of the sealed script
// copy, for serving it at its path; the caller closes it.
func (s *Sealed) OpenScript() (*os.File, error) {
	if s.script == nil {
		return nil, errors.New("not a script")
	}
	return reopenReadOnly(int(s.script.Fd()), s.Path)
}

// SealBytes returns a read-only descriptor of a sealed memfd holding b:
// a copy no process can change, for a pinned file the run reads.
func SealBytes(path string, b []byte) (*os.File, error) {
	name := "envseal-pin:" + filepath.Base(path)
	if len(name) > 200 {
		name = name[:200]
	}
	fd, err := memfdCreate(name, false)
	if err != nil {
		return nil, fmt.Errorf("pin %s: %w", path, err)
	}
	mf := os.NewFile(uintptr(fd), name)
	defer mf.Close()
	if _, err := mf.Write(b); err != nil {
		return nil, fmt.Errorf("pin %s: copy: %w", path, err)
	}
	if err := addSeals(fd, requiredSeals, optionalSeals); err != nil {
		return nil, fmt.Errorf("pin %s: %w", path, err)
	}
	return reopenReadOnly(fd, path)
}

func reopenReadOnly(fd int, path string) (*os.File, error) {
	ro, err := unix.Open("/proc/self/fd/"+strconv.Itoa(fd), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("pin %s: reopen read-only: %w", path, err)
	}
	return os.NewFile(uintptr(ro), filepath.Base(path)), nil
}

// OpenImage returns a read-only descriptor of the sealed, execute-only
// image (the interpreter's, for a script), for serving it at its real
// path (sandbox.Pin with Exec): the copy a sandbox mounts there keeps
// mode 0111, so the process exec'd from it stays non-dumpable as one
// exec'd from the memfd does (docs/ARCHITECTURE.md kernel fact 1). The
// descriptor shares its file offset with every other OpenImage of this
// image: read it only at explicit offsets (pread, sendfile with an
// offset). The caller closes it.
func (s *Sealed) OpenImage() (*os.File, error) {
	if s.image == nil {
		return nil, fmt.Errorf("image of %s: sealed image is closed", s.Path)
	}
	fd, err := unix.FcntlInt(s.image.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("image of %s: %w", s.Path, os.NewSyscallError("fcntl(F_DUPFD_CLOEXEC)", err))
	}
	return os.NewFile(uintptr(fd), s.image.Name()), nil
}
