package wire

import (
	"errors"

	"github.com/envseal/envseal/internal/sys"
)

// Refusals every build names (the CLI matches them on any OS).
var (
	// ErrBusy: the broker refused a request for lack of capacity (this
	// client's budget is used up); the client may retry later.
	ErrBusy = errors.New("the broker is busy")
	// ErrFromJail: the request is one a client inside a jail may not make
	// (envseal lock: the passphrase prompt it would cause is the human's
	// to ask for).
	ErrFromJail = errors.New("not allowed from inside a jail")
)

var (
	// ErrUnsupported is returned on systems without the broker.
	ErrUnsupported = sys.Unsupported("the envseal broker is not supported on this OS yet")
	// ErrNoBroker is returned by Dial when no broker answers.
	ErrNoBroker = errors.New("no broker is running")
	// ErrRunning is returned by Listen when a broker already answers.
	ErrRunning = errors.New("a broker is already running")
	// ErrLocked is returned for a run when the broker is locked and has
	// no way to ask the human for the passphrase.
	ErrLocked = errors.New("the broker is locked")
	// ErrUnsafeDir: the socket directory is not a 0700 directory owned by
	// us, so someone else could replace the socket with their own (and
	// see every run request).
	ErrUnsafeDir = errors.New("unsafe broker socket directory")
	// ErrPeer: the other end of the socket runs as another uid.
	ErrPeer = errors.New("broker peer runs as another user")
)

// BusyPrefix starts every refusal for lack of capacity; ErrRefused.Is
// matches it to ErrBusy.
const BusyPrefix = "busy: "

// JailPrefix starts every refusal of something a jailed client may not
// do; ErrRefused.Is matches it to ErrFromJail.
const JailPrefix = "refused inside a jail: "

// ErrRefused is a protocol-level refusal from the broker.
type ErrRefused struct{ Msg string }

func (e *ErrRefused) Error() string { return "broker refused the request: " + e.Msg }

// Is lets callers match a refusal with errors.Is(err, ErrBusy) or
// errors.Is(err, ErrFromJail).
func (e *ErrRefused) Is(target error) bool {
	switch target {
	case ErrBusy:
		return len(e.Msg) >= len(BusyPrefix) && e.Msg[:len(BusyPrefix)] == BusyPrefix
	case ErrFromJail:
		return len(e.Msg) >= len(JailPrefix) && e.Msg[:len(JailPrefix)] == JailPrefix
	}
	return false
}
