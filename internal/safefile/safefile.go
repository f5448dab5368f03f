// Package safefile is the one place envseal touches its own files on disk:
// crash-safe atomic replacement, cross-process locking, and reads that
// refuse symlinks, hard links and files another user could have planted.
//
// Every vault, policy and audit write goes through WriteAtomic under Lock,
// so a crash (even SIGKILL) leaves either the old or the new content, and
// concurrent writers from many processes are serialised.
package safefile

import (
	"errors"
	"fmt"
	"github.com/envseal/envseal/internal/sys"
)

// ErrUnsupported is returned on operating systems where envseal cannot yet
// enforce its file-safety rules.
var ErrUnsupported = sys.Unsupported("vault files are not supported on this OS yet")

// TempPrefix starts the name of every temporary file. Vault object names
// must start with a letter or digit, so a temp file can never be mistaken
// for one.
const TempPrefix = ".tmp-"

// UnsafeError says why a file or directory was refused.
type UnsafeError struct {
	Path   string
	Reason string
}

func (e *UnsafeError) Error() string {
	return fmt.Sprintf("refusing %s: %s", e.Path, e.Reason)
}

// ErrUnsafe is matched by every *UnsafeError with errors.Is.
var ErrUnsafe = errors.New("unsafe file")

// Is makes errors.Is(err, ErrUnsafe) true for every UnsafeError.
func (e *UnsafeError) Is(target error) bool { return target == ErrUnsafe }

// ErrTooLarge means a file exceeded the caller's size limit.
var ErrTooLarge = errors.New("file too large")
