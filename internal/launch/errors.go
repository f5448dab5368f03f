package launch

import (
	"errors"

	"github.com/envseal/envseal/internal/sys"
)

// Exit codes of a run, following env(1).
const (
	ExitFailed   = 125 // envseal itself failed
	ExitDenied   = 126 // denied: by the human, a timeout, no tty, a changed binary
	ExitNotFound = 127 // the command was not found
)

// Typed failures of the checkpoint; match with errors.Is.
var (
	ErrRefusedEnv  = errors.New("envseal's own environment carries a loader injection variable")
	ErrNotFound    = errors.New("command not found")
	ErrDenied      = errors.New("run denied")
	ErrBadRequest  = errors.New("invalid run request")
	ErrLeakKilled  = errors.New("child killed: it printed a secret")
	ErrUnsupported = sys.Unsupported("envseal run is not supported on this OS yet")
)

// Error is a checkpoint failure with the exit code `envseal run` uses and a
// hint for the human.
type Error struct {
	Code int
	Err  error
	Hint string
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }
