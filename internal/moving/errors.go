package moving

import (
	"fmt"
	"strings"
)

// HintError is a refusal with what to do next, for the command line's one
// "envseal: hint:" line.
type HintError struct {
	Err  error
	Hint string
}

func (e *HintError) Error() string { return e.Err.Error() }
func (e *HintError) Unwrap() error { return e.Err }

func withHint(err error, hint string) error { return &HintError{Err: err, Hint: hint} }

// RefusedError is a file scan --import leaves as it was, with why and what
// to do: nothing was stored for it.
type RefusedError struct {
	Path, Why, Hint string
}

func (e *RefusedError) Error() string { return e.Path + ": " + e.Why }

// RollbackError is a failed transaction. Left names the secrets it stored
// and could not revoke again; with none left, the vault and the files are
// as they were.
type RollbackError struct {
	Err  error
	Left []string
}

func (e *RollbackError) Error() string {
	if len(e.Left) > 0 {
		return fmt.Sprintf("%v; and undoing it failed for %s", e.Err, strings.Join(e.Left, ", "))
	}
	return e.Err.Error()
}

func (e *RollbackError) Unwrap() error { return e.Err }

// hinted gives a RollbackError its hint: what to revoke by hand when
// undoing failed (again says which command to run after that), else
// done, unless the cause already carries a hint of its own.
func hinted(err error, again, done string) error {
	re, ok := err.(*RollbackError)
	if !ok {
		return err
	}
	if len(re.Left) > 0 {
		return withHint(re, "'envseal revoke' those names, then "+again+" again")
	}
	if _, ok := re.Err.(*HintError); ok {
		return re.Err
	}
	return withHint(re.Err, done)
}
