package server

import (
	"time"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/launch"
	"github.com/envseal/envseal/internal/seal"
	"github.com/envseal/envseal/internal/vault"
)

// DefaultIdleLock is how long the broker keeps the key with no request.
const DefaultIdleLock = 15 * time.Minute

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
