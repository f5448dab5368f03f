package exeseal

import (
	"errors"
	"fmt"
	"github.com/envseal/envseal/internal/sys"
)

// Typed failures. Each one is a reason to refuse a launch, so callers and
// tests match them with errors.Is instead of parsing text.
var (
	// ErrSymlink: the path (or, with openat2, any component of it) is a
	// symlink. The caller resolved the path before approval; a symlink now
	// means someone redirected it since.
	ErrSymlink = errors.New("path is a symlink")

	// ErrNotExecutable: not a regular file, or no execute bit set.
	ErrNotExecutable = errors.New("not an executable regular file")

	// ErrChanged: the bytes read from the pinned descriptor no longer hash
	// to the pinned SHA-256 — the file was modified in place after it was
	// hashed. Match *ChangedError with errors.As for both hashes.
	ErrChanged = errors.New("file changed after it was hashed")

	// ErrShebangTooLong: the "#!" line does not end within the kernel's
	// 256-byte buffer. The kernel would silently truncate the argument,
	// so what runs would not be what the line says.
	ErrShebangTooLong = errors.New("interpreter line longer than 255 bytes")

	// ErrBadShebang: the "#!" line names no interpreter, a relative one
	// (resolved against the cwd, which an attacker controls) or holds a
	// NUL byte.
	ErrBadShebang = errors.New("malformed interpreter line")

	// ErrNestedScript: the interpreter is itself a script. The kernel
	// follows such chains; we pin exactly one interpreter.
	ErrNestedScript = errors.New("interpreter is itself a script")

	// ErrEnvArgs: "#!/usr/bin/env" followed by options (-S splitting and
	// friends), NAME=VALUE assignments or several words. Only the plain
	// "#!/usr/bin/env NAME" form is resolved.
	ErrEnvArgs = errors.New("unsupported /usr/bin/env arguments in interpreter line")

	// ErrInterpreterNotFound: "#!/usr/bin/env NAME" and NAME is not an
	// executable file in any absolute directory of the search PATH.
	ErrInterpreterNotFound = errors.New("interpreter not found on search PATH")

	// ErrUnsupported: this operating system has no sealed exec yet.
	ErrUnsupported = sys.Unsupported("sealed exec is not supported on this OS yet")
)

// ChangedError reports the pinned hash and the hash of the bytes actually
// read. It matches ErrChanged with errors.Is.
type ChangedError struct {
	Path   string
	Pinned string // hex SHA-256 recorded by Open
	Got    string // hex SHA-256 of the bytes read now ("" if unknown)
	Detail string // what was being done when the change was seen
}

func (e *ChangedError) Error() string {
	msg := fmt.Sprintf("%s: %s: %v (pinned sha256 %s", e.Path, e.Detail, ErrChanged, e.Pinned)
	if e.Got != "" {
		msg += ", now " + e.Got
	}
	return msg + ")"
}

// Is makes errors.Is(err, ErrChanged) true.
func (e *ChangedError) Is(target error) bool { return target == ErrChanged }
