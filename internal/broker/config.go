package broker

import (
	"errors"
	"time"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/launch"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/sys"
	"github.com/envseal/envseal/internal/vault"
)

// DefaultIdleLock is how long the broker keeps the key with no request.
const DefaultIdleLock = 15 * time.Minute

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

// Config is what a Server needs.
type Config struct {
	Vault *vault.Vault
	// Key is the unlocked master key; the server owns it from now on
	// (mlocks it, wipes it on Lock and Close).
	Key seal.Key
	// Unlock asks the human for the passphrase again on the broker's own
	// channel after an idle lock or `envseal lock`. Nil: stay locked.
	Unlock       func() (seal.Key, error)
	Approver     approve.Approver
	ApproverName string
	// ReadValue reads a secret's value typed by the human on the broker's
	// own channel (hidden), for store requests. Nil: store requests are
	// declined.
	ReadValue func(prompt string) ([]byte, error)
	Audit     launch.Auditor
	IdleLock  time.Duration // 0: DefaultIdleLock
	// Logf reports broker events (a refused peer, a lock) on the broker's
	// own stderr; never a value.
	Logf func(format string, args ...any)
}
